#!/usr/bin/env node
// Builds the native session relay (native/relay.c) with node-gyp during `npm install`. It never
// fails the install: without a compiler or Node's headers gatehouse uses its JavaScript relay,
// and this prints one line saying so. Linux only (the relay uses epoll).
import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const skip = (why) => {
  console.log(`gatehouse: native relay not built (${why}); sessions use the JavaScript relay`);
  process.exit(0);
};

if (process.platform !== 'linux') skip(`not on Linux (${process.platform})`);
if (process.env.GATEHOUSE_SKIP_NATIVE === '1') skip('GATEHOUSE_SKIP_NATIVE=1');

/** npm sets npm_config_node_gyp for lifecycle scripts; otherwise use the node-gyp bundled with npm. */
function nodeGyp() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return fromNpm;
  const npmCli = process.env.npm_execpath;
  const candidates = [];
  if (npmCli) candidates.push(join(dirname(realpathSync(npmCli)), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  candidates.push(join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  return candidates.find((c) => existsSync(c)) ?? null;
}

const gyp = nodeGyp();
if (!gyp) skip('node-gyp not found');
const args = [gyp, 'rebuild'];
// Build against the headers installed with Node (npm's nodedir setting) rather than downloading them.
const nodedir = process.env.npm_config_nodedir || (existsSync('/usr/include/node/node_api.h') ? '/usr' : '');
if (nodedir) args.push(`--nodedir=${nodedir}`);
const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
if (r.status !== 0) {
  const last = `${r.stderr ?? ''}${r.error?.message ?? ''}`.trim().split('\n').filter((l) => /error/i.test(l)).slice(-1)[0] ?? `exit ${r.status}`;
  skip(`node-gyp failed: ${last.trim().slice(0, 200)}`);
}
console.log('gatehouse: native relay built (build/Release/gatehouse_relay.node)');
