/**
 * The PostgreSQL release table the patching checks use: bundled (data/releases.json, with the date it
 * was last checked) or given with `--release-data FILE` in the same shape. No network fetch: an
 * auditor that phones home cannot run in a locked-down network, and the table's date is shown.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import bundled from '../data/releases.json' with { type: 'json' };
import type { ReleaseTable } from '../types.js';

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date YYYY-MM-DD')
  .refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)), 'expected a real date');

const schema = z.strictObject({
  asOf: isoDate,
  source: z.string().min(1),
  majors: z.record(
    z.string().regex(/^(?:\d{2,}|9\.\d)$/, 'expected a major version such as "18" or "9.6"'),
    z.strictObject({ latestMinor: z.number().int().nonnegative(), latestReleased: isoDate, eol: isoDate }),
  ).refine((m) => Object.keys(m).length > 0, 'expected at least one major version'),
});

export class ReleaseDataError extends Error {
  override name = 'ReleaseDataError';
}

/** Validates a release table; the error names the first bad field (`majors.15.eol: expected a date YYYY-MM-DD`). */
export function parseReleaseTable(data: unknown, where: string): ReleaseTable {
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = issue?.path.map(String).join('.') || '(top level)';
  throw new ReleaseDataError(`${where}: ${path}: ${issue?.message ?? 'invalid'}`);
}

/** The bundled table, or FILE's. Throws {@link ReleaseDataError} naming the file and the field. */
export function loadReleaseTable(file?: string): ReleaseTable {
  if (file === undefined) return parseReleaseTable(bundled, 'bundled release table');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ReleaseDataError(`${file}: could not read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ReleaseDataError(`${file}: not JSON: ${(e as Error).message}`);
  }
  return parseReleaseTable(data, file);
}
