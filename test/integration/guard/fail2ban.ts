/**
 * The fail2ban filter documented in docs/guard.md, run against real log lines. fail2ban's <HOST>
 * tag is replaced by a named group as fail2ban does (failregex, "HOST" group).
 */

/** The failregex exactly as docs/guard.md shows it. */
export const FAIL2BAN_FAILREGEX = String.raw`^\{.*"client_ip":"<HOST>",.*"failure":"(?:auth|hba|protocol)",.*"msg":"connection failed"\}$`;

/** The hosts fail2ban would count, in log order. */
export function fail2banHosts(lines: readonly string[]): string[] {
  const re = new RegExp(FAIL2BAN_FAILREGEX.replace('<HOST>', String.raw`(?<host>[0-9a-fA-F:.]+)`));
  const out: string[] = [];
  for (const l of lines) {
    const m = re.exec(l);
    if (m?.groups?.host) out.push(m.groups.host);
  }
  return out;
}
