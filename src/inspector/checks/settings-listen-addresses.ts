/**
 * GH-NET-001: listen_addresses = '*' (or 0.0.0.0 / ::) listens on every interface (CIS 5.2). High when
 * pg_hba.conf also admits any address or a very wide range on a non-reject line, since then nothing
 * narrows who can connect.
 */
import type { Check } from '../types.js';
import type { HbaRule } from '../../hba/index.js';
import { cis, found, hbaRules, settingNeeds, prefixBits, setting, skip, wideOpen } from './finding.js';

const ID = 'GH-NET-001';
const TITLE = 'listening on every interface';
const ANY = new Set(['*', '0.0.0.0', '::']);

/** Any address, or a range GH-HBA-012 calls very wide (IPv4 shorter than /16, IPv6 shorter than /48). */
export function veryWide(r: HbaRule): boolean {
  if (wideOpen(r)) return true;
  const bits = prefixBits(r);
  if (r.type === 'local' || r.method === 'reject' || r.address?.kind !== 'ip' || bits === null) return false;
  return bits < (r.address.family === 4 ? 16 : 48);
}

export const listenAddresses: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    const s = setting(facts, 'listen_addresses', 'localhost');
    if (s === null) return skip(ID, TITLE, settingNeeds(facts));
    const any = s.value.split(',').map((a) => a.trim()).some((a) => ANY.has(a));
    if (!any) return found([]);
    const open = (hbaRules(facts) ?? []).filter(veryWide);
    const evidence = [s.evidence, ...open.map((r) => ({ kind: 'file' as const, file: r.file, line: r.line, text: r.text.trim() }))];
    return found([{
      id: ID, title: `${TITLE}: listen_addresses = '${s.value}'${open.length ? ' and pg_hba.conf admits very wide ranges' : ''}`,
      severity: open.length ? 'high' : 'medium', confidence: 'certain', evidence,
      remediation: "Set listen_addresses to the interfaces clients use, e.g. listen_addresses = 'localhost,192.0.2.5', and restart.",
      references: [cis('5.2'), 'https://www.postgresql.org/docs/current/runtime-config-connection.html#GUC-LISTEN-ADDRESSES'],
    }]);
  },
};
