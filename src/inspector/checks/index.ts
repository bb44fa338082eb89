/** The check catalogue: every check, in report order. See docs/audit.md. */
import type { Check, CheckResult, Facts, Finding, ReportTable, Skipped } from '../types.js';
import { SEVERITIES } from '../types.js';
import { confErrors } from './conf-errors.js';
import { hbaFileErrors } from './hba-file-errors.js';
import { hbaHostWithoutSsl } from './hba-host-without-ssl.js';
import { hbaIdentTcp } from './hba-ident-tcp.js';
import { hbaMd5 } from './hba-md5.js';
import { hbaNoHostssl } from './hba-no-hostssl.js';
import { hbaNotes } from './hba-notes.js';
import { hbaOpenAddress } from './hba-open-address.js';
import { hbaPasswordCleartext } from './hba-password-cleartext.js';
import { hbaPermissiveShadowing } from './hba-permissive-shadowing.js';
import { hbaRemotePrivileged } from './hba-remote-privileged.js';
import { hbaShadowed } from './hba-shadowed.js';
import { hbaTrustHost } from './hba-trust-host.js';
import { hbaTrustLocal } from './hba-trust-local.js';
import { hbaWidePrefix } from './hba-wide-prefix.js';
import { archiveMode } from './settings-archive-mode.js';
import { listenAddresses } from './settings-listen-addresses.js';
import { logConnections } from './settings-log-connections.js';
import { logLinePrefix } from './settings-log-line-prefix.js';
import { logStatement } from './settings-log-statement.js';
import { passwordEncryption } from './settings-password-encryption.js';
import { pgauditLoaded } from './settings-pgaudit-loaded.js';
import { pgauditLog } from './settings-pgaudit-log.js';
import { sslMinProtocol } from './settings-ssl-min-protocol.js';
import { sslOff } from './settings-ssl.js';
import { walLevel } from './settings-wal-level.js';
import { sslCiphers } from './settings-ssl-ciphers.js';
import { defaultPort } from './settings-default-port.js';
import { md5Secrets } from './auth-md5-secrets.js';
import { scramIterations } from './auth-scram-iterations.js';
import { noPassword } from './auth-no-password.js';
import { passwordExpiry } from './auth-password-expiry.js';
import { extraSuperusers } from './role-superusers.js';
import { rolePowers } from './role-powers.js';
import { remoteOwners } from './role-remote-owners.js';
import { leastPrivilegeSummary } from './role-summary.js';
import { publicCreateSchema } from './priv-public-schema.js';
import { publicDatabase } from './priv-public-database.js';
import { publicTables } from './priv-public-tables.js';
import { definerSearchPath } from './priv-definer-search-path.js';
import { certExpiry } from './tls-cert-expiry.js';
import { keyFileMode } from './tls-key-file.js';
import { patchEol } from './patch-eol.js';
import { patchMinor } from './patch-minor.js';
import { archiverFailing } from './backup-archiver-failing.js';
import { archiveStale } from './backup-archive-stale.js';
import { restoreTest } from './backup-restore-test.js';
import { pgauditExtension } from './settings-pgaudit-extension.js';
import { check as probePlaintext } from './probe-plaintext.js';
import { check as probeLegacyTls } from './probe-legacy-tls.js';
import { check as probeNoTls } from './probe-no-tls.js';
import { check as probeCertExpiry } from './probe-cert-expiry.js';
import { check as probeCertSelfSigned } from './probe-cert-self-signed.js';
import { check as probeCertHostname } from './probe-cert-hostname.js';
import { check as probeCertWeakKey } from './probe-cert-weak-key.js';
import { check as probeCertWeakSignature } from './probe-cert-weak-signature.js';
import { check as probeTrustLogin } from './probe-trust-login.js';
import { check as probeWeakAuth } from './probe-weak-auth.js';
import { check as probeScramNoPlus } from './probe-scram-no-plus.js';

export const CHECKS: readonly Check[] = Object.freeze([
  hbaFileErrors, hbaTrustHost, hbaTrustLocal, hbaPasswordCleartext, hbaMd5, hbaIdentTcp, hbaOpenAddress, hbaWidePrefix,
  hbaRemotePrivileged, hbaHostWithoutSsl, hbaNoHostssl, hbaShadowed, hbaPermissiveShadowing, hbaNotes,
  confErrors, passwordEncryption, sslOff, sslMinProtocol, sslCiphers, listenAddresses, defaultPort,
  logConnections, logLinePrefix, logStatement, pgauditLoaded, pgauditLog, archiveMode, walLevel,
]);

/** The checks over catalog facts (live mode only, so an offline audit does not list them as skipped). */
export const LIVE_CHECKS: readonly Check[] = Object.freeze([
  md5Secrets, scramIterations, noPassword, passwordExpiry, extraSuperusers, rolePowers, remoteOwners,
  publicCreateSchema, publicDatabase, publicTables, definerSearchPath, certExpiry, keyFileMode,
  patchEol, patchMinor, pgauditExtension, archiverFailing, archiveStale, restoreTest, leastPrivilegeSummary,
]);

/** The outside-in checks, over what `--probe` saw (kept apart so an offline audit does not list them as skipped). */
export const PROBE_CHECKS: readonly Check[] = Object.freeze([
  probePlaintext, probeLegacyTls, probeNoTls, probeCertExpiry, probeCertSelfSigned, probeCertHostname,
  probeCertWeakKey, probeCertWeakSignature, probeTrustLogin, probeWeakAuth, probeScramNoPlus,
]);

/** Runs every check; findings sorted by severity (stable within a severity). */
export function runChecks(facts: Facts, checks: readonly Check[] = CHECKS): CheckResult {
  const findings: Finding[] = [];
  const skipped: Skipped[] = [];
  const tables: ReportTable[] = [];
  for (const c of checks) {
    const r = c.run(facts);
    findings.push(...r.findings);
    skipped.push(...r.skipped);
    if (r.tables) tables.push(...r.tables);
  }
  findings.sort((a, b) => SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity));
  return tables.length > 0 ? { findings, skipped, tables } : { findings, skipped };
}
