/**
 * PostgreSQL regular expressions (Spencer ARE, as hba.c compiles `/…` tokens with REG_ADVANCED and
 * the C collation) translated to JavaScript RegExp. Syntax errors carry regerror()'s exact text, so
 * `invalid regular expression "^db\d{2": braces {} not balanced` reads as PostgreSQL logs it.
 *
 * Faithful: directors (`***:`, `***=`), leading embedded options `(?bceimnpqstwx)`, `(?#…)` comments,
 * bounds (`{` is literal unless a digit follows; counts up to 255), one quantifier per atom, no
 * quantifier on constraints, escapes (`\d \m \y \A \Z \u \x \0`…, unknown letters rejected),
 * back references (only to closed groups), bracket classes `[[:alpha:]]` (ASCII, as in the C
 * collation), collating elements and ranges.
 * Approximate: `(?b)`/`(?e)` switch PostgreSQL to BRE/ERE; we keep ARE syntax. Captures follow
 * JavaScript's leftmost-first rules where PostgreSQL's are leftmost-longest, which only matters for
 * `\1` in pg_ident.conf with ambiguous patterns. `\S` and `\D` inside brackets use JavaScript's sets.
 */

import {
  CLASS_ESCAPES, CLASSES, COLLATING_NAMES, CONSTRAINT_ESCAPES, ERR, isAlnum, isDigit, literalJs, rangeJs, SIMPLE_ESCAPES,
  WORD_END, WORD_START,
} from './regex-tables.js';

/** A syntax error; `reason` is PostgreSQL's regerror() text. */
export class PgRegexError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'PgRegexError';
  }
}

interface Atom { readonly js: string; readonly quantifiable: boolean }
/** A bracket element: one character, or a class that cannot start or end a range. */
type BracketItem = { readonly cp: number } | { readonly js: string };

/** Compiles `pattern` (the token text after its leading `/`) or throws {@link PgRegexError}. */
export function compilePgRegex(pattern: string): RegExp {
  const js = new AreTranslator(pattern).translate();
  try {
    return new RegExp(js, 'su');
  } catch {
    throw new PgRegexError(ERR.BADPAT);
  }
}

class AreTranslator {
  private readonly s: string[];
  private i = 0;
  private icase = false;
  private expanded = false;
  /** `.` and `[^…]` stop at newline (REG_NLSTOP); `^`/`$` also match at newlines (REG_NLANCH). */
  private nlstop = false;
  private nlanch = false;
  /** Capturing groups opened so far, and which of them are closed (a backref needs a closed group). */
  private opened = 0;
  private readonly closed = new Set<number>();
  private lookaround = 0;

  constructor(pattern: string) {
    this.s = Array.from(pattern);
  }

  translate(): string {
    if (this.prefixes()) return this.literalRest();
    const out = this.alternation();
    if (this.i < this.s.length) throw new PgRegexError(ERR.EPAREN); // a stray ')'
    return out;
  }

  private peek(offset = 0): string | undefined {
    return this.s[this.i + offset];
  }

  private startsWith(text: string): boolean {
    return this.s.slice(this.i, this.i + text.length).join('') === text;
  }

  /** regcomp.c prefixes(): directors and one leading embedded-options group. Returns true for "literal rest". */
  private prefixes(): boolean {
    if (this.s.length >= 4 && this.startsWith('***')) {
      const d = this.peek(3);
      if (d === '?') throw new PgRegexError(ERR.BADPAT);
      if (d === '=') {
        this.i = 4;
        return true;
      }
      if (d !== ':') throw new PgRegexError(ERR.BADRPT);
      this.i = 4;
    }
    if (!(this.peek() === '(' && this.peek(1) === '?' && /^[A-Za-z]$/.test(this.peek(2) ?? ''))) return false;
    this.i += 2;
    let literal = false;
    for (let c = this.peek(); c !== undefined && /^[A-Za-z]$/.test(c); c = this.peek()) {
      literal = this.applyOption(c) || literal;
      this.i++;
    }
    if (this.peek() !== ')') throw new PgRegexError(ERR.BADOPT);
    this.i++;
    return literal;
  }

  private applyOption(c: string): boolean {
    switch (c) {
      case 'b': case 'e': return false; // BRE/ERE flavours: kept as ARE (see file comment)
      case 'c': this.icase = false; return false;
      case 'i': this.icase = true; return false;
      case 'm': case 'n': this.nlstop = true; this.nlanch = true; return false;
      case 'p': this.nlstop = true; this.nlanch = false; return false;
      case 's': this.nlstop = false; this.nlanch = false; return false;
      case 't': this.expanded = false; return false;
      case 'w': this.nlstop = false; this.nlanch = true; return false;
      case 'x': this.expanded = true; return false;
      case 'q': return true;
      default: throw new PgRegexError(ERR.BADOPT);
    }
  }

  private literalRest(): string {
    return this.s.slice(this.i).map((c) => this.literal(c.codePointAt(0) ?? 0)).join('');
  }

  /** Skips what the lexer never returns: `(?#…)` comments, and white space and `#` comments under (?x). */
  private skipIgnorable(): void {
    for (;;) {
      if (this.startsWith('(?#')) {
        while (this.i < this.s.length && this.peek() !== ')') this.i++;
        if (this.i < this.s.length) this.i++;
      } else if (this.expanded && /^\s$/.test(this.peek() ?? '')) {
        this.i++;
      } else if (this.expanded && this.peek() === '#') {
        while (this.i < this.s.length && this.peek() !== '\n') this.i++;
      } else {
        return;
      }
    }
  }

  private alternation(): string {
    let out = this.branch();
    while (this.peek() === '|') {
      this.i++;
      out += `|${this.branch()}`;
    }
    return out;
  }

  private branch(): string {
    let out = '';
    for (;;) {
      this.skipIgnorable();
      const c = this.peek();
      if (c === undefined || c === '|' || c === ')') return out;
      const atom = this.atom();
      const q = this.quantifier();
      if (q === null) {
        out += atom.js;
        continue;
      }
      if (!atom.quantifiable) throw new PgRegexError(ERR.BADRPT);
      out += atom.js + q;
      // parseqatom(): an atom takes one quantifier; `a**` and `a{1}{2}` are errors.
      this.skipIgnorable();
      if (this.atQuantifier()) throw new PgRegexError(ERR.BADRPT);
    }
  }

  private atQuantifier(): boolean {
    const c = this.peek();
    return c === '*' || c === '+' || c === '?' || (c === '{' && isDigit(this.peek(1)));
  }

  private quantifier(): string | null {
    this.skipIgnorable();
    const c = this.peek();
    if (c === '*' || c === '+' || c === '?') {
      this.i++;
      return c + this.lazySuffix();
    }
    if (c === '{' && isDigit(this.peek(1))) {
      this.i++;
      return this.bound();
    }
    return null;
  }

  private lazySuffix(): string {
    if (this.peek() !== '?') return '';
    this.i++;
    return '?';
  }

  /** `{m}`, `{m,}`, `{m,n}` (lex.c L_EBND + parseqatom): anything else inside is BADBR, EOS is EBRACE. */
  private bound(): string {
    const m = this.boundNumber();
    let n: number | null = m;
    if (this.peek() === ',') {
      this.i++;
      n = isDigit(this.peek()) ? this.boundNumber() : null;
    }
    const c = this.peek();
    if (c === undefined) throw new PgRegexError(ERR.EBRACE);
    if (c !== '}') throw new PgRegexError(ERR.BADBR);
    this.i++;
    if (n !== null && m > n) throw new PgRegexError(ERR.BADBR);
    const body = n === m ? `{${m}}` : n === null ? `{${m},}` : `{${m},${n}}`;
    return body + this.lazySuffix();
  }

  private boundNumber(): number {
    let n = 0;
    while (isDigit(this.peek()) && n < 255) {
      n = n * 10 + Number(this.peek());
      this.i++;
    }
    if (isDigit(this.peek()) || n > 255) throw new PgRegexError(ERR.BADBR);
    const c = this.peek();
    if (c === undefined) throw new PgRegexError(ERR.EBRACE);
    if (c !== ',' && c !== '}') throw new PgRegexError(ERR.BADBR);
    return n;
  }

  private atom(): Atom {
    const c = this.peek() ?? '';
    this.i++;
    switch (c) {
      case '*': case '+': case '?': throw new PgRegexError(ERR.BADRPT);
      case '{':
        if (isDigit(this.peek())) throw new PgRegexError(ERR.BADRPT);
        return { js: this.literal(0x7b), quantifiable: true };
      case '(': return this.group();
      case '^': return { js: this.nlanch ? '(?:^|(?<=\\n))' : '^', quantifiable: false };
      case '$': return { js: this.nlanch ? '(?:$|(?=\\n))' : '$', quantifiable: false };
      case '.': return { js: this.nlstop ? '[^\\n]' : '.', quantifiable: true };
      case '[': return this.bracketAtom();
      case '\\': return this.escapeAtom();
      default: return { js: this.literal(c.codePointAt(0) ?? 0), quantifiable: true };
    }
  }

  private group(): Atom {
    let open = '(';
    let lookaround = false;
    if (this.peek() === '?') {
      this.i++;
      const kind = this.peek();
      this.i++;
      if (kind === ':') open = '(?:';
      else if (kind === '=' || kind === '!') open = `(?${kind}`;
      else if (kind === '<' && (this.peek() === '=' || this.peek() === '!')) open = `(?<${this.s[this.i++] ?? ''}`;
      else throw new PgRegexError(ERR.BADRPT);
      lookaround = open !== '(?:';
    }
    // Parentheses inside a lookaround constraint never capture in PostgreSQL.
    const capturing = open === '(' && this.lookaround === 0;
    const index = capturing ? ++this.opened : 0;
    if (open === '(' && !capturing) open = '(?:';
    if (lookaround) this.lookaround++;
    const inner = this.alternation();
    if (lookaround) this.lookaround--;
    if (this.peek() !== ')') throw new PgRegexError(ERR.EPAREN);
    this.i++;
    if (capturing) this.closed.add(index);
    return { js: `${open}${inner})`, quantifiable: !lookaround };
  }

  private bracketAtom(): Atom {
    if (this.startsWith('[:<:]]') || this.startsWith('[:>:]]')) {
      const start = this.peek(2) === '<';
      this.i += 6;
      return { js: start ? WORD_START : WORD_END, quantifiable: false };
    }
    return { js: this.bracket(), quantifiable: true };
  }

  /** lexescape() outside brackets. */
  private escapeAtom(): Atom {
    const c = this.peek();
    if (c === undefined) throw new PgRegexError(ERR.EESCAPE);
    this.i++;
    const constraint = CONSTRAINT_ESCAPES[c];
    if (constraint !== undefined) return { js: constraint, quantifiable: false };
    const cls = CLASS_ESCAPES[c];
    if (cls !== undefined) return { js: `[${cls}]`, quantifiable: true };
    if (c >= '1' && c <= '9') {
      const ref = this.backref(c);
      if (ref !== null) return { js: `\\${ref}`, quantifiable: true };
    }
    return { js: this.literal(this.charEscape(c)), quantifiable: true };
  }

  /** `\N`: a single digit is always a backref; several digits only if that many groups exist, else octal. */
  private backref(first: string): number | null {
    const start = this.i;
    let digits = first;
    while (isDigit(this.peek()) && digits.length < 255) digits += this.s[this.i++] ?? '';
    const n = Number(digits);
    if (digits.length === 1 || (n > 0 && n <= this.opened)) {
      if (this.lookaround > 0 || !this.closed.has(n)) throw new PgRegexError(ERR.ESUBREG);
      return n;
    }
    this.i = start;
    return null;
  }

  /** Character-entry escapes; `c` has been consumed. Returns the code point. */
  private charEscape(c: string): number {
    if (!isAlnum(c)) return c.codePointAt(0) ?? 0;
    const simple = SIMPLE_ESCAPES[c];
    if (simple !== undefined) return simple;
    switch (c) {
      case 'c': {
        const x = this.peek();
        if (x === undefined) throw new PgRegexError(ERR.EESCAPE);
        this.i++;
        return (x.codePointAt(0) ?? 0) & 0o37;
      }
      case 'u': return this.digits(16, 4, 4);
      case 'U': return this.digits(16, 8, 8);
      case 'x': return this.digits(16, 1, 255);
      case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': case '8': case '9':
        this.i--; // the first digit is part of the octal number
        return this.octal();
      default: throw new PgRegexError(ERR.EESCAPE);
    }
  }

  private octal(): number {
    const start = this.i;
    const v = this.digits(8, 1, 3);
    if (v <= 0xff) return v;
    this.i = start + 2; // out of range: the third digit was one too many
    return v >> 3;
  }

  /** lexdigits(): between min and max digits of `base`; too few is EESCAPE, as is a value past CHR_MAX. */
  private digits(base: number, min: number, max: number): number {
    let v = 0;
    let n = 0;
    while (n < max) {
      const d = parseInt(this.peek() ?? '', base);
      if (Number.isNaN(d)) break;
      v = v * base + d;
      n++;
      this.i++;
    }
    if (n < min || v > 0x7ffffffe) throw new PgRegexError(ERR.EESCAPE);
    return v;
  }

  private literal(cp: number): string {
    return literalJs(cp, this.icase);
  }

  /** A bracket expression; the `[` has been consumed. */
  private bracket(): string {
    let negate = false;
    if (this.peek() === '^') {
      negate = true;
      this.i++;
    }
    const parts: string[] = [];
    for (let first = true; ; first = false) {
      const c = this.peek();
      if (c === undefined) throw new PgRegexError(ERR.EBRACK);
      if (c === ']' && !first) {
        this.i++;
        break;
      }
      parts.push(this.bracketPart());
    }
    if (negate && this.nlstop) parts.push('\\n');
    return `[${negate ? '^' : ''}${parts.join('')}]`;
  }

  /** One element or range inside brackets. */
  private bracketPart(): string {
    const start = this.bracketItem();
    if (!(this.peek() === '-' && this.peek(1) !== ']' && this.peek(1) !== undefined)) return this.itemJs(start);
    this.i++;
    const end = this.bracketItem();
    if (!('cp' in start) || !('cp' in end) || start.cp > end.cp) throw new PgRegexError(ERR.ERANGE);
    return this.rangeJs(start.cp, end.cp);
  }

  private bracketItem(): BracketItem {
    const c = this.peek() ?? '';
    this.i++;
    if (c === '[' && (this.peek() === ':' || this.peek() === '.' || this.peek() === '=')) return this.bracketSpecial();
    if (c !== '\\') return { cp: c.codePointAt(0) ?? 0 };
    const e = this.peek();
    if (e === undefined) throw new PgRegexError(ERR.EBRACK);
    this.i++;
    const cls = CLASS_ESCAPES[e];
    if (cls !== undefined) return { js: /^[DSW]$/.test(e) ? `\\${e}` : cls };
    if (CONSTRAINT_ESCAPES[e] !== undefined) throw new PgRegexError(ERR.EESCAPE);
    return { cp: this.charEscape(e) };
  }

  /** `[:class:]`, `[.coll.]`, `[=equiv=]`; the `[` has been consumed. */
  private bracketSpecial(): BracketItem {
    const kind = this.peek() ?? '';
    this.i++;
    let name = '';
    while (!(this.peek() === kind && this.peek(1) === ']')) {
      const c = this.peek();
      if (c === undefined) throw new PgRegexError(ERR.EBRACK);
      name += c;
      this.i++;
    }
    this.i += 2;
    if (kind === ':') {
      const upperLower = this.icase && (name === 'upper' || name === 'lower');
      const cls = upperLower ? CLASSES.alpha : CLASSES[name];
      if (cls === undefined) throw new PgRegexError(ERR.ECTYPE);
      return { js: cls };
    }
    const chars = Array.from(name);
    const cp = chars.length === 1 ? chars[0]?.codePointAt(0) : COLLATING_NAMES[name];
    if (cp === undefined) throw new PgRegexError(ERR.ECOLLATE);
    return { cp };
  }

  private itemJs(item: BracketItem): string {
    return 'cp' in item ? this.rangeJs(item.cp, item.cp) : item.js;
  }

  private rangeJs(lo: number, hi: number): string {
    return rangeJs(lo, hi, this.icase);
  }
}
