/** GH-SSL-002: ssl_min_protocol_version below TLSv1.2 admits deprecated TLS 1.0/1.1 (RFC 8996; CIS 6.8). */
import type { Check } from '../types.js';
import { cis, found, settingNeeds, setting, skip } from './finding.js';

const ID = 'GH-SSL-002';
const TITLE = 'ssl_min_protocol_version below TLSv1.2';
const WEAK = new Set(['', 'tlsv1', 'tlsv1.1']);

export const sslMinProtocol: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    // Default TLSv1.2 since PostgreSQL 13; an empty value means "any version".
    const s = setting(facts, 'ssl_min_protocol_version', 'TLSv1.2');
    if (s === null) return skip(ID, TITLE, settingNeeds(facts));
    if (!WEAK.has(s.value.trim().toLowerCase())) return found([]);
    return found([{
      id: ID, title: `${TITLE}: ${s.value || 'any version'} is accepted`, severity: 'high', confidence: 'certain',
      evidence: [s.evidence],
      remediation: "Set ssl_min_protocol_version = 'TLSv1.2' (or 'TLSv1.3' when every client supports it) and reload.",
      references: [cis('6.8'), 'RFC 8996', 'https://www.postgresql.org/docs/current/runtime-config-connection.html#GUC-SSL-MIN-PROTOCOL-VERSION'],
    }]);
  },
};
