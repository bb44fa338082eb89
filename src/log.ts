/**
 * The connection log: pino JSON lines fed by the gateway's events. Every attempt, success and
 * failure has the client ip:port, TLS version and cipher, user, database, the hba file:line that
 * decided, the method and the outcome. Secrets never reach an event; `redact` is a second guard.
 *
 * Failure lines have a stable shape for fail2ban (docs/guard.md has the filter):
 * `{…,"client_ip":"<HOST>",…,"failure":"auth|hba|protocol",…,"msg":"connection failed"}`.
 * Security events (refusals at the door, bans, unbans, the store going down) are records too.
 */
import pino, { type Logger } from 'pino';
import type { GatewayEvents } from './events.js';
import { classifyFailure } from './net/guard/classify.js';

export function createLogger(level: string, destination: pino.DestinationStream | number = 1): Logger {
  return pino(
    {
      level,
      base: { service: 'gatehouse' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['password', '*.password', 'secret', '*.secret', 'params.password'], censor: '<REDACTED>' },
      formatters: { level: (label) => ({ level: label }) },
    },
    typeof destination === 'number' ? pino.destination({ fd: destination, sync: false }) : destination,
  );
}

/** Subscribes the logger to the gateway's events. */
export function logEvents(events: GatewayEvents, log: Logger): void {
  events.on('connection', (e) => {
    const rec = {
      session: e.session,
      client_ip: e.client.address,
      client_port: e.client.port,
      socket: e.client.socket,
      tls_version: e.tls?.version,
      tls_cipher: e.tls?.cipher,
      tls_direct: e.tls?.direct,
      user: e.user,
      database: e.database,
      application_name: e.application_name,
      replication: e.replication,
      hba: e.hba ? `${e.hba.file}:${e.hba.line}` : undefined,
      method: e.method,
      outcome: e.outcome,
      failure: classifyFailure(e) ?? undefined,
      sqlstate: e.sqlstate,
      reason: e.reason,
      duration_ms: e.duration_ms,
    };
    if (e.outcome === 'success') log.info(rec, 'connection authorized');
    else if (e.outcome === 'abandoned') log.info(rec, 'connection abandoned');
    else log.warn(rec, 'connection failed');
  });
  events.on('session.end', (e) =>
    log.info({ session: e.session, client_ip: e.client.address, client_port: e.client.port, user: e.user, database: e.database,
      duration_ms: e.duration_ms, bytes_in: e.bytes_in, bytes_out: e.bytes_out, reason: e.reason }, 'disconnection'));
  events.on('policy.refused', (e) => log.warn(e, 'statement refused by policy'));
  events.on('reload', (e) => (e.ok ? log.info({ changed: e.changed }, 'configuration reloaded') : log.error({ error: e.error }, 'reload failed; keeping the previous configuration')));
  const refusals = new RefusalLogLimiter();
  events.on('guard', (e) => {
    const suppressed = refusals.admit(`${e.client} ${e.reason}`, Date.now());
    if (suppressed === null) return;
    log.warn({ event: 'guard.reject', client_ip: e.client, reason: e.reason, limit: e.limit, ...(suppressed > 0 ? { suppressed } : {}) }, 'connection refused by guard');
  });
  events.on('guard.ban', (e) => log.warn({ event: 'guard.ban', client_ip: e.source, reason: e.reason, failures: e.failures,
    banned_until: new Date(e.until).toISOString(), offense: e.offense, by: e.by }, 'source banned'));
  events.on('guard.unban', (e) => log.info({ event: 'guard.unban', client_ip: e.source, by: e.by }, 'source unbanned'));
  events.on('guard.store', (e) => {
    if (e.state === 'up') log.info({ event: 'guard.store', store: e.store }, 'guard store reachable; resynchronising');
    else if (e.state === 'down') log.warn({ event: 'guard.store', store: e.store, error: e.error }, 'guard store unreachable; using local state');
    else if (e.store === 'state_file') log.error({ event: 'guard.store', store: e.store, error: e.error }, 'could not write the guard state file');
    else log.debug({ event: 'guard.store', store: e.store, error: e.error }, 'guard store operation failed');
  });
  events.on('pool.server', (e) => {
    const rec = { database: e.database, user: e.user, server: e.server, reason: e.reason || undefined };
    if (e.event === 'login') log.debug(rec, 'server connection opened');
    else if (e.event === 'close') log.info(rec, 'server connection closed');
    else if (e.event === 'login_failed') log.warn(rec, 'server login failed');
    else log.warn(rec, 'could not apply client parameters on the server connection');
  });
  events.on('pool.session_state', (e) =>
    log.warn({ session: e.session, user: e.user, database: e.database, hazards: e.hazards, action: e.action },
      `session state in transaction pooling mode: ${e.hazards.join(', ')} (${e.action})`));
  events.on('memory.release', (e) => log.info({ event: 'memory.release', ...e }, `memory released after ${e.after === 'startup' ? 'startup' : 'a burst'}`));
  events.on('cancel', (e) => log.info({ client_ip: e.client.address, forwarded: e.forwarded }, 'cancel request'));
}

/**
 * A flood must not become a log flood: the guard's refusals are logged once per source and reason
 * every {@link RefusalLogLimiter.WINDOW_MS}; the next line says how many were left out. Metrics
 * still count every one.
 */
export class RefusalLogLimiter {
  static readonly WINDOW_MS = 10_000;
  private readonly seen = new Map<string, { until: number; suppressed: number }>();

  /** null: do not log; otherwise log, with how many were suppressed since the last line. */
  admit(key: string, now: number): number | null {
    const s = this.seen.get(key);
    if (s && s.until > now) {
      s.suppressed++;
      return null;
    }
    if (this.seen.size >= 10_000) this.seen.clear();
    this.seen.set(key, { until: now + RefusalLogLimiter.WINDOW_MS, suppressed: 0 });
    return s?.suppressed ?? 0;
  }
}
