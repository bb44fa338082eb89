/*
 * Prebuilt statement records for a mirrored session relay (issue 6; mirror.h includes this).
 *
 * A mirrored session hands JavaScript a copy of each Query, CommandComplete and ReadyForQuery,
 * and JavaScript's tap (src/audit/tap.ts) lexes the text for its shape, finds the shape's cached
 * classification, rebuilds the statement text and writes the JSON record. For the common
 * statement this does most of that here instead, on the relay thread, while the bytes are in cache:
 * when a client sends a simple Query with nothing else outstanding, whose text is plain ASCII, holds
 * no secret hint and has a shape JavaScript registered (relay_fast_shape: the shape's template,
 * src/audit/prebuilt.ts), and the server answers it with one CommandComplete and ReadyForQuery,
 * the three entries are replaced by one:
 *
 *   u8 direction 2 | f64 the Query's read time | 'R' | int32 length | u32 template id (LE) |
 *   f64 the CommandComplete's read time | u32 its length (LE) | the CommandComplete message |
 *   the statement text as a JSON string (trimmed, as src/audit/classify-core.ts statementText)
 *
 * from which JavaScript writes the very record its tap would have written (the same statement
 * id, text, duration and rows). Anything else (an error, a second result, a client message in
 * between, a pipelined or extended-protocol exchange) leaves the entries as they were, and
 * JavaScript's tap reads them as before. shape.h's functions equal JavaScript's, tested.
 *
 * While a Query waits for its answer, its entry (and the CommandComplete) are held back from the
 * hand-over (relay.c mirror_flush): they are all that mirror's entries after them. A relay's end
 * and relay_sync() let them go as they are (fast_release).
 *
 * Called with relay.c's mutex held, except the tracking of a relay's head bytes (fast_entry with
 * `on` still 0), which touches no shared state.
 */
#ifndef GATEHOUSE_FASTREC_H
#define GATEHOUSE_FASTREC_H

#include <stdint.h>
#include <string.h>
#include "wire.h"
#include "shape.h"
#include "fastlimits.h"

typedef struct {
  int track;    /* count the exchange (set before a relay's head bytes are scanned) */
  int on;       /* may prebuild (set once the relay is listed, under the mutex) */
  int busy;     /* Query, Sync and FunctionCall sent, minus ReadyForQuery received */
  int ext;      /* Parse, Bind, Execute or Close since the last Sync */
  int pending;  /* a Query at `at` in the mirror's entries waits for its answer */
  size_t at;    /* its entry's offset */
  size_t cc;    /* its CommandComplete entry's offset (0: none yet) */
  uint32_t tid; /* its shape's template */
  size_t cut;   /* where its one statement ends (shape_of) */
  int built;    /* an entry was prebuilt in the current scan, ending at built_end */
  size_t built_end;
} fast_t;

typedef struct {
  uint64_t h;
  uint32_t id;
  uint32_t len;
  unsigned char *key;
} fast_shape_t;

static fast_shape_t fast_shapes[FAST_SLOTS];
static size_t fast_nshapes = 0;
static bytes_t fast_key = {0};     /* a Query's shape (scratch) */
static bytes_t fast_record = {0};  /* the prebuilt entry (scratch) */
/* Entries prebuilt since start (relay_fast_count: tests check the path ran). */
static double fast_built = 0;

static uint64_t fast_hash(const unsigned char *p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

/* The slot holding this shape, or the empty slot where it would go (never full: see FAST_SLOTS). */
static size_t fast_slot(const unsigned char *key, size_t n, uint64_t h) {
  for (size_t i = h % FAST_SLOTS;; i = (i + 1) % FAST_SLOTS) {
    const fast_shape_t *s = &fast_shapes[i];
    if (!s->key || (s->h == h && s->len == n && memcmp(s->key, key, n) == 0)) return i;
  }
}

/* The template id of a shape, or 0. */
static uint32_t fast_find(const unsigned char *key, size_t n) {
  const fast_shape_t *s = &fast_shapes[fast_slot(key, n, fast_hash(key, n))];
  return s->key ? s->id : 0;
}

/* Registers a shape's template; 0 when the table is full, out of memory or the key too long. */
static int fast_register(const unsigned char *key, size_t n, uint32_t id) {
  if (id == 0 || n > FAST_MAX_TEXT) return 0;
  uint64_t h = fast_hash(key, n);
  size_t i = fast_slot(key, n, h);
  if (fast_shapes[i].key) return 1; /* the first template stays */
  if (fast_nshapes >= FAST_MAX_SHAPES) return 0;
  unsigned char *copy = malloc(n ? n : 1);
  if (!copy) return 0;
  memcpy(copy, key, n);
  fast_shapes[i] = (fast_shape_t){h, id, (uint32_t)n, copy};
  fast_nshapes++;
  return 1;
}

/* A Query entry at `off`: pending when its text's shape has a template. */
static void fast_query(fast_t *f, const bytes_t *out, size_t off) {
  const unsigned char *msg = out->buf + off + FAST_ENTRY_HEAD;
  uint32_t len = be32(msg + 1);
  if (len < 5 || len - 5 > FAST_MAX_TEXT || msg[len] != 0) return;
  const unsigned char *text = msg + 5;
  size_t n = len - 5;
  if (may_carry_secret(text, n)) return;
  fast_key.len = 0;
  size_t cut = 0;
  if (!shape_of(text, n, &fast_key, &cut)) return;
  uint32_t id = fast_find(fast_key.buf, fast_key.len);
  if (id == 0) return;
  f->pending = 1;
  f->at = off;
  f->cc = 0;
  f->tid = id;
  f->cut = cut;
}

static void put_u32le(unsigned char *p, uint32_t v) {
  memcpy(p, &v, 4); /* little-endian hosts only, as mirror.h */
}

/* Its ReadyForQuery came after one CommandComplete: the pending Query's entries become one. */
static void fast_build(fast_t *f, bytes_t *out) {
  const unsigned char *q = out->buf + f->at;
  const unsigned char *c = out->buf + f->cc;
  uint32_t clen = 1 + be32(c + FAST_ENTRY_HEAD + 1);
  bytes_t *r = &fast_record;
  r->len = 0;
  unsigned char head[FAST_ENTRY_HEAD + 5 + 4 + 8 + 4];
  head[0] = 2;
  memcpy(head + 1, q + 1, 8);
  head[FAST_ENTRY_HEAD] = 'R';
  put_u32le(head + FAST_ENTRY_HEAD + 5, f->tid);
  memcpy(head + FAST_ENTRY_HEAD + 9, c + 1, 8);
  put_u32le(head + FAST_ENTRY_HEAD + 17, clen);
  f->pending = 0;
  if (!bytes_append(r, head, sizeof head) || !bytes_append(r, c + FAST_ENTRY_HEAD, clen) ||
      !json_trimmed_string(r, q + FAST_ENTRY_HEAD + 5, f->cut)) {
    return; /* out of memory: the entries stay as they are */
  }
  put_be32(r->buf + FAST_ENTRY_HEAD + 1, (uint32_t)(r->len - FAST_ENTRY_HEAD - 1));
  size_t keep = out->len;
  out->len = f->at;
  if (!bytes_append(out, r->buf, r->len)) {
    out->len = keep; /* cannot happen once out held more than this, but never half an entry */
    return;
  }
  f->built = 1;
  f->built_end = out->len;
  fast_built += 1;
}

/*
 * A whole entry was appended at `off`. Follows the exchange (what is outstanding), and starts,
 * completes or gives up the pending Query.
 */
static void fast_entry(fast_t *f, bytes_t *out, size_t off) {
  if (!f->track) return;
  int dir = out->buf[off];
  unsigned char type = out->buf[off + FAST_ENTRY_HEAD];
  if (dir == 0) {
    f->pending = 0;
    if (type == 'Q') {
      if (f->on && f->busy == 0 && !f->ext) fast_query(f, out, off);
      f->busy++;
    } else if (type == 'S' || type == 'F') {
      f->busy++;
      if (type == 'S') f->ext = 0;
    } else {
      f->ext = 1;
    }
    return;
  }
  if (type == 'Z') {
    if (f->busy > 0) f->busy--;
    if (f->pending && f->cc) fast_build(f, out);
    f->pending = 0;
    return;
  }
  if (f->pending && type == 'C' && f->cc == 0) f->cc = off;
  else f->pending = 0; /* an error, an empty query, a second result: JavaScript reads them */
}

/* Entries of this mirror that may be handed over now (a pending Query and what follows it wait). */
static size_t fast_ready(const fast_t *f, size_t len) {
  return f->pending ? f->at : len;
}

/* The first `n` bytes were handed over: the pending entries move to the front. */
static void fast_shift(fast_t *f, size_t n) {
  if (!f->pending) return;
  f->at -= n;
  if (f->cc) f->cc -= n;
}

#endif
