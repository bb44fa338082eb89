/**
 * What the probe-* checks share: the skip when there was no --probe target, probe evidence, and
 * which auth answers were seen over which transport. Not a check itself: do not register it.
 */
import type { CheckResult, Evidence, Finding, ProbeAuth, ProbeFacts, Facts } from '../types.js';

export const PROBE_NEEDS = 'a --probe target';

export const SEED_SCRAM = 'gatehouse seed tip: scram-sha-256 is the minimum';
export const SEED_TLS = 'gatehouse seed tip: TLS with verify-full';
export const CIS_TLS = 'CIS PostgreSQL Benchmark 6.8 (TLS enabled and configured correctly)';
export const CIS_HOST_LOGIN = 'CIS PostgreSQL Benchmark 5.4 (login via host TCP/IP sockets configured correctly)';

/** Runs `find` over the probe facts, or skips the check when there were none. */
export function withProbe(
  id: string, title: string, facts: Facts, find: (p: ProbeFacts) => Finding[],
): CheckResult {
  if (!facts.probe) return { findings: [], skipped: [{ id, title, needs: PROBE_NEEDS }] };
  return { findings: find(facts.probe), skipped: [] };
}

export const probeEvidence = (p: ProbeFacts, detail: string): Evidence => ({ kind: 'probe', target: p.target, detail });

/** True when some TLS version was accepted: then `auth` was asked over TLS. */
export const tlsWorks = (p: ProbeFacts): boolean => Object.values(p.tlsVersions).some((v) => v === true);

/** Each auth answer the probe saw, with whether it came over TLS. */
export function authAnswers(p: ProbeFacts): { auth: ProbeAuth; overTls: boolean }[] {
  const out: { auth: ProbeAuth; overTls: boolean }[] = [];
  const tls = tlsWorks(p);
  if (p.auth) out.push({ auth: p.auth, overTls: tls });
  // Without TLS, `auth` already is the plaintext answer.
  if (p.plaintextAuth && tls) out.push({ auth: p.plaintextAuth, overTls: false });
  return out;
}

/** The host name part of the target, for remediation text. */
export const targetHost = (p: ProbeFacts): string => p.target.replace(/:\d+$/, '');
