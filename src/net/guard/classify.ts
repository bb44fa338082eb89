/**
 * Which failed connections count against their source: one classifier for the ban book, the
 * metrics and the fail2ban-friendly log field, so the three never disagree.
 */
import type { ConnectionEvent } from '../../events.js';

/** `auth`: a failed authentication (an unknown role fails exactly like a wrong password). `hba`: pg_hba.conf refused. `protocol`: a violation before authentication. */
export type FailureKind = 'auth' | 'hba' | 'protocol';

const HBA = /^(?:no pg_hba\.conf entry|pg_hba\.conf rejects)/;
/** Reasons logged without a SQLSTATE that are still the client's fault (PostgreSQL answers them with silence). */
const SILENT_VIOLATIONS = /^(?:invalid length of (?:startup packet|cancel request packet|cancel key)|direct TLS|could not accept SSL connection)/;

/** The kind of a failed connection, or null when it is not the client's doing (upstream down, timeout, hang-up). */
export function classifyFailure(e: ConnectionEvent): FailureKind | null {
  if (e.outcome !== 'failure') return null;
  switch (e.sqlstate) {
    case '28P01':
      return 'auth';
    case '28000':
      return HBA.test(e.reason ?? '') ? 'hba' : 'auth';
    case '08P01':
    case '0A000':
      return 'protocol';
    case undefined:
      return SILENT_VIOLATIONS.test(e.reason ?? '') ? 'protocol' : null;
    default:
      return null;
  }
}
