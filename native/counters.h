/*
 * A native session's counters, kept as src/session/counters.ts keeps them for the JavaScript
 * relay (PgBouncer's definitions): bytes each way; a query per ReadyForQuery, timed from the first
 * client chunk after the server was idle; a transaction per ReadyForQuery 'I'; duration
 * histograms over the buckets JavaScript passes in (DURATION_BUCKETS). The server's stream is
 * followed header by header across chunk boundaries (type byte + int32 length); only 'Z' (its
 * status byte) and 'E' (its 'C' field, the SQLSTATE) are looked into.
 *
 * Header-only: included by relay.c alone, which calls these with its mutex held.
 */
#ifndef GATEHOUSE_COUNTERS_H
#define GATEHOUSE_COUNTERS_H

#include <stdint.h>
#include <stdlib.h>
#include "wire.h"
#include <string.h>
#include <time.h>

#define MAX_BUCKETS 32
/* How much of an ErrorResponse is kept to find its SQLSTATE ('S', 'V' and 'C' come first). */
#define EBUF 256

/* Allocated at a session's first observation: an idle client holds none (2 x 280 bytes otherwise). */
typedef struct {
  double counts[MAX_BUCKETS + 1];
  double sum, count;
} hist_t;

typedef struct {
  unsigned char hdr[5];
  int hdr_off;
  int in_body;
  unsigned char type;
  uint32_t remain;
  unsigned char ebuf[EBUF];
  uint32_t elen;
  uint32_t blen; /* the current message's body length */
  int broken;
} scan_t;

typedef struct {
  double bytes_in, bytes_out, queries, xacts, query_us, xact_us;
  double last_request; /* epoch milliseconds (SHOW CLIENTS request_time) */
  double busy_since, xact_since; /* monotonic milliseconds; 0: idle, no open transaction */
  unsigned char status; /* the last ReadyForQuery's status byte; 0: none yet (the login's was 'I') */
  hist_t *qh, *xh; /* NULL until the first query's and transaction's end; freed by counters_free */
  scan_t sc;
  /* When set, each ParameterStatus's body (NULL when longer than EBUF) goes here (native/txplane.h). */
  void (*on_ps)(void *ctx, const unsigned char *body, size_t len);
} counters_t;

/* Called with an ErrorResponse's SQLSTATE. */
typedef void (*sqlstate_fn)(void *ctx, const char *sqlstate);

static double counter_buckets[MAX_BUCKETS];
static int counter_nbuckets = 0;

static double mono_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static double epoch_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* The layout counters_fill writes (src/session/native-relay.ts reads it back). */
static size_t counters_len(void) { return 7 + 2 * (2 + counter_nbuckets + 1); }
#define COUNTERS_MAX_LEN (7 + 2 * (2 + MAX_BUCKETS + 1))

/* Out of memory, the observation is not counted in the histogram (the counters above still are). */
static void observe(hist_t **hp, double seconds) {
  if (!*hp && !(*hp = calloc(1, sizeof **hp))) return;
  hist_t *h = *hp;
  int i = 0;
  while (i < counter_nbuckets && seconds > counter_buckets[i]) i++;
  h->counts[i] += 1;
  h->sum += seconds;
  h->count += 1;
}

static void counters_fill(const counters_t *c, double *o) {
  o[0] = c->bytes_in; o[1] = c->bytes_out; o[2] = c->queries; o[3] = c->xacts;
  o[4] = c->query_us; o[5] = c->xact_us; o[6] = c->last_request;
  const hist_t *hs[2] = {c->qh, c->xh};
  size_t k = 7;
  for (int j = 0; j < 2; j++) {
    o[k++] = hs[j] ? hs[j]->sum : 0;
    o[k++] = hs[j] ? hs[j]->count : 0;
    for (int i = 0; i <= counter_nbuckets; i++) o[k++] = hs[j] ? hs[j]->counts[i] : 0;
  }
}

/* Before the session's memory goes. */
static void counters_free(counters_t *c) {
  free(c->qh);
  free(c->xh);
  c->qh = c->xh = NULL;
}

/* counters_fill, then the sums start again from zero (the transaction plane hands JavaScript what accrued since it last asked). */
static void counters_take(counters_t *c, double *o) {
  counters_fill(c, o);
  c->bytes_in = c->bytes_out = c->queries = c->xacts = c->query_us = c->xact_us = 0;
  if (c->qh) memset(c->qh, 0, sizeof *c->qh);
  if (c->xh) memset(c->xh, 0, sizeof *c->xh);
}

/* n bytes the client sent: the first after an idle server starts a query. */
static void counters_client(counters_t *c, size_t n) {
  c->bytes_in += n;
  if (c->busy_since == 0) {
    c->busy_since = mono_ms();
    c->last_request = epoch_ms();
  }
}

static void ready_for_query(counters_t *c, unsigned char status) {
  double now = mono_ms();
  c->queries += 1;
  double start = c->busy_since == 0 ? now : c->busy_since;
  c->busy_since = 0;
  c->status = status;
  double ms = now - start;
  c->query_us += ms * 1000;
  observe(&c->qh, ms / 1000);
  if (c->xact_since == 0) c->xact_since = start;
  if (status != 'I') return;
  double xms = now - c->xact_since;
  c->xact_since = 0;
  c->xacts += 1;
  c->xact_us += xms * 1000;
  observe(&c->xh, xms / 1000);
}

/* ErrorResponse: report the 'C' field when it is within the captured head. */
static void error_response(counters_t *c, sqlstate_fn fn, void *ctx) {
  uint32_t pos = 0;
  const unsigned char *b = c->sc.ebuf;
  while (pos < c->sc.elen && b[pos] != 0) {
    unsigned char field = b[pos];
    uint32_t end = pos + 1;
    while (end < c->sc.elen && b[end] != 0) end++;
    if (end >= c->sc.elen) return;
    if (field == 'C') {
      char code[16];
      uint32_t n = end - pos - 1;
      if (n >= sizeof code) n = sizeof code - 1;
      memcpy(code, b + pos + 1, n);
      code[n] = 0;
      fn(ctx, code);
      return;
    }
    pos = end + 1;
  }
}

static void message_done(counters_t *c, sqlstate_fn fn, void *ctx) {
  if (c->sc.type == 'Z' && c->sc.elen >= 1) ready_for_query(c, c->sc.ebuf[0]);
  else if (c->sc.type == 'E') error_response(c, fn, ctx);
  else if (c->sc.type == 'S' && c->on_ps) c->on_ps(ctx, c->sc.blen <= EBUF ? c->sc.ebuf : NULL, c->sc.elen);
  c->sc.in_body = 0;
  c->sc.hdr_off = 0;
}

/* n bytes the server sent. */
static void counters_server(counters_t *c, const unsigned char *p, size_t n, sqlstate_fn fn, void *ctx) {
  c->bytes_out += n;
  scan_t *s = &c->sc;
  size_t i = 0;
  while (i < n && !s->broken) {
    if (!s->in_body) {
      s->hdr[s->hdr_off++] = p[i++];
      if (s->hdr_off < 5) continue;
      uint32_t len = be32(s->hdr + 1);
      /* A stream the scan cannot follow is still relayed; only the counting stops (as in counters.ts). */
      if (len < 4) {
        s->broken = 1;
        break;
      }
      s->type = s->hdr[0];
      s->remain = len - 4;
      s->blen = len - 4;
      s->elen = 0;
      s->in_body = 1;
      if (s->remain == 0) message_done(c, fn, ctx);
      continue;
    }
    size_t take = n - i < s->remain ? n - i : s->remain;
    if ((s->type == 'Z' || s->type == 'E' || (s->type == 'S' && c->on_ps)) && s->elen < EBUF) {
      size_t k = take < EBUF - s->elen ? take : EBUF - s->elen;
      memcpy(s->ebuf + s->elen, p + i, k);
      s->elen += k;
    }
    i += take;
    s->remain -= take;
    if (s->remain == 0) message_done(c, fn, ctx);
  }
}

#endif
