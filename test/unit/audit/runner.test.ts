/**
 * When a sink's queue is written (src/audit/runner.ts): a few records wait LINGER_MS for company; a
 * burst (a native relay's mirror hand-over brings dozens at once) is written at the end of the
 * event-loop turn, without waiting for a timer.
 */
import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { SinkRunner } from '../../../src/audit/runner.js';
import type { Formatted, SinkDriver } from '../../../src/audit/sinks/driver.js';
import { GatewayEvents } from '../../../src/events.js';

function runner(): { r: SinkRunner; batches: number[] } {
  const batches: number[] = [];
  const driver: SinkDriver = {
    name: 'test', format: 'json',
    open: () => Promise.resolve(),
    write: (batch) => (batches.push(batch.length), Promise.resolve()),
    reset: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  return { r: new SinkRunner(driver, 'block', 10_000, { events: new GatewayEvents(), logger: pino({ level: 'silent' }), changed: () => undefined }), batches };
}
const line = (i: number): Formatted => ({ text: `{"n":${i}}`, kind: 'statement', time: new Date(0), severity: 6 });
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

test('a few records wait for the linger timer; a burst is written at the end of the turn', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  try {
    const { r, batches } = runner();
    for (let i = 0; i < 3; i++) r.push(line(i));
    await turn();
    assert.deepEqual(batches, [], 'three records linger');
    mock.timers.tick(2);
    await turn();
    assert.deepEqual(batches, [3]);
    for (let i = 0; i < 40; i++) r.push(line(i));
    await turn();
    assert.deepEqual(batches, [3, 40], 'the burst went without the timer');
  } finally {
    mock.timers.reset();
  }
});
