/**
 * The CPU split behind bench/README.md: pgbench -S -c 8 against each proxy in turn, proxy
 * utime/stime per transaction from /proc. Run: cp this into test/ and `npx tsx test/cpu-split.ts`.
 */
import { writeFileSync, mkdtempSync, readFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import { startCluster, freePort, clientBin } from '../../../test/harness/pg.js';
const cluster = await startCluster({ version: 15 });
await cluster.createRole('bench', { password: 'pw' });
await cluster.query('GRANT CREATE ON SCHEMA public TO bench');
const dir = mkdtempSync(join(tmpdir(), 'prof-')); chmodSync(dir, 0o777);
const port = await freePort(); const pgbPort = await freePort();
const v = (await cluster.query<{ rolpassword: string }>("select rolpassword from pg_authid where rolname='bench'"))[0]!.rolpassword;
writeFileSync(join(dir, 'hba'), 'host all all 127.0.0.1/32 scram-sha-256\n');
writeFileSync(join(dir, 'users'), `"bench" "${v}"\n`);
writeFileSync(join(dir, 'g.yaml'), `listen: {port: ${port}}\nhba: hba\nauth: {users: users}\nlog: {level: warn}\ndatabases: {"*": {host: 127.0.0.1, port: ${cluster.port}, sslmode: disable}}\n`);
writeFileSync(join(dir, 'pgb.ini'), `[databases]\n* = host=127.0.0.1 port=${cluster.port}\n[pgbouncer]\nlisten_addr=127.0.0.1\nlisten_port=${pgbPort}\nunix_socket_dir=\nauth_type=scram-sha-256\nauth_file=${join(dir,'users')}\npool_mode=session\ndefault_pool_size=20\nmax_client_conn=100\nlogfile=${join(dir,'pgb.log')}\n`);
chmodSync(join(dir,'users'), 0o644);
const env = { ...process.env, PGPASSWORD: 'pw', PGSSLMODE: 'disable' };
const run = (args: string[], p: number) => new Promise<string>((res) => { const c = spawn(clientBin('pgbench'), ['-h', '127.0.0.1', '-p', String(p), '-U', 'bench', ...args, 'postgres'], { env }); let o = ''; c.stdout.on('data', d => o += d); c.stderr.on('data', d => o += d); c.on('close', () => res(o)); });
await run(['-i', '-s', '5', '-q'], cluster.port);
const ticks = (pid: number) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' '); return [Number(f[11]), Number(f[12])]; };
const here = (f: string): string => new URL(f, import.meta.url).pathname;
const nativePort = await freePort();
for (const [name, cmd, args, p] of [
  ['native-relay', process.execPath, [here('./proxy.mjs'), String(nativePort), String(cluster.port)], nativePort],
  ['gatehouse', process.execPath, [here('../../../dist/cli.js'), 'serve', '--config', join(dir, 'g.yaml')], port], ['pgbouncer', 'setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', 'pgbouncer', join(dir, 'pgb.ini')], pgbPort]] as const) {
  const proc = spawn(cmd as string, args as unknown as string[], { stdio: ['ignore', 'ignore', 'inherit'] });
  await new Promise(r => setTimeout(r, 1500));
  await run(['-S', '-c', '8', '-j', '2', '-T', '2', '-n'], p as number);
  const t0 = ticks(proc.pid!);
  const out = await run(['-S', '-c', '8', '-j', '2', '-T', '8', '-n'], p as number);
  const t1 = ticks(proc.pid!);
  const tps = Number(/tps = ([\d.]+)/.exec(out)?.[1]);
  const n = tps * 8;
  console.log(name, 'tps', tps.toFixed(0), 'user us/xact', ((t1[0]! - t0[0]!) * 1e4 / n).toFixed(1), 'sys us/xact', ((t1[1]! - t0[1]!) * 1e4 / n).toFixed(1));
  proc.kill('SIGINT'); await new Promise(r => proc.on('exit', r));
}
await cluster.stop();
