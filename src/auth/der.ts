/**
 * Just enough DER (ITU-T X.690) to read X.509 certificates: TLV elements, their children, and
 * OBJECT IDENTIFIERs. Node 20's X509Certificate gives neither the signature algorithm nor the
 * subject's structure, and both channel binding and PostgreSQL's certificate names need them.
 */

/** A malformed encoding. */
export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerError';
  }
}

/** One TLV element of `buf`: its tag byte and where it (and its content) start and end. */
export interface DerElement {
  readonly tag: number;
  /** Offset of the tag byte. */
  readonly start: number;
  /** Offset of the first content byte. */
  readonly contentStart: number;
  /** Offset just past the element. */
  readonly end: number;
}

export const TAG = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  NULL: 0x05,
  OID: 0x06,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Reads the element starting at `offset`, which must end within `limit`. */
export function readElement(buf: Buffer, offset: number, limit = buf.length): DerElement {
  if (offset + 2 > limit) throw new DerError('truncated element');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('high tag numbers are not supported');
  let len = buf[offset + 1]!;
  let contentStart = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new DerError('unsupported length encoding');
    if (contentStart + n > limit) throw new DerError('truncated length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[contentStart + i]!;
    contentStart += n;
  }
  const end = contentStart + len;
  if (end > limit) throw new DerError('element runs past its container');
  return { tag, start: offset, contentStart, end };
}

/** The elements inside a constructed element, in order. */
export function childrenOf(buf: Buffer, parent: DerElement): DerElement[] {
  const out: DerElement[] = [];
  for (let at = parent.contentStart; at < parent.end; ) {
    const el = readElement(buf, at, parent.end);
    out.push(el);
    at = el.end;
  }
  return out;
}

/** The element's content bytes. */
export const contentOf = (buf: Buffer, el: DerElement): Buffer => buf.subarray(el.contentStart, el.end);

/** The whole element (tag, length and content). */
export const encodingOf = (buf: Buffer, el: DerElement): Buffer => buf.subarray(el.start, el.end);

/** Requires `el` to carry `tag`. */
export function expectTag(el: DerElement | undefined, tag: number, what: string): DerElement {
  if (!el || el.tag !== tag) throw new DerError(`expected ${what}`);
  return el;
}

/** An OBJECT IDENTIFIER's content in dotted form (X.690 §8.19). */
export function decodeOid(content: Buffer): string {
  if (content.length === 0) throw new DerError('empty OID');
  const arcs: number[] = [];
  let value = 0;
  for (const byte of content) {
    value = value * 128 + (byte & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER) throw new DerError('OID arc too large');
    if (byte & 0x80) continue;
    arcs.push(value);
    value = 0;
  }
  if (content[content.length - 1]! & 0x80) throw new DerError('truncated OID');
  const first = arcs.shift()!;
  const top = first < 40 ? 0 : first < 80 ? 1 : 2;
  return [top, first - top * 40, ...arcs].join('.');
}

/** Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue } (RFC 5280 §4.1). */
export function certificateParts(der: Buffer): { tbs: DerElement; signatureAlgorithm: DerElement } {
  const cert = expectTag(readElement(der, 0), TAG.SEQUENCE, 'Certificate');
  if (cert.end !== der.length) throw new DerError('trailing bytes after the certificate');
  const [tbs, signatureAlgorithm] = childrenOf(der, cert);
  return {
    tbs: expectTag(tbs, TAG.SEQUENCE, 'TBSCertificate'),
    signatureAlgorithm: expectTag(signatureAlgorithm, TAG.SEQUENCE, 'AlgorithmIdentifier'),
  };
}
