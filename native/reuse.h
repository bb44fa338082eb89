/*
 * Session-mode server reuse (PgBouncer's): when a client leaves while its server is idle, the
 * relay keeps the server connection, runs server_reset_query on it (below) and hands its
 * descriptor back to JavaScript with the reply, which gives it to the next client of the same pool
 * (src/pool/session-servers.ts).
 *
 * The client's stream is followed header by header, as counters.h follows the server's:
 * - requests that each end in one ReadyForQuery (Query, Sync, FunctionCall) are counted, so the
 *   server is idle when as many ReadyForQuery came back, the last with status 'I';
 * - extended-protocol messages not yet closed by a Sync mark the server busy (its implicit
 *   transaction is open);
 * - a Terminate at a message start is where the client leaves: with the server idle it is not
 *   forwarded (the server stays logged in), else it goes on and the server ends as before.
 *
 * Header-only: included by relay.c alone, which calls these with its mutex held.
 */
#ifndef GATEHOUSE_REUSE_H
#define GATEHOUSE_REUSE_H
#include <stddef.h>
#include <stdint.h>
#include "wire.h"

typedef struct {
  int enabled;         /* the session asked for reuse (session mode, not replication) */
  int broken;          /* the client's stream could not be followed (or went past a Terminate): no reuse */
  unsigned char hdr[5];
  int hdr_off;
  uint32_t remain;     /* body bytes of the current message still to come */
  double requests;     /* Query, Sync and FunctionCall messages sent */
  int unsynced;        /* Parse, Bind, Execute, Describe, Close or Flush since the last Sync */
} reuse_t;

/*
 * Follows n client bytes up to a Terminate. Returns the offset of its first byte, or -1 when there
 * is none. Unless the caller keeps the server (it does not forward the Terminate), it must set
 * `broken`: the server gets the Terminate and ends.
 */
static long reuse_client(reuse_t *u, const unsigned char *p, size_t n) {
  size_t i = 0;
  while (i < n && !u->broken) {
    if (u->remain > 0) {
      size_t take = n - i < u->remain ? n - i : u->remain;
      i += take;
      u->remain -= (uint32_t)take;
      continue;
    }
    if (u->hdr_off == 0 && p[i] == 'X') return (long)i;
    u->hdr[u->hdr_off++] = p[i++];
    if (u->hdr_off < 5) continue;
    u->hdr_off = 0;
    uint32_t len = be32(u->hdr + 1);
    if (len < 4) {
      u->broken = 1;
      break;
    }
    u->remain = len - 4;
    switch (u->hdr[0]) {
      case 'Q': case 'F': u->requests += 1; break;
      case 'S': u->requests += 1; u->unsynced = 0; break;
      case 'P': case 'B': case 'E': case 'D': case 'C': case 'H': u->unsynced = 1; break;
      default: break; /* CopyData/CopyDone/CopyFail belong to a request already counted */
    }
  }
  return -1;
}

/*
 * Whether the server is idle between requests: every request answered (the server's ReadyForQuery
 * count is `answered`, its last status `status`), nothing unsynced, both streams at a message
 * boundary (`server_at_boundary`), and nothing pending toward it.
 */
static int reuse_idle(const reuse_t *u, double answered, unsigned char status, int server_at_boundary, size_t pending) {
  /* Status 0: no ReadyForQuery since the relay started; the login's (or the reset's) was 'I'. */
  return u->enabled && !u->broken && u->hdr_off == 0 && u->remain == 0 && !u->unsynced && u->requests == answered &&
         (status == 'I' || (status == 0 && answered == 0)) && server_at_boundary && pending == 0;
}

/*
 * server_reset_query, run here (no JavaScript round trip per login): once the client has left the
 * server idle, the relay sends the query and reads the reply until its ReadyForQuery, then passes
 * the reply with RELAY_EV_END. JavaScript judges it (an ErrorResponse, a status other than 'I' or
 * bytes after the ReadyForQuery mean the server is not kept) and takes the ParameterStatus values
 * DISCARD ALL reported. No reply within the timeout (server_connect_timeout), or the server gone:
 * the server closes.
 */
#define RESET_MAX (64u << 10) /* a reply longer than this is not a reset's: the server closes */

typedef struct {
  unsigned char *query; /* the Query message; NULL: no reset query, the server is passed on at once */
  size_t query_len;
  double timeout_ms;
  bytes_t answer; /* the reply so far */
  int state; /* 0: not started; 1: waiting for the reply; 2: answered */
} reset_t;

/* 1 once the reply holds a whole ReadyForQuery, 0 while more is to come, -1 when it cannot be a reply. */
static int reset_answered(const reset_t *z) {
  const bytes_t *a = &z->answer;
  size_t i = 0;
  while (a->len - i >= 5) {
    uint32_t len = be32(a->buf + i + 1);
    if (len < 4 || len > RESET_MAX) return -1;
    if (a->len - i - 1 < len) return 0;
    if (a->buf[i] == 'Z') return 1;
    i += 1 + (size_t)len;
  }
  return 0;
}

/* Appends n bytes to the reply; 0 when it would pass RESET_MAX or memory ran out. */
static int reset_append(reset_t *z, const unsigned char *p, size_t n) {
  return z->answer.len + n <= RESET_MAX && bytes_append(&z->answer, p, n);
}

/* Takes a copy of the Query message (n == 0: no reset); 0 when memory ran out. */
static int reset_set(reset_t *z, const unsigned char *query, size_t n, double timeout_ms) {
  z->timeout_ms = timeout_ms;
  if (n == 0) return 1;
  if (!(z->query = malloc(n))) return 0;
  memcpy(z->query, query, n);
  z->query_len = n;
  return 1;
}

static void reset_free(reset_t *z) {
  free(z->query);
  free(z->answer.buf);
  z->query = NULL;
  z->answer = (bytes_t){0};
}

#endif
