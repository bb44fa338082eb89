/**
 * The pg_hba.conf / pg_ident.conf engine: tokenize → parse (rules keep file:line) → evaluate; lint.
 * Semantics are PostgreSQL 18's (hba.c) unless `pgVersion` says otherwise.
 */
export type {
  AddressMatcher, DatabaseMatcher, HbaBuildFeatures, HbaCompileResult, HbaConnType, HbaEntry, HbaIssue, HbaMethod,
  HbaParseOptions, HbaRule, HbaRuleSet, HbaToken, PgMajor, UserMatcher,
} from './types.js';
export { LINUX_BUILD } from './types.js';
export { compileHbaFile, compileHbaText, formatIssue, HbaLoadError, loadHbaFile, parseHbaText } from './load.js';
export { evaluateHba, hostnameMatches, type HbaAttempt, type HbaEnvironment } from './evaluate.js';
export { resolveClientHostname, systemResolver, type HostnameResolver } from './hostname.js';
export {
  checkIdentMap, compileIdentFile, compileIdentText, IdentLoadError, loadIdentFile, parseIdentText,
  type IdentCompileResult, type IdentEntry, type IdentMapping, type IdentMapSet, type IdentParseOptions,
} from './ident.js';
export { lintHba, lintHbaResult, type LintOptions, type LintResult, type LintWarning } from './lint.js';
export { hbaFileRules, identFileMappings, type HbaFileRuleRow, type IdentFileMappingRow } from './view.js';
export { clientAddress, formatIp, type IpAddress } from './ip.js';
export { compilePgRegex, PgRegexError } from './regex.js';
