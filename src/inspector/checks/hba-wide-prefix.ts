/** GH-HBA-012: very wide networks (IPv4 shorter than /16, IPv6 shorter than /48) on a non-reject line (CIS 5.9). */
import { formatRuleLine } from '../../hba/lint.js';
import { cis, PG_HBA_DOC, prefixBits, ruleCheck } from './finding.js';

export const hbaWidePrefix = ruleCheck({
  id: 'GH-HBA-012',
  title: 'very wide address range',
  severity: 'medium',
  references: [cis('5.9'), PG_HBA_DOC],
  judge: (r) => {
    const a = r.address;
    const bits = prefixBits(r);
    if (r.type === 'local' || r.method === 'reject' || a?.kind !== 'ip' || bits === null || bits === 0) return null;
    const limit = a.family === 4 ? 16 : 48;
    if (bits >= limit) return null;
    return {
      message: `/${bits} admits ${a.family === 4 ? `${2 ** (32 - bits)} addresses` : `a /${bits} IPv6 network`}`,
      remediation: `Narrow the range to the clients' subnet (at least /${limit}), e.g. ${formatRuleLine(r, { address: a.family === 4 ? '192.0.2.0/24' : '2001:db8:1::/48' })}`,
    };
  },
});
