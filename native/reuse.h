/*
 * Session-mode server reuse (PgBouncer's): when a client leaves while its server is idle, the
 * relay keeps the server connection and hands its descriptor back to JavaScript, which runs
 * server_reset_query and gives it to the next client of the same pool (src/pool/session-servers.ts).
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

#endif
