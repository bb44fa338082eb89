/**
 * The relay: bytes between an authenticated client and its server, forwarded as the original
 * chunks (no per-message writes; DESIGN.md performance principles). Backpressure pauses the
 * faster side. The pooled modes (issue 4) attach a scanner here to see message boundaries.
 */
import type { Duplex } from 'node:stream';
import type { SessionCounters } from './counters.js';

export interface RelayStats {
  bytesIn: number;
  bytesOut: number;
}

export interface RelayHandle {
  readonly stats: RelayStats;
  /** Ends the relay: flushes what was written, then closes both sides. */
  close(): void;
  /** Resolves once both sides are closed, with what ended it. */
  readonly done: Promise<string>;
}

/**
 * Starts relaying; `clientHead` and `serverHead` are bytes already read and not yet forwarded.
 * `counters`, when given, sees every forwarded chunk (SHOW STATS, metrics).
 */
export function startRelay(client: Duplex, server: Duplex, clientHead?: Buffer, serverHead?: Buffer, counters?: SessionCounters): RelayHandle {
  const stats: RelayStats = { bytesIn: 0, bytesOut: 0 };
  const { finish, handle } = relayLifecycle(client, server, stats);
  const fromClient = counters
    ? (c: Buffer): void => { stats.bytesIn += c.length; counters.fromClient(c); }
    : (c: Buffer): void => { stats.bytesIn += c.length; };
  const fromServer = counters
    ? (c: Buffer): void => { stats.bytesOut += c.length; counters.fromServer(c); }
    : (c: Buffer): void => { stats.bytesOut += c.length; };
  pump(client, server, fromClient, () => finish('client closed'));
  pump(server, client, fromServer, () => finish('server closed'));

  if (clientHead && clientHead.length > 0) {
    fromClient(clientHead);
    server.write(clientHead);
  }
  if (serverHead && serverHead.length > 0) {
    fromServer(serverHead);
    client.write(serverHead);
  }
  client.resume();
  server.resume();
  return handle;
}

/**
 * The end semantics every JavaScript relay shares (this one and tapped-relay.ts): the client gone
 * destroys the server; the server gone lets what it sent last (a FATAL, say) reach the client,
 * then closes it within a second; `close()` flushes both, then closes them. `finish` keeps the
 * first reason given; `done` resolves with it once both sides are closed.
 */
export function relayLifecycle(client: Duplex, server: Duplex, stats: RelayStats): { finish: (why: string) => void; handle: RelayHandle } {
  let reason = '';
  let resolveDone!: (r: string) => void;
  const done = new Promise<string>((r) => (resolveDone = r));
  let closed = 0;
  const finish = (why: string): void => {
    if (!reason) reason = why;
  };
  const onClosed = (): void => {
    if (++closed === 2) resolveDone(reason || 'closed');
  };
  client.once('close', () => {
    finish('client closed');
    server.destroy();
    onClosed();
  });
  server.once('close', () => {
    finish('server closed');
    client.end();
    setTimeout(() => client.destroy(), 1000).unref();
    onClosed();
  });
  client.on('error', () => finish('client error'));
  server.on('error', () => finish('server error'));
  const handle: RelayHandle = {
    stats,
    done,
    close() {
      finish('closed by gatehouse');
      client.end();
      server.end();
      setTimeout(() => {
        client.destroy();
        server.destroy();
      }, 1000).unref();
    },
  };
  return { finish, handle };
}

function pump(from: Duplex, to: Duplex, count: (chunk: Buffer) => void, onEnd: () => void): void {
  from.on('data', (chunk: Buffer) => {
    count(chunk);
    if (!to.write(chunk)) from.pause();
  });
  to.on('drain', () => from.resume());
  from.once('end', () => {
    onEnd();
    to.end();
  });
}
