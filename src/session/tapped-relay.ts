/**
 * The relay for a session-mode client whose statements are recorded or checked by policy (issue 6):
 * the same job as relay.ts, but both directions go through a MessageWalker so the tap sees whole
 * Query/Parse/Bind/Execute messages one way and CommandComplete/ErrorResponse/ReadyForQuery the
 * other. Runs of other messages still go out as views of the chunks they came in. Sessions without
 * a tap keep the raw relay (relay.ts), untouched.
 */
import type { Duplex } from 'node:stream';
import { wire } from '../errors.js';
import { StatementTap, Verdict } from '../audit/tap.js';
import { tapReads } from '../audit/tap-wire.js';
import { MessageWalker, Walk, type WalkHandler } from '../pool/walker.js';
import * as be from '../protocol/backend/encode.js';
import { FrontendCode as F, backendMessageCap, frontendMessageCap } from '../protocol/codes.js';
import { ProtocolError } from '../protocol/errors.js';
import type { SessionCounters } from './counters.js';
import { relayLifecycle, type RelayHandle, type RelayStats } from './relay.js';

/** Client → server: the tap decides on each statement; a refused one is replaced, a pending one held. */
class ClientLeg implements WalkHandler {
  readonly walker = new MessageWalker(frontendMessageCap);
  #staged: Buffer | null = null;
  #waiting = false;
  /** A protocol violation found while resuming a held stream (outside the 'data' handler's try). */
  onError: (e: unknown) => void = () => undefined;

  constructor(readonly client: Duplex, readonly server: Duplex, readonly tap: StatementTap) {}

  onHeader(type: number): number {
    if (tapReads(type)) return Walk.Read;
    if (type === F.Sync) this.tap.sync();
    return Walk.Pass;
  }

  onMessage(type: number, m: Buffer): boolean {
    const v = verdictFor(this.tap, type, m);
    if (v === Verdict.Hold) {
      this.walker.hold();
      return true;
    }
    if (v === Verdict.Forward) return true;
    this.#staged = this.tap.replacement;
    return false;
  }

  emit(bytes: Buffer): void {
    if (!this.server.write(bytes)) this.client.pause();
  }

  emitStaged(): void {
    if (this.#staged) this.emit(this.#staged);
    this.#staged = null;
  }

  /**
   * Walks a chunk (or resumes a held stream); while a message is held the client is paused. No
   * cork: a chunk with nothing replaced goes out as one write (the walker emits one run), and
   * corking every chunk for the rare refusal costs a buffered-write round per chunk.
   */
  walk(chunk: Buffer | null): void {
    if (chunk) this.walker.walk(chunk, this);
    else this.walker.resume(this);
    if (!this.walker.holding || this.#waiting) return;
    this.#waiting = true;
    this.client.pause();
    void this.tap.held.then(() => {
      this.#waiting = false;
      if (this.client.destroyed || this.server.destroyed) return;
      try {
        this.walk(null);
      } catch (e) {
        return this.onError(e);
      }
      if (!this.walker.holding) this.client.resume();
    });
  }

  /** The server drained: the client may send again, unless a statement is held. */
  drained(): void {
    if (!this.walker.holding) this.client.resume();
  }
}

/** The tap's verdict for a client message the walker read (`now`: see StatementTap). */
export function verdictFor(tap: StatementTap, type: number, m: Buffer, now = performance.now()): number {
  switch (type) {
    case F.Query:
      return tap.query(m, now);
    case F.Parse:
      return tap.parse(m);
    case F.Bind:
      return tap.bind(m);
    case F.Execute:
      return tap.execute(m, now);
    case F.FunctionCall:
      return tap.functionCall();
    case F.Close:
      tap.close(m);
      return Verdict.Forward;
    default:
      return Verdict.Forward;
  }
}

/** Server → client: results are read for the records; the refusal's own error is swapped for the client's. */
class ServerLeg implements WalkHandler {
  readonly walker = new MessageWalker(backendMessageCap);
  #staged: Buffer | null = null;

  constructor(readonly client: Duplex, readonly server: Duplex, readonly tap: StatementTap) {}

  onHeader(type: number): number {
    return StatementTap.serverReads(type) ? Walk.Read : Walk.Pass;
  }

  onMessage(type: number, m: Buffer): boolean {
    this.#staged = this.tap.server(type, m);
    return this.#staged === null;
  }

  emit(bytes: Buffer): void {
    if (!this.client.write(bytes)) this.server.pause();
  }

  emitStaged(): void {
    if (this.#staged) this.emit(this.#staged);
    this.#staged = null;
  }
}

/** Starts a tapped relay; the same contract as startRelay(). */
export function startTappedRelay(client: Duplex, server: Duplex, tap: StatementTap, clientHead?: Buffer, counters?: SessionCounters): RelayHandle {
  const stats: RelayStats = { bytesIn: 0, bytesOut: 0 };
  const { finish, handle } = relayLifecycle(client, server, stats);
  const up = new ClientLeg(client, server, tap);
  const down = new ServerLeg(client, server, tap);
  const violated = (e: unknown): void => {
    finish(e instanceof ProtocolError ? 'protocol violation' : 'internal error');
    client.end(be.errorResponse(e instanceof ProtocolError ? e.wire : wire.internal()));
    server.destroy();
  };
  up.onError = violated;

  const fromClient = (c: Buffer): void => {
    stats.bytesIn += c.length;
    counters?.fromClient(c);
    try {
      up.walk(c);
    } catch (e) {
      violated(e);
    }
  };
  client.on('data', fromClient);
  server.on('data', (c: Buffer) => {
    stats.bytesOut += c.length;
    counters?.fromServer(c);
    try {
      down.walker.walk(c, down);
    } catch {
      // A server out of protocol sync cannot be trusted with the client's data.
      finish('server protocol violation');
      server.destroy();
    }
  });
  server.on('drain', () => up.drained());
  client.on('drain', () => server.resume());
  client.once('end', () => {
    finish('client closed');
    server.end();
  });
  server.once('end', () => {
    finish('server closed');
    client.end();
  });

  if (clientHead && clientHead.length > 0) fromClient(clientHead);
  if (!up.walker.holding) client.resume();
  server.resume();
  return handle;
}
