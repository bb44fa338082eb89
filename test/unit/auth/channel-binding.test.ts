/**
 * tls-server-end-point hashes (RFC 5929 §4.1) for certificates made by openssl, checked against
 * openssl's own fingerprints with the digest PostgreSQL would pick.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { signatureDigest, tlsServerEndPointHash } from '../../../src/auth/channel-binding.js';
import { fingerprint, selfSigned } from './openssl-certs.js';

const cases: { name: string; newkey: string[]; extra?: string[]; digest: string | null; hash: string | null }[] = [
  { name: 'RSA with SHA-256', newkey: ['rsa:2048'], extra: ['-sha256'], digest: 'sha256', hash: 'sha256' },
  { name: 'RSA with SHA-512', newkey: ['rsa:2048'], extra: ['-sha512'], digest: 'sha512', hash: 'sha512' },
  { name: 'ECDSA P-384 with SHA-384', newkey: ['ec', '-pkeyopt', 'ec_paramgen_curve:P-384'], extra: ['-sha384'], digest: 'sha384', hash: 'sha384' },
  { name: 'ECDSA P-256 with SHA-256', newkey: ['ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], extra: ['-sha256'], digest: 'sha256', hash: 'sha256' },
  { name: 'RSA-PSS (rsaEncryption key) with SHA-384 in the PSS parameters', newkey: ['rsa:2048'],
    extra: ['-sigopt', 'rsa_padding_mode:pss', '-sha384'], digest: 'sha384', hash: 'sha384' },
  { name: 'RSA-PSS key with SHA-512', newkey: ['rsa-pss', '-pkeyopt', 'rsa_keygen_bits:2048'], extra: ['-sha512'], digest: 'sha512', hash: 'sha512' },
  { name: 'RSA-PSS with the default (SHA-1) hash: SHA-256', newkey: ['rsa:2048'], extra: ['-sigopt', 'rsa_padding_mode:pss', '-sha1'], digest: 'sha1', hash: 'sha256' },
  { name: 'RSA with SHA-1: SHA-256', newkey: ['rsa:2048'], extra: ['-sha1'], digest: 'sha1', hash: 'sha256' },
  { name: 'RSA with MD5: SHA-256', newkey: ['rsa:2048'], extra: ['-md5'], digest: 'md5', hash: 'sha256' },
  { name: 'Ed25519: no digest, no channel binding', newkey: ['ed25519'], digest: null, hash: null },
  { name: 'Ed448: no digest, no channel binding', newkey: ['ed448'], digest: null, hash: null },
];

describe('tlsServerEndPointHash', () => {
  for (const c of cases) {
    it(c.name, () => {
      const cert = selfSigned(c.newkey, '/CN=cb', c.extra);
      assert.equal(signatureDigest(cert.der), c.digest);
      const h = tlsServerEndPointHash(cert.der);
      if (c.hash === null) assert.equal(h, null);
      else assert.deepEqual(h, fingerprint(cert.pem, c.hash));
    });
  }

  it('returns null for bytes that are not a certificate', () => {
    const der = selfSigned(['rsa:2048'], '/CN=x', ['-sha256']).der;
    assert.equal(tlsServerEndPointHash(Buffer.from('not a certificate')), null);
    assert.equal(tlsServerEndPointHash(der.subarray(0, der.length - 1)), null);
    assert.equal(tlsServerEndPointHash(Buffer.concat([der, Buffer.from([0])])), null);
    assert.equal(tlsServerEndPointHash(Buffer.alloc(0)), null);
  });
});
