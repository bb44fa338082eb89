/**
 * Message boundaries on a pooled leg, with the power to cut: unlike the relay's StreamScanner,
 * a pooled leg must drop some messages (a ParseComplete for a Parse gatehouse injected) and
 * replace others (a Bind whose statement name is rewritten). Runs of untouched messages still go
 * out as `subarray` views of the chunk they came in (one write for a chunk with no cuts; DESIGN.md
 * performance). A message the handler must read is passed whole (type, length and body): a view
 * when it lies inside one chunk, an assembled copy when it straddles chunks.
 *
 * A handler that cannot decide on a message yet (a large statement classified on a worker thread,
 * an audit sink that must accept records first) calls {@link MessageWalker.hold} from `onMessage`:
 * the walker stops after the bytes before that message, keeps the message and everything after it,
 * and offers the message again on {@link MessageWalker.resume}. Nothing is reordered.
 */
import { BodyAssembler } from '../protocol/assembler.js';
import type { LengthCap } from '../protocol/codes.js';
import { violation } from '../protocol/errors.js';

/** What to do with a message, decided from its header. */
export const Walk = {
  /** Forward it untouched without reading it. */
  Pass: 0,
  /** Read it whole: `onMessage` decides. */
  Read: 1,
  /** Drop it unread. */
  Drop: 2,
} as const;

export interface WalkHandler {
  /** Called at each header (the type and the length word). Returns a {@link Walk} value. */
  onHeader(type: number, length: number): number;
  /**
   * Called with a whole message the handler asked to read; valid only during the call. Returns
   * true to forward it untouched; false to replace it with what the handler staged (maybe nothing).
   * The handler must not write to the other side itself: bytes before the message are not out yet.
   * It may call the walker's `hold()` instead of deciding: the return value is then ignored.
   */
  onMessage(type: number, message: Buffer): boolean;
  /** Writes forwarded bytes to the other side. */
  emit(bytes: Buffer): void;
  /** Writes what onMessage staged in place of its message, and forgets it. */
  emitStaged(): void;
}

const HEADER = 5;

const capTables = new WeakMap<LengthCap, Int32Array>();
function capTable(cap: LengthCap): Int32Array {
  let t = capTables.get(cap);
  if (t) return t;
  t = new Int32Array(256);
  for (let type = 0; type < 256; type++) {
    try {
      t[type] = cap(type);
    } catch {
      t[type] = -1;
    }
  }
  capTables.set(cap, t);
  return t;
}

export class MessageWalker {
  readonly #caps: Int32Array;
  readonly #cap: LengthCap;
  /** Bytes of a message still to pass (#dropping false) or to drop (true). */
  #remaining = 0;
  #dropping = false;
  readonly #header = Buffer.alloc(HEADER);
  #headerLength = 0;
  readonly #message = new BodyAssembler();
  #messageType = 0;
  #holdAsked = false;
  /** The held message (offered again on resume) and the bytes that came after it. */
  #held: { type: number; message: Buffer; rest: Buffer[] } | null = null;

  constructor(cap: LengthCap) {
    this.#cap = cap;
    this.#caps = capTable(cap);
  }

  /** True while no partial message is held (the stream is at a message boundary). */
  get atBoundary(): boolean {
    return this.#remaining === 0 && this.#headerLength === 0 && !this.#message.active && this.#held === null;
  }

  /** A message is held: chunks given to walk() are kept, unread, until resume(). */
  get holding(): boolean {
    return this.#held !== null;
  }

  /** From onMessage: stop here; this message and what follows wait for {@link resume}. */
  hold(): void {
    this.#holdAsked = true;
  }

  /** Offers the held message again, then walks what came after it (which may hold again). */
  resume(h: WalkHandler): void {
    const held = this.#held;
    if (!held) return;
    this.#held = null;
    const rest = held.rest;
    if (this.#deliver(held.type, held.message, h)) return this.#requeue(rest, 0);
    for (let i = 0; i < rest.length; i++) {
      this.walk(rest[i] as Buffer, h);
      if (this.holding) return this.#requeue(rest, i + 1);
    }
  }

  /** Held again during resume(): the chunks not yet walked go back behind the held message. */
  #requeue(rest: Buffer[], from: number): void {
    const held = this.#held as { rest: Buffer[] };
    for (let i = from; i < rest.length; i++) held.rest.push(rest[i] as Buffer);
  }

  /** Walks one chunk; throws ProtocolError when a length breaks its cap. */
  walk(chunk: Buffer, h: WalkHandler): void {
    if (this.#held) {
      this.#held.rest.push(chunk);
      return;
    }
    const n = chunk.length;
    let pos = 0;
    let seg = 0;
    if (this.#remaining > 0) {
      pos = Math.min(this.#remaining, n);
      this.#remaining -= pos;
      if (this.#dropping) seg = pos;
    } else if (this.#message.active) {
      pos = this.#message.add(chunk, 0);
      seg = pos;
      if (this.#message.missing > 0) return;
      if (this.#deliver(this.#messageType, this.#message.take(), h)) return this.#keepRest(chunk, pos);
    } else if (this.#headerLength > 0) {
      const take = Math.min(HEADER - this.#headerLength, n);
      chunk.copy(this.#header, this.#headerLength, 0, take);
      this.#headerLength += take;
      pos = seg = take;
      if (this.#headerLength < HEADER) return;
      this.#headerLength = 0;
      const type = this.#header[0] as number;
      const len = this.#header.readInt32BE(1);
      this.#check(type, len);
      const what = h.onHeader(type, len);
      if (what === Walk.Read) {
        this.#messageType = type;
        this.#message.begin(1 + len);
        this.#message.add(this.#header, 0);
        pos += this.#message.add(chunk, pos);
        seg = pos;
        if (this.#message.missing > 0) return;
        if (this.#deliver(type, this.#message.take(), h)) return this.#keepRest(chunk, pos);
      } else {
        if (what === Walk.Pass) h.emit(Buffer.from(this.#header));
        const body = len - 4;
        const here = Math.min(body, n - pos);
        pos += here;
        if (what === Walk.Drop) seg = pos;
        if (here < body) {
          this.#remaining = body - here;
          this.#dropping = what === Walk.Drop;
          if (seg < pos) h.emit(chunk.subarray(seg, pos));
          return;
        }
      }
    }
    while (pos + HEADER <= n) {
      const type = chunk[pos] as number;
      const len = ((chunk[pos + 1] as number) << 24) | ((chunk[pos + 2] as number) << 16)
        | ((chunk[pos + 3] as number) << 8) | (chunk[pos + 4] as number);
      this.#check(type, len);
      const end = pos + 1 + len;
      const what = h.onHeader(type, len);
      if (what === Walk.Pass) {
        if (end > n) {
          this.#remaining = end - n;
          this.#dropping = false;
          pos = n;
          break;
        }
        pos = end;
        continue;
      }
      if (what === Walk.Drop || end > n) {
        if (seg < pos) h.emit(chunk.subarray(seg, pos));
        if (what === Walk.Drop) {
          if (end > n) {
            this.#remaining = end - n;
            this.#dropping = true;
            return;
          }
          pos = seg = end;
          continue;
        }
        this.#messageType = type;
        this.#message.begin(1 + len);
        this.#message.add(chunk, pos);
        return;
      }
      const m = chunk.subarray(pos, end);
      const forward = h.onMessage(type, m);
      if (this.#holdAsked) {
        if (seg < pos) h.emit(chunk.subarray(seg, pos));
        this.#holdAsked = false;
        this.#held = { type, message: m, rest: [] };
        return this.#keepRest(chunk, end);
      }
      if (!forward) {
        if (seg < pos) h.emit(chunk.subarray(seg, pos));
        h.emitStaged();
        seg = end;
      }
      pos = end;
    }
    if (pos < n) {
      // A header split across chunks: held back until it is whole.
      if (seg < pos) h.emit(chunk.subarray(seg, pos));
      chunk.copy(this.#header, 0, pos, n);
      this.#headerLength = n - pos;
      return;
    }
    if (seg < n) h.emit(chunk.subarray(seg, n));
  }

  /** Hands a whole message to the handler and acts on its answer; true when it asked to hold it. */
  #deliver(type: number, m: Buffer, h: WalkHandler): boolean {
    const forward = h.onMessage(type, m);
    if (this.#holdAsked) {
      this.#holdAsked = false;
      this.#held = { type, message: m, rest: [] };
      return true;
    }
    if (forward) h.emit(m);
    else h.emitStaged();
    return false;
  }

  /** After a hold: the unwalked rest of the chunk waits with the held message. */
  #keepRest(chunk: Buffer, from: number): void {
    if (from < chunk.length) this.#held!.rest.push(chunk.subarray(from));
  }

  #check(type: number, len: number): void {
    if (len >= 4 && len <= (this.#caps[type] as number)) return;
    if (this.#caps[type] === -1) this.#cap(type);
    throw violation('invalid message length');
  }
}
