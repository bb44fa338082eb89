/**
 * The syslog sink: RFC 5424 messages, over TCP with RFC 6587 octet counting (`LEN SP MSG`) or
 * over UDP (one message a datagram). The header is
 * `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG`, with PRI = facility × 8 + severity,
 * MSGID the record kind (`statement`, `policy`, `connection`, `disconnection`, `chain`) and no
 * structured data. TCP cannot confirm delivery: bytes the kernel took just before a receiver
 * vanished can be lost, so the file sink is the record of truth.
 */
import { connect, type Socket } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { hostname } from 'node:os';
import type { AuditSinkSettings } from '../../config/audit-schema.js';
import type { Formatted, SinkDriver } from './driver.js';

type SyslogSettings = Extract<AuditSinkSettings, { type: 'syslog' }>;

/** RFC 5424 HOSTNAME: printable ASCII without spaces, at most 255 characters, `-` when unknown. */
const HOST = hostname().replace(/[^!-~]/g, '').slice(0, 255) || '-';

/** One RFC 5424 message. */
export function syslogMessage(f: Formatted, facility: number, appName: string): string {
  return `<${facility * 8 + f.severity}>1 ${f.time.toISOString()} ${HOST} ${appName} ${process.pid} ${f.kind} - ${f.text}`;
}

export class SyslogSink implements SinkDriver {
  readonly name: string;
  readonly format: 'json' | 'pgaudit';
  private tcp: Socket | null = null;
  private udp: UdpSocket | null = null;
  private broken: Error | null = null;
  private onBroken: (e: Error) => void = () => undefined;

  constructor(private readonly s: SyslogSettings) {
    this.name = s.name ?? `syslog:${s.host}:${s.port}`;
    this.format = s.format;
  }

  async open(): Promise<void> {
    this.broken = null;
    if (this.s.protocol === 'udp') return this.openUdp();
    const socket = connect({ host: this.s.host, port: this.s.port, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.removeAllListeners('error');
    // A receiver never speaks; an end, a close or an error means it is gone.
    const broke = (e: Error): void => {
      if (this.tcp !== socket || this.broken) return;
      this.broken = e;
      this.onBroken(e);
    };
    socket.on('error', broke);
    socket.on('end', () => broke(new Error('the receiver closed the connection')));
    socket.on('close', () => broke(new Error('connection closed')));
    socket.on('data', () => undefined);
    this.tcp = socket;
  }

  private async openUdp(): Promise<void> {
    const socket = createSocket(isIPv6(this.s.host) ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(this.s.port, this.s.host, () => resolve());
    });
    socket.removeAllListeners('error');
    socket.on('error', (e) => (this.broken ??= e));
    this.udp = socket;
  }

  watch(onBroken: (e: Error) => void): void {
    this.onBroken = onBroken;
  }

  async write(batch: readonly Formatted[]): Promise<void> {
    if (this.broken) throw this.broken;
    const messages = batch.map((f) => Buffer.from(syslogMessage(f, this.s.facility, this.s.app_name)));
    if (this.udp) {
      for (const m of messages) await new Promise<void>((resolve, reject) => this.udp!.send(m, (e) => (e ? reject(e) : resolve())));
      return;
    }
    if (!this.tcp) throw new Error('not connected');
    const framed = Buffer.concat(messages.flatMap((m) => [Buffer.from(`${m.length} `), m]));
    await new Promise<void>((resolve, reject) => this.tcp!.write(framed, (e) => (e ? reject(e) : resolve())));
    if (this.broken) throw this.broken;
  }

  reset(): Promise<void> {
    this.tcp?.destroy();
    this.tcp = null;
    this.udp?.close();
    this.udp = null;
    return Promise.resolve();
  }

  close(): Promise<void> {
    const tcp = this.tcp;
    this.tcp = null;
    this.udp?.close();
    this.udp = null;
    if (!tcp || tcp.destroyed) return Promise.resolve();
    // end() calls back once the data is flushed; a receiver that stopped reading must not hold shutdown.
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        tcp.destroy();
        resolve();
      }, 2000);
      tcp.end(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
