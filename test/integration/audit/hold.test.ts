/**
 * `audit.on_sink_failure: block` at the door (issue 6): while the only sink (a syslog receiver over
 * TCP) is down, a recorded session's next statement is held by gatehouse — the server never sees
 * it — and it runs, in order, once the receiver is back. Transaction and session pooling.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { availableVersions, freePort } from '../../harness/pg.js';
import { createLogger } from '../../../src/log.js';
import type { AuditSinkEvent } from '../../../src/events.js';
import { client, startDoor, type DoorSetup } from './door-support.js';

/** A syslog receiver that accepts and discards; close() hangs up on gatehouse. */
class Receiver {
  #server: Server | null = null;
  readonly #sockets = new Set<Socket>();
  async listen(port: number): Promise<void> {
    this.#server = createServer((s) => {
      this.#sockets.add(s);
      s.on('data', () => undefined);
      s.on('close', () => this.#sockets.delete(s));
    });
    await new Promise<void>((r) => this.#server!.listen(port, '127.0.0.1', r));
  }
  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((r) => (this.#server ? this.#server.close(() => r()) : r()));
  }
}

const [version] = await availableVersions();

describe(`on_sink_failure: block holds statements at the door (PostgreSQL ${version})`, () => {
  let t: DoorSetup;
  let port: number;
  let rx = new Receiver();
  const sinkEvent = (event: AuditSinkEvent['event']): Promise<void> => new Promise((resolve) => {
    const on = (e: AuditSinkEvent): void => {
      if (e.event !== event) return;
      t.gh.gateway.events.off('audit.sink', on);
      resolve();
    };
    t.gh.gateway.events.on('audit.sink', on);
  });

  before(async () => {
    port = await freePort();
    await rx.listen(port);
    t = await startDoor(version!, ['hold', 'hold_s'],
      `audit:\n  log: [all]\n  on_sink_failure: block\n  sinks:\n    - {type: syslog, protocol: tcp, port: ${port}, format: json}\n`);
    await t.gh.gateway.openAudit(createLogger('warn', new Writable({ write: (_c, _e, cb) => cb() })));
    await t.cluster.query('CREATE TABLE hold_t (who text)');
  });
  after(async () => {
    await t?.stop();
    await rx.close();
  });

  for (const user of ['hold', 'hold_s']) {
    test(`${user === 'hold' ? 'transaction' : 'session'} pooling: the statement waits for the sink, then runs`, async () => {
      const c = client(t.gh, user);
      await c.connect();
      await c.query('SELECT 1');
      const down = sinkEvent('down');
      await rx.close();
      await down;
      assert.equal(t.gh.gateway.audit.accepting, false);
      const insert = c.query('INSERT INTO hold_t VALUES ($1)', [user]);
      let done = false;
      void insert.then(() => (done = true), () => (done = true));
      // Not a timing assertion: however long we look, a held statement has not reached the server.
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(done, false, 'the client is still waiting');
      assert.deepEqual(await t.cluster.query('SELECT who FROM hold_t WHERE who = $1', [user]), [], 'the server never saw it');
      const up = sinkEvent('up');
      rx = new Receiver();
      await rx.listen(port);
      await up;
      await insert;
      assert.deepEqual(await t.cluster.query('SELECT who FROM hold_t WHERE who = $1', [user]), [{ who: user }]);
      assert.deepEqual((await c.query('SELECT count(*)::int AS n FROM hold_t WHERE who = $1', [user])).rows, [{ n: 1 }]);
      await c.end();
    });
  }
});
