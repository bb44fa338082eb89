import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuthFileTokenizer, nextToken, type TokenizedLine } from '../../../src/hba/tokenize.js';

/** Fields of each logical line as `text` or `"text"` (quoted), for compact assertions. */
function lex(text: string): { line: number; raw: string; fields: string[][]; error?: string }[] {
  const out: TokenizedLine[] = [];
  new AuthFileTokenizer(18).tokenizeText(text, '/nonexistent/pg_hba.conf', 0, out);
  return out.map((l) => ({
    line: l.line, raw: l.raw, fields: l.fields.map((f) => f.map((t) => (t.quoted ? `"${t.text}"` : t.text))),
    ...(l.error !== undefined ? { error: l.error } : {}),
  }));
}

describe('next_token', () => {
  const cases: [string, { text: string; initialQuote: boolean; comma: boolean; found: boolean }][] = [
    ['  abc def', { text: 'abc', initialQuote: false, comma: false, found: true }],
    [',,abc,def', { text: 'abc', initialQuote: false, comma: true, found: true }],
    ['a"b c"d', { text: 'ab cd', initialQuote: false, comma: false, found: true }],
    ['"a""b"', { text: 'a"b', initialQuote: true, comma: false, found: true }],
    ['""', { text: '', initialQuote: true, comma: false, found: true }],
    ['"unterminated to the end', { text: 'unterminated to the end', initialQuote: true, comma: false, found: true }],
    ['x#comment', { text: 'x', initialQuote: false, comma: false, found: true }],
    ['"a#b"', { text: 'a#b', initialQuote: true, comma: false, found: true }],
    ['   # only a comment', { text: '', initialQuote: false, comma: false, found: false }],
    ['a\vb c', { text: 'a\vb', initialQuote: false, comma: false, found: true }],
    ['"a,b",c', { text: 'a,b', initialQuote: true, comma: true, found: true }],
  ];
  for (const [input, expected] of cases) {
    it(JSON.stringify(input), () => {
      const { text, initialQuote, comma, found } = nextToken(input, 0);
      assert.deepEqual({ text, initialQuote, comma, found }, expected);
    });
  }
});

describe('tokenize_auth_file', () => {
  it('joins comma-continued tokens into one field, across blanks after the comma only', () => {
    assert.deepEqual(lex('host a, b ,c d')[0]?.fields, [['host'], ['a', 'b'], ['c'], ['d']]);
  });
  it('keeps the quote flag per token and drops comments and blank lines', () => {
    assert.deepEqual(lex('\n# c\n  \nlocal "all" all,"+g" trust # tail\n'), [
      { line: 4, raw: 'local "all" all,"+g" trust # tail', fields: [['local'], ['"all"'], ['all', '"+g"'], ['trust']] },
    ]);
  });
  it('joins backslash continuations without a separator and numbers by the first line', () => {
    assert.deepEqual(lex('local a\\\nb all trust\nlocal c all trust'), [
      { line: 1, raw: 'local ab all trust', fields: [['local'], ['ab'], ['all'], ['trust']] },
      { line: 3, raw: 'local c all trust', fields: [['local'], ['c'], ['all'], ['trust']] },
    ]);
  });
  it('strips CR LF before looking for a continuation', () => {
    assert.deepEqual(lex('local a\\\r\nb all trust\r\n').map((l) => l.raw), ['local ab all trust']);
  });
  it('continues a comment onto the next line', () => {
    assert.deepEqual(lex('# comment \\\nlocal all all trust\nlocal x all trust').map((l) => l.line), [3]);
  });
  it('does not continue twice for a backslash that was already consumed', () => {
    // "a\" + "\" (an empty next line ending in nothing) must stop at the blank line.
    assert.deepEqual(lex('local a\\\n\nlocal b all trust').map((l) => [l.line, l.raw]), [[1, 'local a'], [3, 'local b all trust']]);
  });
  it('continues at the end of the file', () => {
    assert.deepEqual(lex('local all all trust\\').map((l) => l.raw), ['local all all trust']);
  });
  it('drops the rest of a line after a NUL byte and joins the next line on, as fgets()+strlen() do', () => {
    assert.deepEqual(lex('local all all trust\0 garbage\nlocal x all trust\nlocal y all trust').map((l) => [l.line, l.raw]),
      [[1, 'local all all trustlocal x all trust'], [2, 'local y all trust']]);
  });
  it('reports a missing include with PostgreSQL\'s message on the include line', () => {
    assert.deepEqual(lex('include missing.conf'), [
      { line: 1, raw: 'include missing.conf', fields: [['include'], ['missing.conf']], error: 'could not open file "/nonexistent/missing.conf": No such file or directory' },
    ]);
  });
  it('only treats two-field lines as include directives', () => {
    assert.deepEqual(lex('include a b')[0]?.fields, [['include'], ['a'], ['b']]);
  });
  it('treats include directives as records before PostgreSQL 16', () => {
    const out: TokenizedLine[] = [];
    new AuthFileTokenizer(15).tokenizeText('include x.conf', '/nonexistent/f', 0, out);
    assert.equal(out[0]?.error, undefined);
    assert.deepEqual(out[0]?.fields.map((f) => f[0]?.text), ['include', 'x.conf']);
  });
  it('notes a skipped include_if_exists with the line that asked for it', () => {
    const t = new AuthFileTokenizer(18);
    const out: TokenizedLine[] = [];
    t.tokenizeText('\ninclude_if_exists gone.conf', '/nonexistent/f', 0, out);
    assert.deepEqual(out, []);
    assert.deepEqual(t.notes, [{ file: '/nonexistent/f', line: 2, message: 'skipping missing authentication file "/nonexistent/gone.conf"' }]);
  });
  it('expands @file to an error when the file is missing', () => {
    assert.equal(lex('local @users.txt all trust')[0]?.error, 'could not open file "/nonexistent/users.txt": No such file or directory');
  });
  it('keeps "@x" (quoted) and a lone @ as names', () => {
    assert.deepEqual(lex('local "@x",@ all trust')[0]?.fields[1], ['"@x"', '@']);
  });
});
