/**
 * The guard's first look, before Node makes a socket. A refused connection through the ordinary
 * `connection` event costs a full net.Socket (a Duplex stream, its handlers, its destroy path):
 * about 90 µs of CPU per connection here, against about 45 µs when the raw TCP handle is reset as
 * soon as it is accepted (measured with bench/guard-attacker.c at 2,000 connections/s). Under a
 * flood from banned sources that CPU is taken from the clients that are let in (issue 5's
 * benchmark), so lists and bans are checked on the raw handle. Everything else (caps, PROXY
 * headers, the Unix socket) goes the ordinary way, where Guard.admit() decides again.
 *
 * This wraps `net.Server`'s handle callback, a Node internal that has been stable since Node 12
 * (`onconnection(err, clientHandle)`; TCPWrap `getpeername`, and `reset` since 16.17). When the
 * internals are not there, the screen is not installed and the ordinary path refuses as before.
 */
import type { Server } from 'node:net';
import type { IpAddress } from '../../hba/ip.js';
import { canonicalSource } from './cidr.js';

/** The subset of Node's TCPWrap the screen uses. */
interface RawTcpHandle {
  getpeername(out: { address?: string }): number;
  reset(cb: () => void): number;
  close(cb?: () => void): void;
}
type OnConnection = (this: unknown, err: number, handle: RawTcpHandle | undefined) => void;

export interface AcceptScreen {
  /** A reason when the source is refused outright (the guard reports it); null lets the connection through. */
  refuses(source: string, addr: IpAddress): string | null;
  /** Sources that must take the ordinary path even so (trusted PROXY peers: the client is in the header). */
  bypass(addr: IpAddress): boolean;
}

const noop = (): void => undefined;

/** Installs the screen on a listening TCP server; returns false when Node's internals differ. */
export function installAcceptScreen(server: Server, screen: AcceptScreen): boolean {
  const handle = (server as unknown as { _handle?: { onconnection?: OnConnection } })._handle;
  const ordinary = handle?.onconnection;
  if (!handle || typeof ordinary !== 'function') return false;
  const peer: { address?: string } = {};
  handle.onconnection = function screened(err, client) {
    if (err === 0 && client && typeof client.reset === 'function' && client.getpeername(peer) === 0 && peer.address) {
      const source = canonicalSource(peer.address);
      if (source.addr && !screen.bypass(source.addr) && screen.refuses(source.text, source.addr)) {
        // An RST, no byte, no TIME_WAIT: what Socket.resetAndDestroy() does, without the Socket.
        if (client.reset(noop) !== 0) client.close();
        return;
      }
    }
    ordinary.call(this, err, client);
  };
  return true;
}
