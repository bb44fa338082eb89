/**
 * Certificate names as PostgreSQL takes them for cert auth: the first CN (raw bytes, no NUL) and
 * the RFC 2253 DN that X509_NAME_print_ex(XN_FLAG_RFC2253) prints, checked against
 * `openssl x509 -subject -nameopt RFC2253` (the same OpenSSL routine).
 */
import { strict as assert } from 'node:assert';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { PeerCertificate } from 'node:tls';
import { certCommonName, subjectCommonName, subjectDn } from '../../../src/auth/cert.js';
import { opensslDn, selfSigned } from './openssl-certs.js';

// string_mask=default makes openssl pick PrintableString, T61String or BMPString per value.
const MASK_DEFAULT = join(tmpdir(), `gatehouse-mask-${process.pid}.cnf`);
writeFileSync(MASK_DEFAULT, '[req]\ndistinguished_name = dn\nstring_mask = default\n[dn]\n');
process.on('exit', () => rmSync(MASK_DEFAULT, { force: true }));

const EC = ['ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
const cert = (subject: string, maskDefault = false) =>
  selfSigned(EC, subject, ['-utf8', ...(maskDefault ? ['-config', MASK_DEFAULT] : [])]);

const subjects: { name: string; subject: string; maskDefault?: boolean; cn: string | null }[] = [
  { name: 'a plain CN', subject: '/CN=alice', cn: 'alice' },
  { name: 'DC, O, OU, CN in order', subject: '/DC=org/DC=example/O=Example, Inc./OU=R&D/CN=Alice Smith', cn: 'Alice Smith' },
  { name: 'RFC 2253 specials', subject: '/CN=quote"back\\\\slash<>;=x\\+y/O=a,b', cn: 'quote"back\\slash<>;=x+y' },
  { name: 'leading # and leading/trailing spaces', subject: '/CN=#hash/O= both ends /OU=in side', cn: '#hash' },
  { name: 'a lone # and a lone space', subject: '/CN=#/O= ', cn: '#' },
  { name: 'multi-valued RDN', subject: '/O=org+OU=unit+CN=multi/C=US', cn: 'multi' },
  { name: 'emailAddress, serialNumber, UID and an unknown OID', subject: '/CN=x/emailAddress=a@b.example/serialNumber=123/UID=u1/1.2.3.4=unknown', cn: 'x' },
  { name: 'UTF8String with non-ASCII', subject: '/CN=Jos\u00e9 \u03a9/O=\u65e5\u672c', cn: 'Jos\u00e9 \u03a9' },
  { name: 'BMPString and T61String (string_mask=default)', subject: '/CN=Jos\u00e9 \u03a9/O=a,b+OU= lead#/C=US', maskDefault: true, cn: null },
  { name: 'two CNs: the first one counts', subject: '/CN=first/O=x/CN=second', cn: 'first' },
  { name: 'a control character', subject: '/CN=a\u0001b/O=tab\there', cn: 'a\u0001b' },
  { name: 'no CN', subject: '/O=only org', cn: null },
];

describe('subjectDn (clientname=DN)', () => {
  for (const s of subjects) {
    it(`matches openssl -nameopt RFC2253: ${s.name}`, () => {
      const c = cert(s.subject, s.maskDefault);
      assert.equal(subjectDn(c.der), opensslDn(c.pem));
    });
  }
});

describe('subjectCommonName (clientname=CN)', () => {
  for (const s of subjects) {
    it(`takes the first CN: ${s.name}`, () => {
      // A BMPString CN holds NUL bytes: PostgreSQL refuses it ("embedded null"), so null.
      assert.equal(subjectCommonName(cert(s.subject, s.maskDefault).der), s.cn);
    });
  }

  it('refuses a CN with an embedded NUL (CVE-2009-4034)', () => {
    const der = Buffer.from(cert('/CN=abXcd').der);
    const at = der.lastIndexOf(Buffer.from('abXcd')); // the issuer comes first, then the subject
    der[at + 2] = 0;
    assert.equal(subjectCommonName(der), null);
    assert.equal(subjectDn(der), 'CN=ab\\00cd');
  });
});

describe('certCommonName', () => {
  const peer = (raw: Buffer | undefined): PeerCertificate => ({ raw } as unknown as PeerCertificate);
  const c = cert('/O=Example/CN=bob');

  it('gives the CN or the DN of a peer certificate', () => {
    assert.equal(certCommonName(peer(c.der)), 'bob');
    assert.equal(certCommonName(peer(c.der), 'CN'), 'bob');
    assert.equal(certCommonName(peer(c.der), 'DN'), 'CN=bob,O=Example');
  });

  it('is null without a certificate or for a malformed one', () => {
    assert.equal(certCommonName(undefined), null);
    assert.equal(certCommonName(peer(undefined)), null);
    assert.equal(certCommonName({} as PeerCertificate), null);
    assert.equal(certCommonName(peer(c.der.subarray(0, 40)), 'DN'), null);
    assert.equal(certCommonName(peer(Buffer.from('junk'))), null);
  });
});
