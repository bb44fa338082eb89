/**
 * Reads a YAML config file, checks it against {@link configSchema} and resolves relative paths
 * from the file's folder. Every problem is reported with the key path and what to do about it.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { GatehouseError } from '../errors.js';
import { configSchema, type Config } from './schema.js';

/** Loads and validates `path`. Throws GatehouseError GH_CONFIG_READ / GH_CONFIG_INVALID listing every problem. */
export function loadConfig(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new GatehouseError('GH_CONFIG_READ', `could not read configuration file: ${(e as Error).message}`, path);
  }
  return parseConfig(text, path);
}

/** Parses config text as if it were the file at `path` (paths resolve from its folder). */
export function parseConfig(text: string, path: string): Config {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => `${path}:${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`);
    throw new GatehouseError('GH_CONFIG_INVALID', `invalid YAML\n${lines.join('\n')}`, path);
  }
  const raw: unknown = doc.toJS() ?? {};
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => describeIssue(i, raw));
    throw new GatehouseError('GH_CONFIG_INVALID', `configuration is not valid\n${lines.join('\n')}`, path);
  }
  return resolvePaths(parsed.data, dirname(resolve(path)));
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  const at = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys
      .map((k) => {
        const where = at ? `${at}.${k}` : k;
        const known = knownKeysAt(issue.path);
        const near = closest(k, known);
        return `  ${where}: unknown key${near ? ` (did you mean "${near}"?)` : ''}; known keys here: ${known.join(', ')}`;
      })
      .join('\n');
  }
  if (issue.code === 'invalid_type' && valueAt(raw, issue.path) === undefined) {
    return `  ${at}: required key is missing (${issue.message.replace(/^Invalid input: /, '')})`;
  }
  return `  ${at || '(top level)'}: ${issue.message.replace(/^Invalid input: /, '')}`;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = raw;
  for (const p of path) v = v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

/** The keys the schema allows at a path, for "did you mean" hints. */
function knownKeysAt(path: readonly PropertyKey[]): string[] {
  let s: z.ZodType = configSchema;
  for (const p of path) {
    s = unwrap(s);
    const def = (s as unknown as { def: { type: string; shape?: Record<string, z.ZodType>; valueType?: z.ZodType; element?: z.ZodType } }).def;
    if (def.type === 'object' && def.shape) s = def.shape[String(p)] ?? s;
    else if (def.type === 'record' && def.valueType) s = def.valueType;
    else if (def.type === 'array' && def.element) s = def.element;
  }
  // A list of alternatives (audit.sinks): the keys any of them allows.
  const def = (unwrap(s) as unknown as { def: { shape?: Record<string, unknown>; options?: z.ZodType[] } }).def;
  const shapes = def.options ? def.options.map((o) => (unwrap(o) as unknown as { def: { shape?: Record<string, unknown> } }).def.shape) : [def.shape];
  return [...new Set(shapes.flatMap((sh) => Object.keys(sh ?? {})))];
}

function unwrap(s: z.ZodType): z.ZodType {
  let cur = s as unknown as { def: { type: string; innerType?: z.ZodType; in?: z.ZodType } };
  while (cur.def.innerType || (cur.def.type === 'pipe' && cur.def.in)) {
    cur = (cur.def.innerType ?? cur.def.in) as unknown as typeof cur;
  }
  return cur as unknown as z.ZodType;
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

function resolvePaths(c: Config, base: string): Config {
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  const opt = (p: string | undefined): string | undefined => (p === undefined ? undefined : abs(p));
  const databases = Object.fromEntries(
    Object.entries(c.databases).map(([name, d]) => [name, { ...d, sslrootcert: opt(d.sslrootcert) }]),
  );
  return deepFreeze({
    ...c,
    listen: { ...c.listen, unix_socket_dir: opt(c.listen.unix_socket_dir) },
    tls: c.tls && { ...c.tls, cert: abs(c.tls.cert), key: abs(c.tls.key), client_ca: opt(c.tls.client_ca) },
    hba: abs(c.hba),
    ident: opt(c.ident),
    auth: { ...c.auth, users: opt(c.auth.users) },
    databases,
    guard: { ...c.guard, state_file: opt(c.guard.state_file) },
    audit: {
      ...c.audit,
      hmac_key_file: opt(c.audit.hmac_key_file),
      sinks: c.audit.sinks.map((s) => (s.type === 'file' ? { ...s, path: abs(s.path) } : s)),
    },
  });
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
