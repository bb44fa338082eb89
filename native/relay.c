/*
 * gatehouse's native session relay: after authentication and the server login, session.ts hands
 * the two plaintext sockets' file descriptors to one relay thread that moves bytes with epoll and
 * plain read()/send(), below Node's streams and libuv (bench/README.md, "Where gatehouse's CPU
 * goes": Node's per-I/O cost, not gatehouse's JavaScript, was the gap to PgBouncer).
 *
 * One thread owns every relay; epoll is level-triggered. Per direction one 64 KiB buffer, read
 * into only when empty and written out at once: a partial write stops reading the source until
 * the destination is writable again (backpressure, bounded memory). End semantics follow
 * src/session/relay.ts: the client gone closes the server (after what the client sent last); the
 * server gone flushes what is pending to the client (a last FATAL), then closes it; relay_close()
 * flushes, sends gatehouse's own last bytes, then closes both; a close that cannot flush within a
 * second is forced. Nothing here may take the process down: an error ends that relay only.
 *
 * A TLS client (tls_engine: native) has a tls_conn_t (tls.h) as its client side: the thread runs
 * its handshake, then it is a door for JavaScript's authentication (door.h), then a session relay.
 * Its reads and writes can each wait for the other readiness (TLS_WANT_IN/OUT), and decrypted
 * bytes OpenSSL holds are read without an epoll event (drain_tls); its end sends close_notify.
 *
 * The handshake's CPU runs on a second thread, "gatehouse-tls" (handshake.h).
 *
 * Locking: one mutex, held by the thread while it handles a batch of events and by every
 * relay_* call; a relay is freed only by the thread, after the batch that ended it. The TLS
 * thread's two queues have their own lock (handshake.h).
 */
#define _GNU_SOURCE /* pthread_setname_np, pthread_setaffinity_np */
#include "relay.h"
#include "counters.h"
#include "mirror.h"
#include "reuse.h"
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define SLOT_BITS 20
#define MAX_SLOTS (1u << SLOT_BITS)
#define CLOSE_GRACE_MS 1000.0

/*
 * A TLS client's relay (relay_tls_accept) starts with the handshake, then is the door: its server
 * side is one end of a socketpair whose other end JavaScript reads the startup and authentication
 * from, as from a plaintext socket. relay_attach() swaps the real server in (PHASE_RELAY).
 */
enum { PHASE_RELAY = 0, PHASE_HANDSHAKE = 1, PHASE_DOOR = 2 };

enum { C2S = 0, S2C = 1 };
enum { CLIENT = 0, SERVER = 1 };

typedef struct relay {
  double id;
  int fd[2];
  unsigned char *buf[2];
  size_t off[2], len[2];
  unsigned char *tail; /* bytes gatehouse sends the client before closing (a 57P01, say) */
  size_t tail_off, tail_len;
  uint32_t mask[2];
  int closing;     /* no more reads; flush, then close */
  int dead_dst[2]; /* per direction: its destination failed, drop what is pending */
  int ended;
  double deadline;
  const char *reason;
  counters_t c;
  mirror_t *mir; /* the audit mirror (mirror.h); NULL: not mirrored */
  int held;      /* JavaScript asked that the client not be read (relay_hold) */
  tls_conn_t *tls; /* the client speaks TLS (tls.h); NULL: plaintext */
  int phase;
  reuse_t ru;  /* session-mode server reuse (reuse.h) */
  int keep;    /* the client left with the server idle: its descriptor goes back to JavaScript */
  reset_t rs;  /* server_reset_query before it does (reuse.h) */
  int hs_busy; /* a handshake step is with the TLS thread: its descriptors are out of epoll */
  int hs_rc;   /* that step's tls_handshake() result */
  struct relay *hs_next; /* in the TLS thread's queues */
} relay_t;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int epfd = -1, wakefd = -1;
static pthread_t thread;
static int started = 0, stopping = 0;
static relay_event_fn emit;
static relay_t **slots = NULL;
static uint32_t nslots = 0, slot_hint = 0;
static double generation = 0;
enum { CMD_CLOSE = 0, CMD_INTEREST = 1, CMD_SYNC = 2 };
typedef struct {
  double id;
  int op;
} command_t;
static command_t *commands = NULL; /* requests from JavaScript, handled by the thread */
static size_t ncommands = 0, capcommands = 0;
static int syncs = 0; /* relay_sync() requests answered after this batch's mirror flush */
static double mirror_since = 0; /* monotonic ms of the oldest entry not yet handed over; 0: none */
static size_t mirror_bytes = 0; /* entry bytes not yet handed over */
static mirror_t **mdirty = NULL; /* mirrors (of relays and plane clients) with entries to hand over after this batch */
static size_t nmdirty = 0, capmdirty = 0;
static int mirror_events = 0; /* RELAY_EV_MIRROR blobs handed over and not yet returned (relay_returned) */
static int nclosing = 0;
static relay_t **dead = NULL; /* ended in this batch, freed after it */
static size_t ndead = 0, capdead = 0;
static void take_returned(void); /* below, with relay_returned() */
static void tx_event(struct epoll_event *e); /* the transaction plane (txplane.h, included at the end) */
static void tx_consumed(double id, size_t n);
static int tx_hold(double id, int on);
static void tx_free_dead(void);
static int hs_submit(relay_t *r);  /* the TLS thread (below) */
static void hs_return(void);

static void on_sqlstate(void *ctx, const char *sqlstate) {
  (void)emit(RELAY_EV_SQLSTATE, ((relay_t *)ctx)->id, sqlstate, NULL, NULL, 0);
}

/* --- the relay ----------------------------------------------------------------------------- */

static relay_t *lookup(double id) {
  uint32_t slot = (uint32_t)((uint64_t)id & (MAX_SLOTS - 1));
  if (slot >= nslots || !slots[slot] || slots[slot]->id != id) return NULL;
  return slots[slot];
}

static void set_reason(relay_t *r, const char *why) {
  if (!r->reason) r->reason = why;
}

/* Mirrored bytes JavaScript has not consumed exceed the limit: the client waits. */
static int mirror_full(const relay_t *r) {
  return mirror_over(r->mir);
}

/* The epoll interest each fd needs now (none while the TLS thread has it: its descriptors are out of epoll). */
static void update_interest(relay_t *r) {
  if (r->hs_busy || r->rs.state == 1) return; /* a reset watches its server alone (reset_begin) */
  for (int side = 0; side < 2; side++) {
    int src_dir = side == CLIENT ? C2S : S2C; /* the direction this fd feeds */
    int dst_dir = side == CLIENT ? S2C : C2S; /* the direction this fd drains */
    uint32_t m = 0;
    int paused = side == CLIENT && (r->held || mirror_full(r));
    int in = !r->closing && r->len[src_dir] == 0 && !paused;
    int out = r->len[dst_dir] > 0 || (side == CLIENT && r->tail_off < r->tail_len);
    out = out && !r->dead_dst[dst_dir];
    if (r->phase == PHASE_HANDSHAKE) {
      /* The socketpair is watched for JavaScript hanging up only (EPOLLHUP needs no interest). */
      if (side == CLIENT && !r->closing) m = r->tls->hs_want == TLS_WANT_OUT ? EPOLLOUT : EPOLLIN;
    } else if (side == CLIENT && r->tls) {
      /* A TLS read may need to write (a key update's answer) and a write to read. */
      if (in) m |= r->tls->rd_want == TLS_WANT_OUT ? EPOLLOUT : EPOLLIN;
      if (out) m |= r->tls->wr_want == TLS_WANT_IN ? EPOLLIN : EPOLLOUT;
    } else {
      if (in) m |= EPOLLIN;
      if (out) m |= EPOLLOUT;
    }
    if (m != r->mask[side]) {
      struct epoll_event ev = {.events = m, .data.u64 = ((uint64_t)(uintptr_t)r) | (uint64_t)side};
      epoll_ctl(epfd, EPOLL_CTL_MOD, r->fd[side], &ev);
      r->mask[side] = m;
    }
  }
}

static void begin_closing(relay_t *r) {
  if (r->closing) return;
  r->closing = 1;
  r->deadline = mono_ms() + CLOSE_GRACE_MS;
  nclosing++;
}

/* The server is between requests with nothing pending toward it (reuse.h): it can serve another client. */
static int server_idle(const relay_t *r) {
  const scan_t *s = &r->c.sc;
  return r->phase == PHASE_RELAY && !r->dead_dst[C2S] &&
         reuse_idle(&r->ru, r->c.queries, r->c.status, !s->broken && !s->in_body && s->hdr_off == 0, r->len[C2S]);
}

/* A side failed or ended: what to say, and which pending bytes can no longer be delivered. */
static void side_gone(relay_t *r, int side, int is_error) {
  if (side == CLIENT && !r->closing && server_idle(r)) r->keep = 1;
  if (side == CLIENT) set_reason(r, is_error ? "client error" : "client closed");
  else set_reason(r, is_error ? "server error" : "server closed");
  /* Bytes for the side that is gone are dropped; the other side still gets what is pending
     (a last FATAL from the server reaches the client; the client's Terminate reaches the server). */
  r->dead_dst[side == CLIENT ? S2C : C2S] = 1;
  if (side == SERVER) r->len[C2S] = 0;
  else { r->len[S2C] = 0; r->tail_len = 0; }
  begin_closing(r);
}

/*
 * A door (a pooled TLS client, often idle for long) keeps no relay buffer while it has nothing
 * pending: 128 KiB per idle client would be more than Node's TLSSocket costs. pump() takes one.
 */
static void idle_buffer(relay_t *r, int dir) {
  free(r->buf[dir]);
  r->buf[dir] = NULL;
}

/* One send() to a non-blocking socket: the bytes written, 0 when it must wait, -1 when it failed. */
static ssize_t send_some(int fd, const unsigned char *p, size_t n) {
  for (;;) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w > 0) return w;
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    return -1;
  }
}

/* One write to `side`: the bytes written, 0 when it must wait, -1 when the side failed. */
static ssize_t write_side(relay_t *r, int side, const unsigned char *p, size_t n) {
  if (side == CLIENT && r->tls) {
    ssize_t w = tls_write(r->tls, p, n);
    return w > 0 ? w : w == TLS_AGAIN ? 0 : -1;
  }
  return send_some(r->fd[side], p, n);
}

/* Writes what is pending in `dir`; returns 0 when all of it went, 1 when some waits, -1 on error. */
static int flush_dir(relay_t *r, int dir) {
  int dst = dir == C2S ? SERVER : CLIENT;
  if (r->dead_dst[dir]) { r->len[dir] = 0; return 0; }
  while (r->len[dir] > 0) {
    ssize_t w = write_side(r, dst, r->buf[dir] + r->off[dir], r->len[dir]);
    if (w > 0) { r->off[dir] += w; r->len[dir] -= w; continue; }
    if (w == 0) return 1;
    side_gone(r, dst, 1);
    return -1;
  }
  r->off[dir] = 0;
  if (r->phase != PHASE_RELAY) idle_buffer(r, dir);
  while (dir == S2C && r->tail_off < r->tail_len) {
    ssize_t w = write_side(r, CLIENT, r->tail + r->tail_off, r->tail_len - r->tail_off);
    if (w > 0) { r->tail_off += w; continue; }
    if (w == 0) return 1;
    side_gone(r, CLIENT, 1);
    return -1;
  }
  return 0;
}

/*
 * Hands every dirty mirror's entries to JavaScript in one event: per relay f64 id, u32 length
 * (both little-endian), then its entries (mirror.h). The bytes count as in flight until
 * relay_returned().
 */
static void mirror_flush(void) {
  if (nmdirty == 0) return;
  mirror_since = 0;
  mirror_bytes = 0;
  size_t total = 0;
  /* A Query waiting for its answer, and what follows it, stay (fastrec.h): they may become one entry. */
  for (size_t i = 0; i < nmdirty; i++) {
    size_t give = fast_ready(&mdirty[i]->fast, mdirty[i]->out.len);
    if (give > 0) total += 12 + give;
  }
  unsigned char *blob = total > 0 ? malloc(total) : NULL;
  if (total > 0 && !blob) return; /* out of memory: the entries stay and go with a later flush */
  size_t at = 0;
  for (size_t i = 0; i < nmdirty; i++) {
    mirror_t *m = mdirty[i];
    size_t give = fast_ready(&m->fast, m->out.len);
    if (give == 0) continue;
    uint32_t len = (uint32_t)give;
    memcpy(blob + at, &m->id, 8);
    memcpy(blob + at + 8, &len, 4);
    memcpy(blob + at + 12, m->out.buf, give);
    at += 12 + give;
  }
  if (total > 0 && !emit(RELAY_EV_MIRROR, 0, "", NULL, blob, total)) {
    free(blob); /* not queued: the entries stay and go with a later flush */
    mirror_since = mono_ms();
    return;
  }
  if (total > 0) mirror_events += 1;
  for (size_t i = 0; i < nmdirty; i++) {
    mirror_t *m = mdirty[i];
    size_t give = fast_ready(&m->fast, m->out.len);
    m->inflight += give;
    if (give == m->out.len) {
      bytes_emptied(&m->out);
    } else if (give > 0) {
      memmove(m->out.buf, m->out.buf + give, m->out.len - give);
      m->out.len -= give;
      fast_shift(&m->fast, give);
    }
    /* Unlisted even when entries stay: the answer (or a release) lists it again. */
    m->dirty = 0;
  }
  nmdirty = 0;
}

/* Lists a mirror for the next hand-over; 0 when out of memory. */
static int mark_dirty(mirror_t *m) {
  if (m->dirty) return 1;
  if (nmdirty == capmdirty) {
    size_t c = capmdirty ? capmdirty * 2 : 64;
    mirror_t **d = realloc(mdirty, c * sizeof *d);
    if (!d) return 0;
    mdirty = d;
    capmdirty = c;
  }
  mdirty[nmdirty++] = m;
  m->dirty = 1;
  return 1;
}

/* A pending Query's entries go to JavaScript as they are (a relay's end, relay_sync()). */
static int fast_release(mirror_t *m) {
  if (!m || !m->fast.pending) return 1;
  m->fast.pending = 0;
  if (mirror_since == 0) mirror_since = mono_ms();
  return mark_dirty(m);
}

/* Takes a mirror that is going away off the hand-over list (listed only if its last flush could not be queued). */
static void mirror_unlist(mirror_t *m) {
  for (size_t i = 0; m && m->dirty && i < nmdirty; i++) {
    if (mdirty[i] == m) mdirty[i] = mdirty[--nmdirty];
  }
}

/* Copies what the tap reads out of n bytes read (or carried) in `dir`; 0 when the stream broke. */
static int mirror_take(mirror_t *m, int dir, const unsigned char *p, size_t n) {
  size_t had = m->out.len;
  double now = mono_ms();
  m->fast.built = 0;
  int grew = mirror_scan(m, dir, p, n, now);
  if (grew && !mark_dirty(m)) m->broken = 1; /* out of memory: better no session than one not recorded */
  if (m->broken) {
    /*
     * None of this read is forwarded, so none of it is recorded either (but an entry prebuilt in
     * it stays whole: its Query and result were forwarded before).
     */
    m->out.len = m->fast.built ? m->fast.built_end : had;
    m->fast.pending = 0;
    m->fast.on = 0;
    return 0;
  }
  if (grew && m->out.len > had) {
    mirror_bytes += m->out.len - had;
  }
  if (grew && mirror_since == 0) mirror_since = now;
  return 1;
}

/* mirror_take for a relay's read; 0 when the stream broke (the caller ends the relay). */
static int mirror_read(relay_t *r, int dir, const unsigned char *p, size_t n) {
  return !r->mir || mirror_take(r->mir, dir, p, n);
}

/*
 * Whether to hand the entries over after this batch. Each hand-over wakes the JavaScript thread,
 * so entries linger up to MIRROR_LINGER_MS (or MIRROR_LINGER_BYTES) and go in one event: at
 * thousands of statements a second that is one wake-up per 50 ms instead of one per batch. Each
 * hand-over has a large fixed cost on this 2-core VM (the wake-up and a cold JavaScript thread):
 * 1 ms cost the JavaScript thread about 110 us per TPC-B transaction, 5 ms 75-93; with prebuilt
 * records, fastrec.h, 5 ms 64-73 and 10 ms 57-61 at saturation (bench/README.md, session 17); at
 * a fixed 1,200 TPC-B transactions a second, 10 ms 68-80, 20 ms 53-57 and 50 ms 42-43 (session
 * 18). Records are not durable before the sink's fsync anyway (`fsync: interval`, 1 s).
 * Records keep the times the messages were read; only their writing waits.
 *
 * And only one hand-over is in flight: the next waits until JavaScript has returned the last
 * (relay_returned, which the addon calls from the event loop's check phase, after that turn's
 * other I/O). Node's threadsafe function runs queued calls back to back, up to 1,000 in one turn,
 * while more keep arriving: when recording a millisecond took JavaScript a millisecond or more
 * (2 shared cores under load), a hand-over every millisecond kept the event loop in that loop for
 * seconds, and the audit file's writes, timers and logins all waited (the sink's queue grew to
 * 90,000 records). Entries read meanwhile go in the next hand-over, which is larger. A relay's end
 * and relay_sync() still flush at once: their events must follow their entries.
 */
#define MIRROR_LINGER_MS 50.0
#define MIRROR_LINGER_BYTES (256u << 10)
static int mirror_due(double now) {
  if (nmdirty == 0) return 0;
  if (syncs > 0) return 1;
  return mirror_events == 0 && (mirror_bytes >= MIRROR_LINGER_BYTES || now - mirror_since >= MIRROR_LINGER_MS);
}

/*
 * epoll_wait's timeout: until the lingering entries are due (at least 1 ms; none while a
 * hand-over is in flight: its return wakes the thread), a closing relay's check, or none (lock held).
 */
static int wait_ms(void) {
  int ms = nclosing > 0 ? 100 : -1;
  if (nmdirty > 0 && mirror_events == 0) {
    double left = MIRROR_LINGER_MS - (mono_ms() - mirror_since);
    int l = left <= 1 ? 1 : (int)left;
    if (ms < 0 || l < ms) ms = l;
  }
  return ms;
}

/* One read from `side`: the bytes read, 0 when there were none (EAGAIN), -1 when the side is gone. */
static ssize_t read_side(relay_t *r, int side, unsigned char *buf) {
  ssize_t n;
  if (side == CLIENT && r->tls) {
    n = tls_read(r->tls, buf, RELAY_BUF_SIZE);
    if (n > 0 || n == TLS_AGAIN) return n > 0 ? n : 0;
    side_gone(r, side, n == TLS_FAILED);
    return -1;
  }
  do n = read(r->fd[side], buf, RELAY_BUF_SIZE);
  while (n < 0 && errno == EINTR);
  if (n > 0) return n;
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
  side_gone(r, side, n < 0);
  return -1;
}

/* One read from `side` into its direction's (empty) buffer, then an immediate write. Returns the bytes read. */
static ssize_t pump(relay_t *r, int side) {
  int dir = side == CLIENT ? C2S : S2C;
  if (r->closing || r->len[dir] > 0) return 0;
  /* Held (or its mirror is full) since the interest was set: not one more byte from the client. */
  if (side == CLIENT && (r->held || mirror_full(r))) return 0;
  if (!r->buf[dir] && !(r->buf[dir] = malloc(RELAY_BUF_SIZE))) {
    set_reason(r, "out of memory");
    begin_closing(r);
    return -1;
  }
  ssize_t n = read_side(r, side, r->buf[dir]);
  if (n <= 0 && r->phase != PHASE_RELAY) idle_buffer(r, dir);
  if (n <= 0) return n;
  /* A Terminate first in what the client sent, with its server idle: the client leaves, the server stays (reuse.h). */
  if (dir == C2S && r->ru.enabled && !r->ru.broken && r->phase == PHASE_RELAY) {
    long x = reuse_client(&r->ru, r->buf[dir], (size_t)n);
    if (x == 0 && server_idle(r)) {
      side_gone(r, CLIENT, 0);
      return -1;
    }
    if (x >= 0) r->ru.broken = 1; /* the Terminate goes on: the server ends */
  }
  /* The door (before relay_attach) carries the startup and authentication: not counted. */
  if (r->phase == PHASE_DOOR) {
  } else if (dir == C2S) counters_client(&r->c, (size_t)n);
  else counters_server(&r->c, r->buf[dir], (size_t)n, on_sqlstate, r);
  if (!mirror_read(r, dir, r->buf[dir], (size_t)n)) {
    /* What cannot be recorded is not forwarded: PostgreSQL closes on such a length too. */
    set_reason(r, side == CLIENT ? "protocol violation" : "server protocol violation");
    begin_closing(r);
    return -1;
  }
  r->off[dir] = 0;
  r->len[dir] = (size_t)n;
  flush_dir(r, dir);
  return n;
}

/*
 * Closes one side once its bytes are flushed: close_notify (a TLS client), then FIN, then the
 * descriptor (gatehouse's own was closed at the handover). Already closed (-1): nothing.
 */
static void close_side(relay_t *r, int side) {
  if (r->fd[side] < 0) return;
  if (side == CLIENT && r->tls) tls_shutdown(r->tls);
  epoll_ctl(epfd, EPOLL_CTL_DEL, r->fd[side], NULL);
  shutdown(r->fd[side], SHUT_WR);
  close(r->fd[side]);
  r->fd[side] = -1;
}

/*
 * The client left its server idle and a reset query was given (reuse.h): the client side closes
 * now, the query goes out and the relay waits for the reply (reset_read) until the reset's
 * deadline. 0 when the query could not be sent whole: the server closes.
 */
static int reset_begin(relay_t *r) {
  close_side(r, CLIENT);
  if (send(r->fd[SERVER], r->rs.query, r->rs.query_len, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)r->rs.query_len) return 0;
  r->rs.state = 1;
  r->deadline = mono_ms() + r->rs.timeout_ms;
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = ((uint64_t)(uintptr_t)r) | (uint64_t)SERVER};
  epoll_ctl(epfd, EPOLL_CTL_MOD, r->fd[SERVER], &ev);
  r->mask[SERVER] = EPOLLIN;
  return 1;
}

static void finish(relay_t *r) {
  if (r->ended) return;
  if (r->keep && r->rs.query && r->rs.state == 0 && reset_begin(r)) return;
  if (r->rs.state != 2 && r->rs.query) r->keep = 0; /* the reset could not go out, had no reply in time, or the server went */
  r->ended = 1;
  if (r->closing) nclosing--;
  if (ndead == capdead) {
    size_t c = capdead ? capdead * 2 : 64;
    relay_t **d = realloc(dead, c * sizeof *d);
    if (d) { dead = d; capdead = c; }
  }
  if (ndead < capdead) dead[ndead++] = r; /* else it leaks rather than being freed too early */
  close_side(r, CLIENT); /* a reset's client side closed when it began */
  if (r->keep) epoll_ctl(epfd, EPOLL_CTL_DEL, r->fd[SERVER], NULL); /* JavaScript takes it (the last stats number) */
  else close_side(r, SERVER);
  double stats[8 + 2 * (MAX_BUCKETS + 3)];
  counters_fill(&r->c, stats);
  stats[counters_len()] = r->keep ? r->fd[SERVER] : -1;
  /* Its last statements reach JavaScript before its end does. */
  (void)fast_release(r->mir); /* (out of memory listing it: lost with the session, like any entry then) */
  if (r->mir && r->mir->dirty) mirror_flush();
  /* A kept server's reset reply goes with it (the event takes the bytes). */
  unsigned char *answer = r->keep ? r->rs.answer.buf : NULL;
  size_t alen = answer ? r->rs.answer.len : 0;
  if (answer) r->rs.answer = (bytes_t){0};
  if (!emit(RELAY_EV_END, r->id, r->reason ? r->reason : "closed", stats, answer, alen)) {
    free(answer);
    if (r->keep) close(r->fd[SERVER]);
  }
}

/* The reset's reply (reset_begin): read it all; a whole ReadyForQuery ends the relay with the server kept. */
static void reset_read(relay_t *r) {
  unsigned char buf[4096];
  for (;;) {
    ssize_t n = read(r->fd[SERVER], buf, sizeof buf);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || !reset_append(&r->rs, buf, (size_t)n)) return finish(r); /* gone, or no reset's reply: not kept */
  }
  int rc = reset_answered(&r->rs);
  if (rc > 0) r->rs.state = 2;
  if (rc != 0) finish(r);
}

static void free_relay(relay_t *r) {
  uint32_t slot = (uint32_t)((uint64_t)r->id & (MAX_SLOTS - 1));
  if (slot < nslots && slots[slot] == r) slots[slot] = NULL;
  /* Still listed only if its last flush could not be queued (out of memory): those entries are lost with it. */
  mirror_unlist(r->mir);
  free(r->buf[0]);
  free(r->buf[1]);
  free(r->tail);
  mirror_free(r->mir);
  tls_conn_free(r->tls);
  reset_free(&r->rs);
  counters_free(&r->c);
  free(r);
}

/*
 * Bytes OpenSSL has decrypted (or a direct-TLS head not yet read) are not in the socket, so epoll
 * will not report them: read them while the server side can take them.
 */
static void drain_tls(relay_t *r) {
  while (r->tls && r->phase != PHASE_HANDSHAKE && !r->ended && !r->closing && r->len[C2S] == 0 && !r->held && !mirror_full(r) &&
         tls_pending(r->tls)) {
    if (pump(r, CLIENT) <= 0) break;
  }
}

/* After any event: a closing relay whose pending bytes are out (or whose grace is over) ends. */
static void settle(relay_t *r, double now) {
  if (r->ended || r->hs_busy) return; /* the TLS thread's step comes back through hs_return(), which settles it */
  if (r->rs.state == 1) {
    if (now >= r->deadline) finish(r); /* the reset had no reply in time: the server closes */
    return;
  }
  drain_tls(r);
  if (r->closing) {
    int waiting = flush_dir(r, C2S) > 0;
    waiting |= flush_dir(r, S2C) > 0;
    if (!waiting || now >= r->deadline) return finish(r);
  }
  update_interest(r);
}

/*
 * What a handshake step's result means: 0, it waits (hs_want, which update_interest follows); 1,
 * done, its result goes to JavaScript (RELAY_EV_TLS) and the door opens; -1, it failed. A relay
 * JavaScript closed meanwhile just closes.
 */
static void handshake_result(relay_t *r, int rc) {
  if (rc == 0 || r->closing) return;
  size_t len = 0;
  unsigned char *info = rc > 0 ? tls_info(r->tls, &len) : NULL;
  if (info && emit(RELAY_EV_TLS, r->id, "", NULL, info, len)) {
    r->phase = PHASE_DOOR;
    return;
  }
  free(info);
  set_reason(r, rc > 0 ? "out of memory" : r->tls->err);
  r->dead_dst[S2C] = 1;
  begin_closing(r);
}

/* The Unix socket's error (0 for a hang-up), for a side that is not being read. */
static int socket_error(int fd) {
  int err = 0;
  socklen_t l = sizeof err;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
  return err;
}

static void handle_event(struct epoll_event *e) {
  if (e->data.u64 & 2) return tx_event(e);
  relay_t *r = (relay_t *)(uintptr_t)(e->data.u64 & ~(uint64_t)1);
  int side = (int)(e->data.u64 & 1);
  if (r->ended) return;
  if (r->rs.state == 1) return reset_read(r);
  if (r->phase == PHASE_HANDSHAKE) {
    if (side == SERVER) side_gone(r, SERVER, 0); /* JavaScript closed its end (authentication_timeout) */
    else if (!r->closing) {
      if (hs_submit(r)) return; /* the TLS thread runs the step; hs_return() settles it */
      handshake_result(r, tls_handshake(r->tls)); /* no TLS thread: the step runs here */
    }
  } else if (side == CLIENT && r->tls) {
    int in = e->events & EPOLLIN, out = e->events & EPOLLOUT;
    if (out || (in && r->tls->wr_want == TLS_WANT_IN)) flush_dir(r, S2C);
    if (in || (out && r->tls->rd_want == TLS_WANT_OUT)) pump(r, CLIENT);
    else if ((e->events & (EPOLLERR | EPOLLHUP)) && !r->ended) side_gone(r, CLIENT, socket_error(r->fd[CLIENT]) != 0);
  } else {
    if (e->events & EPOLLOUT) flush_dir(r, side == CLIENT ? S2C : C2S);
    if (e->events & EPOLLIN) pump(r, side);
    /* Not reading this side (backpressure or closing) and it failed: it will not come back. */
    else if ((e->events & (EPOLLERR | EPOLLHUP)) && !r->ended) side_gone(r, side, socket_error(r->fd[side]) != 0);
  }
  settle(r, 0);
}

static void run_commands(void) {
  for (size_t i = 0; i < ncommands; i++) {
    if (commands[i].op == CMD_SYNC) {
      syncs++;
      continue;
    }
    relay_t *r = lookup(commands[i].id);
    if (!r || r->ended) continue;
    if (commands[i].op == CMD_CLOSE) {
      set_reason(r, "closed by gatehouse");
      begin_closing(r);
    }
    settle(r, 0);
  }
  ncommands = 0;
}

static void sweep_deadlines(void) {
  double now = mono_ms();
  for (uint32_t i = 0; i < nslots; i++) {
    relay_t *r = slots[i];
    if (r && !r->ended && r->closing && now >= r->deadline) settle(r, now);
  }
}

/* --- the TLS thread: handshake steps off the relay thread ------------------------------------ */

#include "handshake.h"

static void *thread_main(void *arg) {
  (void)arg;
  struct epoll_event events[64];
  int timeout = -1;
  for (;;) {
    int n = epoll_wait(epfd, events, 64, timeout);
    pthread_mutex_lock(&mu);
    if (stopping) {
      pthread_mutex_unlock(&mu);
      return NULL;
    }
    take_returned();
    for (int i = 0; i < n; i++) {
      if (events[i].data.u64 == 0) {
        uint64_t v;
        if (read(wakefd, &v, sizeof v) < 0) { /* nothing to do: a spurious wakeup */ }
        run_commands();
        continue;
      }
      handle_event(&events[i]);
    }
    hs_return();
    if (nclosing > 0) sweep_deadlines();
    /* A barrier's event follows every entry read before it, a pending Query's too. */
    for (uint32_t i = 0; syncs > 0 && i < nslots; i++) {
      if (slots[i]) (void)fast_release(slots[i]->mir);
    }
    if (mirror_due(mono_ms())) mirror_flush();
    for (; syncs > 0; syncs--) (void)emit(RELAY_EV_SYNC, 0, "", NULL, NULL, 0);
    /* Freed only after the batch: a later event in it may name the same relay. */
    for (size_t i = 0; i < ndead; i++) free_relay(dead[i]);
    ndead = 0;
    tx_free_dead();
    timeout = wait_ms();
    pthread_mutex_unlock(&mu);
  }
}

/* --- the C interface (relay.h) --------------------------------------------------------------- */

size_t relay_stats_len(void) { return counters_len() + 1; }

const char *relay_init(const double *buckets, int nbuckets, relay_event_fn on_event) {
  if (started) return "already started";
  if (nbuckets < 0 || nbuckets > MAX_BUCKETS) return "too many histogram buckets";
  memcpy(counter_buckets, buckets, (size_t)nbuckets * sizeof(double));
  counter_nbuckets = nbuckets;
  emit = on_event;
  epfd = epoll_create1(EPOLL_CLOEXEC);
  wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epfd < 0 || wakefd < 0) return "epoll_create1/eventfd failed";
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, wakefd, &ev) < 0) return "epoll_ctl failed";
  /* Without the TLS thread, handshake steps run on the relay thread (as they did before it). */
  if (pthread_create(&hs_thread, NULL, hs_main, NULL) == 0) {
    pthread_setname_np(hs_thread, "gatehouse-tls");
    hs_started = 1;
  }
  if (pthread_create(&thread, NULL, thread_main, NULL) != 0) {
    hs_stop();
    return "could not start the relay thread";
  }
  pthread_setname_np(thread, "gatehouse-relay"); /* top -H, /proc/<pid>/task/<tid>/comm */
  started = 1;
  return NULL;
}

const char *relay_pin(const int *cpus, int n) {
  if (!started) return "not started";
  cpu_set_t set;
  CPU_ZERO(&set);
  if (n == 0) {
    /* Any CPU the process may use: the calling (Node) thread's own set. */
    if (sched_getaffinity(0, sizeof set, &set) != 0) return strerror(errno);
  } else {
    for (int i = 0; i < n; i++) {
      if (cpus[i] < 0 || cpus[i] >= CPU_SETSIZE) return "CPU number out of range";
      CPU_SET(cpus[i], &set);
    }
  }
  int rc = pthread_setaffinity_np(thread, sizeof set, &set);
  return rc == 0 ? NULL : strerror(rc);
}

static void wake(void) {
  uint64_t one = 1;
  if (write(wakefd, &one, sizeof one) < 0) { /* the counter is already non-zero: the thread wakes anyway */ }
}

void relay_stop(void) {
  if (!started) return;
  pthread_mutex_lock(&mu);
  stopping = 1;
  pthread_mutex_unlock(&mu);
  wake();
  pthread_join(thread, NULL);
  hs_stop();
  started = 0;
}

/* A non-blocking duplicate of fd: gatehouse closes its own right after. */
static int take_fd(int fd) {
  int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (d < 0) return -1;
  int fl = fcntl(d, F_GETFL);
  if (fl < 0 || fcntl(d, F_SETFL, fl | O_NONBLOCK) < 0) {
    close(d);
    return -1;
  }
  return d;
}

static int free_slot(void) {
  for (uint32_t k = 0; k < nslots; k++) {
    uint32_t i = (slot_hint + k) % nslots;
    if (!slots[i]) {
      slot_hint = i + 1;
      return (int)i;
    }
  }
  if (nslots >= MAX_SLOTS) return -1;
  uint32_t grown = nslots ? nslots * 2 : 64;
  relay_t **s = realloc(slots, grown * sizeof *s);
  if (!s) return -1;
  memset(s + nslots, 0, (grown - nslots) * sizeof *s);
  slots = s;
  int i = (int)nslots;
  nslots = grown;
  return i;
}

static void discard(relay_t *r) {
  if (r->fd[CLIENT] >= 0) close(r->fd[CLIENT]);
  if (r->fd[SERVER] >= 0) close(r->fd[SERVER]);
  free(r->buf[0]);
  free(r->buf[1]);
  mirror_free(r->mir);
  tls_conn_free(r->tls);
  reset_free(&r->rs);
  counters_free(&r->c);
  free(r);
}

/* Registers both sides with no interest, then the right one (a head waits for writability). */
static void watch(relay_t *r) {
  for (int side = 0; side < 2; side++) {
    struct epoll_event ev = {.events = 0, .data.u64 = ((uint64_t)(uintptr_t)r) | (uint64_t)side};
    epoll_ctl(epfd, EPOLL_CTL_ADD, r->fd[side], &ev);
  }
  update_interest(r);
}

const char *relay_start(int cfd, int sfd, const unsigned char *ch, size_t chl, const unsigned char *sh, size_t shl, int mirror, int reuse,
                        const unsigned char *reset, size_t reset_len, double reset_ms, double *id) {
  if (!started) return "not started";
  if (chl > RELAY_BUF_SIZE || shl > RELAY_BUF_SIZE) return "head bytes larger than a relay buffer";
  relay_t *r = calloc(1, sizeof *r);
  if (!r) return "out of memory";
  r->fd[CLIENT] = r->fd[SERVER] = -1;
  r->buf[0] = malloc(RELAY_BUF_SIZE);
  r->buf[1] = malloc(RELAY_BUF_SIZE);
  if (mirror) r->mir = calloc(1, sizeof *r->mir);
  if (!r->buf[0] || !r->buf[1] || (mirror && !r->mir) || (reuse && !reset_set(&r->rs, reset, reset_len, reset_ms))) {
    return discard(r), "out of memory";
  }
  r->fd[CLIENT] = take_fd(cfd);
  r->fd[SERVER] = take_fd(sfd);
  if (r->fd[CLIENT] < 0 || r->fd[SERVER] < 0) return discard(r), "could not duplicate the sockets";
  r->c.last_request = epoch_ms();
  r->ru.enabled = reuse;
  if (r->mir) {
    double now = mono_ms();
    mirror_scan(r->mir, C2S, ch, chl, now);
    mirror_scan(r->mir, S2C, sh, shl, now);
    /* The JavaScript relay takes a session whose head it cannot follow, and says why. */
    if (r->mir->broken) return discard(r), "the head bytes are not whole protocol messages";
  }
  pthread_mutex_lock(&mu);
  int slot = free_slot();
  if (slot < 0) {
    pthread_mutex_unlock(&mu);
    return discard(r), "too many native relays";
  }
  generation += 1;
  r->id = generation * MAX_SLOTS + slot;
  slots[slot] = r;
  if (r->mir) r->mir->id = r->id;
  /* Prebuilt records (fastrec.h) follow the exchange from its start: not after head bytes. */
  if (r->mir) r->mir->fast.track = r->mir->fast.on = chl == 0 && shl == 0;
  if (r->mir && r->mir->out.len > 0 && !mark_dirty(r->mir)) {
    slots[slot] = NULL;
    pthread_mutex_unlock(&mu);
    return discard(r), "out of memory";
  }
  if (chl) {
    memcpy(r->buf[C2S], ch, chl);
    r->len[C2S] = chl;
    counters_client(&r->c, chl);
    if (reuse && reuse_client(&r->ru, ch, chl) >= 0) r->ru.broken = 1; /* a Terminate here goes on */
  }
  if (shl) {
    memcpy(r->buf[S2C], sh, shl);
    r->len[S2C] = shl;
    counters_server(&r->c, r->buf[S2C], shl, on_sqlstate, r);
  }
  watch(r);
  *id = r->id;
  pthread_mutex_unlock(&mu);
  return NULL;
}

/* Queues a request for the thread (the lock is held); 0 when out of memory. */
static int command(double id, int op) {
  if (ncommands == capcommands) {
    size_t c = capcommands ? capcommands * 2 : 16;
    command_t *n = realloc(commands, c * sizeof *n);
    if (!n) return 0;
    commands = n;
    capcommands = c;
  }
  commands[ncommands].id = id;
  commands[ncommands].op = op;
  ncommands++;
  return 1;
}

int relay_close(double id, const unsigned char *to_client, size_t len) {
  int ok = 0;
  pthread_mutex_lock(&mu);
  relay_t *r = started ? lookup(id) : NULL;
  if (r && !r->ended && !r->closing && command(id, CMD_CLOSE)) {
    ok = 1;
    if (len && !r->tail && (r->tail = malloc(len))) {
      memcpy(r->tail, to_client, len);
      r->tail_len = len;
    }
  }
  pthread_mutex_unlock(&mu);
  if (ok) wake();
  return ok;
}

int relay_hold(double id, int on) {
  int ok = 0;
  pthread_mutex_lock(&mu);
  relay_t *r = started ? lookup(id) : NULL;
  if (r && !r->ended && r->held != on) {
    r->held = on;
    ok = command(id, CMD_INTEREST);
  }
  int found = r != NULL || (started && tx_hold(id, on));
  pthread_mutex_unlock(&mu);
  if (ok) wake();
  return found;
}

int relay_fast_shape(const unsigned char *key, size_t len, uint32_t id) {
  pthread_mutex_lock(&mu);
  int ok = fast_register(key, len, id);
  pthread_mutex_unlock(&mu);
  return ok;
}

double relay_fast_count(void) {
  pthread_mutex_lock(&mu);
  double n = fast_built;
  pthread_mutex_unlock(&mu);
  return n;
}

int relay_sync(void) {
  pthread_mutex_lock(&mu);
  int ok = started && command(0, CMD_SYNC);
  pthread_mutex_unlock(&mu);
  if (ok) wake();
  return ok;
}

/* Returned hand-overs, from the JavaScript thread to this one (their own lock: returning never waits for a batch). */
typedef struct {
  unsigned char *blob;
  size_t len;
} returned_t;
static pthread_mutex_t rmu = PTHREAD_MUTEX_INITIALIZER;
static returned_t *returned = NULL, *taking = NULL;
static size_t nreturned = 0, capreturned = 0, captaking = 0;

/* A hand-over's bytes are no longer in flight (the lock is held); frees the blob. */
static void consumed(unsigned char *blob, size_t len) {
  for (size_t at = 0; at + 12 <= len;) {
    double id;
    uint32_t n;
    memcpy(&id, blob + at, 8);
    memcpy(&n, blob + at + 8, 4);
    at += 12 + (size_t)n;
    relay_t *r = lookup(id);
    if (!r) tx_consumed(id, n);
    if (!r || !r->mir || r->ended) continue;
    int was_full = mirror_full(r);
    mirror_consumed(r->mir, n);
    if (was_full && !mirror_full(r)) update_interest(r);
  }
  free(blob);
  if (mirror_events > 0) mirror_events -= 1;
}

/* Takes the hand-overs JavaScript has returned (the lock is held; `taking` is this thread's own). */
static void take_returned(void) {
  pthread_mutex_lock(&rmu);
  returned_t *list = returned;
  size_t n = nreturned, cap = capreturned;
  returned = taking;
  capreturned = captaking;
  nreturned = 0;
  pthread_mutex_unlock(&rmu);
  for (size_t i = 0; i < n; i++) consumed(list[i].blob, list[i].len);
  taking = list;
  captaking = cap;
}

void relay_returned(unsigned char *blob, size_t len) {
  if (!started) {
    free(blob); /* stopped: nothing is in flight any more */
    return;
  }
  pthread_mutex_lock(&rmu);
  int ok = 1;
  if (nreturned == capreturned) {
    size_t c = capreturned ? capreturned * 2 : 16;
    returned_t *n = realloc(returned, c * sizeof *n);
    if (n) {
      returned = n;
      capreturned = c;
    } else {
      ok = 0;
    }
  }
  if (ok) returned[nreturned++] = (returned_t){blob, len};
  pthread_mutex_unlock(&rmu);
  if (!ok) {
    /* Out of memory: account for it under the batch lock instead. */
    pthread_mutex_lock(&mu);
    consumed(blob, len);
    pthread_mutex_unlock(&mu);
  }
  wake();
}

int relay_stats(double id, double *out) {
  pthread_mutex_lock(&mu);
  relay_t *r = started ? lookup(id) : NULL;
  if (r) {
    counters_fill(&r->c, out);
    out[counters_len()] = -1;
  }
  pthread_mutex_unlock(&mu);
  return r != NULL;
}

/* --- the native TLS door: relay_tls_accept(), relay_attach() ------------------------------------ */

#include "door.h"

/* --- the transaction plane: tx_client(), tx_server() and the rest ------------------------------- */

#include "txplane.h"
