/**
 * A recorded session on the native relay (issue 6): the relay forwards at native speed and hands
 * over copies of the messages the statement tap reads (native/mirror.h); this feeds them to the
 * tap in the order the relay read them, with the relay's read times, so records and durations
 * are what the JavaScript tapped relay would write. Only sessions no policy rule governs are
 * mirrored (StatementTap.mirrorable): a record may come after the server ran the statement, a
 * refusal may not.
 *
 * When the tap cannot take an entry yet (a long statement classified on the worker thread, or
 * `on_sink_failure: block` with a sink down) the entries queue here in order and the relay stops
 * reading the client until they are taken: the client waits, the record is never dropped. A sink
 * that goes down holds the client at once (src/audit/runner.ts calls the writer's blockers before
 * it awaits anything); a statement the relay had already forwarded by then is recorded once the
 * sink is back, the JavaScript relay would have held it instead. A session's end waits for its
 * queued entries, so its statements are recorded before its disconnection.
 */
import { Verdict, type StatementTap } from '../audit/tap.js';
import { FrontendCode as F } from '../protocol/codes.js';
import { MONO_TO_PERF } from './mono.js';
import { verdictFor } from './tapped-relay.js';

/** What a mirrored relay offers its consumer (src/session/native-relay.ts). */
export interface MirroredRelay {
  /** Stop (true) or resume reading the client. */
  hold(on: boolean): void;
  /** End the session: a message the tap cannot read (XX000 to the client). */
  fail(): void;
}

/** Who receives a mirrored session's entries (src/session/native-relay.ts). */
export interface MirrorConsumer {
  /** The relay now carrying the session (before any entry). */
  attach(relay: MirroredRelay): void;
  /**
   * One message: dir 0 client → server, 1 server → client, 2 a prebuilt record (native/fastrec.h); `m` is the whole message (a view the
   * caller may reuse once this returns); `at` the relay's read time (ms). Throws when the message
   * cannot be read (the caller ends the session).
   */
  entry(dir: number, type: number, m: Buffer, at: number): void;
  /** The relay has ended: nothing more will come. Settles once every entry has been taken. */
  ended(): Promise<void>;
}

interface Entry {
  dir: number;
  type: number;
  m: Buffer;
  at: number;
}

export class TapMirror implements MirrorConsumer {
  readonly #tap: StatementTap;
  readonly #queue: Entry[] = [];
  #relay: MirroredRelay | null = null;
  #holding = false;
  #waiting = false;
  #ended = false;
  #settled: (() => void) | null = null;
  readonly #unsubscribe: () => void;

  constructor(tap: StatementTap) {
    this.#tap = tap;
    this.#unsubscribe = tap.onBlock(() => this.#stop());
  }

  attach(relay: MirroredRelay): void {
    this.#relay = relay;
  }

  entry(dir: number, type: number, m: Buffer, at: number): void {
    // Queued entries keep a copy: the view's buffer holds every session's entries of that hand-over.
    if (this.#waiting) return void this.#queue.push({ dir, type, m: Buffer.from(m), at });
    if (this.#offer(dir, type, m, at)) return;
    this.#queue.push({ dir, type, m: Buffer.from(m), at });
    this.#wait(this.#tap.held);
  }

  /** Entries not yet taken by the tap (they wait for it). */
  get pending(): boolean {
    return this.#waiting || this.#queue.length > 0;
  }

  ended(): Promise<void> {
    this.#ended = true;
    this.#unsubscribe();
    if (!this.#waiting) return Promise.resolve();
    return new Promise((resolve) => (this.#settled = resolve));
  }

  /** Whether the tap took the entry (false: it is held; offer it again once tap.held settles). */
  #offer(dir: number, type: number, m: Buffer, at: number): boolean {
    if (dir === 1) {
      this.#tap.server(type, m, at);
      return true;
    }
    // A prebuilt record (native/fastrec.h): the CommandComplete's read time is inside.
    if (dir === 2) return this.#tap.prebuilt(m, at, m.readDoubleLE(9) + MONO_TO_PERF);
    if (type === F.Sync) {
      this.#tap.sync();
      return true;
    }
    return verdictFor(this.#tap, type, m, at) !== Verdict.Hold;
  }

  /** Offers queued entries in order; stops at the first the tap holds and waits for it. */
  #drain(): void {
    while (!this.#waiting && this.#queue.length > 0) {
      const e = this.#queue[0]!;
      if (!this.#offer(e.dir, e.type, e.m, e.at)) return this.#wait(this.#tap.held);
      this.#queue.shift();
    }
    if (this.#waiting) return;
    this.#setHold(false);
    this.#settle();
  }

  #wait(until: Promise<void>): void {
    this.#waiting = true;
    this.#setHold(true);
    const resume = (): void => {
      this.#waiting = false;
      try {
        this.#drain();
      } catch {
        // A message the tap cannot read (a malformed Bind, say): the session ends, as on the JavaScript relay.
        this.#queue.length = 0;
        this.#relay?.fail();
        this.#settle();
      }
    };
    void until.then(resume, resume);
  }

  /** The writer may have stopped accepting: hold the client now (the tap holds its next statement anyway). */
  #stop(): void {
    if (this.#waiting || this.#ended) return;
    this.#wait(this.#tap.whenAccepting());
  }

  #setHold(on: boolean): void {
    if (on === this.#holding || (on && this.#ended)) return;
    this.#holding = on;
    this.#relay?.hold(on);
  }

  #settle(): void {
    const s = this.#settled;
    this.#settled = null;
    s?.();
  }
}
