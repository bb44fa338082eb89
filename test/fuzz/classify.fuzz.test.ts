/**
 * Fuzz the statement classifier: it never throws, never returns an empty statement list for text
 * with a statement in it, and a password literal planted in a well-formed position survives in no
 * output, whatever surrounds it: other statements, comments, strings of every quoting style,
 * non-ASCII text, broken or unterminated tails. Seeded: set GATEHOUSE_FUZZ_SEED to replay.
 */
import { before, it } from 'node:test';
import { strict as assert } from 'node:assert';
import { Classifier, loadClassifier } from '../../src/audit/classify.js';
import { prng } from '../support/prng.js';

const seed = Number(process.env.GATEHOUSE_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32)) >>> 0;
console.log(`classify fuzz seed ${seed} (replay with GATEHOUSE_FUZZ_SEED=${seed})`);
const random = prng(seed);
const int = (n: number): number => Math.floor(random() * n);
const pick = <T>(list: readonly T[]): T => list[int(list.length)] as T;

/** Complete, well-formed pieces: each leaves the lexer where it started (outside any quote or comment). */
const WELL_FORMED = [
  'SELECT 1', "SELECT 'a;b'", 'SELECT $$x;y$$', "SELECT E'it\\'s'", 'SELECT "we""ird"', "SELECT U&'d\\0061t'",
  '/* c; */', '/* nested /* c */ */', '-- line\n', 'SELECT $tag$ $$ $tag$', "SELECT 'été ☃'", 'INSERT INTO t VALUES (1)',
  'WITH d AS (DELETE FROM t RETURNING 1) SELECT * FROM d', 'DO $$BEGIN NULL; END$$', "SELECT 'password'", 'SELECT x',
  "COPY t TO PROGRAM 'cat'", 'EXPLAIN ANALYZE DELETE FROM t', ';', ' ', '\n', 'SELECT 1.5e3, 0x1F, $1',
];
/** Tails that may break the text (the secret sits before them, so it must still go). */
const TAILS = ['', ' WITH BADSYNTAX', " 'unterminated", ' /* unterminated', ' "unterminated', ' $q$ unterminated', ' ((((', '\u0000 junk'];
const QUOTE = [(s: string) => `'${s}'`, (s: string) => `E'${s}'`, (s: string) => `$$${s}$$`, (s: string) => `$pw$${s}$pw$`, (s: string) => `U&'${s}'`];
const SECRET_SPOTS = [
  (q: string) => `ALTER ROLE x PASSWORD ${q}`, (q: string) => `CREATE USER "Zoë" WITH ENCRYPTED PASSWORD ${q}`,
  (q: string) => `CREATE USER MAPPING FOR u SERVER s OPTIONS (user 'u', password ${q})`,
  (q: string) => `SELECT pgp_sym_encrypt('d', ${q})`,
];

const pieces = (n: number): string => Array.from({ length: n }, () => pick(WELL_FORMED)).join(pick([' ', '; ', '\n']));

let c: Classifier;
before(async () => {
  await loadClassifier();
  c = new Classifier({ cacheSize: 64 });
});

it('a planted password never reaches redacted or any statement text', () => {
  for (let i = 0; i < 3000; i++) {
    const secret = `Fz${seed % 1000}s3cr${i}t`;
    const sql = `${pieces(int(4))}${pick(['; ', ' ', '\n'])}${pick(SECRET_SPOTS)(pick(QUOTE)(secret))}${pick(['', ';', '; '])}${pieces(int(3))}${pick(TAILS)}`;
    const r = c.classifySync(sql);
    for (const t of [r.redacted, ...r.statements.map((s) => s.text)]) assert.ok(!t.includes(secret), `leak in ${JSON.stringify(t)} from ${JSON.stringify(sql)}`);
    assert.ok(r.statements.length > 0, JSON.stringify(sql));
  }
});

it('random text never throws and always yields statements', () => {
  const alphabet = "abcSELECTselect ;'\"$/*-\n()E&U\\0123.,=é\u0000";
  for (let i = 0; i < 3000; i++) {
    const sql = Array.from({ length: 1 + int(60) }, () => alphabet[int(alphabet.length)]).join('');
    const r = c.classifySync(sql);
    assert.ok(Array.isArray(r.statements) && typeof r.redacted === 'string', JSON.stringify(sql));
    for (const s of r.statements) assert.ok(typeof s.class === 'string' && typeof s.command === 'string', JSON.stringify(sql));
  }
});
