#!/usr/bin/env node
// Runs the node:test suite. Node 20 does not expand globs in --test, so the files are listed here.
// Usage: node scripts/run-tests.mjs [tier ...]   (tiers: unit spec integration fuzz regressions)
import { readdirSync, statSync } from 'node:fs';
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
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
