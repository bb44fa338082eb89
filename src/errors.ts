/**
 * The two error families, one catalog (STYLE.md "Two error families").
 *
 * - {@link WireError}: what a client sees. Built only through the helpers in {@link wire}, so the
 *   SQLSTATE and wording always match PostgreSQL's (src/backend/libpq/auth.c, postmaster.c).
 * - {@link GatehouseError}: internal failures with a stable `GH_…` code listed in {@link GH}.
 */

export type Severity = 'FATAL' | 'ERROR' | 'WARNING' | 'NOTICE' | 'LOG';

/** An error that is sent to a client as an ErrorResponse. A FATAL is sent, then the socket closes. */
export class WireError extends Error {
  constructor(
    readonly severity: Severity,
    /** Five-character SQLSTATE. */
    readonly code: string,
    message: string,
    readonly detail?: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'WireError';
  }
}

const fatal = (code: string, message: string, detail?: string, hint?: string): WireError =>
  new WireError('FATAL', code, message, detail, hint);

/** Every wire error gatehouse sends, in PostgreSQL's words. */
export const wire = {
  /** 28000, auth.c ClientAuthentication(): no line matched. */
  noHbaEntry: (host: string, user: string, database: string, encryption: 'SSL encryption' | 'no encryption', replication = false) =>
    fatal('28000', replication
      ? `no pg_hba.conf entry for replication connection from host "${host}", user "${user}", ${encryption}`
      : `no pg_hba.conf entry for host "${host}", user "${user}", database "${database}", ${encryption}`),
  /** 28000, auth.c: a `reject` line matched. */
  hbaRejects: (host: string, user: string, database: string, encryption: 'SSL encryption' | 'no encryption', replication = false) =>
    fatal('28000', replication
      ? `pg_hba.conf rejects replication connection for host "${host}", user "${user}", ${encryption}`
      : `pg_hba.conf rejects connection for host "${host}", user "${user}", database "${database}", ${encryption}`),
  /** 28P01, auth.c auth_failed(). Identical whether or not the role exists. */
  passwordFailed: (user: string) => fatal('28P01', `password authentication failed for user "${user}"`),
  /** 28000, auth.c auth_failed() for uaCert. */
  certFailed: (user: string) => fatal('28000', `certificate authentication failed for user "${user}"`),
  /** 28000, auth.c: cert auth without a client certificate. */
  certMissing: () => fatal('28000', 'connection requires a valid client certificate'),
  /** 28000, hba.c check_usermap(): a map did not admit the user. */
  identMapFailed: (user: string, method: string) => fatal('28000', `${method} authentication failed for user "${user}"`),
  /** 28000: the matching line uses a method gatehouse does not implement. */
  /** 28000: the matching line uses a method gatehouse does not implement (the line goes to the log only, as PostgreSQL's errdetail_log). */
  methodUnsupported: (method: string) =>
    fatal('28000', `authentication method "${method}" is not supported by gatehouse`, undefined,
      'Use trust, reject, scram-sha-256, md5, password or cert on lines that gatehouse enforces.'),
  /** 08P01, postmaster.c / pqcomm.c protocol violations. */
  protocolViolation: (message: string) => fatal('08P01', message),
  /** 08P01: the startup packet was too long or too short. */
  invalidStartupLength: () => fatal('08P01', 'invalid length of startup packet'),
  /** 57014, postgres.c ProcessInterrupts(): authentication_timeout passed after the startup packet. */
  authTimeout: () => fatal('57014', 'canceling authentication due to timeout'),
  /** 0A000: a protocol major version we do not speak (gatehouse speaks 3.0 and answers newer minors with NegotiateProtocolVersion). */
  unsupportedProtocol: (major: number, minor: number) =>
    fatal('0A000', `unsupported frontend protocol ${major}.${minor}: server supports 3.0 to 3.0`),
  /** 08P01 for SASL exchange errors (auth-scram.c). */
  saslMalformed: (detail: string) => fatal('08P01', 'malformed SCRAM message', detail),
  /** 08P01, auth-scram.c: "invalid SCRAM response" (the final nonce does not match). */
  saslInvalidResponse: (detail: string) => fatal('08P01', 'invalid SCRAM response', detail),
  /** 0A000, auth-scram.c: an authzid or a mandatory SCRAM extension ("m=") the server does not support. */
  featureNotSupported: (message: string) => fatal('0A000', message),
  /** 28000: channel binding failed (auth-scram.c read_client_final_message). */
  channelBindingMismatch: () => fatal('28000', 'SCRAM channel binding check failed'),
  /** 28000, auth-scram.c: gs2 flag "y" (client supports channel binding, thinks the server does not) while we offered PLUS. */
  channelBindingDowngrade: () =>
    fatal('28000', 'SCRAM channel binding negotiation error',
      'The client supports SCRAM channel binding but thinks the server does not.  However, this server does support channel binding.'),
  /** 3D000 and friends come from the upstream verbatim; this one is ours when no database entry applies. */
  noSuchDatabase: (database: string) => fatal('3D000', `database "${database}" does not exist`),
  /** 08006: upstream unreachable. */
  upstreamUnavailable: (detail?: string) => fatal('08006', 'server connection failed', detail),
  /** 57P01: administrator shutdown (SIGINT / immediate stop). */
  adminShutdown: () => fatal('57P01', 'terminating connection due to administrator command'),
  /** 57P03: the gateway is shutting down and takes no new sessions. */
  cannotConnectNow: () => fatal('57P03', 'the database system is shutting down'),
  /** 53300: connection caps. */
  tooManyConnections: (what = 'too many connections') => fatal('53300', what),
  /**
   * 08P01, PgBouncer admin_post_login(): the role is in neither admin.users nor admin.stats_users
   * (disconnect_client(…, "not allowed") sends it as a FATAL with the default SQLSTATE).
   */
  consoleNotAllowed: () => fatal('08P01', 'not allowed'),
  /**
   * An admin console command failed: PgBouncer's admin_error() sends ERROR with 08P01 (its
   * send_pooler_error default) and ReadyForQuery; RELOAD's failure alone uses F0000.
   */
  consoleError: (message: string, code = '08P01') => new WireError('ERROR', code, message),
  /** 08P01, PgBouncer KILL_CLIENT: the killed client's last message. */
  adminForcedDisconnect: () => fatal('08P01', 'admin forced disconnect'),
  /** 08P01, PgBouncer kill_pool(): clients of a database ended by KILL. */
  databaseRemoved: () => fatal('08P01', 'database removed'),
  /** 08P01, PgBouncer admin_handle_client(): anything but a simple Query or Terminate ends the console session. */
  consoleBadPacket: () => fatal('08P01', 'bad packet'),
  /**
   * 08P01: PgBouncer's pooler errors (send_pooler_error), in its words: "query_wait_timeout",
   * "server conn crashed?", "no more connections allowed (max_client_conn)", "client_idle_timeout",
   * "transaction blocks not allowed in statement pooling mode", …
   */
  poolerError: (message: string) => fatal('08P01', message),
  /**
   * 42501 (insufficient_privilege, PostgreSQL's code for "permission denied for table …"): the door's
   * policy refused a statement, which never reached the server. An ERROR: the session goes on, and
   * an open transaction block is failed as the server would fail it (docs/audit-log.md#policy).
   */
  policyDenied: (rule: string) => new WireError('ERROR', '42501', `permission denied by gatehouse policy: ${rule}`),
  /** XX000: an internal failure; never carries internals to the client. */
  internal: () => fatal('XX000', 'internal error in gatehouse'),
} as const;

/** Stable internal error codes. Documented in docs/errors.md; a test keeps the two in step. */
export const GH = {
  GH_CONFIG_INVALID: 'configuration file failed validation',
  GH_CONFIG_READ: 'configuration file could not be read',
  GH_HBA_INVALID: 'pg_hba.conf failed to load',
  GH_IDENT_INVALID: 'pg_ident.conf failed to load',
  GH_USERLIST_INVALID: 'auth file failed to load',
  GH_TLS_INVALID: 'TLS certificate or key failed to load',
  GH_PROTOCOL: 'protocol violation',
  GH_UPSTREAM: 'upstream server failure',
  GH_UPSTREAM_TLS: 'upstream TLS verification failed',
  GH_AUTH_QUERY: 'auth_query failed',
  GH_LISTEN: 'could not listen',
  GH_GUARD_STATE: 'guard state file could not be read or written',
  GH_METRICS_LISTEN: 'could not serve metrics',
  GH_AUDIT_SINK: 'an audit sink could not be opened',
  GH_AUDIT_KEY: 'the audit HMAC key file could not be used',
  GH_AUDIT_CHAIN: 'an audit file does not end with a chain record to continue from',
  GH_NO_CLASSIFIER: 'policy or audit.log applies to a session but no statement classifier is loaded',
  GH_AUDIT_READ: 'an audit file given to audit-log verify could not be read',
} as const;
export type GHCode = keyof typeof GH;

/** An internal error with a stable code; `where` names the file:line or config key at fault. */
export class GatehouseError extends Error {
  constructor(readonly code: GHCode, message: string, readonly where?: string) {
    super(where ? `${where}: ${message}` : message);
    this.name = 'GatehouseError';
  }
}
