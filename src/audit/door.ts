/**
 * Whether a session gets a statement tap, decided once when it starts: it does when its role and
 * database have audit classes selected (`audit.log`) or policy rules. Every other session keeps
 * the untouched fast paths (the raw relay, the pool's pass-through of Bind/Execute).
 */
import { GatehouseError } from '../errors.js';
import type { Config } from '../config/schema.js';
import { compilePolicy, rulesFor } from './policy.js';
import { StatementTap, type AuditWriter, type StatementClassifier, type TapOptions } from './tap.js';
import type { AuditClassName, AuditSessionInfo } from './types.js';

/** The record writer as a session sees it (src/audit/log.ts AuditLog). */
export interface SessionAuditLog extends AuditWriter {
  statementClasses(user: string, database: string): ReadonlySet<AuditClassName>;
}

const NONE: ReadonlySet<AuditClassName> = new Set();

/** The session's tap, or null when it has neither records nor rules. */
export function tapFor(
  config: Config, log: SessionAuditLog | null, classifier: StatementClassifier | undefined, info: AuditSessionInfo, onRefused?: TapOptions['onRefused'],
): StatementTap | null {
  const rules = rulesFor(compilePolicy(config.policy), info.user, info.database);
  const classes = log?.statementClasses(info.user, info.database) ?? NONE;
  if (rules === null && classes.size === 0) return null;
  // Fail closed: a session whose rules cannot be checked must not run unchecked.
  if (!classifier) throw new GatehouseError('GH_NO_CLASSIFIER', `session of "${info.user}" in "${info.database}"`);
  return new StatementTap({
    info,
    classifier,
    writer: log,
    classes,
    logParameter: config.audit.log_parameter,
    rules,
    ...(onRefused ? { onRefused } : {}),
  });
}
