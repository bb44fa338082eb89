/**
 * SASLprep as PostgreSQL applies it (src/common/saslprep.c): RFC 4013 §3's examples, then the
 * places where PostgreSQL differs from the RFC or where its fallback to raw bytes decides the
 * verifier. `hashed` is what pgSaslprep gives to PBKDF2: the prepared string, or the raw bytes.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { pgSaslprep, saslprep } from '../../src/auth/scram/saslprep.js';

type Outcome = 'success' | 'prohibited' | 'invalid-utf8';
interface Row {
  name: string;
  input: string | Buffer;
  outcome: Outcome;
  /** The bytes hashed: a string (UTF-8) or raw bytes. */
  hashed: string | Buffer;
}

const rfc4013: Row[] = [
  { name: '§3 #1 SOFT HYPHEN mapped to nothing', input: 'I\u00adX', outcome: 'success', hashed: 'IX' },
  { name: '§3 #2 no transformation', input: 'user', outcome: 'success', hashed: 'user' },
  { name: '§3 #3 case preserved', input: 'USER', outcome: 'success', hashed: 'USER' },
  { name: '§3 #4 output is NFKC, input in ISO 8859-1', input: '\u00aa', outcome: 'success', hashed: 'a' },
  { name: '§3 #5 output is NFKC, will match #1', input: '\u2168', outcome: 'success', hashed: 'IX' },
  // RFC: "Error - prohibited character". PostgreSQL returns pure ASCII untouched (pg_is_ascii fast path).
  { name: '§3 #6 U+0007 (PostgreSQL: ASCII passes unchanged)', input: '\u0007', outcome: 'success', hashed: '\u0007' },
  { name: '§3 #7 bidi: RandALCat first but not last', input: '\u0627\u0031', outcome: 'prohibited', hashed: '\u0627\u0031' },
];

const postgres: Row[] = [
  { name: 'empty password (ASCII fast path)', input: '', outcome: 'success', hashed: '' },
  { name: 'ASCII with controls and DEL is untouched', input: 'a\tb\u007f', outcome: 'success', hashed: 'a\tb\u007f' },
  { name: 'non-ASCII spaces map to SPACE', input: 'a\u00a0b\u3000c\u2003', outcome: 'success', hashed: 'a b c ' },
  { name: 'word joiner and BOM map to nothing', input: 'pa\u2060ss\ufeff', outcome: 'success', hashed: 'pass' },
  // U+200B is in both C.1.2 and B.1; saslprep.c looks at C.1.2 first, so it becomes a SPACE.
  { name: 'ZERO WIDTH SPACE maps to SPACE (C.1.2 wins over B.1)', input: 'pa\u200bss', outcome: 'success', hashed: 'pa ss' },
  { name: 'only characters mapped to nothing: empty result counts as prohibited', input: '\u00ad\u2060', outcome: 'prohibited', hashed: '\u00ad\u2060' },
  { name: 'NFKC composes', input: 'e\u0301t\u00e9', outcome: 'success', hashed: '\u00e9t\u00e9' },
  { name: 'NFKC compatibility: fullwidth letters', input: '\uff30\uff41\uff53\uff53', outcome: 'success', hashed: 'Pass' },
  { name: 'non-ASCII with an ASCII control: prohibited (no fast path)', input: '\u00e9\u0007', outcome: 'prohibited', hashed: '\u00e9\u0007' },
  { name: 'private use (C.3)', input: 'x\ue000', outcome: 'prohibited', hashed: 'x\ue000' },
  { name: 'non-character (C.4)', input: 'x\ufdd0', outcome: 'prohibited', hashed: 'x\ufdd0' },
  { name: 'tagging character (C.9)', input: 'x\u{e0041}', outcome: 'prohibited', hashed: 'x\u{e0041}' },
  { name: 'unassigned in Unicode 3.2 (A.1), assigned today', input: 'x\u0221', outcome: 'prohibited', hashed: 'x\u0221' },
  { name: 'emoji: unassigned in Unicode 3.2', input: 'pw\u{1f600}', outcome: 'prohibited', hashed: 'pw\u{1f600}' },
  { name: 'bidi: RandALCat at both ends, a number inside', input: '\u0627\u0031\u0628', outcome: 'success', hashed: '\u0627\u0031\u0628' },
  { name: 'bidi: RandALCat with an LCat character', input: '\u0627a\u0628', outcome: 'prohibited', hashed: '\u0627a\u0628' },
  // The checks run on the mapped input before NFKC: U+FB1D is RandALCat, its NFKC form ends in
  // U+05B4 (not RandALCat). The RFC would refuse it; PostgreSQL prepares it.
  { name: 'checks before normalization (PostgreSQL order)', input: '\ufb1d', outcome: 'success', hashed: '\u05d9\u05b4' },
  { name: 'not UTF-8: a lone 0xFF', input: Buffer.from([0x70, 0xff, 0x77]), outcome: 'invalid-utf8', hashed: Buffer.from([0x70, 0xff, 0x77]) },
  { name: 'not UTF-8: Latin-1 é', input: Buffer.from('caf\u00e9', 'latin1'), outcome: 'invalid-utf8', hashed: Buffer.from('caf\u00e9', 'latin1') },
  { name: 'not UTF-8: overlong /', input: Buffer.from([0x61, 0xc0, 0xaf]), outcome: 'invalid-utf8', hashed: Buffer.from([0x61, 0xc0, 0xaf]) },
  { name: 'not UTF-8: encoded surrogate', input: Buffer.from([0x61, 0xed, 0xa0, 0x80]), outcome: 'invalid-utf8', hashed: Buffer.from([0x61, 0xed, 0xa0, 0x80]) },
  { name: 'not UTF-8: beyond U+10FFFF', input: Buffer.from([0xf4, 0x90, 0x80, 0x80]), outcome: 'invalid-utf8', hashed: Buffer.from([0xf4, 0x90, 0x80, 0x80]) },
  { name: 'not UTF-8: truncated sequence', input: Buffer.from([0x61, 0xe2, 0x82]), outcome: 'invalid-utf8', hashed: Buffer.from([0x61, 0xe2, 0x82]) },
  { name: 'a BOM is kept for mapping (U+FEFF maps to nothing)', input: '\ufeffpass\u00e9', outcome: 'success', hashed: 'pass\u00e9' },
  { name: 'a C string ends at NUL', input: Buffer.from([0x61, 0x00, 0xff]), outcome: 'success', hashed: 'a' },
];

const asBytes = (v: string | Buffer): Buffer => (typeof v === 'string' ? Buffer.from(v, 'utf8') : v);

describe('SASLprep (PostgreSQL pg_saslprep)', () => {
  for (const [group, rows] of [['RFC 4013', rfc4013], ['PostgreSQL', postgres]] as const) {
    for (const row of rows) {
      it(`${group}: ${row.name}`, () => {
        const r = saslprep(row.input);
        assert.equal(r.kind, row.outcome);
        if (r.kind === 'success') assert.deepEqual(r.output, asBytes(row.hashed));
        assert.deepEqual(pgSaslprep(row.input), asBytes(row.hashed));
      });
    }
  }

  it('treats a string and its UTF-8 bytes alike', () => {
    for (const row of [...rfc4013, ...postgres]) {
      if (typeof row.input === 'string') assert.deepEqual(pgSaslprep(Buffer.from(row.input, 'utf8')), pgSaslprep(row.input), row.name);
    }
  });
});
