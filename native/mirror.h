/*
 * The audit mirror of a native session (issue 6): the relay forwards every byte at once, and
 * copies the messages the statement tap reads (src/audit/tap.ts) for JavaScript, which records
 * them after the fact. Only sessions whose statements are recorded and that no policy rule
 * governs are mirrored: a policy must see a statement before the server does, so those sessions
 * stay on the JavaScript tapped relay.
 *
 * Copied: from the client Query, Parse, Bind, Execute, Close, Sync and FunctionCall; from the
 * server CommandComplete, EmptyQueryResponse, PortalSuspended, ErrorResponse and ReadyForQuery.
 * Everything else (DataRow, CopyData, ...) is only stepped over. Each copy is an entry:
 *
 *   u8 direction (0 client->server, 1 server->client) | f64 LE monotonic ms when read | the message
 *   (type byte, int32 length, body)
 *
 * or, for a simple Query answered by one CommandComplete, a prebuilt record of the three (direction
 * 2, fastrec.h).
 *
 * Entries are handed over whole (a message split across reads waits for its last byte). While
 * more than MIRROR_LIMIT bytes are copied and not yet consumed by JavaScript, the relay stops
 * reading from the client (backpressure: the record is never dropped, the client waits).
 *
 * Framing is PostgreSQL's own (type + length including itself), so the server and this scanner
 * cut the stream at the same places. A length PostgreSQL would refuse (under 4 or over 1 GiB - 1,
 * PQ_LARGE_MESSAGE_LIMIT) marks the stream broken: the relay then ends the session, as the
 * JavaScript relay does on a protocol violation, rather than forward what it can no longer record.
 *
 * A transaction-mode client on the native plane (txplane.h) is mirrored the same way: what it
 * carries, as it carries it, under the client's id.
 *
 * Header-only: included by relay.c alone, which calls these with its mutex held.
 */
#ifndef GATEHOUSE_MIRROR_H
#define GATEHOUSE_MIRROR_H

#include <stdint.h>
#include "wire.h"
#include "fastrec.h"
#include <stdlib.h>
#include <string.h>

/* Copied and not yet consumed bytes above which the client is no longer read. */
#define MIRROR_LIMIT (4u << 20)
/* PostgreSQL's PQ_LARGE_MESSAGE_LIMIT. */
#define MIRROR_MAX_MESSAGE 0x3fffffffu
#define MIRROR_ENTRY_HEAD 9

typedef struct {
  unsigned char hdr[5];
  int hdr_off;
  int in_body;
  int copying;
  uint32_t remain;
  bytes_t stage; /* an entry whose message is still arriving */
} mscan_t;

typedef struct {
  double id;       /* the relay's or the plane client's id: the hand-over names it */
  bytes_t out;     /* whole entries, in the order their messages completed */
  size_t inflight; /* handed to JavaScript, not yet consumed */
  mscan_t sc[2];
  int dirty;       /* in this batch's list of mirrors with entries to hand over */
  int broken;
  fast_t fast;     /* prebuilt statement records (fastrec.h) */
} mirror_t;

/* A buffer that grew past this for one large message is given back once emptied. */
#define MIRROR_KEEP_BYTES (64u << 10)

static void bytes_emptied(bytes_t *b) {
  b->len = 0;
  if (b->cap > MIRROR_KEEP_BYTES) {
    free(b->buf);
    b->buf = NULL;
    b->cap = 0;
  }
}

static int mirror_wanted(int dir, unsigned char type) {
  if (dir == 0) return type == 'Q' || type == 'P' || type == 'B' || type == 'E' || type == 'C' || type == 'S' || type == 'F';
  return type == 'C' || type == 'I' || type == 's' || type == 'E' || type == 'Z';
}

static void entry_head(unsigned char head[MIRROR_ENTRY_HEAD + 5], int dir, double when, const unsigned char hdr[5]) {
  head[0] = (unsigned char)dir;
  memcpy(head + 1, &when, sizeof when); /* little-endian hosts only: x86-64 and arm64 Linux */
  memcpy(head + MIRROR_ENTRY_HEAD, hdr, 5);
}

/*
 * n bytes read in direction dir at monotonic time now. A message that is whole in this read goes
 * straight to out; one that is not is staged and moves to out when its last byte comes, so the
 * two directions' entries never interleave mid-message. Returns 1 when out grew.
 */
static int mirror_scan(mirror_t *m, int dir, const unsigned char *p, size_t n, double now) {
  mscan_t *s = &m->sc[dir];
  int grew = 0;
  size_t i = 0;
  while (i < n && !m->broken) {
    if (!s->in_body) {
      s->hdr[s->hdr_off++] = p[i++];
      if (s->hdr_off < 5) continue;
      uint32_t len = be32(s->hdr + 1);
      if (len < 4 || len > MIRROR_MAX_MESSAGE) {
        m->broken = 1;
        break;
      }
      s->remain = len - 4;
      s->in_body = 1;
      s->copying = mirror_wanted(dir, s->hdr[0]);
      if (s->copying) {
        unsigned char head[MIRROR_ENTRY_HEAD + 5];
        entry_head(head, dir, now, s->hdr);
        if (n - i >= s->remain) {
          /* The common case: the whole message is in this read (never half an entry: cut back on failure). */
          size_t had = m->out.len;
          if (!bytes_append(&m->out, head, sizeof head) || !bytes_append(&m->out, p + i, s->remain)) {
            m->out.len = had;
            m->broken = 1;
          } else {
            fast_entry(&m->fast, &m->out, had);
          }
          i += s->remain;
          s->remain = 0;
          grew = 1;
        } else if (!bytes_append(&s->stage, head, sizeof head)) {
          m->broken = 1;
        }
      }
    } else {
      size_t take = n - i < s->remain ? n - i : s->remain;
      if (s->copying && !bytes_append(&s->stage, p + i, take)) m->broken = 1;
      i += take;
      s->remain -= (uint32_t)take;
      if (s->remain == 0 && s->copying && !m->broken) {
        size_t had = m->out.len;
        if (!bytes_append(&m->out, s->stage.buf, s->stage.len)) m->broken = 1;
        else fast_entry(&m->fast, &m->out, had);
        bytes_emptied(&s->stage);
        grew = 1;
      }
    }
    if (s->in_body && s->remain == 0) {
      s->in_body = 0;
      s->hdr_off = 0;
    }
  }
  return grew;
}

/* More than MIRROR_LIMIT bytes copied and not yet consumed: its client is not read (NULL: not mirrored). */
static int mirror_over(const mirror_t *m) {
  return m && m->out.len + m->inflight > MIRROR_LIMIT;
}

/* JavaScript consumed n handed-over bytes. */
static void mirror_consumed(mirror_t *m, size_t n) {
  m->inflight -= n < m->inflight ? n : m->inflight;
}

static void mirror_free(mirror_t *m) {
  if (!m) return;
  free(m->out.buf);
  free(m->sc[0].stage.buf);
  free(m->sc[1].stage.buf);
  free(m);
}

#endif
