/**
 * PostgreSQL refuses to run as root. As root, its programs run as the `postgres` OS user, which must
 * be able to reach both the binaries and the data folder. A checkout under a private folder such as
 * /root (mode 0700) is closed to it, so what it can't reach is copied or placed where it can.
 * Shared by the quick start and the test harness.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, parse } from 'node:path';

export interface OsUser { uid: number; gid: number }

/** The `postgres` OS user from /etc/passwd, or null when there is none. */
export function lookupPostgresUser(): OsUser | null {
  let passwd: string;
  try { passwd = readFileSync('/etc/passwd', 'utf8'); } catch { return null; }
  const [, , uid, gid] = passwd.split('\n').find((l) => l.startsWith('postgres:'))?.split(':') ?? [];
  return uid === undefined || gid === undefined ? null : { uid: Number(uid), gid: Number(gid) };
}

/** `test -x path` as `user`: it can traverse to the folder `path` (or execute the file), asked of the kernel. */
export function canReach(user: OsUser, path: string): boolean {
  return spawnSync('test', ['-x', path], { uid: user.uid, gid: user.gid }).status === 0;
}

/** The outermost folder on the way to `path` that `user` cannot traverse, or null when it can reach it. */
export function blockingFolder(user: OsUser, path: string): string | null {
  if (canReach(user, path)) return null;
  let blocker = path;
  for (let p = path; p !== parse(p).root; p = dirname(p)) if (!canReach(user, p)) blocker = p;
  return blocker;
}

/**
 * `dir` itself when `user` can run `dir/bin/postgres`; otherwise a copy of `dir` under `cacheRoot`
 * (which `user` must be able to reach), made once and keyed by the binary's path, size and mtime.
 */
export function reachableBinaries(dir: string, user: OsUser, cacheRoot: string): string {
  const postgres = join(dir, 'bin', 'postgres');
  if (!existsSync(postgres) || canReach(user, postgres)) return dir;
  const st = statSync(postgres);
  const key = createHash('sha256').update(`${dir}:${st.size}:${st.mtimeMs}`).digest('hex').slice(0, 16);
  const copy = join(cacheRoot, `gatehouse-pgnative-${key}`);
  if (existsSync(join(copy, 'bin', 'postgres'))) return copy;
  const scratch = `${copy}.tmp-${process.pid}`;
  cpSync(dir, scratch, { recursive: true, verbatimSymlinks: true });
  try { renameSync(scratch, copy); } catch { rmSync(scratch, { recursive: true, force: true }); }
  return copy;
}
