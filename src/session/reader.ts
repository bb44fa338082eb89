/**
 * Awaitable reads of whole frames from a socket during the handshake and the upstream login,
 * before the relay takes over. Frames are cut by the pure codec's framers; this class only waits
 * for bytes. Once the relay starts, {@link FrameReader.detach} hands back anything unread.
 */
import type { Duplex } from 'node:stream';

/** The part of the codec's framers the reader uses. */
export interface Framer<T> {
  push(chunk: Buffer): void;
  next(): T | null;
  /** Bytes pushed but not yet returned by next(). */
  remainder(): Buffer;
}

export class ConnectionClosedError extends Error {
  constructor() {
    super('connection closed');
  }
}

export class FrameReader {
  private framer: Framer<unknown> | null = null;
  private pending: Buffer[] = [];
  private wake: (() => void) | null = null;
  private failure: Error | null = null;
  private readonly onData = (chunk: Buffer): void => {
    try {
      if (this.framer) this.framer.push(chunk);
      else this.pending.push(chunk);
    } catch (e) {
      // A frame over its cap: the framer refuses before buffering; the read reports it.
      this.failure ??= e as Error;
    }
    this.notify();
  };
  private readonly onEnd = (): void => this.fail(new ConnectionClosedError());
  private readonly onError = (e: Error): void => this.fail(e);

  /** `head` holds bytes already read from `sock` before the reader took over. */
  constructor(private readonly sock: Duplex, head?: Buffer) {
    if (head && head.length > 0) this.pending.push(head);
    sock.on('data', this.onData);
    sock.on('end', this.onEnd);
    sock.on('close', this.onEnd);
    sock.on('error', this.onError);
    // Flow control bounds pre-auth memory: bytes are read only while a read() waits.
    sock.pause();
  }

  /** Reads the next frame with `framer`, switching framers keeps unread bytes. */
  async read<T>(framer: Framer<T>): Promise<T> {
    if (this.framer !== framer) this.use(framer);
    for (;;) {
      const f = framer.next();
      if (f !== null) {
        this.sock.pause();
        return f;
      }
      if (this.failure) throw this.failure;
      this.sock.resume();
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
  }

  /** Bytes received and not yet consumed by a read. */
  unread(): Buffer {
    const parts = this.framer ? [this.framer.remainder(), ...this.pending] : this.pending;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /** Stops listening; returns the unread bytes. */
  detach(): Buffer {
    const rest = this.unread();
    this.sock.off('data', this.onData);
    this.sock.off('end', this.onEnd);
    this.sock.off('close', this.onEnd);
    this.sock.off('error', this.onError);
    this.framer = null;
    this.pending = [];
    return rest;
  }

  /** Fails the pending read (the socket ended or errored). */
  private fail(e: Error): void {
    this.failure ??= e;
    this.notify();
  }

  private use(framer: Framer<unknown>): void {
    const carry = this.unread();
    this.pending = [];
    this.framer = framer;
    if (carry.length > 0) framer.push(carry);
  }

  private notify(): void {
    this.wake?.();
  }
}
