/*
 * gatehouse's native session relay: after authentication and the server login, session.ts hands
 * the two plaintext sockets' file descriptors to one relay thread that moves bytes with epoll and
 * plain read()/write(), below Node's streams and libuv (bench/README.md, "Where gatehouse's CPU
 * goes": Node's per-I/O cost, not gatehouse's JavaScript, was the gap to PgBouncer).
 *
 * The thread owns every native relay. Per direction one buffer: a partial write stops reading
 * the source until the destination is writable again (backpressure, bounded memory). It keeps the
 * same counters as src/session/counters.ts (a header-only frame scan of the server's stream for
 * ReadyForQuery and ErrorResponse), which JavaScript pulls with stats(id). Endings and SQLSTATEs
 * go back to JavaScript through one threadsafe function. Nothing here may crash the process: an
 * error ends that relay only.
 *
 * JavaScript API (src/session/native-relay.ts):
 *   init(buckets: Float64Array, onEvent(kind, id, text, stats)) -> true
 *   start(clientFd, serverFd, clientHead?: Buffer, serverHead?: Buffer) -> id   (the fds are dup()ed)
 *   close(id, toClient?: Buffer) -> boolean   (flush, send toClient, then close both)
 *   stats(id, out: Float64Array) -> boolean
 *   live() -> number of relays not yet reported as ended
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE 65536
#define MAX_BUCKETS 32
#define EBUF 256
#define SLOT_BITS 20
#define MAX_SLOTS (1u << SLOT_BITS)
#define CLOSE_GRACE_MS 1000.0

enum { C2S = 0, S2C = 1 };
enum { CLIENT = 0, SERVER = 1 };
enum { EV_END = 0, EV_SQLSTATE = 1 };

typedef struct {
  double counts[MAX_BUCKETS + 1];
  double sum, count;
} hist_t;

/* Header-only scan of the server's stream, across chunk boundaries. */
typedef struct {
  unsigned char hdr[5];
  int hdr_off;
  int in_body;
  unsigned char type;
  uint32_t remain;
  unsigned char ebuf[EBUF];
  uint32_t elen;
  int broken;
} scan_t;

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
  /* counters (src/session/counters.ts) */
  double bytes_in, bytes_out, queries, xacts, query_us, xact_us, last_request;
  double busy_since, xact_since;
  hist_t qh, xh;
  scan_t sc;
} relay_t;

typedef struct {
  int kind;
  double id;
  char text[64];
  double *stats;
} msg_t;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int epfd = -1, wakefd = -1;
static pthread_t thread;
static int started = 0, stopping = 0;
static napi_threadsafe_function tsfn;
static double buckets[MAX_BUCKETS];
static int nbuckets = 0;
static relay_t **slots = NULL;
static uint32_t nslots = 0, slot_hint = 0;
static double generation = 0;
static double *commands = NULL; /* ids with a close() request, handled by the thread */
static size_t ncommands = 0, capcommands = 0;
static int nclosing = 0;
static relay_t **dead = NULL; /* ended in this batch, freed after it */
static size_t ndead = 0, capdead = 0;
static int live_count = 0; /* touched on the JavaScript thread only */

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

static size_t stats_len(void) { return 7 + 2 * (2 + nbuckets + 1); }

static void observe(hist_t *h, double seconds) {
  int i = 0;
  while (i < nbuckets && seconds > buckets[i]) i++;
  h->counts[i] += 1;
  h->sum += seconds;
  h->count += 1;
}

static void fill_stats(const relay_t *r, double *o) {
  o[0] = r->bytes_in; o[1] = r->bytes_out; o[2] = r->queries; o[3] = r->xacts;
  o[4] = r->query_us; o[5] = r->xact_us; o[6] = r->last_request;
  const hist_t *hs[2] = {&r->qh, &r->xh};
  size_t k = 7;
  for (int j = 0; j < 2; j++) {
    o[k++] = hs[j]->sum;
    o[k++] = hs[j]->count;
    for (int i = 0; i <= nbuckets; i++) o[k++] = hs[j]->counts[i];
  }
}

static void post(int kind, double id, const char *text, const relay_t *r) {
  msg_t *m = calloc(1, sizeof *m);
  if (!m) return;
  m->kind = kind;
  m->id = id;
  snprintf(m->text, sizeof m->text, "%s", text);
  if (r) {
    m->stats = malloc(stats_len() * sizeof(double));
    if (m->stats) fill_stats(r, m->stats);
  }
  if (napi_call_threadsafe_function(tsfn, m, napi_tsfn_nonblocking) != napi_ok) {
    free(m->stats);
    free(m);
  }
}

/* --- counters ---------------------------------------------------------------------------- */

static void count_client(relay_t *r, size_t n) {
  r->bytes_in += n;
  if (r->busy_since == 0) {
    r->busy_since = mono_ms();
    r->last_request = epoch_ms();
  }
}

static void ready_for_query(relay_t *r, unsigned char status) {
  double now = mono_ms();
  r->queries += 1;
  double start = r->busy_since == 0 ? now : r->busy_since;
  r->busy_since = 0;
  double ms = now - start;
  r->query_us += ms * 1000;
  observe(&r->qh, ms / 1000);
  if (r->xact_since == 0) r->xact_since = start;
  if (status != 'I') return;
  double xms = now - r->xact_since;
  r->xact_since = 0;
  r->xacts += 1;
  r->xact_us += xms * 1000;
  observe(&r->xh, xms / 1000);
}

/* ErrorResponse: report the 'C' field (SQLSTATE) when it is within the captured head. */
static void error_response(relay_t *r) {
  uint32_t pos = 0;
  const unsigned char *b = r->sc.ebuf;
  while (pos < r->sc.elen && b[pos] != 0) {
    unsigned char field = b[pos];
    uint32_t end = pos + 1;
    while (end < r->sc.elen && b[end] != 0) end++;
    if (end >= r->sc.elen) return;
    if (field == 'C') {
      char code[16];
      uint32_t n = end - pos - 1;
      if (n >= sizeof code) n = sizeof code - 1;
      memcpy(code, b + pos + 1, n);
      code[n] = 0;
      post(EV_SQLSTATE, r->id, code, NULL);
      return;
    }
    pos = end + 1;
  }
}

static void message_done(relay_t *r) {
  if (r->sc.type == 'Z' && r->sc.elen >= 1) ready_for_query(r, r->sc.ebuf[0]);
  else if (r->sc.type == 'E') error_response(r);
  r->sc.in_body = 0;
  r->sc.hdr_off = 0;
}

static void count_server(relay_t *r, const unsigned char *p, size_t n) {
  r->bytes_out += n;
  scan_t *s = &r->sc;
  size_t i = 0;
  while (i < n && !s->broken) {
    if (!s->in_body) {
      s->hdr[s->hdr_off++] = p[i++];
      if (s->hdr_off < 5) continue;
      uint32_t len = ((uint32_t)s->hdr[1] << 24) | ((uint32_t)s->hdr[2] << 16) | ((uint32_t)s->hdr[3] << 8) | s->hdr[4];
      /* A stream the scan cannot follow is still relayed; only the counting stops. */
      if (len < 4) { s->broken = 1; break; }
      s->type = s->hdr[0];
      s->remain = len - 4;
      s->elen = 0;
      s->in_body = 1;
      if (s->remain == 0) message_done(r);
      continue;
    }
    size_t take = n - i < s->remain ? n - i : s->remain;
    if ((s->type == 'Z' || s->type == 'E') && s->elen < EBUF) {
      size_t c = take < EBUF - s->elen ? take : EBUF - s->elen;
      memcpy(s->ebuf + s->elen, p + i, c);
      s->elen += c;
    }
    i += take;
    s->remain -= take;
    if (s->remain == 0) message_done(r);
  }
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

/* The epoll interest each fd needs now. */
static void update_interest(relay_t *r) {
  for (int side = 0; side < 2; side++) {
    int src_dir = side == CLIENT ? C2S : S2C; /* the direction this fd feeds */
    int dst_dir = side == CLIENT ? S2C : C2S; /* the direction this fd drains */
    uint32_t m = 0;
    if (!r->closing && r->len[src_dir] == 0) m |= EPOLLIN;
    int out = r->len[dst_dir] > 0 || (side == CLIENT && r->tail_off < r->tail_len);
    if (out && !r->dead_dst[dst_dir]) m |= EPOLLOUT;
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

/* A side failed or ended: what to say, and which pending bytes can no longer be delivered. */
static void side_gone(relay_t *r, int side, int is_error) {
  if (side == CLIENT) set_reason(r, is_error ? "client error" : "client closed");
  else set_reason(r, is_error ? "server error" : "server closed");
  /* Bytes for the side that is gone are dropped; the other side still gets what is pending
     (a last FATAL from the server reaches the client; the client's Terminate reaches the server). */
  r->dead_dst[side == CLIENT ? S2C : C2S] = 1;
  if (side == SERVER) r->len[C2S] = 0;
  else { r->len[S2C] = 0; r->tail_len = 0; }
  begin_closing(r);
}

/* Writes what is pending in `dir`; returns 0 when all of it went, 1 when some waits, -1 on error. */
static int flush_dir(relay_t *r, int dir) {
  int dst = dir == C2S ? SERVER : CLIENT;
  if (r->dead_dst[dir]) { r->len[dir] = 0; return 0; }
  while (r->len[dir] > 0) {
    ssize_t w = send(r->fd[dst], r->buf[dir] + r->off[dir], r->len[dir], MSG_NOSIGNAL);
    if (w > 0) { r->off[dir] += w; r->len[dir] -= w; continue; }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 1;
    side_gone(r, dst, 1);
    return -1;
  }
  r->off[dir] = 0;
  if (dir == S2C && r->tail_off < r->tail_len) {
    while (r->tail_off < r->tail_len) {
      ssize_t w = send(r->fd[CLIENT], r->tail + r->tail_off, r->tail_len - r->tail_off, MSG_NOSIGNAL);
      if (w > 0) { r->tail_off += w; continue; }
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 1;
      side_gone(r, CLIENT, 1);
      return -1;
    }
  }
  return 0;
}

/* One read from `side` into its direction's (empty) buffer, then an immediate write. */
static void pump(relay_t *r, int side) {
  int dir = side == CLIENT ? C2S : S2C;
  if (r->closing || r->len[dir] > 0) return;
  ssize_t n;
  do n = read(r->fd[side], r->buf[dir], BUF_SIZE);
  while (n < 0 && errno == EINTR);
  if (n == 0) return side_gone(r, side, 0);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    return side_gone(r, side, 1);
  }
  if (dir == C2S) count_client(r, (size_t)n);
  else count_server(r, r->buf[dir], (size_t)n);
  r->off[dir] = 0;
  r->len[dir] = (size_t)n;
  flush_dir(r, dir);
}

static void finish(relay_t *r) {
  if (r->ended) return;
  r->ended = 1;
  if (r->closing) nclosing--;
  if (ndead == capdead) {
    size_t c = capdead ? capdead * 2 : 64;
    relay_t **d = realloc(dead, c * sizeof *d);
    if (d) { dead = d; capdead = c; }
  }
  if (ndead < capdead) dead[ndead++] = r; /* else it leaks rather than being freed too early */
  for (int side = 0; side < 2; side++) {
    epoll_ctl(epfd, EPOLL_CTL_DEL, r->fd[side], NULL);
    shutdown(r->fd[side], SHUT_WR);
    close(r->fd[side]);
  }
  post(EV_END, r->id, r->reason ? r->reason : "closed", r);
}

static void free_relay(relay_t *r) {
  uint32_t slot = (uint32_t)((uint64_t)r->id & (MAX_SLOTS - 1));
  if (slot < nslots && slots[slot] == r) slots[slot] = NULL;
  free(r->buf[0]);
  free(r->buf[1]);
  free(r->tail);
  free(r);
}

/* After any event: a closing relay whose pending bytes are out (or whose grace is over) ends. */
static void settle(relay_t *r, double now) {
  if (r->ended) return;
  if (r->closing) {
    int waiting = flush_dir(r, C2S) > 0;
    waiting |= flush_dir(r, S2C) > 0;
    if (!waiting || now >= r->deadline) return finish(r);
  }
  update_interest(r);
}

static void handle_event(struct epoll_event *e) {
  relay_t *r = (relay_t *)(uintptr_t)(e->data.u64 & ~(uint64_t)1);
  int side = (int)(e->data.u64 & 1);
  if (r->ended) return;
  if (e->events & EPOLLOUT) flush_dir(r, side == CLIENT ? S2C : C2S);
  if (e->events & EPOLLIN) pump(r, side);
  else if (e->events & (EPOLLERR | EPOLLHUP)) {
    /* Not reading this side (backpressure or closing) and it failed: it will not come back. */
    int err = 0;
    socklen_t l = sizeof err;
    getsockopt(r->fd[side], SOL_SOCKET, SO_ERROR, &err, &l);
    if (!r->ended) side_gone(r, side, err != 0);
  }
  settle(r, 0);
}

static void run_commands(void) {
  for (size_t i = 0; i < ncommands; i++) {
    relay_t *r = lookup(commands[i]);
    if (!r || r->ended) continue;
    set_reason(r, "closed by gatehouse");
    begin_closing(r);
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

static void *thread_main(void *arg) {
  (void)arg;
  struct epoll_event events[64];
  for (;;) {
    int n = epoll_wait(epfd, events, 64, nclosing > 0 ? 100 : -1);
    pthread_mutex_lock(&mu);
    if (stopping) {
      pthread_mutex_unlock(&mu);
      return NULL;
    }
    for (int i = 0; i < n; i++) {
      if (events[i].data.u64 == 0) {
        uint64_t v;
        if (read(wakefd, &v, sizeof v) < 0) { /* nothing to do: a spurious wakeup */ }
        run_commands();
        continue;
      }
      handle_event(&events[i]);
    }
    if (nclosing > 0) sweep_deadlines();
    /* Freed only after the batch: a later event in it may name the same relay. */
    for (size_t i = 0; i < ndead; i++) free_relay(dead[i]);
    ndead = 0;
    pthread_mutex_unlock(&mu);
  }
}

/* --- JavaScript side ------------------------------------------------------------------------ */

static napi_value js_undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

static void call_js(napi_env env, napi_value cb, void *context, void *data) {
  (void)context;
  msg_t *m = data;
  if (env && cb) {
    napi_value argv[4];
    napi_create_int32(env, m->kind, &argv[0]);
    napi_create_double(env, m->id, &argv[1]);
    napi_create_string_utf8(env, m->text, NAPI_AUTO_LENGTH, &argv[2]);
    if (m->stats) {
      size_t len = stats_len();
      void *data_out;
      napi_value ab;
      if (napi_create_arraybuffer(env, len * sizeof(double), &data_out, &ab) == napi_ok) {
        memcpy(data_out, m->stats, len * sizeof(double));
        napi_create_typedarray(env, napi_float64_array, len, ab, 0, &argv[3]);
      } else argv[3] = js_undefined(env);
    } else argv[3] = js_undefined(env);
    if (m->kind == EV_END && --live_count == 0) napi_unref_threadsafe_function(env, tsfn);
    napi_value global;
    napi_get_global(env, &global);
    napi_call_function(env, global, cb, 4, argv, NULL);
  }
  free(m->stats);
  free(m);
}

static void cleanup(void *arg) {
  (void)arg;
  if (!started) return;
  pthread_mutex_lock(&mu);
  stopping = 1;
  pthread_mutex_unlock(&mu);
  uint64_t one = 1;
  if (write(wakefd, &one, sizeof one) < 0) { /* the thread may be gone already */ }
  pthread_join(thread, NULL);
  started = 0;
}

static napi_value throw_error(napi_env env, const char *msg) {
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static napi_value js_init(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (started) return throw_error(env, "native relay already initialised");
  void *data;
  size_t len;
  napi_typedarray_type type;
  if (argc < 2 || napi_get_typedarray_info(env, argv[0], &type, &len, &data, NULL, NULL) != napi_ok || type != napi_float64_array || len > MAX_BUCKETS) {
    return throw_error(env, "init(buckets: Float64Array, onEvent)");
  }
  memcpy(buckets, data, len * sizeof(double));
  nbuckets = (int)len;
  napi_value name;
  napi_create_string_utf8(env, "gatehouse-native-relay", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[1], NULL, name, 0, 1, NULL, NULL, NULL, call_js, &tsfn) != napi_ok) {
    return throw_error(env, "could not create the threadsafe function");
  }
  napi_unref_threadsafe_function(env, tsfn);
  epfd = epoll_create1(EPOLL_CLOEXEC);
  wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epfd < 0 || wakefd < 0) return throw_error(env, "epoll_create1/eventfd failed");
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0};
  epoll_ctl(epfd, EPOLL_CTL_ADD, wakefd, &ev);
  if (pthread_create(&thread, NULL, thread_main, NULL) != 0) return throw_error(env, "could not start the relay thread");
  started = 1;
  napi_add_env_cleanup_hook(env, cleanup, NULL);
  napi_value t;
  napi_get_boolean(env, 1, &t);
  return t;
}

static int get_buffer(napi_env env, napi_value v, unsigned char **data, size_t *len) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  *data = NULL;
  *len = 0;
  if (t == napi_undefined || t == napi_null) return 0;
  bool is;
  napi_is_buffer(env, v, &is);
  if (!is) return -1;
  return napi_get_buffer_info(env, v, (void **)data, len) == napi_ok ? 0 : -1;
}

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
    if (!slots[i]) { slot_hint = i + 1; return (int)i; }
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

static napi_value js_start(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (!started) return throw_error(env, "native relay not initialised");
  int32_t cfd, sfd;
  unsigned char *ch, *sh;
  size_t chl, shl;
  if (argc < 2 || napi_get_value_int32(env, argv[0], &cfd) != napi_ok || napi_get_value_int32(env, argv[1], &sfd) != napi_ok) {
    return throw_error(env, "start(clientFd, serverFd, clientHead?, serverHead?)");
  }
  if (get_buffer(env, argc > 2 ? argv[2] : js_undefined(env), &ch, &chl) < 0 ||
      get_buffer(env, argc > 3 ? argv[3] : js_undefined(env), &sh, &shl) < 0 || chl > BUF_SIZE || shl > BUF_SIZE) {
    return throw_error(env, "head bytes must be Buffers of at most 64 KiB");
  }
  relay_t *r = calloc(1, sizeof *r);
  if (!r) return throw_error(env, "out of memory");
  r->buf[0] = malloc(BUF_SIZE);
  r->buf[1] = malloc(BUF_SIZE);
  r->fd[0] = r->fd[1] = -1;
  if (r->buf[0] && r->buf[1]) {
    r->fd[CLIENT] = take_fd(cfd);
    r->fd[SERVER] = take_fd(sfd);
  }
  if (r->fd[CLIENT] < 0 || r->fd[SERVER] < 0) {
    if (r->fd[CLIENT] >= 0) close(r->fd[CLIENT]);
    if (r->fd[SERVER] >= 0) close(r->fd[SERVER]);
    free(r->buf[0]);
    free(r->buf[1]);
    free(r);
    return throw_error(env, "could not take the sockets");
  }
  r->last_request = epoch_ms();
  pthread_mutex_lock(&mu);
  int slot = free_slot();
  if (slot < 0) {
    pthread_mutex_unlock(&mu);
    close(r->fd[0]);
    close(r->fd[1]);
    free(r->buf[0]);
    free(r->buf[1]);
    free(r);
    return throw_error(env, "too many native relays");
  }
  generation += 1;
  r->id = generation * MAX_SLOTS + slot;
  slots[slot] = r;
  if (chl) {
    memcpy(r->buf[C2S], ch, chl);
    r->len[C2S] = chl;
    count_client(r, chl);
  }
  if (shl) {
    memcpy(r->buf[S2C], sh, shl);
    r->len[S2C] = shl;
    count_server(r, r->buf[S2C], shl);
  }
  /* Registered with no interest, then given the right one: a head waits for writability. */
  for (int side = 0; side < 2; side++) {
    struct epoll_event ev = {.events = 0, .data.u64 = ((uint64_t)(uintptr_t)r) | (uint64_t)side};
    epoll_ctl(epfd, EPOLL_CTL_ADD, r->fd[side], &ev);
  }
  update_interest(r);
  double id = r->id;
  pthread_mutex_unlock(&mu);
  if (live_count++ == 0) napi_ref_threadsafe_function(env, tsfn);
  napi_value out;
  napi_create_double(env, id, &out);
  return out;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  double id;
  unsigned char *tail;
  size_t tl;
  if (argc < 1 || napi_get_value_double(env, argv[0], &id) != napi_ok || get_buffer(env, argc > 1 ? argv[1] : js_undefined(env), &tail, &tl) < 0) {
    return throw_error(env, "close(id, toClient?)");
  }
  int ok = 0;
  pthread_mutex_lock(&mu);
  relay_t *r = started ? lookup(id) : NULL;
  if (r && !r->ended && !r->closing) {
    ok = 1;
    if (tl && !r->tail && (r->tail = malloc(tl))) {
      memcpy(r->tail, tail, tl);
      r->tail_len = tl;
    }
    if (ncommands == capcommands) {
      size_t c = capcommands ? capcommands * 2 : 16;
      double *n = realloc(commands, c * sizeof *n);
      if (n) { commands = n; capcommands = c; }
    }
    if (ncommands < capcommands) commands[ncommands++] = id;
    else ok = 0;
  }
  pthread_mutex_unlock(&mu);
  if (ok) {
    uint64_t one = 1;
    if (write(wakefd, &one, sizeof one) < 0) ok = 0;
  }
  napi_value out;
  napi_get_boolean(env, ok, &out);
  return out;
}

static napi_value js_stats(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  double id;
  void *data;
  size_t len;
  napi_typedarray_type type;
  if (argc < 2 || napi_get_value_double(env, argv[0], &id) != napi_ok ||
      napi_get_typedarray_info(env, argv[1], &type, &len, &data, NULL, NULL) != napi_ok || type != napi_float64_array || len < stats_len()) {
    return throw_error(env, "stats(id, out: Float64Array)");
  }
  int ok = 0;
  pthread_mutex_lock(&mu);
  relay_t *r = started ? lookup(id) : NULL;
  if (r) {
    fill_stats(r, data);
    ok = 1;
  }
  pthread_mutex_unlock(&mu);
  napi_value out;
  napi_get_boolean(env, ok, &out);
  return out;
}

static napi_value js_live(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_create_int32(env, live_count, &out);
  return out;
}

static napi_value module_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"init", NULL, js_init, NULL, NULL, NULL, napi_default, NULL},
    {"start", NULL, js_start, NULL, NULL, NULL, napi_default, NULL},
    {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
    {"stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL},
    {"live", NULL, js_live, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, module_init)
