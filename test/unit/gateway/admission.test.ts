/**
 * A client held by PAUSE is read (so a hang-up is noticed) but what it may send while it waits is
 * bounded: past MAX_HELD_WHILE_WAITING its socket is paused and TCP holds the rest.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { AdmissionGate, MAX_HELD_WHILE_WAITING, type Waiter } from '../../../src/gateway/admission.js';
import { ConnectionClosedError } from '../../../src/session/reader.js';

const waiter = (database: string): Waiter => ({
  id: 1, origin: { socket: 'tcp', address: '127.0.0.1', port: 5000 }, user: 'app', database, connectedAt: 0, since: 0,
  applicationName: '', tls: '', local: { address: '127.0.0.1', port: 6432 }, replication: 'none',
});
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('a waiting client that floods is paused past the bound; RESUME lets it go on', async () => {
  const gate = new AdmissionGate();
  gate.pause('db');
  const client = new PassThrough();
  let read = 0;
  client.on('data', (c: Buffer) => (read += c.length)); // the session's reader, still attached
  client.pause();
  const waiting = gate.wait(waiter('db'), client);
  for (let i = 0; i < 64; i++) client.write(Buffer.alloc(4096));
  await tick();
  assert.equal(client.isPaused(), true, 'paused once over the bound');
  assert.ok(read > MAX_HELD_WHILE_WAITING && read <= MAX_HELD_WHILE_WAITING + 4096, `read ${read} bytes`);
  gate.resume('db');
  await waiting;
  assert.equal(client.listenerCount('data'), 1, 'the gate\'s own listener is gone');
});

test('a waiting client that hangs up leaves the queue', async () => {
  const gate = new AdmissionGate();
  gate.pause('db');
  const client = new PassThrough();
  const waiting = gate.wait(waiter('db'), client);
  client.destroy();
  await assert.rejects(waiting, ConnectionClosedError);
});
