/**
 * Names from a client certificate, as PostgreSQL's be-secure-openssl.c be_tls_open_server() takes
 * them for `cert` auth and `clientcert=verify-full`:
 * - CN: X509_NAME_get_text_by_NID(subject, NID_commonName): the first commonName in the subject,
 *   its raw bytes; a CN with an embedded NUL is refused (CVE-2009-4034);
 * - DN (`clientname=DN`, PG 14+): X509_NAME_print_ex(subject, XN_FLAG_RFC2253), i.e. RFC 2253
 *   order (last RDN first), ',' between RDNs and '+' inside one, OpenSSL's short names, and
 *   OpenSSL's escaping (ASN1_STRFLGS_RFC2253: RFC 2253 specials, control characters and every
 *   non-ASCII byte as \XX). Attributes OpenSSL has no name for print as OID=#<hex DER>.
 *
 * Node's PeerCertificate.subject loses the order, the RDN grouping and the string types, so the
 * subject is read from the certificate's DER (`raw`).
 */
import { DerError, TAG, certificateParts, childrenOf, contentOf, decodeOid, encodingOf, expectTag, type DerElement } from './der.js';

/** OpenSSL short names (OBJ_nid2sn) for the attributes found in subjects. */
const SHORT_NAMES: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN', '2.5.4.4': 'SN', '2.5.4.5': 'serialNumber', '2.5.4.6': 'C', '2.5.4.7': 'L',
  '2.5.4.8': 'ST', '2.5.4.9': 'street', '2.5.4.10': 'O', '2.5.4.11': 'OU', '2.5.4.12': 'title',
  '2.5.4.13': 'description', '2.5.4.15': 'businessCategory', '2.5.4.16': 'postalAddress',
  '2.5.4.17': 'postalCode', '2.5.4.18': 'postOfficeBox', '2.5.4.20': 'telephoneNumber',
  '2.5.4.41': 'name', '2.5.4.42': 'GN', '2.5.4.43': 'initials', '2.5.4.44': 'generationQualifier',
  '2.5.4.45': 'x500UniqueIdentifier', '2.5.4.46': 'dnQualifier', '2.5.4.65': 'pseudonym',
  '2.5.4.72': 'role', '2.5.4.97': 'organizationIdentifier',
  '1.2.840.113549.1.9.1': 'emailAddress', '1.2.840.113549.1.9.2': 'unstructuredName',
  '1.2.840.113549.1.9.8': 'unstructuredAddress',
  '0.9.2342.19200300.100.1.1': 'UID', '0.9.2342.19200300.100.1.3': 'mail', '0.9.2342.19200300.100.1.25': 'DC',
  '1.3.6.1.4.1.311.60.2.1.1': 'jurisdictionL', '1.3.6.1.4.1.311.60.2.1.2': 'jurisdictionST',
  '1.3.6.1.4.1.311.60.2.1.3': 'jurisdictionC',
};
const COMMON_NAME = '2.5.4.3';

/** One AttributeTypeAndValue of the subject, with the index of the RDN (SET) it belongs to. */
interface NameEntry {
  rdn: number;
  oid: string;
  value: DerElement;
}

/** The subject Name's entries in DER order (RFC 5280 §4.1.2.6). */
function subjectEntries(der: Buffer): NameEntry[] {
  const fields = childrenOf(der, certificateParts(der).tbs);
  // [0] version is optional; then serialNumber, signature, issuer, validity, subject.
  const subject = expectTag(fields[(fields[0]?.tag === 0xa0 ? 1 : 0) + 4], TAG.SEQUENCE, 'subject Name');
  const entries: NameEntry[] = [];
  childrenOf(der, subject).forEach((set, rdn) => {
    for (const atv of childrenOf(der, expectTag(set, TAG.SET, 'RelativeDistinguishedName'))) {
      const [type, value] = childrenOf(der, expectTag(atv, TAG.SEQUENCE, 'AttributeTypeAndValue'));
      const oid = decodeOid(contentOf(der, expectTag(type, TAG.OID, 'attribute type')));
      if (!value) throw new DerError('attribute without a value');
      entries.push({ rdn, oid, value });
    }
  });
  return entries;
}

/** a_strex.c tag2nbyte: bytes per character of each string type; -1 means "dump as DER". */
function charWidth(tag: number): number {
  if (tag === 12) return 0; // UTF8String
  if (tag >= 18 && tag <= 27) return 1; // Numeric, Printable, T61, Videotex, IA5, times, Graphic, Visible, General
  if (tag === 28) return 4; // UniversalString
  if (tag === 30) return 2; // BMPString
  return -1;
}

const hex2 = (b: number): string => b.toString(16).toUpperCase().padStart(2, '0');

/** a_strex.c do_esc_char() for one byte with the RFC 2253 flags; `first`/`last` as do_buf sets them. */
function escapeByte(b: number, first: boolean, last: boolean): string {
  if (b > 0x7f || b < 0x20 || b === 0x7f) return `\\${hex2(b)}`; // ESC_MSB, ESC_CTRL
  const c = String.fromCharCode(b);
  if ('",+;<>\\'.includes(c)) return `\\${c}`; // ESC_2253
  if ((c === '#' && first) || (c === ' ' && (first || last))) return `\\${c}`;
  return c;
}

/** UTF-8 bytes of one code point (OpenSSL UTF8_putc, which also encodes lone surrogates). */
function utf8Bytes(cp: number): number[] {
  if (cp < 0x80) return [cp];
  if (cp < 0x800) return [0xc0 | (cp >> 6), 0x80 | (cp & 0x3f)];
  if (cp < 0x10000) return [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
  return [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
}

/**
 * do_buf(): characters of `width` bytes, each converted to UTF-8 and escaped. Width 0 is a
 * UTF8String: printed byte by byte as it is (a_strex.c: "interpret it as 1 byte per character").
 */
function escapeString(data: Buffer, width: number): string {
  const step = Math.max(width, 1);
  if (data.length % step !== 0) throw new DerError('string length is not a multiple of its character width');
  const n = data.length / step;
  let out = '';
  for (let i = 0; i < n; i++) {
    const cp = step === 1 ? data[i]! : step === 2 ? data.readUInt16BE(i * 2) : data.readUInt32BE(i * 4);
    if (cp > 0x10ffff) throw new DerError('character out of range');
    // do_buf: the first character gets FIRST_ESC, the last LAST_ESC (and a lone one only LAST_ESC).
    const last = i === n - 1;
    for (const b of width === 0 ? [cp] : utf8Bytes(cp)) out += escapeByte(b, i === 0 && !last, last);
  }
  return out;
}

/** do_print_ex() with XN_FLAG_RFC2253 for one value. */
function printValue(der: Buffer, e: NameEntry, known: boolean): string {
  const width = charWidth(e.value.tag);
  if (!known || width < 0) {
    // XN_FLAG_DUMP_UNKNOWN_FIELDS / ASN1_STRFLGS_DUMP_UNKNOWN with DUMP_DER: '#' and the DER in hex.
    return `#${encodingOf(der, e.value).toString('hex').toUpperCase()}`;
  }
  return escapeString(contentOf(der, e.value), width);
}

/**
 * The subject DN as PostgreSQL puts it in port->peer_dn (X509_NAME_print_ex, XN_FLAG_RFC2253).
 * Throws DerError for a malformed certificate.
 */
export function subjectDn(der: Buffer): string {
  const entries = subjectEntries(der).reverse(); // XN_FLAG_DN_REV
  let out = '';
  entries.forEach((e, i) => {
    if (i > 0) out += entries[i - 1]!.rdn === e.rdn ? '+' : ',';
    const name = SHORT_NAMES[e.oid];
    out += `${name ?? e.oid}=${printValue(der, e, name !== undefined)}`;
  });
  return out;
}

/**
 * The subject's first commonName as PostgreSQL puts it in port->peer_cn: the raw bytes, read as
 * UTF-8. Null when there is none, it holds a NUL, or it is not valid UTF-8 (then it cannot equal
 * any role name). Throws DerError for a malformed certificate.
 */
export function subjectCommonName(der: Buffer): string | null {
  const cn = subjectEntries(der).find((e) => e.oid === COMMON_NAME);
  if (!cn) return null;
  const bytes = contentOf(der, cn.value);
  if (bytes.includes(0)) return null;
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return null;
  }
}

/**
 * The certificate name that `cert` auth compares with the role: the CN, or the DN for
 * `clientname=DN`. Null without a certificate or for a malformed one.
 */
export function certCommonName(peer: { readonly raw?: Buffer } | null | undefined, mode: 'CN' | 'DN' = 'CN'): string | null {
  const raw = peer?.raw;
  if (!raw || raw.length === 0) return null;
  try {
    return mode === 'DN' ? subjectDn(raw) : subjectCommonName(raw);
  } catch (e) {
    if (e instanceof DerError) return null;
    throw e;
  }
}
