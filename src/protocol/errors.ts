/**
 * The one error every decoder, framer and scanner throws: a {@link ProtocolError} (GH_PROTOCOL)
 * that carries the {@link WireError} to send before the socket is closed.
 */
import { GatehouseError, WireError, wire } from '../errors.js';

/** A malformed or oversized message. `wire` is what the client is told (always FATAL). */
export class ProtocolError extends GatehouseError {
  constructor(readonly wire: WireError) {
    super('GH_PROTOCOL', wire.message);
    this.name = 'ProtocolError';
  }
}

/** 08P01 protocol_violation with PostgreSQL's wording. */
export const violation = (message: string): ProtocolError => new ProtocolError(wire.protocolViolation(message));

/**
 * 28000, backend_startup.c ProcessStartupPacket(): the startup packet named no user.
 * Built here because `wire` (src/errors.ts) has no helper for it yet; move it there when one is added.
 */
export const noUserName = (): ProtocolError =>
  new ProtocolError(new WireError('FATAL', '28000', 'no PostgreSQL user name specified in startup packet'));
