/**
 * The building blocks of the config schema shared by its sections: key metadata and the
 * PostgreSQL-style duration and size values. Kept apart from schema.ts so a section in its own file
 * (audit-schema.ts) can use them without a circular import.
 */
import { z } from 'zod';

/** Metadata carried by every leaf key. */
export interface KeyMeta {
  /** Can SIGHUP change it without a restart? Listener addresses and ports cannot. */
  reloadable: boolean;
  /** Never logged, never shown by SHOW CONFIG. */
  secret?: boolean;
  description: string;
}
export const key = <T extends z.ZodType>(schema: T, meta: KeyMeta): T => schema.meta({ ...meta }) as T;

/** PostgreSQL-style durations: a number of seconds, or `500ms`, `60s`, `5min`, `1h`, `1d`. Parsed to milliseconds. */
export const duration = z.union([z.number().nonnegative(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') return Math.round(v * 1000);
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|min|h|d)?\s*$/.exec(v);
  if (!m) {
    ctx.addIssue({ code: 'custom', message: `invalid duration "${v}": use a number of seconds or a value such as 500ms, 60s, 5min, 1h` });
    return z.NEVER;
  }
  const unit = { ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 's'] ?? 1000;
  return Math.round(Number(m[1]) * unit);
});

/** PostgreSQL-style sizes: a number of bytes, or `512kB`, `100MB`, `1GB` (units of 1024, as postgresql.conf). Parsed to bytes. */
export const size = z.union([z.number().int().nonnegative(), z.string()]).transform((v, ctx) => {
  if (typeof v === 'number') return v;
  const m = /^\s*(\d+)\s*(B|kB|MB|GB|TB)?\s*$/.exec(v);
  if (!m) {
    ctx.addIssue({ code: 'custom', message: `invalid size "${v}": use a number of bytes or a value such as 512kB, 100MB, 1GB` });
    return z.NEVER;
  }
  const unit = { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 }[m[2] ?? 'B'] ?? 1;
  return Number(m[1]) * unit;
});
