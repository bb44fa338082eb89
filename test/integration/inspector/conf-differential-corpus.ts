/**
 * The corpus of the postgresql.conf differential test: hand-written cases (each a set of files,
 * `postgresql.conf` first) and a seeded generator. Settings use real GUCs whose type and unit are
 * listed in {@link GUCS}, or custom `ext.name` placeholders (any string), because PostgreSQL refuses
 * a file that names an unknown plain parameter.
 */
import type { MemoryBase, TimeBase } from '../../../src/inspector/collect/conf.js';
import { prng } from '../../support/prng.js';

/** How `postgres -C` prints a GUC: memory and time in the GUC's base unit without the unit, bools on/off, enums by canonical name. */
export type GucKind =
  | { type: 'memory'; base: MemoryBase }
  | { type: 'time'; base: TimeBase }
  | { type: 'int' }
  | { type: 'real' }
  | { type: 'bool' }
  | { type: 'enum' }
  | { type: 'string' };

export const GUCS: Readonly<Record<string, GucKind>> = {
  shared_buffers: { type: 'memory', base: '8kB' },
  wal_buffers: { type: 'memory', base: '8kB' },
  work_mem: { type: 'memory', base: 'kB' },
  maintenance_work_mem: { type: 'memory', base: 'kB' },
  temp_file_limit: { type: 'memory', base: 'kB' },
  max_wal_size: { type: 'memory', base: 'MB' },
  checkpoint_timeout: { type: 'time', base: 's' },
  authentication_timeout: { type: 'time', base: 's' },
  statement_timeout: { type: 'time', base: 'ms' },
  deadlock_timeout: { type: 'time', base: 'ms' },
  log_rotation_age: { type: 'time', base: 'min' },
  port: { type: 'int' },
  max_connections: { type: 'int' },
  random_page_cost: { type: 'real' },
  seq_page_cost: { type: 'real' },
  ssl: { type: 'bool' },
  fsync: { type: 'bool' },
  log_disconnections: { type: 'bool' },
  hot_standby: { type: 'bool' },
  password_encryption: { type: 'enum' },
  log_statement: { type: 'enum' },
  wal_level: { type: 'enum' },
  ssl_min_protocol_version: { type: 'enum' },
  listen_addresses: { type: 'string' },
  log_line_prefix: { type: 'string' },
  shared_preload_libraries: { type: 'string' },
  ssl_ciphers: { type: 'string' },
  archive_command: { type: 'string' },
  log_directory: { type: 'string' },
  cluster_name: { type: 'string' },
};

export interface ConfCorpusCase {
  name: string;
  /** Relative path → content; `postgresql.conf` is the file the server is given. Directories are made as needed. */
  files: Record<string, string>;
}

/** Eleven files, each including the next: the last include is one level past PostgreSQL's depth limit of 10. */
function includeChain(n: number): Record<string, string> {
  const files: Record<string, string> = { 'postgresql.conf': "include 'd1.conf'\n" };
  for (let i = 1; i < n; i++) files[`d${i}.conf`] = `include 'd${i + 1}.conf'\n`;
  files[`d${n}.conf`] = 'port = 5999\n';
  return files;
}

export const HAND_CASES: readonly ConfCorpusCase[] = [
  { name: 'plain settings, = optional, comments, blank lines, names in any case', files: { 'postgresql.conf': '# head\n\nPort = 5433   # trailing\nshared_buffers 128MB\n  work_mem=4MB\nLOG_LINE_PREFIX = \'%m [%p] \'\n' } },
  { name: 'quoting: doubled quote, backslash escapes, octal, # inside quotes, empty string', files: { 'postgresql.conf': "ext.a = 'it''s'\next.b = 'x\\'y'\next.c = 'tab\\there\\n'\next.d = '\\101\\102\\7'\next.e = '# not a comment'\next.f = ''\next.g = 'back\\\\slash'\next.h = '\\q\\z'\n" } },
  { name: 'memory units: B kB MB GB TB, fractions, spaces, bare numbers in the base unit', files: { 'postgresql.conf': "shared_buffers = '1GB'\nwork_mem = '1.5MB'\nmaintenance_work_mem = 65536\ntemp_file_limit = '1 TB'\nwal_buffers = -1\nmax_wal_size = 1024MB\n" } },
  { name: 'memory rounding to the base unit', files: { 'postgresql.conf': "work_mem = '65600B'\nshared_buffers = '200kB'\nmax_wal_size = '2500kB'\nmaintenance_work_mem = '1.75MB'\n" } },
  { name: 'time units: us ms s min h d, fractions, bare numbers in the base unit', files: { 'postgresql.conf': "checkpoint_timeout = '10min'\nstatement_timeout = '1.5s'\ndeadlock_timeout = 1500\nauthentication_timeout = 1min\nlog_rotation_age = '1d'\nstatement_timeout = '2500us'\n" } },
  { name: 'time rounding to the base unit', files: { 'postgresql.conf': "checkpoint_timeout = '90500ms'\nlog_rotation_age = '90s'\ndeadlock_timeout = '1.4ms'\n" } },
  { name: 'integers: hex and octal (strtol base 0), signs', files: { 'postgresql.conf': 'port = 0x1538\nmax_connections = 010\nstatement_timeout = +0\n' } },
  { name: 'reals: leading dot, trailing dot, exponent', files: { 'postgresql.conf': "random_page_cost = .5\nseq_page_cost = 2.\nrandom_page_cost = 1.5e1\next.r = -.5\next.dot = .\n" } },
  { name: 'booleans in every spelling PostgreSQL takes', files: { 'postgresql.conf': "ssl = yes\nfsync = OFF\nlog_disconnections = 1\nhot_standby = 'tr'\nssl = 'of'\n" } },
  { name: 'enums: any case, canonical output', files: { 'postgresql.conf': "password_encryption = 'SCRAM-SHA-256'\nlog_statement = DDL\nwal_level = 'Replica'\nssl_min_protocol_version = 'tlsv1.3'\n" } },
  { name: 'strings: unquoted paths and identifiers, quoted lists', files: { 'postgresql.conf': "listen_addresses = '*'\nlog_directory = pg_log/sub:dir\nshared_preload_libraries = 'pg_stat_statements,pgaudit'\nssl_ciphers = 'HIGH:!aNULL:!MD5'\narchive_command = 'cp \"%p\" /mnt/arch/%f'\ncluster_name = main-15.a_b\n" } },
  { name: 'custom ext.name keys: case folded, any string', files: { 'postgresql.conf': "pgaudit.log = 'ddl, write'\nPGAUDIT.Log_Catalog = off\nmy_ext.Setting = 'A B C'\next.x = 42kB\n" } },
  { name: 'duplicate keys: the last line wins', files: { 'postgresql.conf': 'port = 1\nport = 2\nPORT = 3\nwork_mem = 1MB\nwork_mem = 2MB\n' } },
  { name: 'include, relative to the including file, last value wins across files', files: { 'postgresql.conf': "port = 1\ninclude 'sub/a.conf'\nssl = off\n", 'sub/a.conf': "port = 2\nssl = on\ninclude 'b.conf'\n", 'sub/b.conf': 'work_mem = 8MB\n' } },
  { name: 'include with = and an unquoted path', files: { 'postgresql.conf': 'include = inc/extra.conf\nwork_mem = 3MB\n', 'inc/extra.conf': 'work_mem = 7MB\nport = 6000\n' } },
  { name: 'include_if_exists: missing file skipped, present file read', files: { 'postgresql.conf': "include_if_exists 'nope.conf'\ninclude_if_exists 'yes.conf'\nport = 5\n", 'yes.conf': 'port = 4\nwork_mem = 5MB\n' } },
  { name: 'include_dir: *.conf only, no dot files, no directories, C (byte) order', files: {
    'postgresql.conf': "ext.v = base\ninclude_dir 'conf.d'\n",
    'conf.d/2-a.conf': 'ext.v = two\nport = 2\n', 'conf.d/10-b.conf': 'ext.v = ten\nport = 10\n', 'conf.d/Z.conf': 'ext.v = Z\n',
    'conf.d/.hidden.conf': 'ext.v = hidden\n', 'conf.d/notes.txt': 'ext.v = txt\n', 'conf.d/a.conf': 'ext.last = a\n', 'conf.d/b.conf/x.conf': 'ext.v = dir\n',
  } },
  { name: 'include_dir then settings after it override the directory', files: { 'postgresql.conf': "include_dir = 'conf.d'\nwork_mem = 1MB\n", 'conf.d/01.conf': 'work_mem = 9MB\nport = 7\n' } },
  { name: 'error: an unquoted path that lexes as a qualified name (include = extra.conf)', files: { 'postgresql.conf': 'include = extra.conf\ninclude_dir = conf.d\nwork_mem = 3MB\n', 'extra.conf': 'work_mem = 7MB\n', 'conf.d/a.conf': 'port = 1\n' } },
  { name: 'empty file and comment-only file', files: { 'postgresql.conf': "# nothing\n\n   \t\n# still nothing\ninclude 'empty.conf'\n", 'empty.conf': '' } },
  { name: 'no newline at end of file, CRLF line ends', files: { 'postgresql.conf': 'port = 5440\r\nwork_mem = 2MB\r\next.t = \'x\'' } },
  { name: 'nesting depth 10 is fine', files: includeChain(10) },
  // Files PostgreSQL refuses: ours must refuse them too, at the same file:line, in the same words.
  { name: 'error: junk after the value', files: { 'postgresql.conf': 'ssl = on\nport = 5432 junk\n' } },
  { name: 'error: no value', files: { 'postgresql.conf': 'port =\nwork_mem = 1MB\n' } },
  { name: 'error: unterminated quote', files: { 'postgresql.conf': "ext.a = 'abc\nport = 1\n" } },
  { name: 'error: a real with a unit is two tokens', files: { 'postgresql.conf': 'statement_timeout = 1.5s\n' } },
  { name: 'error: exponent without a dot', files: { 'postgresql.conf': 'random_page_cost = 1e1\n' } },
  { name: 'error: a name with two dots', files: { 'postgresql.conf': 'a.b.c = 1\n' } },
  { name: 'error: a line that starts with a value or =', files: { 'postgresql.conf': "5 = 3\n= 4\n'x' = 1\n" } },
  { name: 'error: several bad lines are all reported', files: { 'postgresql.conf': 'port = 1 2\nok.x = 1\nwork_mem 1 MB\nssl = = on\n' } },
  { name: 'error: in an included file, at its own line', files: { 'postgresql.conf': "port = 1\ninclude 'bad.conf'\n", 'bad.conf': '\n\nwork_mem = 1MB MB\n' } },
  { name: 'error: include of a missing file', files: { 'postgresql.conf': "include 'gone.conf'\nport = 1\n" } },
  { name: 'error: include_dir of a missing directory', files: { 'postgresql.conf': "include_dir 'nodir'\n" } },
  { name: 'error: a file that includes itself', files: { 'postgresql.conf': "port = 1\ninclude 'postgresql.conf'\n" } },
  { name: 'error: nesting deeper than 10', files: includeChain(11) },
];

const VALUES: Readonly<Record<string, readonly string[]>> = {
  shared_buffers: ['128MB', "'1GB'", '16384', "'256 MB'", '4096kB'],
  wal_buffers: ['-1', '16MB', "'512kB'", '64'],
  work_mem: ['4MB', "'1.5MB'", '65536', "'64 kB'", '2GB'],
  maintenance_work_mem: ['64MB', "'1GB'", '131072'],
  temp_file_limit: ['-1', "'10GB'", '1024'],
  max_wal_size: ['1GB', "'2048MB'", '4096'],
  checkpoint_timeout: ['5min', "'300s'", '600', "'1h'"],
  authentication_timeout: ['1min', '30', "'45s'"],
  statement_timeout: ['0', '1500', "'2s'", "'1.5min'", '10min'],
  deadlock_timeout: ['1s', '500', "'750ms'"],
  log_rotation_age: ['1d', '60', "'2h'"],
  port: ['5432', '6543', '0x1538', '010'],
  max_connections: ['100', '20', "'250'"],
  random_page_cost: ['1.1', '4', "'2.5'", '.5'],
  seq_page_cost: ['1', '0.5', "'1.0'"],
  ssl: ['on', 'off', 'true', "'yes'", '0', 'FALSE'],
  fsync: ['on', 'off', "'1'"],
  log_disconnections: ['on', 'off', 'yes', 'no'],
  hot_standby: ['on', "'off'"],
  password_encryption: ['scram-sha-256', "'md5'", "'SCRAM-SHA-256'"],
  log_statement: ['none', 'ddl', "'mod'", 'ALL'],
  wal_level: ['replica', 'logical', "'minimal'"],
  ssl_min_protocol_version: ["'TLSv1.2'", "'tlsv1.3'", 'TLSv1'],
  listen_addresses: ["'*'", "'localhost'", "'10.0.0.1, ::1'"],
  log_line_prefix: ["'%m [%p] '", "'%t %u@%d from %h '", "'it''s %a '"],
  shared_preload_libraries: ["'pg_stat_statements'", "''", "'pgaudit,auto_explain'"],
  ssl_ciphers: ["'HIGH:MEDIUM:+3DES:!aNULL'", "'ECDHE+AESGCM'"],
  archive_command: ["'test ! -f /a/%f && cp %p /a/%f'", "'/bin/true'"],
  log_directory: ['log', "'pg_log'", '/var/log/postgresql'],
  cluster_name: ['main', "'prod 1'", "'a''b'"],
};

const CUSTOM_STRINGS = ["'plain'", "'with ''quotes'''", "'tab\\tand\\\\back'", "'\\101\\x'", "'# hash'", 'bare_word', '-7', '3.25', "'Ünïcode'"];

/** One generated case: a main file and up to two included files and a conf.d, mixing every feature. */
export function generateCase(seed: number): ConfCorpusCase {
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const names = Object.keys(VALUES);
  const line = (): string => {
    const custom = rand() < 0.2;
    const name = custom ? `${pick(['ext', 'my_ext', 'pgaudit'])}.${pick(['a', 'B', 'log', 'x_y'])}` : pick(names);
    const value = custom ? pick(CUSTOM_STRINGS) : pick(VALUES[name]!);
    const shown = rand() < 0.2 ? name.toUpperCase() : name;
    const sep = pick([' = ', '=', ' ', '\t=\t']);
    const comment = rand() < 0.2 ? '   # note' : '';
    return `${shown}${sep}${value}${comment}`;
  };
  const body = (n: number): string[] => Array.from({ length: n }, () => (rand() < 0.15 ? pick(['', '# comment', '   ']) : line()));
  const files: Record<string, string> = {};
  const main = body(4 + Math.floor(rand() * 6));
  if (rand() < 0.6) {
    files['inc/one.conf'] = `${body(3).join('\n')}\n`;
    main.splice(Math.floor(rand() * main.length), 0, pick(["include 'inc/one.conf'", 'include = inc/one.conf', "include_if_exists 'inc/one.conf'"]));
  }
  if (rand() < 0.5) {
    for (const f of ['00-a.conf', '10-b.conf', '9-c.conf', 'B.conf', 'a.conf'].filter(() => rand() < 0.6)) files[`conf.d/${f}`] = `${body(2).join('\n')}\n`;
    files['conf.d/.skip.conf'] = 'port = 1\n';
    // Unquoted, conf.d lexes as a qualified name, which PostgreSQL refuses as a value: a real trap, kept rare.
    main.splice(Math.floor(rand() * main.length), 0, rand() < 0.15 ? 'include_dir = conf.d' : pick(["include_dir 'conf.d'", "include_dir = 'conf.d'", 'include_dir conf.d/']));
  }
  if (rand() < 0.3) main.splice(Math.floor(rand() * main.length), 0, "include_if_exists 'missing.conf'");
  files['postgresql.conf'] = `${main.join(rand() < 0.1 ? '\r\n' : '\n')}\n`;
  return { name: `generated-${seed}`, files };
}
