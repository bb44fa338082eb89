/**
 * Reads the PROXY protocol header a trusted load balancer sends before the client's bytes. The
 * read is bounded in size (the codec's caps) and in time (what is left of authentication_timeout);
 * bytes after the header are handed on to the session untouched.
 */
import type { Socket } from 'node:net';
import { parseProxyHeader, type ProxySource, type ProxyVersion } from '../../protocol/proxy.js';
import { violation } from '../../protocol/errors.js';

export interface ProxyHeader {
  /** The original client, or null for LOCAL / UNKNOWN (the proxy's own connection). */
  source: ProxySource | null;
  /** Bytes that followed the header in the same reads. */
  rest: Buffer;
}

/**
 * Resolves with the header and at least one byte after it, or rejects (ProtocolError for a bad
 * header, Error for a timeout or hang-up). Waiting for that byte here means the session starts
 * with bytes in hand, on a socket left paused with nothing lost.
 */
export function readProxyHeader(socket: Socket, version: ProxyVersion, timeoutMs: number): Promise<ProxyHeader> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    let header: { source: ProxySource | null; length: number } | null = null;
    const done = (err: Error | null, value?: ProxyHeader): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.pause();
      if (err) reject(err);
      else resolve(value!);
    };
    const onData = (chunk: Buffer): void => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      try {
        if (!header) {
          const r = parseProxyHeader(buf, version);
          if (r.kind === 'header') header = { source: r.source, length: r.length };
        }
        if (header && buf.length > header.length) done(null, { source: header.source, rest: buf.subarray(header.length) });
      } catch (e) {
        done(e as Error);
      }
    };
    const onEnd = (): void => done(header ? new Error('connection closed after the PROXY protocol header')
      : violation('connection closed before the PROXY protocol header was complete'));
    const timer = setTimeout(() => done(new Error('timeout waiting for the PROXY protocol header')), Math.max(0, timeoutMs));
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.resume();
  });
}
