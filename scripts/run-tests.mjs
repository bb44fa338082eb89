#!/usr/bin/env node
// Runs the node:test suite. Node 20 does not expand globs in --test, so the files are listed here.
// Usage: node scripts/run-tests.mjs [tier ...]   (tiers: unit spec integration fuzz regressions)
// With no tier, the TLS tests also run a second time on tls_engine: node (see below).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const tiers = process.argv.slice(2);
const roots = (tiers.length ? tiers : ['unit', 'spec', 'regressions', 'fuzz', 'integration']).map((t) => join('test', t));
const files = [];
const walk = (dir) => {
  let names;
  try { names = readdirSync(dir).sort(); } catch { return; }
  for (const name of names) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.ts')) files.push(p);
  }
};
roots.forEach(walk);
if (files.length === 0) { console.error('no test files found'); process.exit(1); }
const run = (list, env = process.env) => spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...list], { stdio: 'inherit', env }).status ?? 1;
let status = run(files);
// tls_engine defaults to auto: with the native relay built, the run above spoke TLS natively. The
// JavaScript TLS path (tls_engine: node, and every machine without a C compiler) gets its own pass
// through the door, the invariants, the handshake fuzz and SCRAM to the server.
const NODE_TLS = ['test/integration/gateway/door.test.ts', 'test/integration/gateway/invariants.test.ts', 'test/fuzz/handshake.fuzz.test.ts', 'test/integration/auth/scram-upstream.test.ts'];
if (tiers.length === 0 && !process.env.GATEHOUSE_TEST_TLS_ENGINE && existsSync('build/Release/gatehouse_relay.node')) {
  console.log('# the same TLS tests again on tls_engine: node');
  status = run(NODE_TLS, { ...process.env, GATEHOUSE_TEST_TLS_ENGINE: 'node' }) || status;
}
process.exit(status);
