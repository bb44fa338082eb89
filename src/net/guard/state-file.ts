/**
 * Bans survive a restart: the active bans and the repeat-offence counts go to a JSON state file,
 * written atomically (a temp file in the same folder, fsync, rename, fsync of the folder), so a
 * crash leaves either the old file or the new one, never half of one.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync, unlinkSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { GatehouseError } from '../../errors.js';
import type { Ban } from './bans.js';

export interface GuardStateFile {
  version: 1;
  bans: Ban[];
  offenses: { source: string; count: number; lastUntil: number }[];
}

/** Reads the state file; a missing file is an empty state, a damaged one is an error naming the file. */
export function readStateFile(path: string): GuardStateFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, bans: [], offenses: [] };
    throw new GatehouseError('GH_GUARD_STATE', `could not read the guard state file: ${(e as Error).message}`, path);
  }
  try {
    const v = JSON.parse(text) as GuardStateFile;
    if (v?.version !== 1 || !Array.isArray(v.bans) || !Array.isArray(v.offenses)) throw new Error('not a gatehouse guard state file (version 1)');
    for (const b of v.bans) {
      if (typeof b.source !== 'string' || typeof b.until !== 'number' || typeof b.bannedAt !== 'number') throw new Error(`invalid ban entry ${JSON.stringify(b)}`);
    }
    return v;
  } catch (e) {
    throw new GatehouseError('GH_GUARD_STATE', `invalid guard state file: ${(e as Error).message}; fix or remove it`, path);
  }
}

/** Writes the state atomically. Synchronous on purpose: it is small and written only when a ban changes. */
export function writeStateFile(path: string, state: GuardStateFile): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(state) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, path);
  } catch (e) {
    unlinkSync(tmp);
    throw e;
  }
  const dfd = openSync(dir, 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}
