/**
 * SHOW CONFIG's rows, generated from the schema ({@link listKeys}): every leaf key with its current
 * value, its default and whether a reload changes it. Map keys (`databases.<name>.host`) are shown
 * once per entry. Secret values are `********`; unset values are empty, as PgBouncer shows them.
 * Durations are shown in seconds, lists comma-separated.
 */
import type { ConfigRow } from '../admin/view.js';
import { listKeys, type KeyDoc } from './docs.js';
import type { Config } from './schema.js';

const SECRET_MASK = '********';

function formatValue(v: unknown, type: string): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.map((x) => formatValue(x, '')).join(',');
  if (type === 'duration' && typeof v === 'number') return String(v / 1000);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v as string | number | boolean);
}

/** The default as the schema declares it: durations are written in seconds there already. */
function formatDefault(k: KeyDoc): string {
  if (k.default === undefined) return '';
  const v: unknown = JSON.parse(k.default);
  return formatValue(v, '');
}

function valueAt(config: unknown, path: string[]): unknown {
  let v = config;
  for (const p of path) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
  return v;
}

function row(k: KeyDoc, key: string, value: unknown): ConfigRow {
  const shown = k.meta.secret && value !== undefined && value !== '' ? SECRET_MASK : formatValue(value, k.type);
  return { key, value: shown, default: formatDefault(k), changeable: k.meta.reloadable ? 'yes' : 'no' };
}

export function configRows(config: Config): ConfigRow[] {
  const rows: ConfigRow[] = [];
  for (const k of listKeys()) {
    // A list of alternatives (audit.sinks) is one row; its `list[kind].key` documentation keys are not.
    if (k.type === 'map' || k.key.includes('[')) continue;
    const parts = k.key.split('.');
    const at = parts.indexOf('<name>');
    if (at < 0) {
      rows.push(row(k, k.key, valueAt(config, parts)));
      continue;
    }
    const map = valueAt(config, parts.slice(0, at));
    for (const name of Object.keys((map as Record<string, unknown> | undefined) ?? {})) {
      const path = [...parts.slice(0, at), name, ...parts.slice(at + 1)];
      rows.push(row(k, path.join('.'), valueAt(config, path)));
    }
  }
  return rows;
}
