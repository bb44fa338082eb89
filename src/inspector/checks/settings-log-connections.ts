/**
 * GH-LOG-001: connection and disconnection logging off (CIS 3.1.20, 3.1.21). PostgreSQL 18 turned
 * log_connections into a list (receipt, authentication, authorization, setup_durations, all); an empty
 * list is off, and `on` still means receipt,authentication,authorization.
 */
import type { Check, Evidence } from '../types.js';
import { cis, found, isOn, settingNeeds, setting, skip } from './finding.js';

const ID = 'GH-LOG-001';
const TITLE = 'connection logging off';
const PG18_ASPECTS = ['receipt', 'authentication', 'authorization', 'setup_durations', 'all'];

/** Whether log_connections logs authentication (bool form, or PG18's list form). */
export function logsConnections(value: string): boolean {
  const items = value.split(',').map((v) => v.trim().toLowerCase()).filter((v) => v !== '');
  if (items.length === 0) return false;
  if (items.some((i) => PG18_ASPECTS.includes(i))) return items.some((i) => i === 'all' || i === 'authentication' || i === 'authorization');
  return isOn(value);
}

export const logConnections: Check = {
  id: ID,
  title: TITLE,
  run(facts) {
    const conn = setting(facts, 'log_connections', 'off');
    const disc = setting(facts, 'log_disconnections', 'off');
    if (conn === null || disc === null) return skip(ID, TITLE, settingNeeds(facts));
    const off: Evidence[] = [];
    if (!logsConnections(conn.value)) off.push(conn.evidence);
    if (!isOn(disc.value)) off.push(disc.evidence);
    if (off.length === 0) return found([]);
    return found([{
      id: ID, title: `${TITLE}: ${off.map((e) => (e.kind === 'setting' ? e.name : '')).join(' and ')} not logged`,
      severity: 'medium', confidence: 'certain', evidence: off,
      remediation: 'Set log_connections = on (PostgreSQL 18: log_connections = \'receipt,authentication,authorization\') and log_disconnections = on, then reload.',
      references: [cis('3.1.20'), cis('3.1.21'), 'https://www.postgresql.org/docs/current/runtime-config-logging.html#GUC-LOG-CONNECTIONS'],
    }]);
  },
};
