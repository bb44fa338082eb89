/** The columns SHOW CLIENTS and SHOW SERVERS share (PgBouncer's socket_header, SKF_STD). */
import { resultSet, type ResultSet } from '../result.js';
import type { SocketRow } from '../view.js';

const TYPES = 'ssssssisiTTiiississii';
const NAMES = ['type', 'user', 'database', 'replication', 'state', 'addr', 'port', 'local_addr', 'local_port',
  'connect_time', 'request_time', 'wait', 'wait_us', 'close_needed', 'ptr', 'link', 'remote_pid', 'tls',
  'application_name', 'prepared_statements', 'id'] as const;

export function socketResult(rows: SocketRow[]): ResultSet {
  return resultSet(TYPES, NAMES, rows.map((r) => NAMES.map((n) => r[n])));
}
