/** The ban book: fail2ban's maxretry/findtime/bantime, bantime.increment and merging. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BanBook, OFFENSE_MEMORY_MS, type BanPolicy } from '../../../src/net/guard/bans.js';

const MIN = 60_000;
const policy: BanPolicy = { maxretry: 5, findtime: 10 * MIN, bantime: 10 * MIN, bantime_increment: true, bantime_factor: 2, bantime_max: 60 * MIN };

test('maxretry failures within findtime ban for bantime; older failures fall out of the window', () => {
  const b = new BanBook(policy);
  for (let i = 0; i < 4; i++) assert.equal(b.fail('192.0.2.1', 'auth', i * 1000), null);
  assert.equal(b.fail('192.0.2.1', 'auth', 11 * MIN), null, 'the first four are older than findtime: one failure on record');
  assert.equal(b.failuresOf('192.0.2.1', 11 * MIN), 1);
  for (let i = 1; i < 4; i++) assert.equal(b.fail('192.0.2.1', 'auth', 11 * MIN + i), null);
  const ban = b.fail('192.0.2.1', 'auth: password authentication failed', 11 * MIN + 4);
  assert.ok(ban);
  assert.deepEqual([ban.failures, ban.until - ban.bannedAt, ban.offense], [5, 10 * MIN, 1]);
  assert.ok(b.banOf('192.0.2.1', 21 * MIN));
  assert.equal(b.banOf('192.0.2.1', 21 * MIN + 4), null, 'expired at bannedAt + bantime');
  assert.equal(b.banOf('192.0.2.2', 0), null, 'other sources are not affected');
});

test('repeat offenders: bantime × factor^(earlier bans), capped at bantime_max; forgotten after a day', () => {
  const b = new BanBook(policy);
  let t = 0;
  const banNow = (): number => {
    let ban = null;
    for (let i = 0; i < 5 && !ban; i++) ban = b.fail('198.51.100.7', 'auth', ++t);
    assert.ok(ban);
    t = ban.until;
    return ban.until - ban.bannedAt;
  };
  assert.deepEqual([banNow(), banNow(), banNow(), banNow()], [10 * MIN, 20 * MIN, 40 * MIN, 60 * MIN]);
  t += OFFENSE_MEMORY_MS;
  assert.equal(banNow(), 10 * MIN, 'a day without a ban starts over');
  const flat = new BanBook({ ...policy, bantime_increment: false });
  flat.ban('a', 'x', 0);
  assert.equal(flat.ban('a', 'x', 10 * MIN).until, 20 * MIN);
});

test('admin bans take a duration; unban lifts and forgets; maxretry 0 turns bans off', () => {
  const b = new BanBook(policy);
  b.fail('a', 'auth', 0);
  assert.equal(b.ban('a', 'admin', 0, 5000).until, 5000);
  assert.equal(b.unban('a', 1), true);
  assert.equal(b.unban('a', 1), false);
  assert.equal(b.failuresOf('a', 1), 0);
  const off = new BanBook({ ...policy, maxretry: 0 });
  for (let i = 0; i < 50; i++) assert.equal(off.fail('a', 'auth', i), null);
});

test('merge keeps the later ban; an unban made elsewhere drops only older bans', () => {
  const b = new BanBook(policy);
  const mine = b.ban('a', 'auth', 1000);
  assert.equal(b.merge({ ...mine, until: mine.until - 1 }, 2000), false);
  assert.equal(b.merge({ ...mine, until: mine.until + 1 }, 2000), true);
  assert.equal(b.merge({ ...mine, source: 'b', until: 1500 }, 2000), false, 'an expired ban is not taken');
  assert.equal(b.dropIfNotNewer('a', 500, 2000), false, 'the unban predates this ban');
  assert.equal(b.dropIfNotNewer('a', 1000, 2000), true);
  assert.deepEqual(b.list(2000), []);
});
