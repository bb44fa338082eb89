/**
 * PostgreSQL's parse_bool() (utils/adt/bool.c), shared by the session (the `replication` startup
 * parameter) and the inspector (boolean settings): true/false, yes/no, on/off, 1/0 and unambiguous
 * prefixes, any case, surrounding blanks ignored. Null when the text is not a boolean.
 */
export function parsePgBool(raw: string): boolean | null {
  const v = raw.trim().toLowerCase();
  if (v === '1') return true;
  if (v === '0') return false;
  if (v.length === 0) return null;
  if ('true'.startsWith(v) || 'yes'.startsWith(v)) return true;
  if ('false'.startsWith(v) || 'no'.startsWith(v)) return false;
  if (v === 'on') return true;
  if (v === 'off' || v === 'of') return false;
  return null;
}
