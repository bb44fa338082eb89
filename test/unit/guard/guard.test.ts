/** The guard's decisions at accept time, in order: deny, allow, bans, rate, per-source and global caps. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../src/config/load.js';
import { GatewayEvents, type ConnectionEvent } from '../../../src/events.js';
import { Guard } from '../../../src/net/guard/guard.js';
import { canonicalSource } from '../../../src/net/guard/cidr.js';
import { GatehouseError } from '../../../src/errors.js';

function guardWith(yaml: string, clock = { t: 1_000_000 }): { guard: Guard; events: GatewayEvents; clock: { t: number }; rejected: string[] } {
  const cfg = parseConfig(`hba: pg_hba.conf\nguard: ${yaml}\n`, '/etc/gatehouse/gatehouse.yaml');
  const events = new GatewayEvents();
  const rejected: string[] = [];
  events.on('guard', (e) => rejected.push(`${e.client} ${e.reason}`));
  return { guard: new Guard(cfg.guard, events, () => clock.t), events, clock, rejected };
}
const admit = (g: Guard, source: string) => {
  const s = canonicalSource(source);
  return g.admit(s.text, s.addr);
};
const failure = (address: string, sqlstate: string, reason: string, user = 'app'): ConnectionEvent =>
  ({ session: 1, client: { socket: 'tcp', address }, outcome: 'failure', sqlstate, reason, user, duration_ms: 1 });

test('deny wins over allow; an allow list shuts out everyone else; IPv4-mapped IPv6 is IPv4', () => {
  const { guard, rejected } = guardWith('{allow: [10.0.0.0/8, "2001:db8::/32"], deny: [10.9.0.0/16]}');
  assert.equal(admit(guard, '10.1.2.3').ok, true);
  assert.equal(admit(guard, '::ffff:10.1.2.3').ok, true);
  assert.equal(admit(guard, '2001:db8::5').ok, true);
  const denied = admit(guard, '10.9.1.1');
  assert.deepEqual(denied, { ok: false, reason: 'denied' }, 'no FATAL: closed with no byte sent');
  assert.deepEqual(admit(guard, '192.0.2.1'), { ok: false, reason: 'not allowed' });
  assert.deepEqual(rejected, ['10.9.1.1 denied', '192.0.2.1 not allowed']);
});

test('five failures ban a source; the ignore list and other sources are never affected', () => {
  const { guard, events, clock } = guardWith('{ignore: [192.0.2.100], bantime: 2s}');
  const bans: string[] = [];
  events.on('guard.ban', (e) => bans.push(`${e.source} ${e.failures}`));
  for (let i = 0; i < 5; i++) {
    guard.onConnection(failure('192.0.2.1', '28P01', 'password authentication failed for user "app"'));
    guard.onConnection(failure('192.0.2.100', '28P01', 'password authentication failed for user "app"'));
  }
  assert.deepEqual(bans, ['192.0.2.1 5']);
  assert.deepEqual(admit(guard, '192.0.2.1'), { ok: false, reason: 'banned' });
  assert.equal(admit(guard, '192.0.2.100').ok, true);
  assert.equal(admit(guard, '192.0.2.2').ok, true);
  assert.deepEqual(guard.bans().map((b) => [b.source, b.failures, b.reason]), [['192.0.2.1', 5, 'auth: password authentication failed for user "app"']]);
  clock.t += 2000;
  assert.equal(admit(guard, '192.0.2.1').ok, true, 'the ban ends after bantime');
});

test('what counts: auth, hba and protocol failures (each switchable); not timeouts, hang-ups or upstream failures', () => {
  const { guard } = guardWith('{maxretry: 1, count_hba_rejections: false}');
  guard.onConnection(failure('192.0.2.1', '28000', 'no pg_hba.conf entry for host "192.0.2.1", user "x", database "y", no encryption'));
  guard.onConnection(failure('192.0.2.1', '57014', 'canceling authentication due to timeout'));
  guard.onConnection(failure('192.0.2.1', '08006', 'server connection failed'));
  guard.onConnection({ ...failure('192.0.2.1', '08P01', 'x'), outcome: 'abandoned' });
  assert.equal(admit(guard, '192.0.2.1').ok, true);
  guard.onConnection({ ...failure('192.0.2.2', '', ''), sqlstate: undefined, reason: 'invalid length of startup packet' });
  assert.equal(admit(guard, '192.0.2.2').ok, false);
  guard.onConnection(failure('192.0.2.3', '28000', 'certificate authentication failed for user "x"'));
  assert.equal(admit(guard, '192.0.2.3').ok, false);
});

test('caps: token bucket per source, concurrent connections, handshakes per source and overall, each a 53300', () => {
  const { guard, clock } = guardWith('{max_connections_per_second: 2, connection_burst: 3, max_connections_per_source: 4, max_handshakes_per_source: 2, max_handshakes: 3}');
  const tickets = [];
  for (let i = 0; i < 2; i++) {
    const a = admit(guard, '192.0.2.1');
    assert.ok(a.ok);
    tickets.push(a.ticket);
  }
  const third = admit(guard, '192.0.2.1');
  assert.ok(!third.ok && third.reason === 'handshakes');
  assert.equal(third.fatal?.message, 'too many unauthenticated connections from host "192.0.2.1"');
  assert.equal(third.fatal?.code, '53300');
  const rate = admit(guard, '192.0.2.1');
  assert.ok(!rate.ok && rate.reason === 'rate', 'the burst of 3 is spent');
  assert.equal(rate.fatal?.message, 'too many connection attempts from host "192.0.2.1"');
  clock.t += 1000; // two more tokens
  for (const t of tickets) t.admitted();
  const more = [admit(guard, '192.0.2.1'), admit(guard, '192.0.2.1')];
  assert.ok(more.every((a) => a.ok));
  clock.t += 1000;
  const fifth = admit(guard, '192.0.2.1');
  assert.ok(!fifth.ok && fifth.reason === 'connections');
  assert.equal(fifth.fatal?.message, 'too many connections from host "192.0.2.1"');
  const other = admit(guard, '192.0.2.9');
  assert.ok(other.ok, '2 handshakes in progress');
  const global = admit(guard, '192.0.2.10');
  assert.ok(!global.ok && global.reason === 'global handshakes');
  assert.equal(global.fatal?.message, 'sorry, too many clients already');
  for (const m of more) if (m.ok) m.ticket.admitted();
  tickets[0]!.closed();
  tickets[0]!.closed();
  clock.t += 1000;
  assert.ok(admit(guard, '192.0.2.1').ok, 'a closed connection frees its slot once');
});

test('BAN/UNBAN; a locked role; bans survive in the state file, expired ones are dropped', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'guard-state-'));
  const file = join(dir, 'bans.json');
  const clock = { t: 1_000_000 };
  const a = guardWith(`{state_file: ${file}, lock_role_after: 2}`, clock);
  a.guard.start();
  assert.equal(a.guard.ban('::ffff:192.0.2.5', 60_000).source, '192.0.2.5');
  a.guard.ban('192.0.2.6', 1000);
  assert.throws(() => a.guard.ban('10.0.0.0/8'), /not an IP address/);
  a.guard.onConnection(failure('127.0.0.1', '28P01', 'password authentication failed for user "alice"', 'alice'));
  a.guard.onConnection(failure('127.0.0.1', '28P01', 'password authentication failed for user "alice"', 'alice'));
  assert.equal(a.guard.roleLocked('alice'), true, 'two failures from an ignored address still lock the role');
  assert.equal(a.guard.roleLocked('bob'), false);
  await a.guard.close();
  const saved = JSON.parse(readFileSync(file, 'utf8')) as { bans: { source: string }[] };
  assert.deepEqual(saved.bans.map((b) => b.source).sort(), ['192.0.2.5', '192.0.2.6', 'role:alice']);
  clock.t += 5000;
  const b = guardWith(`{state_file: ${file}, lock_role_after: 2}`, clock);
  b.guard.start();
  assert.deepEqual(b.guard.bans().map((x) => x.source), ['192.0.2.5', 'role:alice'], 'the 1 s ban expired while stopped');
  assert.deepEqual(admit(b.guard, '192.0.2.5'), { ok: false, reason: 'banned' });
  assert.equal(b.guard.unban('192.0.2.5'), true);
  assert.equal(b.guard.unban('role:alice'), true);
  assert.equal(b.guard.roleLocked('alice'), false);
  await b.guard.close();
  writeFileSync(file, '{"version": 1, "bans": [{"source": 1}]}');
  const c = guardWith(`{state_file: ${file}}`, clock);
  assert.throws(() => c.guard.start(), (e: unknown) => e instanceof GatehouseError && e.code === 'GH_GUARD_STATE' && e.message.startsWith(file));
});

test('config: lists must be addresses or CIDR blocks; PROXY protocol needs trusted peers', () => {
  const bad = (yaml: string): string => {
    try {
      parseConfig(`hba: pg_hba.conf\n${yaml}\n`, '/g.yaml');
    } catch (e) {
      return (e as Error).message;
    }
    return 'accepted';
  };
  assert.match(bad('guard: {deny: [10.0.0.0/33]}'), /guard\.deny\.0: "10\.0\.0\.0\/33" is not an IP address or CIDR block/);
  assert.match(bad('guard: {allow: [example.com]}'), /guard\.allow\.0: "example\.com" is not an IP address/);
  assert.match(bad('listen: {proxy_protocol: v2}'), /listen\.proxy_trusted: required when proxy_protocol is v2/);
  assert.match(bad('guard: {store: "mysql://x"}'), /guard\.store: must be "memory" or a redis:\/\/ or rediss:\/\/ URL/);
  assert.equal(bad('listen: {proxy_protocol: v1, proxy_trusted: [10.0.0.0/8]}'), 'accepted');
});

test('refusals are logged once per source and reason per window, then with the count left out', async () => {
  const { RefusalLogLimiter } = await import('../../../src/log.js');
  const l = new RefusalLogLimiter();
  assert.equal(l.admit('a banned', 0), 0);
  assert.equal(l.admit('a banned', 1), null);
  assert.equal(l.admit('a banned', 2), null);
  assert.equal(l.admit('a rate', 3), 0, 'another reason is another line');
  assert.equal(l.admit('a banned', RefusalLogLimiter.WINDOW_MS), 2);
});
