/**
 * `relay_cpus`: the native relay's thread runs on the CPUs it is given (read back from
 * /proc/self/task/<tid>/status), an empty list gives it back every CPU the process may use, and a
 * CPU the OS refuses stops `gatehouse serve` with an error naming the key. Its own file: the
 * relay thread is one per process, and other test files must not find it pinned.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativeRelayStatus, pinNativeRelay } from '../../../src/session/native-relay.js';
import { startServe } from '../../../src/cli/serve.js';
import { freePort } from '../../harness/pg.js';

/** Cpus_allowed_list of this process's thread named `name`. */
async function allowedCpus(name: string): Promise<string> {
  for (const tid of await readdir('/proc/self/task')) {
    if ((await readFile(`/proc/self/task/${tid}/comm`, 'utf8')).trim() !== name) continue;
    return /Cpus_allowed_list:\s*(\S+)/.exec(await readFile(`/proc/self/task/${tid}/status`, 'utf8'))![1]!;
  }
  throw new Error(`no thread named ${name}`);
}

test('the relay thread is pinned to the CPUs given, and unpinned by an empty list', async () => {
  assert.ok(nativeRelayStatus().available, 'the native relay is built (npm install builds it)');
  const all = await allowedCpus('gatehouse-relay');
  assert.equal(pinNativeRelay([0]), null);
  assert.equal(await allowedCpus('gatehouse-relay'), '0');
  assert.equal(/Cpus_allowed_list:\s*(\S+)/.exec(await readFile(`/proc/self/task/${process.pid}/status`, 'utf8'))![1], all, 'the Node thread is not pinned');
  assert.equal(pinNativeRelay([]), null);
  assert.equal(await allowedCpus('gatehouse-relay'), all);
  assert.match(pinNativeRelay([1023]) ?? '', /Invalid argument/, 'a CPU that is not there is refused by the OS');
  assert.equal(await allowedCpus('gatehouse-relay'), all, 'a refused pin leaves the thread as it was');
});

test('gatehouse serve refuses to start with a CPU it cannot use, naming relay_cpus', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-relay-cpus-'));
  try {
    await writeFile(join(dir, 'hba.conf'), 'host all all 127.0.0.1/32 reject\n');
    await writeFile(join(dir, 'g.yaml'), `listen: {addresses: [127.0.0.1], port: ${await freePort()}}\nhba: hba.conf\nlog: {level: error}\nrelay_cpus: [1023]\n`);
    await assert.rejects(startServe(join(dir, 'g.yaml'), { signals: false }), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'GH_CONFIG_INVALID');
      assert.match(e.message, /relay_cpus/);
      assert.match(e.message, /CPUs 1023: Invalid argument/);
      return true;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
