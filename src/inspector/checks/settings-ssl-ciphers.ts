/**
 * GH-SSL-003: ssl_ciphers enables weak TLS 1.2 cipher suites (CIS 6.10): no encryption (NULL, eNULL),
 * no authentication (aNULL, ADH, AECDH), export-grade, LOW, RC4, DES/3DES or MD5 MACs. An element
 * prefixed with `!` or `-` removes ciphers and `+` only reorders them, so those never count. `ALL`
 * without `!aNULL` brings in anonymous suites. TLS 1.3 suites are not governed by ssl_ciphers.
 */
import type { Check } from '../types.js';
import { cis, found, setting, settingNeeds, skip } from './finding.js';
import { SEED_TLS } from './probe-support.js';

const ID = 'GH-SSL-003';
const TITLE = 'weak ssl_ciphers';
const WEAK_WORD = /^(?:e?NULL|aNULL|ADH|AECDH|EXP(?:ORT)?\d*|LOW|RC4|DES|3DES|MD5|COMPLEMENTOFALL|COMPLEMENTOFDEFAULT)$/i;
const WEAK_SUITE = /(?:^|-)(?:NULL|EXP|RC4|DES|MD5|ADH|AECDH|ANON)(?:-|$)|DES-CBC3|(?:^|-)CBC3(?:-|$)/i;

/** The weak elements ssl_ciphers enables. */
export function weakCiphers(value: string): string[] {
  const elements = value.split(/[:, ]+/).map((e) => e.trim()).filter((e) => e !== '');
  const removed = new Set(elements.filter((e) => e.startsWith('!') || e.startsWith('-')).map((e) => e.slice(1).toUpperCase()));
  const weak: string[] = [];
  for (const e of elements) {
    if (/^[!+-]/.test(e) || e.startsWith('@')) continue;
    if (e.split('+').some((part) => WEAK_WORD.test(part) || WEAK_SUITE.test(part)) && !removed.has(e.toUpperCase())) weak.push(e);
    if (/^ALL$/i.test(e) && !removed.has('ANULL')) weak.push('ALL (includes anonymous aNULL suites)');
  }
  return weak;
}

export const sslCiphers: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    const s = setting(facts, 'ssl_ciphers', 'HIGH:MEDIUM:+3DES:!aNULL');
    if (s === null) return skip(ID, TITLE, settingNeeds(facts));
    const weak = weakCiphers(s.value);
    if (weak.length === 0) return found([]);
    return found([{
      id: ID, title: `${TITLE}: ${weak.join(', ')}`, severity: 'medium', confidence: 'certain',
      evidence: [s.evidence],
      remediation: "Set ssl_ciphers = 'ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:!aNULL:!eNULL:!MD5:!RC4:!3DES' (forward secrecy, AEAD only) and reload; better, ssl_min_protocol_version = 'TLSv1.3' when every client supports it.",
      references: [SEED_TLS, cis('6.10'), 'https://www.postgresql.org/docs/current/runtime-config-connection.html#GUC-SSL-CIPHERS'],
    }]);
  },
};
