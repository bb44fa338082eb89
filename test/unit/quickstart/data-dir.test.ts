/**
 * Where the quick start keeps PostgreSQL's data: in `.gatehouse/pgdata` when the postgres OS user can
 * reach it, else under /var/lib/gatehouse, recorded so the next run uses the same place.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseDataDir, RELOCATED_ROOT } from '../../../src/quickstart/embedded.js';
import { blockingFolder, lookupPostgresUser } from '../../../src/quickstart/server-user.js';

const user = process.getuid?.() === 0 ? lookupPostgresUser() : null;
const skip = user ? false : 'needs root and a postgres OS user';

test('not root: the data dir is .gatehouse/pgdata', () => {
  const home = mkdtempSync(join(tmpdir(), 'gatehouse-qs-home-'));
  assert.equal(chooseDataDir(home, null), join(home, 'pgdata'));
  rmSync(home, { recursive: true });
});

test('a home the postgres user can reach keeps its data dir in place', { skip }, () => {
  const home = mkdtempSync(join(tmpdir(), 'gatehouse-qs-home-'));
  chmodSync(home, 0o755);
  assert.equal(chooseDataDir(home, user), join(home, 'pgdata'));
  rmSync(home, { recursive: true });
});

test('a home behind a 0700 folder relocates the data dir, names the blocker, and is remembered', { skip }, () => {
  const outer = mkdtempSync(join(tmpdir(), 'gatehouse-qs-private-'));
  chmodSync(outer, 0o700);
  const home = join(outer, 'project', '.gatehouse');
  mkdirSync(home, { recursive: true });
  assert.equal(blockingFolder(user!, home), outer);
  const first = chooseDataDir(home, user);
  assert.ok(first.startsWith(`${RELOCATED_ROOT}/quickstart-`), first);
  assert.equal(readFileSync(join(home, 'pgdata.location'), 'utf8'), `${first}\n`);
  assert.equal(chooseDataDir(home, user), first, 'a second run finds the same place');
  rmSync(outer, { recursive: true });
});
