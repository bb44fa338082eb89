/**
 * tls-server-end-point channel binding data (RFC 5929 §4.1): the hash of the server's DER
 * certificate, with the hash function of the certificate's signature algorithm, except that MD5
 * and SHA-1 become SHA-256.
 *
 * This mirrors PostgreSQL's be_tls_get_certificate_hash() (be-secure-openssl.c), which asks
 * OpenSSL's X509_get_signature_info() for the digest: RSASSA-PSS uses the hash in its parameters,
 * and signature algorithms without a separate digest (Ed25519, Ed448) have none, so PostgreSQL
 * fails the exchange. Here that case returns null, and the gateway does not offer PLUS at all.
 */
import { createHash } from 'node:crypto';
import { DerError, TAG, certificateParts, childrenOf, contentOf, decodeOid, expectTag, readElement, type DerElement } from './der.js';

const RSASSA_PSS = '1.2.840.113549.1.1.10';
const MGF1 = '1.2.840.113549.1.1.8';

/** Signature algorithm OID → the digest it signs with (OpenSSL's OBJ_find_sigid_algs table). */
const SIGNATURE_DIGEST: Readonly<Record<string, string>> = {
  '1.2.840.113549.1.1.4': 'md5', // md5WithRSAEncryption
  '1.2.840.113549.1.1.5': 'sha1', // sha1WithRSAEncryption
  '1.3.14.3.2.29': 'sha1', // sha1WithRSA (OIW)
  '1.2.840.113549.1.1.14': 'sha224', // sha224WithRSAEncryption
  '1.2.840.113549.1.1.11': 'sha256', // sha256WithRSAEncryption
  '1.2.840.113549.1.1.12': 'sha384', // sha384WithRSAEncryption
  '1.2.840.113549.1.1.13': 'sha512', // sha512WithRSAEncryption
  '1.2.840.113549.1.1.15': 'sha512-224', // sha512-224WithRSAEncryption
  '1.2.840.113549.1.1.16': 'sha512-256', // sha512-256WithRSAEncryption
  '1.2.840.10045.4.1': 'sha1', // ecdsa-with-SHA1
  '1.2.840.10045.4.3.1': 'sha224', // ecdsa-with-SHA224
  '1.2.840.10045.4.3.2': 'sha256', // ecdsa-with-SHA256
  '1.2.840.10045.4.3.3': 'sha384', // ecdsa-with-SHA384
  '1.2.840.10045.4.3.4': 'sha512', // ecdsa-with-SHA512
  '1.2.840.10040.4.3': 'sha1', // dsa-with-sha1
  '2.16.840.1.101.3.4.3.1': 'sha224', // dsa_with_SHA224
  '2.16.840.1.101.3.4.3.2': 'sha256', // dsa_with_SHA256
  '2.16.840.1.101.3.4.3.3': 'sha384', // dsa_with_SHA384
  '2.16.840.1.101.3.4.3.4': 'sha512', // dsa_with_SHA512
  '2.16.840.1.101.3.4.3.5': 'sha3-224', // id-dsa-with-sha3-224
  '2.16.840.1.101.3.4.3.6': 'sha3-256',
  '2.16.840.1.101.3.4.3.7': 'sha3-384',
  '2.16.840.1.101.3.4.3.8': 'sha3-512',
  '2.16.840.1.101.3.4.3.9': 'sha3-224', // id-ecdsa-with-sha3-224
  '2.16.840.1.101.3.4.3.10': 'sha3-256',
  '2.16.840.1.101.3.4.3.11': 'sha3-384',
  '2.16.840.1.101.3.4.3.12': 'sha3-512',
  '2.16.840.1.101.3.4.3.13': 'sha3-224', // id-rsassa-pkcs1-v1_5-with-sha3-224
  '2.16.840.1.101.3.4.3.14': 'sha3-256',
  '2.16.840.1.101.3.4.3.15': 'sha3-384',
  '2.16.840.1.101.3.4.3.16': 'sha3-512',
};

/** Hash algorithm OID → digest, for RSASSA-PSS-params.hashAlgorithm (RFC 4055 §3.1). */
const HASH_DIGEST: Readonly<Record<string, string>> = {
  '1.2.840.113549.2.5': 'md5',
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.4': 'sha224',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
  '2.16.840.1.101.3.4.2.5': 'sha512-224',
  '2.16.840.1.101.3.4.2.6': 'sha512-256',
  '2.16.840.1.101.3.4.2.7': 'sha3-224',
  '2.16.840.1.101.3.4.2.8': 'sha3-256',
  '2.16.840.1.101.3.4.2.9': 'sha3-384',
  '2.16.840.1.101.3.4.2.10': 'sha3-512',
};

/** An AlgorithmIdentifier's OID and its parameters element, if any. */
function algorithm(der: Buffer, el: DerElement): { oid: string; params: DerElement | undefined } {
  const [oid, params] = childrenOf(der, el);
  return { oid: decodeOid(contentOf(der, expectTag(oid, TAG.OID, 'algorithm OID'))), params };
}

/**
 * RSASSA-PSS-params ::= SEQUENCE { [0] hashAlgorithm DEFAULT sha1, [1] maskGenAlgorithm DEFAULT
 * mgf1SHA1, [2] saltLength, [3] trailerField }. Null when OpenSSL would not accept them (no
 * parameters, an unknown hash, a mask generation function other than MGF1).
 */
function pssDigest(der: Buffer, params: DerElement | undefined): string | null {
  if (!params || params.tag !== TAG.SEQUENCE) return null;
  let digest = 'sha1';
  for (const field of childrenOf(der, params)) {
    if (field.tag === 0xa0) {
      const hash = algorithm(der, expectTag(readElement(der, field.contentStart, field.end), TAG.SEQUENCE, 'hashAlgorithm'));
      const d = HASH_DIGEST[hash.oid];
      if (!d) return null;
      digest = d;
    } else if (field.tag === 0xa1) {
      const mgf = algorithm(der, expectTag(readElement(der, field.contentStart, field.end), TAG.SEQUENCE, 'maskGenAlgorithm'));
      if (mgf.oid !== MGF1) return null;
    }
  }
  return digest;
}

/** The digest behind the certificate's signature, or null when there is none we can name. */
export function signatureDigest(der: Buffer): string | null {
  const { signatureAlgorithm } = certificateParts(der);
  const { oid, params } = algorithm(der, signatureAlgorithm);
  return oid === RSASSA_PSS ? pssDigest(der, params) : SIGNATURE_DIGEST[oid] ?? null;
}

/**
 * H(certificate) for SCRAM-SHA-256-PLUS, from the certificate's DER bytes. Null when the
 * signature algorithm has no usable digest (Ed25519, Ed448, unknown algorithms) or the DER is
 * malformed: then channel binding cannot be offered.
 */
export function tlsServerEndPointHash(der: Buffer): Buffer | null {
  let digest: string | null;
  try {
    digest = signatureDigest(der);
  } catch (e) {
    if (e instanceof DerError) return null;
    throw e;
  }
  if (!digest) return null;
  // RFC 5929 §4.1: MD5 and SHA-1 are replaced by SHA-256.
  const h = digest === 'md5' || digest === 'sha1' ? 'sha256' : digest;
  return createHash(h).update(der).digest();
}
