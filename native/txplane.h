/*
 * The native transaction-mode data plane (`transaction_engine: native`, src/pool/native-plane.ts):
 * PgBouncer's transaction pooling for the common case, on the relay thread, with no JavaScript per
 * transaction. JavaScript lends it logged-in clients that are between transactions and idle
 * servers. When a client's next request arrives the thread links it to an idle server, relays both
 * ways, and puts the server back once the transaction is over (every request answered, the last
 * ReadyForQuery 'I', all output flushed), to the first waiting client, first in, first out.
 * JavaScript stays the control plane: logins, tracked parameters, prepared statements,
 * session-state hazards, COPY, the extended protocol, timeouts and the admin console.
 *
 * What the thread carries itself: simple Query messages that are one statement beginning with
 * SELECT, INSERT, UPDATE, DELETE, VALUES, TABLE, SHOW or a transaction-control keyword, with no
 * session-level advisory-lock call and no SELECT … INTO (the session-state hazards such a statement can create,
 * src/pool/hazards.ts) and no comment before the keyword; and Terminate. Anything else escalates: the client goes back
 * to JavaScript with the bytes it sent from that message on and, mid-transaction, with its server,
 * once every request before it is answered. JavaScript then carries on as if it had had the client
 * all along.
 *
 * Pairing: a client gets only a server whose parameter signature equals its own (JavaScript's hash
 * of the tracked parameters); the waiting client at the head of the queue that no idle server fits
 * escalates, and JavaScript sets its parameters. A ParameterStatus while linked (set_config() in a
 * SELECT) is forwarded and kept; at the transaction's end client and server go back to JavaScript
 * with it, so its copy of both sides' parameters stays right.
 *
 * Descriptors are dup()s. JavaScript keeps a lent server's socket (not reading) and closes it on
 * the end event; it lets a lent client's socket go at once, so the thread closes a client's
 * descriptor when the client ends here, or hands it over when the client goes back (tx_escalate).
 * Included by relay.c alone (its thread, lock, epoll set and event function); every function here
 * runs with the lock held.
 */
#ifndef GATEHOUSE_TXPLANE_H
#define GATEHOUSE_TXPLANE_H

#include <stdio.h>

#define TX_TAG 2u
#define TX_PS_MAX 4096 /* ParameterStatus bytes kept per link; more is "lost" (JavaScript closes that server) */
#define TX_SPARE_MAX 64 /* idle 64 KiB buffers kept for reuse */
#define TX_IN_FIRST 2048 /* a client's first input buffer: most requests fit */

enum { TXW_NONE = 0, TXW_ESCALATE = 1, TXW_LEAVE = 2 };
enum { TXR_MESSAGE = 0, TXR_SERVER_LOST = 1, TXR_PARAMETERS = 2, TXR_SIGNATURE = 3, TXR_TOO_LONG = 4, TXR_PREPARE = 5, TXR_RECALL = 6 };

#include "txprep.h"

typedef struct txsrv txsrv_t;
typedef struct txcli txcli_t;

typedef struct txpool {
  double id;
  txsrv_t **idle;
  size_t nidle, capidle;
  txcli_t **wq; /* waiting clients: wq[wq_head .. wq_n) */
  size_t wq_head, wq_n, wq_cap;
  int paused;     /* PAUSE: no server is given out */
  int js_waiting; /* JavaScript's own waiters: released servers go back to it first */
  int can_grow;   /* JavaScript may open another server: a new waiter asks (TX_EV_NEED) */
  int need_sent;  /* a TX_EV_NEED is unanswered */
  double st[7];   /* xact_count, query_count, bytes_received, bytes_sent, xact_time, query_time, wait_time (µs) */
} txpool_t;

struct txsrv {
  double id, sig;
  int fd;
  txpool_t *pool;
  txcli_t *cli;
  uint32_t mask;
  double idle_since; /* epoch ms */
  int dropped; /* the thread let go of it; freed after the batch */
  uint32_t *held; /* the prepared statements (registry ids) it holds, as JavaScript lent it (txprep.h) */
  uint32_t nheld;
};

struct txcli {
  double id, sig;
  int fd;
  txpool_t *pool;
  txsrv_t *srv;
  unsigned char *in, *out;
  size_t in_cap;  /* in's size: it starts small and doubles up to RELAY_BUF_SIZE (an idle client holds none) */
  size_t in_len;  /* bytes read from the client and not yet forwarded */
  size_t in_ok;   /* of which the first in_ok are whole messages the thread carries */
  size_t in_chk;  /* of which the first in_chk are checked against the linked server and renamed (txprep.h) */
  size_t in_sent; /* of which the first in_sent have gone to the server */
  size_t out_off, out_len;
  double requests; /* Queries and Syncs forwarded */
  double answered; /* ReadyForQuery messages back (the counters' `queries`, which tx_stats takes) */
  int waiting;
  double wait_since, wait_epoch;
  int want, reason;
  int queried; /* a Query went through since the hand-over: the unnamed statement is gone */
  int extended; /* extended-protocol batches are carried (JavaScript maps statement names) */
  unsigned char *names; /* the statement map (txprep.h), NULL when empty */
  size_t names_len;
  unsigned char *ps;
  size_t ps_len;
  int ps_lost;
  counters_t c;
  uint32_t mask;
  int ended;
  mirror_t *mir; /* the audit mirror (mirror.h) of a recorded client: what it carries, as it carries it; NULL: none */
  int held;      /* JavaScript asked that the client not be read (relay_hold: its records wait) */
};

static txpool_t **txpools = NULL;
static size_t ntxpools = 0, captxpools = 0;
static txcli_t **txslots = NULL;
static uint32_t ntxslots = 0, txslot_hint = 0;
static unsigned char *spare[TX_SPARE_MAX];
static int nspare = 0;
static txcli_t **txdead = NULL; /* ended in this batch, freed after it */
static size_t ntxdead = 0, captxdead = 0;
static txsrv_t **txsdead = NULL;
static size_t ntxsdead = 0, captxsdead = 0;

static void tx_advance(txcli_t *c);
static void tx_give(txsrv_t *s);
static int tx_room(txcli_t *c, size_t need);

static int grow(void **arr, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return 1;
  size_t c = *cap ? *cap * 2 : 16;
  while (c < need) c *= 2;
  void *n = realloc(*arr, c * elem);
  if (!n) return 0;
  *arr = n;
  *cap = c;
  return 1;
}

static unsigned char *tx_buffer(void) { return nspare > 0 ? spare[--nspare] : malloc(RELAY_BUF_SIZE); }

static void tx_unbuffer(unsigned char **b) {
  if (!*b) return;
  if (nspare < TX_SPARE_MAX) spare[nspare++] = *b;
  else free(*b);
  *b = NULL;
}

static txpool_t *tx_pool(double id, int create) {
  for (size_t i = 0; i < ntxpools; i++)
    if (txpools[i]->id == id) return txpools[i];
  if (!create || !grow((void **)&txpools, &captxpools, ntxpools + 1, sizeof *txpools)) return NULL;
  txpool_t *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  p->id = id;
  p->can_grow = 1;
  txpools[ntxpools++] = p;
  return p;
}

static txcli_t *tx_lookup(double id) {
  if (id < 0) return NULL;
  uint32_t slot = (uint32_t)((uint64_t)id % MAX_SLOTS);
  txcli_t *c = slot < ntxslots ? txslots[slot] : NULL;
  return c && c->id == id && !c->ended ? c : NULL;
}

static uint64_t tx_tag(void *p, int side) { return ((uint64_t)(uintptr_t)p) | TX_TAG | (uint64_t)side; }

static void tx_watch(int fd, uint64_t tag, uint32_t *mask, uint32_t m) {
  if (m == *mask) return;
  struct epoll_event ev = {.events = m, .data.u64 = tag};
  epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
  *mask = m;
}

/* Not to be read now: JavaScript holds it, or its mirror has more than MIRROR_LIMIT bytes not yet recorded. */
static int tx_paused(const txcli_t *c) {
  return c->held || mirror_over(c->mir);
}

/* The epoll interest a client and its server need now. */
static void tx_interest(txcli_t *c) {
  if (c->ended) return;
  uint32_t m = 0;
  int pending_out = c->srv && c->in_sent < c->in_ok;
  if (c->want == TXW_NONE && !c->waiting && !pending_out && c->in_len < RELAY_BUF_SIZE && !tx_paused(c)) m |= EPOLLIN;
  if (c->out_len > 0) m |= EPOLLOUT;
  tx_watch(c->fd, tx_tag(c, CLIENT), &c->mask, m);
  if (c->srv) tx_watch(c->srv->fd, tx_tag(c->srv, SERVER), &c->srv->mask, (c->out_len == 0 ? EPOLLIN : 0) | (pending_out ? EPOLLOUT : 0));
}

static int word_is(const unsigned char *w, size_t n, const char *k) {
  size_t i = 0;
  for (; i < n && k[i]; i++) {
    unsigned char ch = w[i] >= 'A' && w[i] <= 'Z' ? w[i] | 0x20 : w[i];
    if (ch != (unsigned char)k[i]) return 0;
  }
  return i == n && k[i] == 0;
}

/* A character of an unquoted identifier: a keyword or a word looked for must stand on its own. */
static int ident_char(unsigned char c) {
  unsigned char l = c | 0x20;
  return (l >= 'a' && l <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '$' || c >= 0x80;
}

/*
 * A Query text (without its terminating zero) the thread may carry: one statement whose first
 * keyword is in the list, no ';' but trailing ones, no session-level advisory-lock call anywhere and
 * no INTO in a SELECT (the word anywhere, even in a string, sends it to JavaScript, which looks
 * closer; `pinto` or `into_date` do not).
 */
static int tx_safe_query(const unsigned char *q, size_t n) {
  static const char *first[] = {"select", "insert", "update", "delete", "values", "table", "show", "begin", "start", "commit",
                                "end", "rollback", "abort", "savepoint", "release", NULL};
  size_t i = 0;
  while (i < n && (q[i] == ' ' || q[i] == '\t' || q[i] == '\n' || q[i] == '\r')) i++;
  size_t w = i;
  while (i < n && ((q[i] | 0x20) >= 'a' && (q[i] | 0x20) <= 'z')) i++;
  int ok = 0;
  for (int k = 0; first[k] && !ok; k++) ok = word_is(q + w, i - w, first[k]);
  if (!ok || (i < n && ident_char(q[i]))) return 0;
  /* SELECT … INTO TEMP creates a temporary table: a SELECT with the word INTO goes to JavaScript. */
  int select = word_is(q + w, i - w, "select");
  size_t end = n;
  while (end > i && (q[end - 1] == ';' || q[end - 1] <= ' ')) end--;
  for (size_t j = i; j < end; j++) {
    if (q[j] == ';') return 0;
    /* The session-level calls hazards.ts looks for (pg_advisory_lock, pg_try_advisory_lock_shared,
       pg_advisory_unlock_all…); pg_advisory_xact_lock and its kin end with the transaction and are carried. */
    if ((q[j] | 0x20) == 'a' && ((j + 13 <= end && word_is(q + j, 13, "advisory_lock")) ||
                                 (j + 19 <= end && word_is(q + j, 19, "advisory_unlock_all")))) return 0;
    if (select && (q[j] | 0x20) == 'i' && j + 4 <= end && word_is(q + j, 4, "into") && !ident_char(q[j - 1]) &&
        (j + 4 == end || !ident_char(q[j + 4]))) return 0;
  }
  return 1;
}

/* Follows the client's new bytes: whole carried messages extend in_ok; the first other one sets `want`. */
static void tx_classify(txcli_t *c) {
  size_t p = c->in_ok;
  while (c->want == TXW_NONE && p + 5 <= c->in_len) {
    unsigned char t = c->in[p];
    uint32_t len = be32(c->in + p + 1);
    if (t == 'X' && len == 4) {
      c->want = TXW_LEAVE;
      break;
    }
    if (c->extended && tx_is_batch_start(t)) {
      long end = tx_batch_end(c->in, c->in_len, p);
      if (end > 0) {
        p = (size_t)end;
        continue;
      }
      if (end == 0 && (p > 0 || c->in_len < RELAY_BUF_SIZE)) break;
      c->want = TXW_ESCALATE;
      c->reason = end == 0 ? TXR_TOO_LONG : TXR_MESSAGE;
      break;
    }
    if (len < 4 || t != 'Q') {
      /* JavaScript refuses a bad length in PostgreSQL's words, and carries every other message. */
      c->want = TXW_ESCALATE;
      c->reason = TXR_MESSAGE;
      break;
    }
    if (len > RELAY_BUF_SIZE - 1) {
      c->want = TXW_ESCALATE;
      c->reason = TXR_TOO_LONG;
      break;
    }
    if (p + 1 + len > c->in_len) break;
    /* A Query without its zero is JavaScript's to refuse ("invalid string in message"). */
    if (len < 5 || c->in[p + len] != 0 || !tx_safe_query(c->in + p + 5, len - 5)) {
      c->want = TXW_ESCALATE;
      c->reason = TXR_MESSAGE;
      break;
    }
    p += 1 + len;
  }
  c->in_ok = p;
}

/* The mirror could not take the request at p (out of memory): it and what follows go back to JavaScript, which records them itself. */
static void tx_unmirrored(txcli_t *c, size_t p) {
  c->mir->broken = 0; /* the answers to what went before are still mirrored until the hand-back */
  c->in_ok = p;
  c->want = TXW_ESCALATE;
  c->reason = TXR_MESSAGE;
}

/*
 * Commits the classified requests to the linked server, in order, before they are sent: counts
 * them, and renames the statements of each extended-protocol batch to the server-side names. A
 * batch the server cannot take as it is (txprep.h) ends what is carried: the client goes back to
 * JavaScript there, once everything before it is answered.
 */
static void tx_check(txcli_t *c) {
  txsrv_t *s = c->srv;
  while (c->in_chk < c->in_ok) {
    size_t p = c->in_chk;
    if (c->in[p] == 'Q') {
      if (c->mir && !mirror_take(c->mir, 0, c->in + p, 1 + be32(c->in + p + 1))) return tx_unmirrored(c, p);
      c->in_chk = p + 1 + be32(c->in + p + 1);
      c->requests += 1;
      c->queried = 1;
      if (c->names) tx_forget_unnamed(c->names, c->names_len);
      continue;
    }
    long grow;
    int reason = tx_batch_check(c->in, p, c->names, c->names_len, s->held, s->nheld, &grow);
    if (reason < 0 && grow > 0 && (c->in_len + (size_t)grow > RELAY_BUF_SIZE || !tx_room(c, c->in_len + (size_t)grow))) reason = TXR_TOO_LONG;
    if (reason >= 0) {
      c->in_ok = p;
      c->want = TXW_ESCALATE;
      c->reason = reason;
      return;
    }
    /* Mirrored as the client sent it, before the renaming: the records name the client's statements. */
    long end = c->mir ? tx_batch_end(c->in, c->in_ok, p) : 0;
    if (c->mir && (end <= (long)p || !mirror_take(c->mir, 0, c->in + p, (size_t)end - p))) return tx_unmirrored(c, p);
    size_t len = c->in_len;
    c->in_chk = tx_batch_rename(c->in, &len, p, c->names, c->names_len, s->held, s->nheld);
    c->in_ok += len - c->in_len;
    c->in_len = len;
    c->requests += 1;
  }
}

static void tx_retire(txcli_t *c) {
  if (!grow((void **)&txdead, &captxdead, ntxdead + 1, sizeof *txdead)) return; /* leaked rather than freed too early */
  txdead[ntxdead++] = c;
}

/* Takes a waiting client off its pool's queue (its slot there is left empty). */
static void tx_unwait(txcli_t *c) {
  if (!c->waiting) return;
  c->waiting = 0;
  txpool_t *p = c->pool;
  for (size_t i = p->wq_head; i < p->wq_n; i++)
    if (p->wq[i] == c) p->wq[i] = NULL;
}

static void tx_forget_client(txcli_t *c) {
  c->ended = 1;
  mirror_unlist(c->mir);
  tx_unwait(c);
  if (c->fd >= 0) {
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
  }
  uint32_t slot = (uint32_t)((uint64_t)c->id % MAX_SLOTS);
  if (slot < ntxslots && txslots[slot] == c) txslots[slot] = NULL;
  tx_retire(c);
}

/* The thread lets go of a server: JavaScript's socket carries it from here (or closes it). */
static void tx_drop_server(txsrv_t *s) {
  epoll_ctl(epfd, EPOLL_CTL_DEL, s->fd, NULL);
  close(s->fd);
  s->fd = -1;
  s->dropped = 1;
  s->cli = NULL;
  if (grow((void **)&txsdead, &captxsdead, ntxsdead + 1, sizeof *txsdead)) txsdead[ntxsdead++] = s;
}

static void tx_server_end(txsrv_t *s, const char *why) {
  emit(TX_EV_SERVER_END, s->id, why, NULL, NULL, 0);
  tx_drop_server(s);
}

static void tx_unlink(txcli_t *c);

/* The client ended here: its final counters go with the event; JavaScript closes its own socket. */
static void tx_end_client(txcli_t *c, const char *why) {
  if (c->srv) {
    /* Still linked (out of memory on the way): its server cannot be trusted with the next client. */
    txsrv_t *s = c->srv;
    tx_unlink(c);
    tx_server_end(s, why);
  }
  double stats[COUNTERS_MAX_LEN + 1];
  counters_take(&c->c, stats);
  stats[counters_len()] = -1;
  /* Its last statements reach JavaScript before its end does. */
  if (c->mir && c->mir->dirty) mirror_flush();
  emit(TX_EV_CLIENT_END, c->id, why, stats, NULL, 0);
  tx_forget_client(c);
}

static void tx_drop_in(txcli_t *c) {
  free(c->in);
  c->in = NULL;
  c->in_cap = 0;
}

/* Room for more client bytes: the input buffer is made or doubled (up to RELAY_BUF_SIZE). 0 when out of memory. */
static int tx_room(txcli_t *c, size_t need) {
  if (c->in_cap >= need) return 1;
  size_t cap = c->in_cap ? c->in_cap : TX_IN_FIRST;
  while (cap < need) cap *= 2;
  if (cap > RELAY_BUF_SIZE) cap = RELAY_BUF_SIZE;
  unsigned char *n = realloc(c->in, cap);
  if (!n) return 0;
  c->in = n;
  c->in_cap = cap;
  return 1;
}

static void tx_unlink(txcli_t *c) {
  txsrv_t *s = c->srv;
  c->srv = NULL;
  s->cli = NULL;
  c->ps_len = 0;
  c->ps_lost = 0;
  tx_unbuffer(&c->out);
  if (c->in_len == 0) tx_drop_in(c);
}

/*
 * Hands the client (and its server, if linked) back to JavaScript. Layout of the event's bytes:
 * f64 server id (-1: none), u8 server status, u8 reason, u8 queried, u8 ps_lost, u32 head length,
 * u32 ParameterStatus length, i32 the client's descriptor, the head (unforwarded client bytes),
 * the ParameterStatus messages seen while linked, then the server's prepared-statement ids in
 * order of use (u32 each). The descriptor goes with the event: JavaScript let go of its own socket
 * when it lent the client (PooledClient#park) and makes a new one of this.
 */
static void tx_escalate(txcli_t *c) {
  size_t head = c->in_len - c->in_sent;
  size_t held = c->srv ? c->srv->nheld * sizeof(uint32_t) : 0;
  size_t n = 24 + head + c->ps_len + held;
  unsigned char *b = malloc(n);
  if (!b) {
    tx_end_client(c, "out of memory");
    return;
  }
  double sid = c->srv ? c->srv->id : -1;
  memcpy(b, &sid, 8);
  b[8] = c->c.status ? c->c.status : 'I';
  b[9] = (unsigned char)c->reason;
  b[10] = (unsigned char)c->queried;
  b[11] = (unsigned char)c->ps_lost;
  uint32_t hl = (uint32_t)head, pl = (uint32_t)c->ps_len;
  int32_t fd = c->fd;
  memcpy(b + 12, &hl, 4);
  memcpy(b + 16, &pl, 4);
  memcpy(b + 20, &fd, 4);
  if (head) memcpy(b + 24, c->in + c->in_sent, head);
  if (c->ps_len) memcpy(b + 24 + head, c->ps, c->ps_len);
  if (held) memcpy(b + 24 + head + c->ps_len, c->srv->held, held);
  double stats[COUNTERS_MAX_LEN + 1];
  counters_take(&c->c, stats);
  stats[counters_len()] = -1;
  /* What it carried is recorded before JavaScript takes it on. */
  if (c->mir && c->mir->dirty) mirror_flush();
  if (!emit(TX_EV_ESCALATE, c->id, "", stats, b, n)) {
    free(b);
    tx_end_client(c, "out of memory");
    return;
  }
  if (c->srv) {
    txsrv_t *s = c->srv;
    tx_unlink(c);
    tx_drop_server(s);
  }
  /* JavaScript owns the descriptor now: the thread stops watching it and does not close it. */
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
  c->fd = -1;
  tx_forget_client(c);
}

static void tx_link(txcli_t *c, txsrv_t *s) {
  c->srv = s;
  s->cli = c;
  c->c.status = 'I';
  if (c->waiting) {
    c->waiting = 0;
    c->pool->st[6] += (mono_ms() - c->wait_since) * 1000;
  }
  if (!c->out && !(c->out = tx_buffer())) {
    tx_unlink(c);
    tx_give(s);
    tx_end_client(c, "out of memory");
  }
}

/* Skips waiters that left; 1 when someone still waits. */
static int tx_anyone_waiting(txpool_t *p) {
  while (p->wq_head < p->wq_n && !p->wq[p->wq_head]) p->wq_head++;
  if (p->wq_head == p->wq_n) p->wq_head = p->wq_n = 0;
  return p->wq_n > 0;
}

/* The next live waiter, taken off the queue, or NULL. */
static txcli_t *tx_next_waiter(txpool_t *p) {
  return tx_anyone_waiting(p) ? p->wq[p->wq_head++] : NULL;
}

/* Takes the idle server at index i off its pool's idle stack. */
static txsrv_t *tx_idle_take(txpool_t *p, size_t i) {
  txsrv_t *s = p->idle[i];
  memmove(p->idle + i, p->idle + i + 1, (p->nidle - i - 1) * sizeof *p->idle);
  p->nidle--;
  return s;
}

/* A server goes back to JavaScript with its statements in order of use (the bytes are the event's to free). */
static void tx_emit_held(int kind, txsrv_t *s) {
  size_t n = s->nheld * sizeof *s->held;
  unsigned char *b = n ? malloc(n) : NULL;
  if (b) memcpy(b, s->held, n);
  if (!emit(kind, s->id, "", NULL, b, b ? n : 0)) free(b);
}

/* A free server: to JavaScript's waiters, to the first waiting client, or onto the idle stack. */
static void tx_give(txsrv_t *s) {
  txpool_t *p = s->pool;
  if (p->js_waiting > 0) {
    p->js_waiting--;
    tx_emit_held(TX_EV_SERVER_BACK, s);
    tx_drop_server(s);
    return;
  }
  while (!p->paused) {
    txcli_t *w = tx_next_waiter(p);
    if (!w) break;
    if (w->sig == s->sig) {
      tx_link(w, s);
      if (!w->ended) tx_advance(w);
      return;
    }
    w->waiting = 0;
    w->want = TXW_ESCALATE;
    w->reason = TXR_SIGNATURE;
    tx_escalate(w);
  }
  if (!grow((void **)&p->idle, &p->capidle, p->nidle + 1, sizeof *p->idle)) {
    tx_server_end(s, "out of memory");
    return;
  }
  p->idle[p->nidle++] = s;
  s->idle_since = epoch_ms();
  tx_watch(s->fd, tx_tag(s, SERVER), &s->mask, EPOLLIN);
}

/* Asks JavaScript for another server; the text is how many clients wait. */
static void tx_need(txpool_t *p) {
  char n[32];
  snprintf(n, sizeof n, "%zu", p->wq_n - p->wq_head);
  p->need_sent = emit(TX_EV_NEED, p->id, n, NULL, NULL, 0);
}

/* The client has a request and no server: the newest idle server with its signature, or the queue. */
static void tx_acquire(txcli_t *c) {
  txpool_t *p = c->pool;
  if (!p->paused && !tx_anyone_waiting(p)) {
    for (size_t i = p->nidle; i-- > 0;) {
      if (p->idle[i]->sig != c->sig) continue;
      tx_link(c, tx_idle_take(p, i));
      return;
    }
    if (p->nidle > 0) {
      c->want = TXW_ESCALATE;
      c->reason = TXR_SIGNATURE;
      return;
    }
  }
  if (!grow((void **)&p->wq, &p->wq_cap, p->wq_n + 1, sizeof *p->wq)) {
    tx_end_client(c, "out of memory");
    return;
  }
  p->wq[p->wq_n++] = c;
  c->waiting = 1;
  c->wait_since = mono_ms();
  c->wait_epoch = epoch_ms();
  if (p->can_grow && !p->need_sent) tx_need(p);
}

/* Writes what is pending each way (relay.c send_some); a failed side sets `want`. */
static void tx_flush(txcli_t *c) {
  txsrv_t *s = c->srv;
  if (s) tx_check(c);
  while (s && c->in_sent < c->in_ok) {
    ssize_t w = send_some(s->fd, c->in + c->in_sent, c->in_ok - c->in_sent);
    if (w == 0) break;
    if (w < 0) {
      c->want = TXW_ESCALATE;
      c->reason = TXR_SERVER_LOST;
      return;
    }
    c->in_sent += (size_t)w;
  }
  if (c->in_sent == c->in_ok && c->in_ok > 0) {
    memmove(c->in, c->in + c->in_ok, c->in_len - c->in_ok);
    c->in_len -= c->in_ok;
    c->in_ok = c->in_chk = c->in_sent = 0;
  }
  while (c->out_len > 0) {
    ssize_t w = send_some(c->fd, c->out + c->out_off, c->out_len);
    if (w == 0) break;
    if (w < 0) {
      c->out_len = 0;
      c->want = TXW_LEAVE;
      return;
    }
    c->out_off += (size_t)w;
    c->out_len -= (size_t)w;
  }
  if (c->out_len == 0) c->out_off = 0;
}

/* The server failed under its client: PgBouncer's "server conn crashed?", said by JavaScript. */
static void tx_server_lost(txcli_t *c, const char *why) {
  txsrv_t *s = c->srv;
  tx_unlink(c);
  tx_server_end(s, why);
  c->in_sent = 0;
  c->want = TXW_ESCALATE;
  c->reason = TXR_SERVER_LOST;
  tx_escalate(c);
}

/* After anything happened to c: forward, release, escalate or end as the state allows. */
static void tx_advance(txcli_t *c) {
  if (c->ended) return;
  if (!c->srv && c->in_ok > c->in_sent && c->want != TXW_ESCALATE && !c->waiting) tx_acquire(c);
  if (c->ended) return;
  if (c->srv) tx_flush(c);
  if (c->srv && c->reason == TXR_SERVER_LOST && c->want == TXW_ESCALATE) return tx_server_lost(c, "server conn crashed?");
  if (c->waiting) return tx_interest(c);
  txsrv_t *s = c->srv;
  /* Not linked: everything it sent goes back with it. */
  if (!s && c->want == TXW_ESCALATE) return tx_escalate(c);
  int quiet = c->in_ok == c->in_sent && c->out_len == 0;
  if (s) quiet = quiet && c->requests == c->answered && c->c.sc.hdr_off == 0 && !c->c.sc.in_body;
  if (!quiet) return tx_interest(c);
  if (!s) {
    if (c->want == TXW_LEAVE) return tx_end_client(c, "client close request");
    if (c->in_len == 0) tx_drop_in(c);
    return tx_interest(c);
  }
  int idle = c->c.status == 'I';
  if (c->want == TXW_LEAVE) {
    tx_unlink(c);
    if (idle) tx_give(s);
    else tx_server_end(s, "client disconnected in a transaction");
    return tx_end_client(c, "client close request");
  }
  if (c->want == TXW_ESCALATE || (idle && (c->ps_len > 0 || c->ps_lost))) {
    if (c->want != TXW_ESCALATE) c->reason = TXR_PARAMETERS;
    return tx_escalate(c);
  }
  if (idle) {
    tx_unlink(c);
    tx_give(s);
  }
  tx_interest(c);
}

static void tx_on_sqlstate(void *ctx, const char *sqlstate) { emit(RELAY_EV_SQLSTATE, ((txcli_t *)ctx)->id, sqlstate, NULL, NULL, 0); }

/* A ParameterStatus while linked, kept whole (type and length again) for JavaScript. */
static void tx_on_ps(void *ctx, const unsigned char *body, size_t len) {
  txcli_t *c = ctx;
  if (!body || c->ps_len + 5 + len > TX_PS_MAX || (!c->ps && !(c->ps = malloc(TX_PS_MAX)))) {
    c->ps_lost = 1;
    return;
  }
  unsigned char *o = c->ps + c->ps_len;
  uint32_t l = (uint32_t)len + 4;
  o[0] = 'S';
  put_be32(o + 1, l);
  memcpy(o + 5, body, len);
  c->ps_len += 5 + len;
}

/* The client hung up (or failed): its server is kept only if nothing was left open on it. */
static void tx_client_gone(txcli_t *c) {
  if (c->waiting) return tx_end_client(c, "client closed");
  c->in_len = c->in_ok = c->in_chk = c->in_sent;
  c->out_len = 0;
  c->want = TXW_LEAVE;
  if (c->srv && (c->requests != c->answered || c->c.status != 'I')) {
    txsrv_t *s = c->srv;
    tx_unlink(c);
    tx_server_end(s, "client disconnected in a transaction");
  }
  tx_advance(c);
}

static void tx_client_read(txcli_t *c) {
  if (c->want != TXW_NONE || c->waiting || c->in_len >= RELAY_BUF_SIZE || tx_paused(c)) return;
  if (c->in_len == c->in_cap && !tx_room(c, c->in_len + 1)) return tx_end_client(c, "out of memory");
  ssize_t n;
  do n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
  while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
  if (n <= 0) return tx_client_gone(c);
  c->in_len += (size_t)n;
  c->pool->st[2] += (double)n;
  counters_client(&c->c, (size_t)n);
  tx_classify(c);
  tx_advance(c);
}

static void tx_server_read(txsrv_t *s) {
  txcli_t *c = s->cli;
  if (!c) {
    /* An idle server speaks only to end (a FATAL before a shutdown, say): JavaScript closes it. */
    unsigned char b[512];
    ssize_t n = read(s->fd, b, sizeof b);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    txpool_t *p = s->pool;
    for (size_t i = 0; i < p->nidle; i++)
      if (p->idle[i] == s) {
        tx_idle_take(p, i);
        break;
      }
    return tx_server_end(s, n > 0 ? "server sent data while idle" : "server closed");
  }
  if (c->out_len > 0) return;
  ssize_t n;
  do n = read(s->fd, c->out, RELAY_BUF_SIZE);
  while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
  if (n <= 0) return tx_server_lost(c, n < 0 ? "server error" : "server conn crashed?");
  /* What PostgreSQL would never send cannot be recorded: the client goes back, as when the server is lost. */
  if (c->mir && !mirror_take(c->mir, 1, c->out, (size_t)n)) return tx_server_lost(c, "server protocol violation");
  c->out_off = 0;
  c->out_len = (size_t)n;
  txpool_t *p = c->pool;
  double before[4] = {c->c.xacts, c->c.queries, c->c.xact_us, c->c.query_us};
  counters_server(&c->c, c->out, (size_t)n, tx_on_sqlstate, c);
  p->st[0] += c->c.xacts - before[0];
  p->st[1] += c->c.queries - before[1];
  c->answered += c->c.queries - before[1];
  p->st[3] += (double)n;
  p->st[4] += c->c.xact_us - before[2];
  p->st[5] += c->c.query_us - before[3];
  tx_advance(c);
}

/* relay.c's handle_event for a tagged (transaction plane) descriptor. */
static void tx_event(struct epoll_event *e) {
  void *ptr = (void *)(uintptr_t)(e->data.u64 & ~(uint64_t)3);
  if (e->data.u64 & 1) {
    txsrv_t *s = ptr;
    if (s->dropped) return;
    txcli_t *c = s->cli;
    if (c && (e->events & EPOLLOUT)) tx_advance(c);
    if (!s->dropped && s->cli == c && (e->events & (EPOLLIN | EPOLLERR | EPOLLHUP))) tx_server_read(s);
    return;
  }
  txcli_t *c = ptr;
  if (c->ended) return;
  if (e->events & EPOLLOUT) tx_advance(c);
  if (!c->ended && (e->events & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
    if (c->mask & EPOLLIN) tx_client_read(c);
    else if (e->events & (EPOLLERR | EPOLLHUP)) tx_client_gone(c);
  }
}

static void tx_free_dead(void) {
  for (size_t i = 0; i < ntxdead; i++) {
    txcli_t *c = txdead[i];
    free(c->in);
    tx_unbuffer(&c->out);
    free(c->ps);
    free(c->names);
    mirror_free(c->mir);
    counters_free(&c->c);
    free(c);
  }
  ntxdead = 0;
  for (size_t i = 0; i < ntxsdead; i++) {
    free(txsdead[i]->held);
    free(txsdead[i]);
  }
  ntxsdead = 0;
}

/* --- the C interface (relay.h) ------------------------------------------------------------------ */

static int tx_free_slot(void) {
  for (uint32_t k = 0; k < ntxslots; k++) {
    uint32_t i = (txslot_hint + k) % ntxslots;
    if (!txslots[i]) {
      txslot_hint = i + 1;
      return (int)i;
    }
  }
  if (ntxslots >= MAX_SLOTS) return -1;
  uint32_t grown = ntxslots ? ntxslots * 2 : 64;
  txcli_t **s = realloc(txslots, grown * sizeof *s);
  if (!s) return -1;
  memset(s + ntxslots, 0, (grown - ntxslots) * sizeof *s);
  txslots = s;
  int i = (int)ntxslots;
  ntxslots = grown;
  return i;
}

const char *tx_client(double pool, int fd, double sig, const unsigned char *head, size_t head_len, const unsigned char *names,
                      size_t names_len, int extended, int mirror, double *id) {
  if (!started) return "not started";
  if (head_len > RELAY_BUF_SIZE) return "head bytes larger than a relay buffer";
  txcli_t *c = calloc(1, sizeof *c);
  if (!c) return "out of memory";
  if (mirror && !(c->mir = calloc(1, sizeof *c->mir))) return free(c), "out of memory";
  c->extended = extended;
  if (names_len && !(c->names = malloc(names_len))) return mirror_free(c->mir), free(c), "out of memory";
  if (names_len) memcpy(c->names, names, names_len);
  c->names_len = names_len;
  c->fd = take_fd(fd);
  if (c->fd < 0) return mirror_free(c->mir), free(c->names), free(c), "could not duplicate the socket";
  c->sig = sig;
  c->c.last_request = epoch_ms();
  c->c.on_ps = tx_on_ps;
  pthread_mutex_lock(&mu);
  int slot = tx_free_slot();
  c->pool = tx_pool(pool, 1);
  if (slot < 0 || !c->pool || (head_len && !tx_room(c, head_len))) {
    pthread_mutex_unlock(&mu);
    close(c->fd);
    free(c->in);
    free(c->names);
    mirror_free(c->mir);
    free(c);
    return "out of memory";
  }
  generation += 1;
  c->id = generation * MAX_SLOTS + slot;
  if (c->mir) c->mir->id = c->id;
  txslots[slot] = c;
  struct epoll_event ev = {.events = 0, .data.u64 = tx_tag(c, CLIENT)};
  epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
  *id = c->id;
  if (head_len) {
    memcpy(c->in, head, head_len);
    c->in_len = head_len;
    c->pool->st[2] += (double)head_len;
    counters_client(&c->c, head_len);
    tx_classify(c);
  }
  tx_advance(c);
  pthread_mutex_unlock(&mu);
  return NULL;
}

const char *tx_server(double pool, int fd, double sig, double server_id, const uint32_t *held, size_t nheld) {
  if (!started) return "not started";
  txsrv_t *s = calloc(1, sizeof *s);
  if (!s) return "out of memory";
  if (nheld && !(s->held = malloc(nheld * sizeof *held))) return free(s), "out of memory";
  if (nheld) memcpy(s->held, held, nheld * sizeof *held);
  s->nheld = (uint32_t)nheld;
  s->fd = take_fd(fd);
  if (s->fd < 0) return free(s->held), free(s), "could not duplicate the socket";
  s->id = server_id;
  s->sig = sig;
  pthread_mutex_lock(&mu);
  s->pool = tx_pool(pool, 1);
  if (!s->pool) {
    pthread_mutex_unlock(&mu);
    close(s->fd);
    free(s->held);
    free(s);
    return "out of memory";
  }
  struct epoll_event ev = {.events = 0, .data.u64 = tx_tag(s, SERVER)};
  epoll_ctl(epfd, EPOLL_CTL_ADD, s->fd, &ev);
  tx_give(s);
  pthread_mutex_unlock(&mu);
  return NULL;
}

double tx_take_server(double pool, double server_id, uint32_t *held, size_t cap, size_t *nheld) {
  double out = -1;
  *nheld = 0;
  pthread_mutex_lock(&mu);
  txpool_t *p = started ? tx_pool(pool, 0) : NULL;
  for (size_t i = p ? p->nidle : 0; i-- > 0;) {
    if (server_id >= 0 && p->idle[i]->id != server_id) continue;
    txsrv_t *s = tx_idle_take(p, i);
    out = s->id;
    if (s->nheld <= cap) {
      memcpy(held, s->held, s->nheld * sizeof *held);
      *nheld = s->nheld;
    }
    tx_drop_server(s);
    break;
  }
  pthread_mutex_unlock(&mu);
  return out;
}

int tx_close_client(double id, const unsigned char *bytes, size_t len, const char *why) {
  pthread_mutex_lock(&mu);
  txcli_t *c = started ? tx_lookup(id) : NULL;
  if (c) {
    if (c->srv) {
      txsrv_t *s = c->srv;
      int clean = c->in_ok == c->in_sent && c->requests == c->answered && c->c.status == 'I' && c->c.sc.hdr_off == 0 &&
                  !c->c.sc.in_body && c->ps_len == 0 && !c->ps_lost;
      tx_unlink(c);
      if (clean) tx_give(s);
      else tx_server_end(s, why);
    }
    /* Best effort, as PgBouncer's disconnect_client: what does not fit in the socket now is dropped. */
    if (c->out_len > 0) tx_flush(c);
    if (len) (void)!send(c->fd, bytes, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    shutdown(c->fd, SHUT_WR);
    tx_end_client(c, why);
  }
  pthread_mutex_unlock(&mu);
  return c != NULL;
}

int tx_pool_set(double pool, int paused, int js_waiting, int can_grow) {
  pthread_mutex_lock(&mu);
  txpool_t *p = started ? tx_pool(pool, 1) : NULL;
  if (p) {
    p->paused = paused;
    p->js_waiting = js_waiting;
    p->can_grow = can_grow;
    p->need_sent = 0;
    /* Resumed: idle servers go to the waiters (tx_give pops them off the stack first). */
    while (!p->paused && p->nidle > 0 && tx_anyone_waiting(p)) tx_give(p->idle[--p->nidle]);
    if (p->can_grow && tx_anyone_waiting(p)) tx_need(p);
  }
  pthread_mutex_unlock(&mu);
  return p != NULL;
}

/*
 * Every client of the pool goes back to JavaScript (a reload made the plane wrong for it: statement
 * mode, server_reset_query_always): idle and waiting ones now, linked ones once every request is
 * answered, with their server. Returns how many clients were asked.
 */
int tx_pool_recall(double pool) {
  int n = 0;
  pthread_mutex_lock(&mu);
  txpool_t *p = started ? tx_pool(pool, 0) : NULL;
  for (uint32_t i = 0; p && i < ntxslots; i++) {
    txcli_t *c = txslots[i];
    if (!c || c->pool != p || c->ended || c->want == TXW_LEAVE) continue;
    n++;
    tx_unwait(c);
    if (c->want == TXW_NONE) {
      c->want = TXW_ESCALATE;
      c->reason = TXR_RECALL;
    }
    tx_advance(c);
  }
  pthread_mutex_unlock(&mu);
  return n;
}

/*
 * A pool's state for the admin console and the janitor: the 7 counters, then per client (id, state
 * 0 idle 1 waiting 2 linked, wait start epoch ms, last request epoch ms, server id or -1, status,
 * requests outstanding), a -2 marker, then per server (id, client id or -1, idle since epoch ms).
 * Returns how many numbers were written, or the negated size needed when out is too small.
 */
long tx_info(double pool, double *out, size_t cap) {
  long n = 0;
  pthread_mutex_lock(&mu);
  txpool_t *p = started ? tx_pool(pool, 0) : NULL;
  if (p) {
    size_t need = 8;
    for (uint32_t i = 0; i < ntxslots; i++)
      if (txslots[i] && txslots[i]->pool == p) need += 7 + (txslots[i]->srv ? 3 : 0);
    need += 3 * p->nidle;
    if (need > cap) {
      n = -(long)need;
    } else {
      memcpy(out, p->st, sizeof p->st);
      n = 7;
      for (uint32_t i = 0; i < ntxslots; i++) {
        txcli_t *c = txslots[i];
        if (!c || c->pool != p) continue;
        double *o = out + n;
        o[0] = c->id;
        o[1] = c->waiting ? 1 : c->srv ? 2 : 0;
        o[2] = c->waiting ? c->wait_epoch : 0;
        o[3] = c->c.last_request;
        o[4] = c->srv ? c->srv->id : -1;
        o[5] = c->c.status;
        o[6] = c->requests - c->answered;
        n += 7;
      }
      out[n++] = -2;
      for (uint32_t i = 0; i < ntxslots; i++) {
        txcli_t *c = txslots[i];
        if (!c || c->pool != p || !c->srv) continue;
        out[n++] = c->srv->id;
        out[n++] = c->id;
        out[n++] = 0;
      }
      for (size_t i = 0; i < p->nidle; i++) {
        out[n++] = p->idle[i]->id;
        out[n++] = -1;
        out[n++] = p->idle[i]->idle_since;
      }
    }
  }
  pthread_mutex_unlock(&mu);
  return n;
}

/* A hand-over with n of the client's mirrored bytes came back (relay.c consumed; the lock is held). */
static void tx_consumed(double id, size_t n) {
  txcli_t *c = tx_lookup(id);
  if (!c || !c->mir) return;
  int was = tx_paused(c);
  mirror_consumed(c->mir, n);
  if (was && !tx_paused(c)) tx_interest(c);
}

/* relay_hold for a client on the plane (the lock is held): 0 when there is no such client. */
static int tx_hold(double id, int on) {
  txcli_t *c = tx_lookup(id);
  if (!c) return 0;
  if (c->held != on) {
    c->held = on;
    tx_interest(c);
  }
  return 1;
}

int tx_stats(double id, double *out) {
  pthread_mutex_lock(&mu);
  txcli_t *c = started ? tx_lookup(id) : NULL;
  if (c) {
    counters_take(&c->c, out);
    out[counters_len()] = -1;
  }
  pthread_mutex_unlock(&mu);
  return c != NULL;
}

#endif
