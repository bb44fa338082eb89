/**
 * The `audit:` section: which statements are recorded (pgAudit's classes, per role and database),
 * where records go (file, stdout, syslog) and what happens when a sink fails. docs/audit-log.md
 * explains the records; this file is the reference for every key.
 */
import { z } from 'zod';
import { duration, key, size } from './keys.js';

/** pgaudit.log's words; `-word` subtracts (pgAudit's syntax), applied left to right. */
const CLASS_WORD = /^-?(read|write|function|role|ddl|misc|misc_set|all|none)$/i;
const classList = z.array(z.string().regex(CLASS_WORD, 'must be read, write, function, role, ddl, misc, misc_set, all or none, optionally prefixed with - to subtract'));

const override = z.strictObject({
  log: key(classList, {
    reloadable: true,
    description: 'Replaces `audit.log` for this entry (as `ALTER ROLE … SET pgaudit.log` / `ALTER DATABASE … SET pgaudit.log` do).',
  }),
});

const format = z.enum(['json', 'pgaudit']);
const formatKey = (dflt: 'json' | 'pgaudit'): z.ZodDefault<typeof format> => key(format.default(dflt), {
  reloadable: false,
  description: '`json`: one JSON object a line with every field, `seq`, `prev` and (with `audit.hmac_key_file`) `hmac`. `pgaudit`: a PostgreSQL log line with pgAudit\'s `AUDIT: SESSION,…` text (docs/audit-log.md has the exact shape).',
});
const sinkName = key(z.string().regex(/^[A-Za-z0-9_.:/-]+$/).optional(), {
  reloadable: false,
  description: 'The `sink` label in metrics and logs. Default: `file:<path>`, `stdout` or `syslog:<host>:<port>`.',
});

const fileSink = z.strictObject({
  type: z.literal('file'),
  name: sinkName,
  path: key(z.string().min(1), { reloadable: false, description: 'The file records are appended to (created mode 0600, opened O_APPEND). Relative to the config file\'s folder.' }),
  format: formatKey('json'),
  fsync: key(z.enum(['always', 'interval', 'never']).default('interval'), {
    reloadable: false,
    description: '`always`: fsync after every batch of records, before the next is written. `interval`: every `fsync_interval`. `never`: leave it to the OS.',
  }),
  fsync_interval: key(duration.prefault('1s'), { reloadable: false, description: 'How often `fsync: interval` flushes the file to disk.' }),
  rotate_size: key(size.prefault(0), {
    reloadable: false,
    description: 'Rotate when the file would grow past this size (bytes, or `100MB`); 0: never. The full file is renamed to `<path>.<UTC time>` (such as `audit.jsonl.20261204T023000.123Z`) and a new one is started; the chain continues.',
  }),
  rotate_interval: key(duration.prefault(0), {
    reloadable: false,
    description: 'Rotate when the file is older than this (such as `1d`), checked before each write; 0: never.',
  }),
});

const stdoutSink = z.strictObject({
  type: z.literal('stdout'),
  name: sinkName,
  format: formatKey('json'),
});

const syslogSink = z.strictObject({
  type: z.literal('syslog'),
  name: sinkName,
  host: key(z.string().min(1).default('127.0.0.1'), { reloadable: false, description: 'Syslog receiver host.' }),
  port: key(z.number().int().min(1).max(65535).default(514), { reloadable: false, description: 'Syslog receiver port.' }),
  protocol: key(z.enum(['tcp', 'udp']).default('tcp'), {
    reloadable: false,
    description: 'RFC 5424 messages over `tcp` (RFC 6587 octet counting) or `udp` (one message a datagram; no delivery check, so a failing receiver is not noticed).',
  }),
  facility: key(z.number().int().min(0).max(23).default(13), {
    reloadable: false, description: 'Syslog facility number (13, log audit; 16–23 are local0–local7).',
  }),
  app_name: key(z.string().regex(/^[!-~]{1,48}$/, 'must be 1 to 48 printable ASCII characters without spaces').default('gatehouse'), {
    reloadable: false, description: 'RFC 5424 APP-NAME.',
  }),
  format: formatKey('pgaudit'),
});

const sink = z.discriminatedUnion('type', [fileSink, stdoutSink, syslogSink]);

export const auditSection = z.strictObject({
  log: key(classList.default(['none']), {
    reloadable: true,
    description: 'Statement classes recorded, as `pgaudit.log`: read, write, function, role, ddl, misc, misc_set, all, none; `-class` removes one (`[all, -misc]`). Default: none (connection records only).',
  }),
  users: key(z.record(z.string(), override).default({}), {
    reloadable: true,
    description: 'Per-role `log` overrides, keyed by the client\'s user name. A role\'s entry wins over its database\'s.',
  }),
  databases: key(z.record(z.string(), override).default({}), {
    reloadable: true,
    description: 'Per-database `log` overrides, keyed by the client\'s database name.',
  }),
  log_parameter: key(z.boolean().default(false), {
    reloadable: true,
    description: 'Record bind parameters of extended-protocol statements (pgaudit.log_parameter). Off: `<not logged>`.',
  }),
  log_relation: key(z.boolean().default(false), {
    reloadable: true,
    description: 'pgaudit.log_relation: in the `pgaudit` format, one line per table or view a READ or WRITE statement names, with its OBJECT_TYPE and OBJECT_NAME. Off: one line with empty object fields, as pgAudit prints. JSON records always list every object.',
  }),
  log_connections: key(z.boolean().default(true), {
    reloadable: true,
    description: 'Record every connection attempt (with hba file:line, method, outcome, SQLSTATE) and every session end (duration, bytes).',
  }),
  sinks: key(z.array(sink).default([]), {
    reloadable: false,
    description: 'Where records go: `{type: file, path, …}`, `{type: stdout}`, `{type: syslog, host, port, …}`. Every sink gets every record. Empty: auditing is off.',
  }),
  on_sink_failure: key(z.enum(['block', 'drop_and_count']).optional(), {
    reloadable: true,
    description: 'Required when `sinks` is set. `block`: while a sink fails, sessions hold new statements and the queued records are retried in order (none is lost). `drop_and_count`: records for a failing sink are dropped and counted (`gatehouse_audit_records_dropped_total`).',
  }),
  hmac_key_file: key(z.string().optional(), {
    reloadable: false,
    description: 'File holding a secret key (at least 32 bytes; trailing newlines are ignored). Every JSON record then carries `hmac`, an HMAC-SHA-256 that `gatehouse audit-log verify --hmac-key-file` checks. Relative to the config file\'s folder.',
  }),
  queue_limit: key(z.number().int().min(1).default(100_000), {
    reloadable: false,
    description: 'Records a sink may hold unwritten. Over it (a sink down for long while logins continue) records are dropped and counted even with `block`.',
  }),
}).superRefine((a, ctx) => {
  if (a.sinks.length > 0 && a.on_sink_failure === undefined) {
    ctx.addIssue({ code: 'custom', path: ['on_sink_failure'],
      message: 'required when audit.sinks is set: choose block (sessions wait while a sink fails; no record is lost) or drop_and_count (records are dropped and counted)' });
  }
});

export type AuditSettings = z.output<typeof auditSection>;
export type AuditSinkSettings = z.output<typeof sink>;
