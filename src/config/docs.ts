/**
 * Walks {@link configSchema} and lists every key with its type, default, reloadability, secrecy
 * and description. docs/configuration.md and `SHOW CONFIG` come from this one list.
 */
import { z } from 'zod';
import { configSchema, type KeyMeta } from './schema.js';
import { size } from './keys.js';

export interface KeyDoc {
  key: string;
  type: string;
  default?: string;
  meta: KeyMeta;
}

type Def = { type: string; values?: unknown[]; innerType?: z.ZodType; in?: z.ZodType; out?: z.ZodType; shape?: Record<string, z.ZodType>; valueType?: z.ZodType;
  element?: z.ZodType; entries?: Record<string, string>; options?: z.ZodType[]; defaultValue?: unknown; checks?: unknown[] };
const defOf = (s: z.ZodType): Def => (s as unknown as { def: Def }).def;

/** Every leaf key of the schema, in declaration order. */
export function listKeys(schema: z.ZodType = configSchema, prefix = ''): KeyDoc[] {
  const out: KeyDoc[] = [];
  const { inner, dflt } = peel(schema);
  const def = defOf(inner);
  const meta = z.globalRegistry.get(schema) as KeyMeta | undefined;
  if (def.type === 'object' && def.shape && !meta) {
    for (const [k, v] of Object.entries(def.shape)) out.push(...listKeys(v, prefix ? `${prefix}.${k}` : k));
    return out;
  }
  if (def.type === 'record' && def.valueType && !meta) return listKeys(def.valueType, `${prefix}.<name>`);
  if (def.type === 'record' && def.valueType && meta) {
    out.push({ key: prefix, type: 'map', meta });
    out.push(...listKeys(def.valueType, `${prefix}.<name>`));
    return out;
  }
  if (def.type === 'array' && def.element && meta && defOf(def.element).options) {
    // A list of alternatives (audit.sinks): the list is one key, each alternative's keys follow as `list[kind].key`.
    out.push({ key: prefix, type: `list of ${listKind(def.element)}`, ...(dflt !== undefined ? { default: JSON.stringify(dflt) } : {}), meta });
    for (const option of defOf(def.element).options ?? []) {
      const kind = literalOf(defOf(option).shape?.type);
      for (const k of listKeys(option, `${prefix}[${kind}]`)) if (!k.key.endsWith('].type')) out.push(k);
    }
    return out;
  }
  out.push({ key: prefix, type: typeName(inner), ...(dflt !== undefined ? { default: JSON.stringify(dflt) } : {}),
    meta: meta ?? { reloadable: true, description: '' } });
  return out;
}

function literalOf(s: z.ZodType | undefined): string {
  const values = s ? (s as unknown as { def: { values?: unknown[] } }).def.values : undefined;
  return String(values?.[0] ?? '?');
}

function listKind(s: z.ZodType): string {
  return (defOf(s).options ?? []).map((o) => literalOf(defOf(o).shape?.type)).join(' \\| ');
}

function peel(s: z.ZodType): { inner: z.ZodType; dflt: unknown } {
  let cur = s;
  let dflt: unknown;
  for (;;) {
    const d = defOf(cur);
    if ((d.type === 'default' || d.type === 'prefault') && d.innerType) {
      dflt ??= d.defaultValue;
      cur = d.innerType;
    } else if (d.type === 'optional' && d.innerType) cur = d.innerType;
    else return { inner: cur, dflt };
  }
}

function typeName(s: z.ZodType): string {
  const d = defOf(s);
  switch (d.type) {
    case 'enum':
      return Object.values(d.entries ?? {}).join(' \\| ');
    case 'array':
      return `list of ${d.element ? typeName(d.element) : 'value'}`;
    case 'pipe':
      return s === (size as z.ZodType) ? 'size' : 'duration';
    case 'union':
      return (d.options ?? []).map(typeName).join(' or ');
    default:
      return d.type;
  }
}

/** docs/configuration.md, generated. */
export function configReference(): string {
  const rows = listKeys().map((k) =>
    `| \`${k.key}\` | ${k.type} | ${k.default !== undefined ? `\`${k.default}\`` : '—'} | ${k.meta.reloadable ? 'yes' : 'restart'}${k.meta.secret ? ', secret' : ''} | ${k.meta.description} |`);
  return [
    '# Configuration reference',
    '',
    '<!-- Generated from src/config/schema.ts by `gatehouse config docs`; a test keeps it in step. -->',
    '',
    '`gatehouse serve --config FILE` reads one YAML file. Unknown keys and bad values are errors that name',
    'the key. Relative paths resolve from the config file\'s folder. Durations take a number of seconds or',
    'a value such as `500ms`, `60s`, `5min`, `1h`. "Reload" says whether SIGHUP applies a change; secret keys',
    'are never logged.',
    '',
    '| Key | Type | Default | Reload | Description |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
