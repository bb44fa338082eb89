/**
 * The audit record writer (docs/audit-log.md). Sessions hand it statement and policy records
 * ({@link AuditLog.write}); it records connections and session ends itself from the gateway's
 * events. Each record is formatted once per format, JSON lines are chained (chain.ts), and every
 * sink gets every record through its own queue (runner.ts).
 *
 * The gateway owns one AuditLog (`gateway.audit`, a disabled one until `openAudit()` ran) and the
 * session taps reach it through there.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { AuditSettings, AuditSinkSettings } from '../config/audit-schema.js';
import { GatehouseError } from '../errors.js';
import type { ConnectionEvent, GatewayEvents, SessionEndEvent } from '../events.js';
import { Chain, GENESIS, checkLine, parseHmacKey, sha256Hex, type ChainHead } from './chain.js';
import { resolveClasses } from './classes.js';
import { isoTime, jsonText, pgauditLines, prebuiltRecord, prebuiltStatementJson, sessionPart, type AuditRecord, type FormatOptions } from './format.js';
import { readTail, rotatedFiles } from './files.js';
import { SinkRunner } from './runner.js';
import type { Formatted, SinkDriver } from './sinks/driver.js';
import { FileSink } from './sinks/file.js';
import { StdoutSink } from './sinks/stdout.js';
import { SyslogSink } from './sinks/syslog.js';
import { entryTemplate, entryTextAt, LINE_STRIDE, lineBuilder, type LineBuilder, type Template } from './prebuilt.js';
import type { AuditClassName, AuditSessionInfo, PolicyRecord, StatementRecord } from './types.js';

export type { AuditSettings };

const NOTHING: ReadonlySet<AuditClassName> = new Set();
/** How long close() waits for queued records to be written. */
const CLOSE_TIMEOUT_MS = 5000;
/** Keys a reload cannot change (docs/configuration.md says "restart"). */
const RESTART_KEYS = ['sinks', 'hmac_key_file', 'queue_limit'] as const;

export class AuditLog {
  private readonly classCache = new Map<string, ReadonlySet<AuditClassName>>();
  private waiters: (() => void)[] = [];
  private readonly blockers = new Set<() => void>();
  /** The formats' options, from the settings (made once, not per record). */
  private formatOptions: FormatOptions;
  private detach: () => void = () => undefined;
  /** Every sink takes JSON lines (prebuilt records are written as text). */
  private readonly allJson: boolean;
  /** Prebuilt records waiting for their lines (written together at the end of this turn: flushLines). */
  private readonly batch = new LineBatch();
  private readonly flushLater = (): void => this.flushLines();
  private linesFailed = false;

  private constructor(
    private settings: AuditSettings,
    private readonly runners: SinkRunner[],
    private readonly chain: Chain | null,
    private readonly logger: Logger | null,
    private readonly events: GatewayEvents | null = null,
  ) {
    this.formatOptions = { logParameter: settings.log_parameter, logRelation: settings.log_relation };
    this.allJson = runners.every((r) => r.driver.format === 'json');
  }

  /** An AuditLog with no sinks: records nothing, always accepting. */
  static disabled(): AuditLog {
    return new AuditLog({ log: [], users: {}, databases: {}, log_parameter: false, log_relation: false, log_connections: false,
      sinks: [], queue_limit: 1 }, [], null, null);
  }

  /**
   * Opens every sink and resumes the chain from the JSON files. Rejects with a GatehouseError
   * (GH_AUDIT_SINK, GH_AUDIT_KEY, GH_AUDIT_CHAIN) and leaves nothing open when one cannot be used.
   */
  static async open(settings: AuditSettings, events: GatewayEvents, logger: Logger): Promise<AuditLog> {
    if (settings.sinks.length === 0) return AuditLog.disabled();
    const key = settings.hmac_key_file ? await readAuditKey(settings.hmac_key_file) : undefined;
    const drivers = settings.sinks.map(makeDriver);
    const opened: SinkDriver[] = [];
    try {
      for (const d of drivers) {
        await d.open().catch((e: unknown) => {
          throw new GatehouseError('GH_AUDIT_SINK', `could not open: ${e instanceof Error ? e.message : String(e)}`, d.name);
        });
        opened.push(d);
      }
      const needsChain = drivers.some((d) => d.format === 'json');
      const head = needsChain ? await resumePoint(drivers) : { seq: 0, hash: GENESIS };
      const holder: { log?: AuditLog } = {};
      const hooks = { events, logger, changed: () => holder.log?.stateChanged() };
      const mode = settings.on_sink_failure ?? 'block';
      const runners = drivers.map((d) => new SinkRunner(d, mode, settings.queue_limit, hooks));
      const log = new AuditLog(settings, runners, needsChain ? new Chain(head, key) : null, logger, events);
      holder.log = log;
      log.subscribe(events);
      log.reportTornFiles(drivers);
      logger.info({ event: 'audit', sinks: drivers.map((d) => d.name), seq: head.seq, hmac: key !== undefined }, 'audit log open');
      return log;
    } catch (e) {
      for (const d of opened) await d.close().catch(() => undefined);
      throw e;
    }
  }

  /** Emits each sink's state (`audit.sink` up/down), for a metrics registry created after open(). */
  announce(): void {
    for (const r of this.runners) this.events?.emit('audit.sink', { sink: r.driver.name, event: r.isUp ? 'up' : 'down' });
  }

  /** Is anything recorded at all? */
  get enabled(): boolean {
    return this.runners.length > 0;
  }

  /**
   * The classes to record for this role and database: `audit.users.<role>.log`, else
   * `audit.databases.<db>.log`, else `audit.log`. An empty set: statements are not recorded.
   */
  statementClasses(user: string, database: string): ReadonlySet<AuditClassName> {
    if (!this.enabled) return NOTHING;
    const k = `${user}\0${database}`;
    let set = this.classCache.get(k);
    if (!set) {
      const words = this.settings.users[user]?.log ?? this.settings.databases[database]?.log ?? this.settings.log;
      set = resolveClasses(words);
      if (this.classCache.size >= 10_000) this.classCache.clear();
      this.classCache.set(k, set);
    }
    return set;
  }

  /** Queues a record (statement or policy). Never throws, never blocks the caller. */
  write(rec: StatementRecord | PolicyRecord): void {
    this.record(rec);
  }

  /**
   * A prebuilt simple-Query record (src/audit/tap.ts `prebuilt`): written as text at once when every
   * sink takes JSON, else as the record it stands for.
   */
  writePrebuilt(info: AuditSessionInfo, statementId: number, t: Template, m: Buffer, textAt: number, durationMs: number, rows: number): void {
    if (this.runners.length === 0) return;
    if (!this.allJson) return this.record(prebuiltRecord(info, statementId, t, m.toString('latin1', textAt), durationMs, rows));
    const b = lineBuilder();
    if (b && (t.lined === b || (b.part(t.id, Buffer.from(t.part)) && (t.lined = b)))) {
      // Lines are built natively, the turn's records at once: after what the chain already has.
      if (!this.batch.fits(m)) this.flushLines();
      if (this.batch.add(m, statementId, durationMs, rows, sessionPart(info)) === 1) queueMicrotask(this.flushLater);
      return;
    }
    this.flushLines();
    this.writeLine(sessionPart(info), statementId, t, m.toString('latin1', textAt), durationMs, rows, new Date());
  }

  /** One prebuilt record's line, chained and queued here. */
  private writeLine(session: string, statementId: number, t: Template, statementJson: string, durationMs: number, rows: number, time: Date): void {
    try {
      this.queueStatementLine(this.chain!.appendJson(prebuiltStatementJson(session, statementId, t.part, statementJson, durationMs, rows, time)), time);
    } catch (e) {
      this.unwritable(e, 'statement');
    }
  }

  /** A statement record's chained JSON line, to every sink (all take JSON). */
  private queueStatementLine(text: string, time: Date): void {
    const json = { text, kind: 'statement' as const, severity: 6, time };
    for (const r of this.runners) r.push(json);
  }

  /**
   * Writes the batched prebuilt records, in order, before anything else is chained: their lines
   * built natively in one call (native/auditline.h), or here one by one if that fails.
   */
  private flushLines(): void {
    const b = this.batch;
    if (b.count === 0) return;
    const time = new Date();
    let lines: string[] | null = null;
    try {
      const builder = lineBuilder() as LineBuilder;
      lines = this.chain!.appendBuilt(b.count, (seq, prev, key) => builder.lines(b.entries!, b.nums, b.count, b.sessions, seq, prev, isoTime(time), key));
    } catch (e) {
      // Nothing is lost (the records are written below); said once, not every hand-over.
      if (!this.linesFailed) this.logger?.warn({ event: 'audit', error: e instanceof Error ? e.message : String(e), records: b.count }, 'native audit lines failed: records are built one by one instead');
      this.linesFailed = true;
    }
    if (lines === null) {
      for (let i = 0; i < b.count; i++) {
        const [m, textAt, statementId, durationMs, rows, session] = b.record(i);
        const t = entryTemplate(m);
        if (t) this.writeLine(session, statementId, t, m.toString('latin1', textAt), durationMs, rows, time);
        else this.unwritable(new Error('a prebuilt entry names an unknown template'), 'statement');
      }
    } else {
      try {
        for (const text of lines) this.queueStatementLine(text, time);
      } catch (e) {
        // As writeLine(): a failure here is a bug, logged, never thrown into the event loop.
        this.unwritable(e, 'statement');
      }
    }
    b.clear();
  }

  /** false while `on_sink_failure: block` and a sink is failing: the session must hold new statements. */
  get accepting(): boolean {
    return this.settings.on_sink_failure !== 'block' || this.runners.every((r) => r.isUp);
  }

  /** Resolves when accepting again (at once if accepting now). */
  whenAccepting(): Promise<void> {
    if (this.accepting) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Calls `fn` whenever a sink's state changes while not accepting; returns the unsubscribe. */
  onBlock(fn: () => void): () => void {
    this.blockers.add(fn);
    return () => void this.blockers.delete(fn);
  }

  /**
   * Applies a reload: classes, overrides, log_parameter, log_relation, log_connections and
   * on_sink_failure change at once. Returns the restart-only keys that differ (they keep their old values).
   */
  reconfigure(next: AuditSettings): string[] {
    const ignored = RESTART_KEYS.filter((k) => JSON.stringify(next[k]) !== JSON.stringify(this.settings[k]));
    this.settings = { ...next, sinks: this.settings.sinks, hmac_key_file: this.settings.hmac_key_file, queue_limit: this.settings.queue_limit };
    this.formatOptions = { logParameter: next.log_parameter, logRelation: next.log_relation };
    this.classCache.clear();
    for (const r of this.runners) r.setMode(next.on_sink_failure ?? 'block');
    if (ignored.length > 0) this.logger?.warn({ event: 'audit', keys: ignored.map((k) => `audit.${k}`) }, 'audit settings that need a restart were not changed');
    this.stateChanged();
    return ignored.map((k) => `audit.${k}`);
  }

  /** Stops recording connections, writes what is queued (up to 5 s) and closes every sink. */
  async close(): Promise<void> {
    this.flushLines();
    this.detach();
    await Promise.all(this.runners.map((r) => r.close(CLOSE_TIMEOUT_MS)));
    for (const w of this.waiters.splice(0)) w();
  }

  private record(rec: AuditRecord): void {
    if (this.runners.length === 0) return;
    this.flushLines();
    try {
      const time = new Date();
      const o = this.formatOptions;
      const severity = rec.kind === 'policy' || (rec.kind === 'connection' && rec.outcome === 'failure') ? 5 : 6;
      let json: Formatted | undefined;
      let lines: Formatted[] | undefined;
      for (const r of this.runners) {
        if (r.driver.format === 'json') {
          json ??= { text: this.chain!.appendJson(jsonText(rec, time, o)), kind: rec.kind, severity, time };
          r.push(json);
        } else {
          lines ??= pgauditLines(rec, time, o).map((text) => ({ text, kind: rec.kind, severity, time }));
          for (const l of lines) r.push(l);
        }
      }
    } catch (e) {
      this.unwritable(e, rec.kind);
    }
  }

  /** A record that cannot be formatted is a bug: it is logged, never thrown into a session. */
  private unwritable(e: unknown, kind: AuditRecord['kind']): void {
    this.logger?.error({ event: 'audit', error: e instanceof Error ? e.message : String(e), kind }, 'audit record could not be written');
  }

  private subscribe(events: GatewayEvents): void {
    const onConnection = (e: ConnectionEvent): void => {
      if (this.settings.log_connections) this.record({ kind: 'connection', ...e });
    };
    const onEnd = (e: SessionEndEvent): void => {
      if (!this.settings.log_connections) return;
      const { counters: _counters, ...rest } = e;
      this.record({ kind: 'disconnection', ...rest });
    };
    events.on('connection', onConnection);
    events.on('session.end', onEnd);
    this.detach = () => {
      events.off('connection', onConnection);
      events.off('session.end', onEnd);
    };
  }

  /** A torn last line is kept, reported in the log and acknowledged by a chain record (docs/audit-log.md "Restarts"). */
  private reportTornFiles(drivers: SinkDriver[]): void {
    const torn: { file: string; bytes: number; sha256: string }[] = [];
    for (const d of drivers) {
      if (!(d instanceof FileSink) || !d.tail?.torn) continue;
      const t = d.tail.torn;
      this.logger?.error({ event: 'audit', sink: d.name, torn_bytes: t.length },
        'audit file ends with a torn record (a crash or a full disk cut it short): it is kept and the chain continues from the last complete record');
      if (d.format === 'json') torn.push({ file: d.path, bytes: t.length, sha256: sha256Hex(t) });
    }
    if (torn.length > 0) this.record({ kind: 'chain', event: 'torn_tail', torn });
  }

  private stateChanged(): void {
    if (this.accepting) for (const w of this.waiters.splice(0)) w();
    else for (const b of this.blockers) b();
  }
}

/**
 * Prebuilt records waiting for their lines, all from entries in one buffer (a hand-over's): for
 * each, LINE_STRIDE numbers (native/auditline.h) and its session's sessionPart() text.
 */
class LineBatch {
  entries: ArrayBufferLike | null = null;
  nums = new Float64Array(LINE_STRIDE * 1024);
  count = 0;
  readonly sessions: string[] = [];
  private readonly index = new Map<string, number>();

  /** Can `m` join (its bytes are in the batch's buffer, or the batch is empty)? */
  fits(m: Buffer): boolean {
    return this.count === 0 || m.buffer === this.entries;
  }

  /** Adds a record (after fits()); returns the count. */
  add(m: Buffer, statementId: number, durationMs: number, rows: number, session: string): number {
    this.entries = m.buffer;
    let s = this.index.get(session);
    if (s === undefined) {
      s = this.sessions.push(session) - 1;
      this.index.set(session, s);
    }
    if ((this.count + 1) * LINE_STRIDE > this.nums.length) {
      const grown = new Float64Array(this.nums.length * 2);
      grown.set(this.nums);
      this.nums = grown;
    }
    const o = this.count * LINE_STRIDE;
    const n = this.nums;
    n[o] = m.byteOffset;
    n[o + 1] = m.length;
    n[o + 2] = statementId;
    n[o + 3] = durationMs;
    n[o + 4] = rows;
    n[o + 5] = s;
    return ++this.count;
  }

  /** Record i as writePrebuilt() had it: the entry, where its text starts, statement id, duration, rows, session. */
  record(i: number): [Buffer, number, number, number, number, string] {
    const n = this.nums;
    const o = i * LINE_STRIDE;
    const m = Buffer.from(this.entries!, n[o]!, n[o + 1]!);
    return [m, entryTextAt(m), n[o + 2]!, n[o + 3]!, n[o + 4]!, this.sessions[n[o + 5]!]!];
  }

  clear(): void {
    this.count = 0;
    this.entries = null;
    this.sessions.length = 0;
    this.index.clear();
  }
}

function makeDriver(s: AuditSinkSettings): SinkDriver {
  switch (s.type) {
    case 'file':
      return new FileSink(s);
    case 'stdout':
      return new StdoutSink(s);
    case 'syslog':
      return new SyslogSink(s);
  }
}

/** Reads `audit.hmac_key_file` (GH_AUDIT_KEY when it cannot be read or is shorter than 32 bytes). */
export async function readAuditKey(path: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new GatehouseError('GH_AUDIT_KEY', `could not read: ${(e as Error).message}`, path);
  }
  const key = parseHmacKey(bytes);
  if (typeof key === 'string') throw new GatehouseError('GH_AUDIT_KEY', key, path);
  return key;
}

/**
 * Where the chain continues: the highest `seq` at the end of a JSON file sink (or, when a file is
 * empty after a rotation, of its newest rotated predecessor).
 */
async function resumePoint(drivers: SinkDriver[]): Promise<ChainHead> {
  let head: ChainHead = { seq: 0, hash: GENESIS };
  for (const d of drivers) {
    if (!(d instanceof FileSink) || d.format !== 'json') continue;
    const found = await lastRecordOf(d);
    if (found && found.seq > head.seq) head = found;
  }
  return head;
}

async function lastRecordOf(d: FileSink): Promise<ChainHead | null> {
  let last = d.tail?.last ?? null;
  let where = d.path;
  if (last === null) {
    for (const older of (await rotatedFiles(d.path)).reverse()) {
      const t = await readTail(older);
      if (t.last !== null) {
        [last, where] = [t.last, older];
        break;
      }
    }
  }
  if (last === null) return null;
  const c = checkLine(last);
  if (!c.ok) {
    throw new GatehouseError('GH_AUDIT_CHAIN', `its last line is not a chain record (${c.problem}); move the file aside (keep it: it is evidence) and start again`, where);
  }
  return { seq: c.seq, hash: c.hash };
}
