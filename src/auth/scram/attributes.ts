/**
 * Reading SCRAM attribute-value pairs (RFC 5802 §7) with exactly the pointer semantics of
 * auth-scram.c read_attr_value() / read_any_attr() (libpq's fe-auth-scram.c has the same): a value
 * runs to the next ',' or the end, and the ',' is consumed. So "r=abc," parses as one attribute
 * followed by the end, as it does in PostgreSQL.
 *
 * Messages are handled as latin1 strings so that each character is one byte of the wire message.
 */

/** A syntax error; `detail` is PostgreSQL's errdetail text (already sanitized). */
export class ScramParseError extends Error {
  constructor(readonly detail: string) {
    super(detail);
    this.name = 'ScramParseError';
  }
}

/** auth-scram.c sanitize_char(): printable ASCII in single quotes, anything else as hex. */
export function sanitizeChar(c: string): string {
  const code = c === '' ? 0 : c.charCodeAt(0);
  return code >= 0x21 && code <= 0x7e ? `'${c}'` : `0x${code.toString(16).padStart(2, '0')}`;
}

/** auth-scram.c sanitize_str(): printable ASCII kept, anything else '?', at most 30 characters. */
export function sanitizeStr(s: string): string {
  let out = '';
  for (const ch of s.slice(0, 30)) {
    const code = ch.charCodeAt(0);
    out += code >= 0x21 && code <= 0x7e ? ch : '?';
  }
  return out;
}

const isAlpha = (c: string): boolean => /^[A-Za-z]$/.test(c);

/** A cursor over one SCRAM message. */
export class AttrCursor {
  constructor(readonly text: string, public pos = 0) {}

  /** The current character, or '' at the end (C's '\0'). */
  peek(): string {
    return this.text.charAt(this.pos);
  }

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  /** read_attr_value(): the value of attribute `attr`, which must come next. */
  expect(attr: string): string {
    const c = this.peek();
    if (c !== attr) throw new ScramParseError(`Expected attribute "${attr}" but found "${sanitizeChar(c)}".`);
    return this.valueAfterName(attr);
  }

  /** read_any_attr(): the next attribute (one ASCII letter) and its value. */
  any(): { attr: string; value: string } {
    const attr = this.peek();
    if (attr === '') throw new ScramParseError('Attribute expected, but found end of string.');
    if (!isAlpha(attr)) throw new ScramParseError(`Attribute expected, but found invalid character "${sanitizeChar(attr)}".`);
    return { attr, value: this.valueAfterName(attr) };
  }

  private valueAfterName(attr: string): string {
    this.pos++;
    if (this.peek() !== '=') throw new ScramParseError(`Expected character "=" for attribute "${attr}".`);
    this.pos++;
    const comma = this.text.indexOf(',', this.pos);
    const end = comma < 0 ? this.text.length : comma;
    const value = this.text.slice(this.pos, end);
    this.pos = comma < 0 ? end : end + 1;
    return value;
  }
}
