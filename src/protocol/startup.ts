/**
 * The untyped packets a client sends before authentication: SSLRequest, GSSENCRequest,
 * CancelRequest and StartupMessage (protocol-message-formats: no type byte, an Int32 length that
 * counts itself, then an Int32 code). Mirrors backend_startup.c ProcessStartupPacket().
 */
import { wire } from '../errors.js';
import { MAX_CANCEL_KEY, MAX_STARTUP_PACKET, MIN_CANCEL_KEY, StartupCode } from './codes.js';
import { ProtocolError, noUserName, violation } from './errors.js';

/** The smallest packet: the length word and the code. */
const MIN_STARTUP_PACKET = 8;

const invalidLength = (): ProtocolError => new ProtocolError(wire.invalidStartupLength());

/**
 * Cuts the pre-auth byte stream into whole startup packets. The length word is checked as soon as
 * its 4 bytes arrive, so a bad length is refused before any of the body is buffered.
 * Call {@link next} until it returns null after each {@link push}.
 */
export class StartupFramer {
  #chunks: Buffer[] = [];
  #buffered = 0;

  /** Queue bytes from the socket. The chunk is kept by reference: don't reuse it. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /** Bytes held and not yet returned. */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** The next whole packet (length word included), or null until more bytes arrive. */
  next(): Buffer | null {
    if (this.#buffered < 4) return null;
    const len = this.#peekLength();
    if (len < MIN_STARTUP_PACKET || len > MAX_STARTUP_PACKET) throw invalidLength();
    if (this.#buffered < len) return null;
    return this.#take(len);
  }

  /** Everything not yet returned, e.g. to hand to a {@link MessageFramer} once startup is over. */
  remainder(): Buffer {
    return this.#take(this.#buffered);
  }

  #peekLength(): number {
    const first = this.#chunks[0];
    if (first && first.length >= 4) return first.readInt32BE(0);
    return Buffer.concat(this.#chunks, 4).readInt32BE(0);
  }

  #take(n: number): Buffer {
    const all = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks, this.#buffered);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.#chunks = rest.length > 0 ? [rest] : [];
    this.#buffered = rest.length;
    return out;
  }
}

/** What a startup-phase packet asks for. */
export type StartupPacket =
  | { kind: 'ssl' }
  | { kind: 'gssenc' }
  | { kind: 'cancel'; pid: number; key: Buffer }
  | {
      kind: 'startup';
      major: number;
      minor: number;
      /** Parameters in the order sent ("user", "database", "options", GUCs…), `_pq_.` names excluded. */
      params: Map<string, string>;
      /** Names that start with `_pq_.`: protocol options, none of which 3.2 defines. */
      protocolOptions: string[];
    };

/** Decode one packet from {@link StartupFramer.next}: length word, code, body. */
export function decodeStartupPacket(packet: Buffer): StartupPacket {
  if (packet.length < MIN_STARTUP_PACKET || packet.readInt32BE(0) !== packet.length) throw invalidLength();
  const code = packet.readUInt32BE(4);
  switch (code) {
    case StartupCode.SSLRequest:
      return emptyRequest(packet, { kind: 'ssl' });
    case StartupCode.GSSENCRequest:
      return emptyRequest(packet, { kind: 'gssenc' });
    case StartupCode.CancelRequest:
      return decodeCancelRequest(packet);
    default:
      return decodeStartupMessage(packet, code >>> 16, code & 0xffff);
  }
}

/** SSLRequest and GSSENCRequest are exactly 8 bytes (PostgreSQL ignores any extra; we refuse it). */
function emptyRequest<T extends StartupPacket>(packet: Buffer, result: T): T {
  if (packet.length !== MIN_STARTUP_PACKET) throw invalidLength();
  return result;
}

/** backend_startup.c ProcessCancelRequestPacket(): Int32 pid, then a key of 4..256 bytes (3.2). */
function decodeCancelRequest(packet: Buffer): StartupPacket {
  if (packet.length < 12) throw violation('invalid length of cancel request packet');
  const keyLength = packet.length - 12;
  if (keyLength < MIN_CANCEL_KEY || keyLength > MAX_CANCEL_KEY) {
    throw violation('invalid length of cancel key in cancel request packet');
  }
  return { kind: 'cancel', pid: packet.readInt32BE(8), key: Buffer.from(packet.subarray(12)) };
}

const layoutError = (): ProtocolError => violation('invalid startup packet layout: expected terminator as last byte');

/**
 * StartupMessage: name/value C-string pairs, then one NUL that must be the last byte. Every layout
 * fault (unterminated string, a name without a value, bytes after the terminator) gets the same
 * message from PostgreSQL, so it does here too.
 */
function decodeStartupMessage(packet: Buffer, major: number, minor: number): StartupPacket {
  if (major !== 3) throw new ProtocolError(wire.unsupportedProtocol(major, minor));
  const params = new Map<string, string>();
  const protocolOptions: string[] = [];
  let at = MIN_STARTUP_PACKET;
  while (at < packet.length && packet[at] !== 0) {
    const nameEnd = packet.indexOf(0, at);
    const valueEnd = nameEnd < 0 ? -1 : packet.indexOf(0, nameEnd + 1);
    if (valueEnd < 0) throw layoutError();
    const name = packet.toString('utf8', at, nameEnd);
    if (name.startsWith('_pq_.')) protocolOptions.push(name);
    else params.set(name, packet.toString('utf8', nameEnd + 1, valueEnd));
    at = valueEnd + 1;
  }
  if (at !== packet.length - 1) throw layoutError();
  if (!params.get('user')) throw noUserName();
  return { kind: 'startup', major, minor, params, protocolOptions };
}

/**
 * A direct-TLS client (PostgreSQL 17 `sslnegotiation=direct`) opens with a TLS handshake record,
 * whose first byte is 0x16. No startup packet can start with it: that length would be > 10000.
 */
export const looksLikeTlsClientHello = (firstByte: number): boolean => firstByte === 0x16;
