/*
 * Chained JSON lines for prebuilt statement records (issue 6), on the JavaScript thread
 * (addon.c includes this).
 *
 * A mirror hand-over brings hundreds of prebuilt entries (fastrec.h). src/audit/log.ts collects
 * the hand-over's records and has them written here in one call, instead of one JavaScript
 * template string, chain append and SHA-256 each. The lines are byte for byte those
 * src/audit/format.ts prebuiltStatementJson() and src/audit/chain.ts Chain.appendJson() write
 * (test/unit/audit/native-lines.test.ts compares them, sealed and not):
 *
 *   {"seq":N,"prev":"<64 hex>","time":"<ISO>","kind":"statement",<session>,"statement_id":I,
 *    "substatement_id":1,<part>,"statement":"<text>","duration_ms":D[,"rows":R]}
 *
 * with `,"hmac":"<64 hex>"` before the closing brace when a key seals the chain (HMAC-SHA-256 of
 * the line without it), and each line's SHA-256 the next one's `prev`.
 */
#ifndef GATEHOUSE_AUDITLINE_H
#define GATEHOUSE_AUDITLINE_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "fastlimits.h"
#include "wire.h"

/* Numbers a record takes in lines()'s Float64Array: entry offset, entry length, statement id, duration (ms), rows (-1: none), session index. */
#define LINE_STRIDE 6
/* The fixed text of a line, its numbers, time and hmac: well under this. */
#define LINE_FIXED 512

typedef struct {
  unsigned char *p;
  size_t n;
} line_part_t;

/* `"class":…,"command":…,"objects":[…]` of each template id (src/audit/prebuilt.ts Template.part). */
static line_part_t line_parts[FAST_MAX_SHAPES + 1];

/* Registers template `id`'s part; 0 when the id is out of range or memory ran out. */
static int line_part(uint32_t id, const unsigned char *p, size_t n) {
  if (id == 0 || id > FAST_MAX_SHAPES) return 0;
  unsigned char *copy = malloc(n ? n : 1);
  if (!copy) return 0;
  memcpy(copy, p, n);
  free(line_parts[id].p);
  line_parts[id] = (line_part_t){copy, n};
  return 1;
}

/* A u32 as fastrec.h writes it (little-endian hosts only, as mirror.h). */
static inline uint32_t read_le32(const unsigned char *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

static inline unsigned char *put(unsigned char *o, const void *p, size_t n) {
  memcpy(o, p, n);
  return o + n;
}

#define PUT_LIT(o, s) put((o), (s), sizeof(s) - 1)

/* A non-negative integer below 2^53, as JavaScript prints it. */
static unsigned char *put_uint(unsigned char *o, uint64_t v) {
  char t[24];
  int i = 0;
  do t[i++] = (char)('0' + v % 10);
  while ((v /= 10) != 0);
  while (i > 0) *o++ = (unsigned char)t[--i];
  return o;
}

/* A duration already rounded to three decimals (tap.ts durationBetween), as JavaScript prints it: 12, 0.5, 1.234. */
static unsigned char *put_ms(unsigned char *o, double ms) {
  uint64_t k = (uint64_t)llround(ms * 1000.0);
  o = put_uint(o, k / 1000);
  unsigned f = (unsigned)(k % 1000);
  if (f == 0) return o;
  *o++ = '.';
  char d[3] = {(char)('0' + f / 100), (char)('0' + f / 10 % 10), (char)('0' + f % 10)};
  int n = d[2] != '0' ? 3 : d[1] != '0' ? 2 : 1;
  return put(o, d, (size_t)n);
}

static unsigned char *put_hex(unsigned char *o, const unsigned char *b, size_t n) {
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    *o++ = (unsigned char)hex[b[i] >> 4];
    *o++ = (unsigned char)hex[b[i] & 15];
  }
  return o;
}

/*
 * SHA-256 with the algorithm fetched once: OpenSSL 3's one-shot SHA256() and HMAC() look it up on
 * every call, which cost more than the hashing of a record's line. HMAC is built from it
 * (RFC 2104): the key's inner and outer pads are hashed once a call to lines(), and each line
 * continues from copies of those states.
 */
typedef struct {
  EVP_MD *md;
  EVP_MD_CTX *ctx, *inner, *outer;
} line_hash_t;

static line_hash_t line_hash;

/* 0 when OpenSSL cannot give SHA-256. */
static int line_hash_ready(void) {
  if (line_hash.md) return 1;
  EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
  EVP_MD_CTX *a = EVP_MD_CTX_new(), *b = EVP_MD_CTX_new(), *c = EVP_MD_CTX_new();
  if (!md || !a || !b || !c) {
    EVP_MD_free(md);
    EVP_MD_CTX_free(a);
    EVP_MD_CTX_free(b);
    EVP_MD_CTX_free(c);
    return 0;
  }
  line_hash = (line_hash_t){md, a, b, c};
  return 1;
}

static int sha256(const void *p, size_t n, unsigned char out[32]) {
  return EVP_DigestInit_ex2(line_hash.ctx, line_hash.md, NULL) && EVP_DigestUpdate(line_hash.ctx, p, n) && EVP_DigestFinal_ex(line_hash.ctx, out, NULL);
}

/* Hashes the key's pads into line_hash.inner and .outer. */
static int hmac_key(const unsigned char *key, size_t klen) {
  unsigned char k[64] = {0}, pad[64];
  if (klen > 64) {
    if (!sha256(key, klen, k)) return 0;
  } else {
    memcpy(k, key, klen);
  }
  for (int i = 0; i < 64; i++) pad[i] = k[i] ^ 0x36;
  if (!EVP_DigestInit_ex2(line_hash.inner, line_hash.md, NULL) || !EVP_DigestUpdate(line_hash.inner, pad, 64)) return 0;
  for (int i = 0; i < 64; i++) pad[i] = k[i] ^ 0x5c;
  return EVP_DigestInit_ex2(line_hash.outer, line_hash.md, NULL) && EVP_DigestUpdate(line_hash.outer, pad, 64);
}

/* HMAC-SHA-256 of p with the key hmac_key() last took. */
static int hmac(const void *p, size_t n, unsigned char out[32]) {
  unsigned char in[32];
  return EVP_MD_CTX_copy_ex(line_hash.ctx, line_hash.inner) && EVP_DigestUpdate(line_hash.ctx, p, n) && EVP_DigestFinal_ex(line_hash.ctx, in, NULL)
         && EVP_MD_CTX_copy_ex(line_hash.ctx, line_hash.outer) && EVP_DigestUpdate(line_hash.ctx, in, 32) && EVP_DigestFinal_ex(line_hash.ctx, out, NULL);
}

typedef struct {
  double seq;
  double statement_id;
  double duration_ms;
  double rows;
  const unsigned char *session;
  size_t session_len;
  const line_part_t *part;
  const unsigned char *text; /* the statement as a JSON string */
  size_t text_len;
} line_rec_t;

/*
 * Appends r's line and a newline to out (no line holds a newline: JSON escapes them). prev (64
 * hex) is the previous line's hash on entry and this one's on return. time: the ISO time, 24
 * characters. sealed: with an HMAC (hmac_key() took the key). 0 when memory or OpenSSL failed.
 */
static int line_append(bytes_t *out, const line_rec_t *r, char prev[64], const char *time, int sealed) {
  if (!bytes_reserve(out, LINE_FIXED + r->session_len + r->part->n + r->text_len, 65536)) return 0;
  unsigned char *start = out->buf + out->len, *o = start;
  o = PUT_LIT(o, "{\"seq\":");
  o = put_uint(o, (uint64_t)r->seq);
  o = PUT_LIT(o, ",\"prev\":\"");
  o = put(o, prev, 64);
  o = PUT_LIT(o, "\",\"time\":\"");
  o = put(o, time, 24);
  o = PUT_LIT(o, "\",\"kind\":\"statement\",");
  o = put(o, r->session, r->session_len);
  o = PUT_LIT(o, ",\"statement_id\":");
  o = put_uint(o, (uint64_t)r->statement_id);
  o = PUT_LIT(o, ",\"substatement_id\":1,");
  o = put(o, r->part->p, r->part->n);
  o = PUT_LIT(o, ",\"statement\":");
  o = put(o, r->text, r->text_len);
  o = PUT_LIT(o, ",\"duration_ms\":");
  o = put_ms(o, r->duration_ms);
  if (r->rows >= 0) {
    o = PUT_LIT(o, ",\"rows\":");
    o = put_uint(o, (uint64_t)r->rows);
  }
  *o++ = '}';
  if (sealed) {
    unsigned char mac[32];
    if (!hmac(start, (size_t)(o - start), mac)) return 0;
    o = PUT_LIT(o - 1, ",\"hmac\":\"");
    o = put_hex(o, mac, 32);
    o = PUT_LIT(o, "\"}");
  }
  unsigned char digest[32];
  if (!sha256(start, (size_t)(o - start), digest)) return 0;
  put_hex((unsigned char *)prev, digest, 32);
  *o++ = '\n';
  out->len = (size_t)(o - out->buf);
  return 1;
}

#endif
