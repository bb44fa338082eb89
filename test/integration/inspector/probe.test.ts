/**
 * The outside-in probe against real servers: a TLS cluster (hostssl + host lines, SCRAM roles) and
 * a plaintext-only one (ssl off, trust for one role, md5 for another), then each GH-PROBE check
 * over the facts it collected, and over hand-made facts for what a test cluster cannot show.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { probeServer } from '../../../src/inspector/collect/probe.js';
import { check as certExpiry } from '../../../src/inspector/checks/probe-cert-expiry.js';
import { check as certHostname } from '../../../src/inspector/checks/probe-cert-hostname.js';
import { check as certSelfSigned } from '../../../src/inspector/checks/probe-cert-self-signed.js';
import { check as certWeakKey } from '../../../src/inspector/checks/probe-cert-weak-key.js';
import { check as certWeakSignature } from '../../../src/inspector/checks/probe-cert-weak-signature.js';
import { check as legacyTls } from '../../../src/inspector/checks/probe-legacy-tls.js';
import { check as noTls } from '../../../src/inspector/checks/probe-no-tls.js';
import { check as plaintext } from '../../../src/inspector/checks/probe-plaintext.js';
import { check as scramNoPlus } from '../../../src/inspector/checks/probe-scram-no-plus.js';
import { check as trustLogin } from '../../../src/inspector/checks/probe-trust-login.js';
import { check as weakAuth } from '../../../src/inspector/checks/probe-weak-auth.js';
import type { Check, ProbeFacts } from '../../../src/inspector/types.js';
import { makeCertSet } from '../../harness/certs.js';
import { type Cluster, type PgVersion, availableVersions, startCluster } from '../../harness/pg.js';

const ALL: Check[] = [plaintext, legacyTls, noTls, certExpiry, certSelfSigned, certHostname, certWeakKey, certWeakSignature, trustLogin, weakAuth, scramNoPlus];

/** id → severities of the findings all checks produce over `probe`. */
function findings(probe: ProbeFacts): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const c of ALL) {
    const r = c.run({ probe });
    assert.deepEqual(r.skipped, []);
    for (const f of r.findings) {
      assert.equal(f.id, c.id);
      assert.ok(f.remediation.length > 0 && f.references.length > 0 && f.evidence.length > 0, c.id);
      out.set(f.id, [...(out.get(f.id) ?? []), f.severity]);
    }
  }
  return out;
}

const versions = await availableVersions();
const wanted: PgVersion[] = ([18, 15] as const).filter((v) => versions.includes(v));

for (const version of wanted) {
  describe(`probe: TLS cluster, PostgreSQL ${version}`, () => {
    let c: Cluster;
    before(async () => {
      const certs = await makeCertSet();
      c = await startCluster({
        version, certs,
        hba: ['hostssl all all 127.0.0.1/32 scram-sha-256', 'host all alice 127.0.0.1/32 scram-sha-256'].join('\n'),
      });
      await c.createRole('alice', { password: 'alice-secret' });
      await c.createRole('bob', { password: 'bob-secret' });
    });
    after(() => c.stop());

    it('sees TLS 1.2/1.3 only, the CA-issued certificate, SCRAM-PLUS over TLS, plaintext only for alice', async () => {
      const p = await probeServer(c.host, c.port, { user: 'bob', servername: 'localhost', timeoutMs: 3000 });
      assert.equal(p.target, `127.0.0.1:${c.port}`);
      assert.equal(p.plaintextAccepted, false);
      assert.equal(p.sslResponse, 'S');
      assert.equal(p.tlsVersions['TLSv1.2'], true);
      assert.equal(p.tlsVersions['TLSv1.3'], true);
      // The default ssl_min_protocol_version is TLSv1.2: refused, or untestable from this client.
      assert.notEqual(p.tlsVersions.TLSv1, true);
      assert.notEqual(p.tlsVersions['TLSv1.1'], true);
      assert.equal(p.directTls, version >= 17);
      assert.equal(p.certificate?.subject, 'CN=localhost');
      assert.match(p.certificate.issuer, /gatehouse test CA/);
      assert.equal(p.certificate.selfSigned, false);
      assert.equal(p.certificate.hostnameMatches, true);
      assert.equal(p.certificate.keyType, 'rsa');
      assert.equal(p.certificate.keyBits, 2048);
      assert.equal(p.certificate.signatureAlgorithm, 'sha256WithRSAEncryption');
      assert.ok(p.certificate.daysLeft > 30);
      assert.equal(p.auth?.method, 'scram-sha-256-plus');
      assert.equal(p.plaintextAuth, undefined);
      assert.deepEqual(findings(p), new Map());

      const alice = await probeServer(c.host, c.port, { user: 'alice', timeoutMs: 3000 });
      assert.equal(alice.plaintextAccepted, true);
      assert.equal(alice.plaintextAuth?.method, 'scram-sha-256');
      assert.equal(alice.certificate?.hostnameMatches, true, 'IP SAN 127.0.0.1');
      assert.deepEqual(findings(alice), new Map([['GH-PROBE-001', ['high']]]));
    });

    it('reports TLS 1.0/1.1 when ssl_min_protocol_version allows them, unless this client cannot offer them', async () => {
      await c.setConf({ ssl_min_protocol_version: 'TLSv1' });
      try {
        const p = await probeServer(c.host, c.port, { user: 'bob', servername: 'nothere.example', timeoutMs: 3000 });
        assert.equal(p.certificate?.hostnameMatches, false);
        const f = findings(p);
        assert.deepEqual(f.get('GH-PROBE-006'), ['medium']);
        if (p.tlsVersions.TLSv1 === true || p.tlsVersions['TLSv1.1'] === true) assert.deepEqual(f.get('GH-PROBE-002'), ['high']);
        else assert.equal(f.get('GH-PROBE-002'), undefined);
      } finally {
        await c.setConf({ ssl_min_protocol_version: 'TLSv1.2' });
      }
    });
  });

  describe(`probe: plaintext-only cluster, PostgreSQL ${version}`, () => {
    let c: Cluster;
    before(async () => {
      c = await startCluster({
        version,
        hba: ['host all carol 127.0.0.1/32 trust', 'host all dave 127.0.0.1/32 md5', 'host all erin 127.0.0.1/32 password'].join('\n'),
      });
      await c.createRole('carol');
      await c.createRole('dave', { password: 'dave-secret', encryption: 'md5' });
      await c.createRole('erin', { password: 'erin-secret' });
    });
    after(() => c.stop());

    it('trust: AuthenticationOk with no password is critical, and the probe leaves at once', async () => {
      const p = await probeServer(c.host, c.port, { user: 'carol', database: 'postgres', timeoutMs: 3000 });
      assert.equal(p.plaintextAccepted, true);
      assert.equal(p.sslResponse, 'N');
      assert.deepEqual(p.tlsVersions, { TLSv1: false, 'TLSv1.1': false, 'TLSv1.2': false, 'TLSv1.3': false });
      assert.equal(p.directTls, false);
      assert.equal(p.certificate, undefined);
      assert.equal(p.auth?.method, 'trust');
      assert.deepEqual(findings(p), new Map([['GH-PROBE-001', ['high']], ['GH-PROBE-003', ['high']], ['GH-PROBE-009', ['critical']]]));
      // Terminate was sent: no session of carol's is left behind.
      for (let i = 0; i < 50; i++) {
        const rows = await c.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE usename = 'carol'");
        if (rows[0]?.n === '0') return;
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.fail('carol is still connected');
    });

    it('md5 is medium; cleartext without TLS is high; an unlisted role is refused', async () => {
      const dave = await probeServer(c.host, c.port, { user: 'dave', timeoutMs: 3000 });
      assert.equal(dave.auth?.method, 'md5');
      assert.deepEqual(findings(dave).get('GH-PROBE-010'), ['medium']);
      const erin = await probeServer(c.host, c.port, { user: 'erin', timeoutMs: 3000 });
      assert.equal(erin.auth?.method, 'password');
      assert.deepEqual(findings(erin).get('GH-PROBE-010'), ['high']);
      const nobody = await probeServer(c.host, c.port, { user: 'nobody', timeoutMs: 3000 });
      assert.equal(nobody.plaintextAccepted, false);
      assert.equal(nobody.auth?.method, 'refused');
      assert.match(nobody.auth.detail, /^28000: no pg_hba\.conf entry/);
    });
  });
}

describe('probe checks over hand-made facts', () => {
  const base: ProbeFacts = {
    target: 'db.example:5432', plaintextAccepted: false, directTls: true, sslResponse: 'S',
    tlsVersions: { TLSv1: null, 'TLSv1.1': null, 'TLSv1.2': true, 'TLSv1.3': true },
    certificate: {
      subject: 'CN=db.example', issuer: 'CN=Example CA', selfSigned: false, validTo: '2030-01-01T00:00:00.000Z', daysLeft: 400,
      hostnameMatches: true, keyType: 'rsa', keyBits: 2048, signatureAlgorithm: 'sha256WithRSAEncryption',
    },
    auth: { user: 'app', method: 'scram-sha-256-plus', detail: '' },
  };
  const withCert = (c: Partial<NonNullable<ProbeFacts['certificate']>>): ProbeFacts => ({ ...base, certificate: { ...base.certificate!, ...c } });

  it('every check skips without a probe, and a clean probe (untested legacy versions) finds nothing', () => {
    for (const c of ALL) assert.deepEqual(c.run({}), { findings: [], skipped: [{ id: c.id, title: c.title, needs: 'a --probe target' }] });
    assert.deepEqual(findings(base), new Map());
  });

  it('certificate checks', () => {
    assert.deepEqual(findings(withCert({ daysLeft: -3 })), new Map([['GH-PROBE-004', ['critical']]]));
    assert.deepEqual(findings(withCert({ daysLeft: 12 })), new Map([['GH-PROBE-004', ['medium']]]));
    assert.deepEqual(findings(withCert({ selfSigned: true })), new Map([['GH-PROBE-005', ['medium']]]));
    assert.deepEqual(findings(withCert({ keyBits: 1024 })), new Map([['GH-PROBE-007', ['high']]]));
    assert.deepEqual(findings(withCert({ keyType: 'ec', keyBits: undefined })), new Map());
    assert.deepEqual(findings(withCert({ signatureAlgorithm: 'sha1WithRSAEncryption' })), new Map([['GH-PROBE-008', ['high']]]));
    assert.deepEqual(findings(withCert({ signatureAlgorithm: 'md5WithRSAEncryption' })), new Map([['GH-PROBE-008', ['high']]]));
  });

  it('auth checks: SCRAM without PLUS over TLS is low; cleartext over TLS is medium; all-untested TLS is not "no TLS"', () => {
    assert.deepEqual(findings({ ...base, auth: { user: 'app', method: 'scram-sha-256', detail: 'AuthenticationSASL: SCRAM-SHA-256' } }),
      new Map([['GH-PROBE-011', ['low']]]));
    assert.deepEqual(findings({ ...base, auth: { user: 'app', method: 'password', detail: '' } }), new Map([['GH-PROBE-010', ['medium']]]));
    assert.deepEqual(findings({ ...base, tlsVersions: { TLSv1: null } }), new Map());
  });
});
