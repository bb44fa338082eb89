/*
 * The audit classifier's hot-path text functions in C, for ASCII statement text:
 *   shape_of()            shapeOf() of src/audit/sql-lexer.ts (the cache's shape key and cut)
 *   may_carry_secret()    mayCarrySecret() of src/audit/redact.ts (the HINT regex)
 *   json_trimmed_string() JSON.stringify(statementText(text, [], 0, n)) of src/audit/classify-core.ts
 * The TypeScript is the reference: these follow it step by step, quirks included, and
 * test/unit/audit/native-shape.test.ts checks them against it (tables and a seeded fuzz).
 *
 * JavaScript reads UTF-16 char codes; for ASCII text they are the bytes. shape_of() only handles
 * printable ASCII and \t \n \v \f \r: on anything else (a byte >= 0x7f, NUL, another control char)
 * it answers 0, "not handled", and the caller asks the TypeScript. A char code past the end is NaN
 * in JavaScript, which compares false with everything; shape_at() answers -1 there, which equals
 * no char and is no digit, space or identifier char either.
 *
 * Header-only: included by addon.c (the test-only exports shapeTest, secretTest and jsonTest).
 */
#ifndef GATEHOUSE_SHAPE_H
#define GATEHOUSE_SHAPE_H

#include <stddef.h>
#include <string.h>
#include "wire.h"

/* t.charCodeAt(i), with -1 for NaN. */
static inline int shape_at(const unsigned char *t, size_t n, size_t i) { return i < n ? t[i] : -1; }
static inline int shape_space(int c) { return c == 32 || (c >= 9 && c <= 13); }
static inline int shape_digit(int c) { return c >= 48 && c <= 57; }
static inline int shape_ident_start(int c) { return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c == 95 || c >= 128; }
static inline int shape_ident_char(int c) { return shape_ident_start(c) || shape_digit(c) || c == 36; }

/* Whether t starts with the lower-case ASCII word w, letters in any case (not the locale's strncasecmp). */
static inline int shape_starts(const unsigned char *t, const char *w, size_t len) {
  for (size_t k = 0; k < len; k++) {
    int c = t[k];
    if ((c >= 65 && c <= 90 ? c | 32 : c) != (unsigned char)w[k]) return 0;
  }
  return 1;
}

/* bytes_append(), where nothing to append is no call (memcpy with a NULL pointer). */
static inline int shape_put(bytes_t *b, const void *p, size_t n) { return n == 0 || bytes_append(b, p, n); }

/* quotedEnd(): the end of a quoted run opened at i; -1 when unterminated. */
static long shape_quoted_end(const unsigned char *t, size_t n, size_t i, int quote, int backslash) {
  for (size_t j = i + 1; j < n; j++) {
    int c = t[j];
    if (backslash && c == 92) { j++; continue; }
    if (c != quote) continue;
    if (shape_at(t, n, j + 1) == quote) { j++; continue; }
    return (long)(j + 1);
  }
  return -1;
}

/* dollarTagLength(): the length of a $tag$ opener at i, or 0. */
static size_t shape_dollar_tag(const unsigned char *t, size_t n, size_t i) {
  size_t j = i + 1;
  if (shape_at(t, n, j) == 36) return 2;
  if (!shape_ident_start(shape_at(t, n, j))) return 0;
  while (j < n && shape_ident_char(t[j]) && t[j] != 36) j++;
  return shape_at(t, n, j) == 36 ? j - i + 1 : 0;
}

/* blockCommentEnd(): the end of nested block comments opened at i; -1 when unterminated. */
static long shape_block_comment_end(const unsigned char *t, size_t n, size_t i) {
  long depth = 0;
  for (size_t j = i; j + 1 < n; j++) {
    int c = t[j], d = t[j + 1];
    if (c == 47 && d == 42) { depth++; j++; }
    else if (c == 42 && d == 47) { depth--; j++; if (depth == 0) return (long)(j + 1); }
  }
  return -1;
}

/* numberEnd(). The 0o and 0b forms take hex digits too, as the TypeScript does. */
static size_t shape_number_end(const unsigned char *t, size_t n, size_t i) {
  size_t j = i;
  int radix = shape_at(t, n, j + 1) | 32;
  if (shape_at(t, n, j) == 48 && (radix == 120 || radix == 111 || radix == 98)) {
    j += 2;
    while (j < n && (shape_digit(t[j]) || ((t[j] | 32) >= 97 && (t[j] | 32) <= 102) || t[j] == 95)) j++;
    return j;
  }
  while (shape_digit(shape_at(t, n, j)) || shape_at(t, n, j) == 95) j++;
  if (shape_at(t, n, j) == 46 && shape_at(t, n, j + 1) != 46) {
    j++;
    while (shape_digit(shape_at(t, n, j)) || shape_at(t, n, j) == 95) j++;
  }
  if ((shape_at(t, n, j) | 32) == 101) {
    size_t k = j + 1;
    if (shape_at(t, n, k) == 43 || shape_at(t, n, k) == 45) k++;
    if (shape_digit(shape_at(t, n, k))) { j = k; while (shape_digit(shape_at(t, n, j))) j++; }
  }
  return j;
}

/*
 * wordOrPrefixedString(): an identifier, or E'', N'', B'', X'', U&'' (strings) or U&"" (a quoted
 * identifier). Sets *end (-1: an unterminated prefixed quote) and *string.
 */
static void shape_word(const unsigned char *t, size_t n, size_t i, long *end, int *string) {
  size_t j = i + 1;
  while (j < n && shape_ident_char(t[j])) j++;
  int first = t[i] | 32;
  *string = 0;
  *end = (long)j;
  if (j - i != 1) return;
  if (shape_at(t, n, j) == 39 && (first == 101 || first == 110 || first == 98 || first == 120)) {
    *end = shape_quoted_end(t, n, j, 39, first == 101);
    *string = 1;
  } else if (first == 117 && shape_at(t, n, j) == 38 && (shape_at(t, n, j + 1) == 39 || shape_at(t, n, j + 1) == 34)) {
    int q = t[j + 1];
    *end = shape_quoted_end(t, n, j + 1, q, 0);
    *string = q == 39;
  }
}

/* Only tab..CR and printable ASCII. */
static int shape_ascii(const unsigned char *t, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (t[i] > 0x7e || (t[i] < 0x20 && (t[i] < 9 || t[i] > 13))) return 0;
  }
  return 1;
}

/*
 * shapeOf(): appends the key (literals as `?`) to key and sets *cut; 0 where shapeOf() is null
 * (a second statement, an unterminated quote or comment, EXPLAIN), on text that is not ASCII as
 * above, and when memory ran out.
 */
static int shape_of(const unsigned char *t, size_t n, bytes_t *key, size_t *cut) {
  if (!shape_ascii(t, n)) return 0;
  size_t last = 0;
  long cut_at = -1;
  int saw_word = 0;
  for (size_t i = 0; i < n;) {
    int c = t[i];
    if (shape_space(c)) { i++; continue; }
    int d = shape_at(t, n, i + 1);
    if ((c == 45 && d == 45) || (c == 47 && d == 42)) { /* -- and block comments */
      long end;
      if (c == 45) {
        const unsigned char *nl = memchr(t + i, '\n', n - i);
        end = nl ? (long)(nl - t) : (long)n;
      } else {
        end = shape_block_comment_end(t, n, i);
      }
      if (end < 0) return 0;
      i = (size_t)end;
      continue;
    }
    if (cut_at >= 0) return 0; /* something after the first top-level semicolon */
    long end;
    int literal = 0;
    if (c == 59) { cut_at = (long)i; i++; continue; }
    if (c == 39) { end = shape_quoted_end(t, n, i, 39, 0); literal = 1; }
    else if (c == 34) end = shape_quoted_end(t, n, i, 34, 0);
    else if (c == 36 && !shape_digit(d)) {
      size_t tag = shape_dollar_tag(t, n, i);
      if (tag == 0) { i++; continue; }
      /* text.indexOf(the tag, i + tag) */
      end = -1;
      for (size_t p = i + tag; p + tag <= n; p++) {
        if (memcmp(t + p, t + i, tag) == 0) { end = (long)(p + tag); break; }
      }
      literal = 1;
    } else if (shape_digit(c) || (c == 46 && shape_digit(d))) { end = (long)shape_number_end(t, n, i); literal = 1; }
    else if (shape_ident_start(c)) {
      shape_word(t, n, i, &end, &literal);
      if (end < 0) return 0;
      if (!saw_word && end - (long)i == 7 && shape_starts(t + i, "explain", 7)) return 0;
      saw_word = 1;
    } else { i++; continue; } /* an operator, or the $ of a $n parameter (its digits are then a number) */
    if (end < 0) return 0;
    if (literal) {
      if (!shape_put(key, t + last, i - last) || !bytes_append(key, "?", 1)) return 0;
      last = (size_t)end;
    }
    i = (size_t)end;
  }
  if (!shape_put(key, t + last, n - last)) return 0;
  *cut = cut_at < 0 ? n : (size_t)cut_at;
  return 1;
}

/*
 * HINT.test(): pass|secret|crypt|hmac|token|credential|api_?key|private_?key|pwd|dblink|set_config|://
 * anywhere, letters in any case. Bytes >= 0x80 never match, so this holds for UTF-8 text as well.
 */
static int may_carry_secret(const unsigned char *t, size_t n) {
  static const struct {
    const char *w;
    size_t len;
  } words[] = {
    {"pass", 4}, {"secret", 6}, {"crypt", 5}, {"hmac", 4}, {"token", 5}, {"credential", 10}, {"apikey", 6}, {"api_key", 7},
    {"privatekey", 10}, {"private_key", 11}, {"pwd", 3}, {"dblink", 6}, {"set_config", 10}, {"://", 3},
  };
  /* Every byte is looked at (this runs on the relay thread for each recorded Query): only a word's first letter goes further. */
  for (size_t i = 0; i < n; i++) {
    int c = t[i] | 0x20;
    if (c != 'p' && c != 's' && c != 'c' && c != 'h' && c != 't' && c != 'a' && c != 'd' && c != ':') continue;
    for (size_t w = 0; w < sizeof words / sizeof words[0]; w++) {
      if (words[w].w[0] == c && words[w].len <= n - i && shape_starts(t + i, words[w].w, words[w].len)) return 1;
    }
  }
  return 0;
}

/*
 * JSON.stringify(statementText(text, [], 0, n)): the text without leading and trailing whitespace
 * (/\s/, for ASCII tab..CR and space), as a JSON string; bytes >= 0x7f are copied as they are.
 * 0 when memory ran out.
 */
static int json_trimmed_string(bytes_t *out, const unsigned char *t, size_t n) {
  size_t s = 0, e = n;
  while (s < e && shape_space(t[s])) s++;
  while (e > s && shape_space(t[e - 1])) e--;
  if (!bytes_append(out, "\"", 1)) return 0;
  size_t run = s; /* the start of the bytes not yet copied */
  for (size_t i = s; i < e; i++) {
    unsigned char c = t[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    char esc[7];
    size_t len = 2;
    esc[0] = '\\';
    switch (c) {
      case '"': esc[1] = '"'; break;
      case '\\': esc[1] = '\\'; break;
      case '\b': esc[1] = 'b'; break;
      case '\f': esc[1] = 'f'; break;
      case '\n': esc[1] = 'n'; break;
      case '\r': esc[1] = 'r'; break;
      case '\t': esc[1] = 't'; break;
      default:
        memcpy(esc + 1, "u00", 3);
        esc[4] = "0123456789abcdef"[c >> 4];
        esc[5] = "0123456789abcdef"[c & 15];
        len = 6;
    }
    if (!shape_put(out, t + run, i - run) || !bytes_append(out, esc, len)) return 0;
    run = i + 1;
  }
  return shape_put(out, t + run, e - run) && bytes_append(out, "\"", 1);
}

#endif
