/**
 * PAUSE and KILL hold new clients of a database: after authentication they wait here, before
 * their server is opened, until RESUME (PgBouncer's waiting clients). KILL also ends the clients
 * that are already waiting. A waiting client that hangs up leaves the queue.
 */
import type { Duplex } from 'node:stream';
import type { WireError } from '../errors.js';
import type { ClientOrigin } from '../events.js';
import { ConnectionClosedError } from '../session/reader.js';

/** A client waiting for its database to be resumed (SHOW CLIENTS state `waiting`). */
export interface Waiter {
  id: number;
  origin: ClientOrigin;
  user: string;
  database: string;
  /** Epoch milliseconds: when it connected, and when it began to wait. */
  connectedAt: number;
  since: number;
  applicationName: string;
  tls: string;
  local: { address: string; port: number };
  replication: 'none' | 'logical' | 'physical';
}

interface Entry {
  waiter: Waiter;
  resolve(): void;
  reject(e: Error): void;
}

/** What a client held by PAUSE may send before its socket is paused (a pause can last long). */
export const MAX_HELD_WHILE_WAITING = 64 * 1024;

export class AdmissionGate {
  #all = false;
  readonly #databases = new Set<string>();
  readonly #entries = new Set<Entry>();

  /** Whether every database is paused (PAUSE without an argument). */
  get allPaused(): boolean {
    return this.#all;
  }

  isPaused(database: string): boolean {
    return this.#all || this.#databases.has(database);
  }

  /** Databases paused by name. */
  pausedDatabases(): ReadonlySet<string> {
    return this.#databases;
  }

  waiters(): Waiter[] {
    return [...this.#entries].map((e) => e.waiter);
  }

  pause(database?: string): void {
    if (database === undefined) this.#all = true;
    else this.#databases.add(database);
  }

  /** Lifts a pause; waiting clients whose database is no longer paused go on. */
  resume(database?: string): void {
    if (database === undefined) this.#all = false;
    else this.#databases.delete(database);
    for (const e of this.#entries) {
      if (!this.isPaused(e.waiter.database)) {
        this.#entries.delete(e);
        e.resolve();
      }
    }
  }

  /** Ends the waiting clients of `database` (all when omitted) with `error`. */
  reject(error: WireError, database?: string): void {
    for (const e of this.#entries) {
      if (database === undefined || e.waiter.database === database) {
        this.#entries.delete(e);
        e.reject(error);
      }
    }
  }

  /** Ends one waiting client; false when no client with that id is waiting. */
  rejectClient(id: number, error: WireError): boolean {
    for (const e of this.#entries) {
      if (e.waiter.id !== id) continue;
      this.#entries.delete(e);
      e.reject(error);
      return true;
    }
    return false;
  }

  /** Resolves once the waiter's database is resumed; rejects when the client hangs up or is killed. */
  wait(waiter: Waiter, client: Duplex): Promise<void> {
    if (!this.isPaused(waiter.database)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onClose = (): void => {
        this.#entries.delete(entry);
        reject(new ConnectionClosedError());
      };
      // The client's bytes are read (a hang-up must be noticed) but kept only up to a bound: past
      // it the socket is paused, so a client that floods while it waits is held by TCP instead.
      let held = 0;
      const onData = (chunk: Buffer): void => {
        held += chunk.length;
        if (held > MAX_HELD_WHILE_WAITING) client.pause();
      };
      const done = (): void => {
        client.off('close', onClose);
        client.off('data', onData);
      };
      const entry: Entry = {
        waiter,
        resolve: () => {
          done();
          resolve();
        },
        reject: (e) => {
          done();
          reject(e);
        },
      };
      this.#entries.add(entry);
      client.once('close', onClose);
      client.on('data', onData);
      client.resume();
    });
  }
}
