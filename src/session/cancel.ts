/**
 * CancelRequest routing. Each client gets gatehouse's own random BackendKeyData; the registry maps
 * it to the server connection the client holds right now (its pid and key), so a cancel is
 * forwarded to exactly that server. Unknown keys are dropped silently, as PostgreSQL does.
 */
import { randomInt } from 'node:crypto';
import { connect } from 'node:net';
import { freshRandom } from '../auth/random.js';
import * as fe from '../protocol/frontend/encode.js';

/** Where a cancel for one client goes. Updated whenever the client's server changes. */
export interface CancelTarget {
  host: string;
  port: number;
  pid: number;
  key: Buffer;
}

/**
 * Asked at cancel time: a client on the native transaction plane, whose server changes without
 * JavaScript. The client itself is the source (an object, not a closure per client: issue 4's idle row).
 */
export interface CancelSource {
  cancelTarget(): CancelTarget | null;
}

interface Entry {
  /** The client's key, a signed 32-bit integer: a Buffer here would keep a whole 8 KiB slab of Node's shared buffer pool alive per client (issue 4's idle row). */
  key: number;
  target: CancelTarget | CancelSource | null;
}

export class CancelRegistry {
  private readonly entries = new Map<number, Entry>();

  /** Issues a fresh (pid, key) for a client; the key is the 4 bytes of BackendKeyData as a signed 32-bit integer. */
  issue(): { pid: number; key: number } {
    let pid: number;
    do pid = randomInt(1, 0x7fffffff);
    while (this.entries.has(pid));
    const key = freshRandom(4).readInt32BE(0);
    this.entries.set(pid, { key, target: null });
    return { pid, key };
  }

  /** Points a client's key at the server it now holds (null: it holds none). */
  route(pid: number, target: CancelTarget | CancelSource | null): void {
    const e = this.entries.get(pid);
    if (e) e.target = target;
  }

  release(pid: number): void {
    this.entries.delete(pid);
  }

  /** The server to cancel for this (pid, key), or null. Keys are compared in constant time (one XOR, no early exit). */
  resolve(pid: number, key: Buffer): CancelTarget | null {
    const e = this.entries.get(pid);
    if (!e || key.length !== 4 || (key.readInt32BE(0) ^ e.key) !== 0) return null;
    const t = e.target;
    return t !== null && 'cancelTarget' in t ? t.cancelTarget() : t;
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * Sends a CancelRequest to the server over a new connection. Like libpq before protocol 3.2,
 * the request goes in plaintext; PostgreSQL accepts it without TLS. Unix-socket upstreams use the socket.
 */
export function sendCancel(t: CancelTarget, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve) => {
    const opts = t.host.startsWith('/') ? { path: `${t.host}/.s.PGSQL.${t.port}` } : { host: t.host, port: t.port };
    const s = connect(opts);
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    s.once('connect', () => s.end(fe.cancelRequest(t.pid, t.key)));
    s.once('close', done);
    s.once('error', done);
  });
}
