import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server } from 'node:net';
import { once } from 'node:events';
import { installAcceptScreen } from '../../../src/net/guard/accept-screen.js';

/** How a client connection from `from` ends: 'reset', 'closed' (FIN, no byte) or the bytes it got. */
function outcome(port: number, from: string): Promise<string> {
  return new Promise((resolve) => {
    const c = connect({ host: '127.0.0.1', port, localAddress: from });
    let got = '';
    c.on('data', (d: Buffer) => (got += d.toString()));
    c.on('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNRESET' ? 'reset' : String(e.code)));
    c.on('close', () => resolve(got || 'closed'));
  });
}

async function listening(refused: string[]): Promise<{ server: Server; port: number; seen: string[]; installed: boolean }> {
  const seen: string[] = [];
  const server = createServer((s) => {
    seen.push(s.remoteAddress ?? '');
    s.end('hello');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const installed = installAcceptScreen(server, {
    refuses: (source) => (refused.includes(source) ? 'banned' : null),
    bypass: () => false,
  });
  const port = (server.address() as { port: number }).port;
  return { server, port, seen, installed };
}

test('a refused source is reset on the raw handle: no Socket, no connection event, no byte', async () => {
  const { server, port, seen, installed } = await listening(['127.0.0.2']);
  try {
    assert.equal(installed, true, "Node's net.Server internals changed: the accept screen is not installed");
    assert.equal(await outcome(port, '127.0.0.2'), 'reset');
    assert.equal(await outcome(port, '127.0.0.3'), 'hello');
    assert.deepEqual(seen, ['127.0.0.3']);
  } finally {
    server.close();
  }
});

test('a bypassed source takes the ordinary path even when the screen would refuse it', async () => {
  const seen: string[] = [];
  const server = createServer((s) => {
    seen.push(s.remoteAddress ?? '');
    s.end('hello');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  installAcceptScreen(server, { refuses: () => 'banned', bypass: () => true });
  try {
    assert.equal(await outcome((server.address() as { port: number }).port, '127.0.0.2'), 'hello');
    assert.deepEqual(seen, ['127.0.0.2']);
  } finally {
    server.close();
  }
});
