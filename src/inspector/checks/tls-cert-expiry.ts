/**
 * GH-SSL-004: the server certificate (ssl_cert_file) has expired (critical: verify-ca/verify-full
 * clients refuse it) or expires within 30 days (medium). Read through pg_read_binary_file (superuser or
 * a grant) or, when the audit runs on the database host, from the file.
 */
import type { Check } from '../types.js';
import { factNeeds, found, isOn, setting, skip } from './finding.js';
import { CIS_TLS, SEED_TLS } from './probe-support.js';

const ID = 'GH-SSL-004';
const TITLE = 'server certificate expiry';
const SOON_DAYS = 30;

export const certExpiry: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    const ssl = setting(facts, 'ssl', 'off');
    if (ssl !== null && !isOn(ssl.value)) return found([]); // GH-SSL-001 says it
    const cert = facts.catalog?.certificate;
    if (!cert) return skip(ID, TITLE, factNeeds(facts, 'certificate'));
    const days = Math.floor((Date.parse(cert.validTo) - Date.parse(facts.now ?? cert.validTo)) / 86_400_000);
    if (days >= SOON_DAYS) return found([]);
    return found([{
      id: ID, title: days < 0 ? `${TITLE}: ${cert.file} expired ${-days} days ago (${cert.validTo})` : `${TITLE}: ${cert.file} expires in ${days} days (${cert.validTo})`,
      severity: days < 0 ? 'critical' : 'medium', confidence: 'certain',
      evidence: [{ kind: 'row', query: 'pg_read_binary_file(ssl_cert_file)', row: { file: cert.file, subject: cert.subject, notAfter: cert.validTo } }],
      remediation: `Renew the certificate, replace ${cert.file} (and ssl_key_file), then SELECT pg_reload_conf(); the server rereads both on reload.`,
      references: [SEED_TLS, CIS_TLS, 'https://www.postgresql.org/docs/current/ssl-tcp.html'],
    }]);
  },
};
