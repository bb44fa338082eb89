/*
 * The N-API face of the native relay (relay.c), loaded by src/session/native-relay.ts:
 *   init(buckets: Float64Array, onEvent(kind, id, text, stats?)) -> true
 *   start(clientFd, serverFd, clientHead?: Buffer, serverHead?: Buffer, mirror?: boolean, reuse?: boolean) -> id
 *       (the fds are dup()ed; reuse: a client leaving with its server idle leaves the server's
 *       descriptor to JavaScript, the end's last stats number, else -1; native/reuse.h)
 *   hold(id, on: boolean) -> boolean   (a mirrored relay stops or resumes reading its client)
 *   sync() -> boolean   (onEvent(3, 0, '') follows once everything mirrored before it was reported)
 *   close(id, toClient?: Buffer) -> boolean   (flush, send toClient, then close both sides)
 *   stats(id, out: Float64Array) -> boolean
 *   live() -> relays started and not yet reported as ended
 *   tlsContext(cert: Buffer, key: Buffer, ca: Buffer | undefined, minVersion: string, ciphers: string) -> context
 *       (an SSL_CTX, freed when the value is collected; throws what failed)
 *   tlsAccept(context, fd, head?: Buffer) -> [id, fd]   (the TLS door: fd is dup()ed; the returned
 *       fd is JavaScript's end of the socketpair; onEvent(4, id, '', info: Buffer) when the handshake
 *       is done, onEvent(0, id, reason) when it ends)
 *   attach(id, serverFd, doorFd, clientHead?: Buffer, serverHead?: Buffer, mirror?: boolean, reuse?: boolean) -> true
 *       (the door becomes a session relay; doorFd's unread bytes go to the server)
 * The transaction plane (native/txplane.h; src/pool/native-plane.ts):
 *   txClient(pool, fd, sig, head?: Buffer, names?: Buffer, mirror?: boolean) -> id (names: the statement map,
 *     txprep.h; absent: the extended protocol is not carried; mirror: a recorded client, mirrored as relays are)
 *   txServer(pool, fd, sig, serverId, held?: Buffer of u32 ids) -> true
 *   txTakeServer(pool, serverId, held?: Buffer) -> id or -1 (held: u32 count, then the server's statement ids in order of use)
 *   txClose(id, toClient?: Buffer, why?) -> boolean
 *   txPool(pool, paused, jsWaiting, canGrow) -> true   txInfo(pool, out: Float64Array) -> count (negative: size needed)
 *   txRecall(pool) -> how many clients were asked back
 *   txStats(id, out: Float64Array) -> boolean
 *   events: 5 escalate (id, '', bytes), 6 client end (id, reason, stats), 7 server end (serverId, reason),
 *   8 server back (serverId), 9 need (pool, waiting count as text)
 *   fastShape(key: Buffer, id) -> boolean (a statement shape's template, native/fastrec.h)   fastCount() -> number
 * Prebuilt records' chained lines (native/auditline.h; src/audit/log.ts), on the JavaScript thread:
 *   linePart(id, part: Buffer) -> boolean   (the template's class, command and objects as JSON fields)
 *   lines(entries: ArrayBuffer, nums: Float64Array, count, sessions: string[], seq, prev, time, key?: Buffer)
 *     -> [lines: string[], lastHash]   (throws on anything it cannot build: the caller writes those records itself)
 * Test-only (native/shape.h against the TypeScript it follows; test/unit/audit/native-shape.test.ts):
 *   shapeTest(text: Buffer) -> [key, cut] | null   secretTest(text: Buffer) -> boolean   jsonTest(text: Buffer) -> string
 * The relay thread reports through one threadsafe function, referenced only while a relay runs,
 * so an idle addon never keeps the process alive. onEvent(2, 0, '', blob: Buffer) carries mirrored
 * sessions' entries (relay.c mirror_flush()); when it returns they are consumed, and the blob goes
 * back to the relay thread in the event loop's check phase (after that turn's other I/O), which
 * lets the next hand-over go (relay.c mirror_due()).
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "auditline.h"
#include "relay.h"
#include "shape.h"
#include "tls.h"

typedef struct {
  int kind;
  double id;
  char text[256];
  double *stats;
  unsigned char *bytes;
  size_t nbytes;
} msg_t;

static napi_threadsafe_function tsfn;
static int initialised = 0;
static int live_count = 0; /* touched on the JavaScript thread only */

/* Mirror blobs JavaScript has processed, returned to the relay thread in the check phase (JavaScript thread only). */
typedef struct {
  unsigned char *blob;
  size_t len;
} processed_t;
static uv_check_t returner;
static processed_t *processed = NULL;
static size_t nprocessed = 0, capprocessed = 0;

static void return_blobs(uv_check_t *h) {
  for (size_t i = 0; i < nprocessed; i++) relay_returned(processed[i].blob, processed[i].len);
  nprocessed = 0;
  uv_check_stop(h);
}

/* Keeps a processed blob for the check phase; at once if that cannot be arranged. */
static void processed_blob(unsigned char *blob, size_t len) {
  if (nprocessed == capprocessed) {
    size_t c = capprocessed ? capprocessed * 2 : 8;
    processed_t *p = realloc(processed, c * sizeof *p);
    if (!p) {
      relay_returned(blob, len);
      return;
    }
    processed = p;
    capprocessed = c;
  }
  processed[nprocessed++] = (processed_t){blob, len};
  if (uv_check_start(&returner, return_blobs) != 0) return_blobs(&returner);
}

/* On the relay thread: queue the event for JavaScript (never blocks: the queue is unbounded). 0 when it could not (bytes stay the caller's). */
static int on_event(int kind, double id, const char *text, const double *stats, unsigned char *bytes, size_t nbytes) {
  msg_t *m = calloc(1, sizeof *m);
  if (!m) return 0;
  m->bytes = bytes;
  m->nbytes = nbytes;
  m->kind = kind;
  m->id = id;
  snprintf(m->text, sizeof m->text, "%s", text);
  if (stats && (m->stats = malloc(relay_stats_len() * sizeof(double)))) memcpy(m->stats, stats, relay_stats_len() * sizeof(double));
  if (napi_call_threadsafe_function(tsfn, m, napi_tsfn_nonblocking) != napi_ok) {
    free(m->stats);
    free(m);
    return 0;
  }
  return 1;
}

static napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

static napi_value boolean(napi_env env, int b) {
  napi_value v;
  napi_get_boolean(env, b, &v);
  return v;
}

static napi_value throw_error(napi_env env, const char *msg) {
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static void call_js(napi_env env, napi_value cb, void *context, void *data) {
  (void)context;
  msg_t *m = data;
  if (env && cb) {
    napi_value argv[5];
    napi_create_int32(env, m->kind, &argv[0]);
    napi_create_double(env, m->id, &argv[1]);
    napi_create_string_utf8(env, m->text, NAPI_AUTO_LENGTH, &argv[2]);
    argv[3] = argv[4] = undefined(env);
    size_t len = relay_stats_len();
    void *out;
    napi_value ab;
    if (m->stats && napi_create_arraybuffer(env, len * sizeof(double), &out, &ab) == napi_ok) {
      memcpy(out, m->stats, len * sizeof(double));
      napi_create_typedarray(env, napi_float64_array, len, ab, 0, &argv[3]);
    }
    /* Bytes go in the fourth argument, or in the fifth when there are stats too (a transaction-plane escalation). */
    if (m->bytes) napi_create_buffer_copy(env, m->nbytes, m->bytes, NULL, m->stats ? &argv[4] : &argv[3]);
    if (m->kind == RELAY_EV_END && --live_count == 0) napi_unref_threadsafe_function(env, tsfn);
    napi_value global;
    napi_get_global(env, &global);
    napi_call_function(env, global, cb, 5, argv, NULL);
  }
  /* Processed (or the environment is going away): the mirrored bytes are no longer in flight. */
  if (m->bytes && m->kind == RELAY_EV_MIRROR) {
    if (env) processed_blob(m->bytes, m->nbytes);
    else relay_returned(m->bytes, m->nbytes);
  } else {
    free(m->bytes);
  }
  free(m->stats);
  free(m);
}

static void cleanup(void *arg) {
  (void)arg;
  return_blobs(&returner);
  uv_close((uv_handle_t *)&returner, NULL);
  relay_stop();
}

static napi_value js_init(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (initialised) return throw_error(env, "the native relay is already initialised");
  void *data;
  size_t len;
  napi_typedarray_type type;
  if (argc < 2 || napi_get_typedarray_info(env, argv[0], &type, &len, &data, NULL, NULL) != napi_ok || type != napi_float64_array) {
    return throw_error(env, "init(buckets: Float64Array, onEvent)");
  }
  napi_value name;
  napi_create_string_utf8(env, "gatehouse-native-relay", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[1], NULL, name, 0, 1, NULL, NULL, NULL, call_js, &tsfn) != napi_ok) {
    return throw_error(env, "could not create the threadsafe function");
  }
  napi_unref_threadsafe_function(env, tsfn);
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || uv_check_init(loop, &returner) != 0) {
    return throw_error(env, "could not set up the event loop check handle");
  }
  uv_unref((uv_handle_t *)&returner); /* it never keeps the process alive */
  const char *err = relay_init(data, (int)len, on_event);
  if (err) {
    uv_close((uv_handle_t *)&returner, NULL); /* no handle left behind */
    return throw_error(env, err);
  }
  initialised = 1;
  napi_add_env_cleanup_hook(env, cleanup, NULL);
  return boolean(env, 1);
}

/* An optional Buffer argument: 0 with *data NULL for undefined/null, -1 for anything else. */
static int get_buffer(napi_env env, napi_value v, unsigned char **data, size_t *len) {
  napi_valuetype t;
  *data = NULL;
  *len = 0;
  if (!v || napi_typeof(env, v, &t) != napi_ok || t == napi_undefined || t == napi_null) return 0;
  bool is;
  if (napi_is_buffer(env, v, &is) != napi_ok || !is) return -1;
  return napi_get_buffer_info(env, v, (void **)data, len) == napi_ok ? 0 : -1;
}

/* An optional boolean argument: anything but true is false. */
static int flag(napi_env env, napi_value v) {
  bool b = false;
  if (v) napi_get_value_bool(env, v, &b);
  return b ? 1 : 0;
}

/* The optional reset arguments of start() and attach(): a Query message Buffer and its timeout in ms. -1 when malformed. */
static int get_reset(napi_env env, napi_value query, napi_value ms, unsigned char **q, size_t *qlen, double *timeout) {
  *timeout = 0;
  if (get_buffer(env, query, q, qlen) < 0) return -1;
  return *qlen == 0 || (ms && napi_get_value_double(env, ms, timeout) == napi_ok) ? 0 : -1;
}

static napi_value js_start(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8] = {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t cfd, sfd;
  unsigned char *ch, *sh, *rq;
  size_t chl, shl, rql;
  double rms;
  if (argc < 2 || napi_get_value_int32(env, argv[0], &cfd) != napi_ok || napi_get_value_int32(env, argv[1], &sfd) != napi_ok ||
      get_buffer(env, argv[2], &ch, &chl) < 0 || get_buffer(env, argv[3], &sh, &shl) < 0 || get_reset(env, argv[6], argv[7], &rq, &rql, &rms) < 0) {
    return throw_error(env,
                       "start(clientFd, serverFd, clientHead?: Buffer, serverHead?: Buffer, mirror?: boolean, reuse?: boolean, reset?: Buffer, resetMs?: number)");
  }
  if (!initialised) return throw_error(env, "the native relay is not initialised");
  double id;
  const char *err = relay_start(cfd, sfd, ch, chl, sh, shl, flag(env, argv[4]), flag(env, argv[5]), rq, rql, rms, &id);
  if (err) return throw_error(env, err);
  if (live_count++ == 0) napi_ref_threadsafe_function(env, tsfn);
  napi_value out;
  napi_create_double(env, id, &out);
  return out;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = {NULL, NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  double id;
  unsigned char *tail;
  size_t len;
  if (argc < 1 || napi_get_value_double(env, argv[0], &id) != napi_ok || get_buffer(env, argv[1], &tail, &len) < 0) {
    return throw_error(env, "close(id, toClient?: Buffer)");
  }
  return boolean(env, relay_close(id, tail, len));
}

static napi_value js_hold(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = {NULL, NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  double id;
  bool on;
  if (argc < 2 || napi_get_value_double(env, argv[0], &id) != napi_ok || napi_get_value_bool(env, argv[1], &on) != napi_ok) {
    return throw_error(env, "hold(id, on: boolean)");
  }
  return boolean(env, relay_hold(id, on ? 1 : 0));
}

static napi_value js_sync(napi_env env, napi_callback_info info) {
  (void)info;
  if (!initialised) return throw_error(env, "the native relay is not initialised");
  return boolean(env, relay_sync());
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
      napi_get_typedarray_info(env, argv[1], &type, &len, &data, NULL, NULL) != napi_ok || type != napi_float64_array || len < relay_stats_len()) {
    return throw_error(env, "stats(id, out: Float64Array)");
  }
  return boolean(env, relay_stats(id, data));
}

static napi_value js_pin(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *data;
  size_t len;
  napi_typedarray_type type;
  if (argc < 1 || napi_get_typedarray_info(env, argv[0], &type, &len, &data, NULL, NULL) != napi_ok || type != napi_int32_array) {
    return throw_error(env, "pin(cpus: Int32Array)");
  }
  if (!initialised) return throw_error(env, "the native relay is not initialised");
  const char *err = relay_pin(data, (int)len);
  if (err) return throw_error(env, err);
  return boolean(env, 1);
}

static napi_value js_live(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  napi_create_int32(env, live_count, &out);
  return out;
}

static void free_ctx(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  tls_ctx_free(data);
}

/* A string argument into buf (truncated to its size); 0 when it is not a string. */
static int get_string(napi_env env, napi_value v, char *buf, size_t size) {
  size_t len;
  return v && napi_get_value_string_utf8(env, v, buf, size, &len) == napi_ok;
}

static napi_value js_tls_context(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5] = {NULL, NULL, NULL, NULL, NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  unsigned char *cert, *key, *ca;
  size_t cert_len, key_len, ca_len;
  char min[16], ciphers[4096];
  if (argc < 5 || get_buffer(env, argv[0], &cert, &cert_len) < 0 || !cert || get_buffer(env, argv[1], &key, &key_len) < 0 || !key ||
      get_buffer(env, argv[2], &ca, &ca_len) < 0 || !get_string(env, argv[3], min, sizeof min) ||
      !get_string(env, argv[4], ciphers, sizeof ciphers)) {
    return throw_error(env, "tlsContext(cert: Buffer, key: Buffer, ca: Buffer | undefined, minVersion: string, ciphers: string)");
  }
  char err[256];
  void *ctx = tls_ctx_new((const char *)cert, cert_len, (const char *)key, key_len, (const char *)ca, ca_len, min, ciphers, err, sizeof err);
  if (!ctx) return throw_error(env, err);
  napi_value out;
  if (napi_create_external(env, ctx, free_ctx, NULL, &out) != napi_ok) {
    tls_ctx_free(ctx);
    return throw_error(env, "could not wrap the SSL context");
  }
  return out;
}

static napi_value js_tls_accept(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3] = {NULL, NULL, NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *ctx = NULL;
  int32_t fd;
  unsigned char *head;
  size_t head_len;
  napi_valuetype t;
  if (argc < 2 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_external || napi_get_value_external(env, argv[0], &ctx) != napi_ok ||
      napi_get_value_int32(env, argv[1], &fd) != napi_ok || get_buffer(env, argv[2], &head, &head_len) < 0) {
    return throw_error(env, "tlsAccept(context, fd, head?: Buffer)");
  }
  if (!initialised) return throw_error(env, "the native relay is not initialised");
  double id;
  int js_fd;
  const char *err = relay_tls_accept(ctx, fd, head, head_len, &id, &js_fd);
  if (err) return throw_error(env, err);
  if (live_count++ == 0) napi_ref_threadsafe_function(env, tsfn);
  napi_value out, v;
  napi_create_array_with_length(env, 2, &out);
  napi_create_double(env, id, &v);
  napi_set_element(env, out, 0, v);
  napi_create_int32(env, js_fd, &v);
  napi_set_element(env, out, 1, v);
  return out;
}

static napi_value js_attach(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9] = {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  double id, rms;
  int32_t sfd, dfd;
  unsigned char *ch, *sh, *rq;
  size_t chl, shl, rql;
  if (argc < 3 || napi_get_value_double(env, argv[0], &id) != napi_ok || napi_get_value_int32(env, argv[1], &sfd) != napi_ok ||
      napi_get_value_int32(env, argv[2], &dfd) != napi_ok || get_buffer(env, argv[3], &ch, &chl) < 0 || get_buffer(env, argv[4], &sh, &shl) < 0 ||
      get_reset(env, argv[7], argv[8], &rq, &rql, &rms) < 0) {
    return throw_error(env,
                       "attach(id, serverFd, doorFd, clientHead?: Buffer, serverHead?: Buffer, mirror?: boolean, reuse?: boolean, reset?: Buffer, resetMs?: number)");
  }
  const char *err = relay_attach(id, sfd, dfd, ch, chl, sh, shl, flag(env, argv[5]), flag(env, argv[6]), rq, rql, rms);
  if (err) return throw_error(env, err);
  return boolean(env, 1);
}

/* A Float64Array argument; 0 when it is not one. */
static int get_f64(napi_env env, napi_value v, double **data, size_t *len) {
  napi_typedarray_type type;
  return v && napi_get_typedarray_info(env, v, &type, len, (void **)data, NULL, NULL) == napi_ok && type == napi_float64_array;
}

static napi_value number(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

static napi_value js_tx_client(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  double pool, sig;
  int32_t fd;
  unsigned char *head, *names;
  size_t head_len, names_len;
  napi_valuetype nt = napi_undefined;
  if (argc < 3 || napi_get_value_double(env, argv[0], &pool) != napi_ok || napi_get_value_int32(env, argv[1], &fd) != napi_ok ||
      napi_get_value_double(env, argv[2], &sig) != napi_ok || get_buffer(env, argv[3], &head, &head_len) < 0 ||
      get_buffer(env, argv[4], &names, &names_len) < 0 || (argv[4] && napi_typeof(env, argv[4], &nt) != napi_ok)) {
    return throw_error(env, "txClient(pool, fd, sig, head?: Buffer, names?: Buffer, mirror?: boolean)");
  }
  if (!initialised) return throw_error(env, "the native relay is not initialised");
  double id;
  const char *err = tx_client(pool, fd, sig, head, head_len, names, names_len, nt == napi_object, flag(env, argv[5]), &id);
  if (err) return throw_error(env, err);
  return number(env, id);
}

static napi_value js_tx_server(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5] = {NULL, NULL, NULL, NULL, NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  double pool, sig, sid;
  int32_t fd;
  unsigned char *held;
  size_t held_len;
  if (argc < 4 || napi_get_value_double(env, argv[0], &pool) != napi_ok || napi_get_value_int32(env, argv[1], &fd) != napi_ok ||
      napi_get_value_double(env, argv[2], &sig) != napi_ok || napi_get_value_double(env, argv[3], &sid) != napi_ok ||
      get_buffer(env, argv[4], &held, &held_len) < 0 || held_len % 4 != 0) {
    return throw_error(env, "txServer(pool, fd, sig, serverId, held?: Buffer)");
  }
  if (!initialised) return throw_error(env, "the native relay is not initialised");
  uint32_t *ids = NULL;
  if (held_len && !(ids = malloc(held_len))) return throw_error(env, "out of memory");
  if (held_len) memcpy(ids, held, held_len);
  const char *err = tx_server(pool, fd, sig, sid, ids, held_len / 4);
  free(ids);
  if (err) return throw_error(env, err);
  return boolean(env, 1);
}

static napi_value js_tx_take_server(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3] = {NULL, NULL, NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  double pool, sid;
  unsigned char *out;
  size_t out_len;
  if (argc < 2 || napi_get_value_double(env, argv[0], &pool) != napi_ok || napi_get_value_double(env, argv[1], &sid) != napi_ok ||
      get_buffer(env, argv[2], &out, &out_len) < 0) {
    return throw_error(env, "txTakeServer(pool, serverId, held?: Buffer)");
  }
  size_t cap = out_len >= 4 ? (out_len - 4) / 4 : 0, n = 0;
  uint32_t *ids = cap ? malloc(cap * sizeof *ids) : NULL;
  double id = tx_take_server(pool, sid, ids, ids ? cap : 0, &n);
  if (out_len >= 4) {
    uint32_t count = (uint32_t)n;
    memcpy(out, &count, 4);
    if (n) memcpy(out + 4, ids, n * sizeof *ids);
  }
  free(ids);
  return number(env, id);
}

static napi_value js_tx_close(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3] = {NULL, NULL, NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  double id;
  unsigned char *bytes;
  size_t len;
  char why[256] = "closed by gatehouse";
  if (argc < 1 || napi_get_value_double(env, argv[0], &id) != napi_ok || get_buffer(env, argv[1], &bytes, &len) < 0) {
    return throw_error(env, "txClose(id, toClient?: Buffer, why?: string)");
  }
  if (argc >= 3) get_string(env, argv[2], why, sizeof why);
  return boolean(env, tx_close_client(id, bytes, len, why));
}

static napi_value js_tx_pool(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4] = {NULL, NULL, NULL, NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  double pool;
  int32_t waiting;
  if (argc < 4 || napi_get_value_double(env, argv[0], &pool) != napi_ok || napi_get_value_int32(env, argv[2], &waiting) != napi_ok) {
    return throw_error(env, "txPool(pool, paused: boolean, jsWaiting, canGrow: boolean)");
  }
  return boolean(env, tx_pool_set(pool, flag(env, argv[1]), waiting, flag(env, argv[3])));
}

static napi_value js_tx_recall(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1] = {NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  double pool;
  if (argc < 1 || napi_get_value_double(env, argv[0], &pool) != napi_ok) return throw_error(env, "txRecall(pool)");
  return number(env, tx_pool_recall(pool));
}

static napi_value js_tx_info(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = {NULL, NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  double pool, *out;
  size_t len;
  if (argc < 2 || napi_get_value_double(env, argv[0], &pool) != napi_ok || !get_f64(env, argv[1], &out, &len)) {
    return throw_error(env, "txInfo(pool, out: Float64Array)");
  }
  return number(env, (double)tx_info(pool, out, len));
}

static napi_value js_tx_stats(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = {NULL, NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  double id, *out;
  size_t len;
  if (argc < 2 || napi_get_value_double(env, argv[0], &id) != napi_ok || !get_f64(env, argv[1], &out, &len) || len < relay_stats_len()) {
    return throw_error(env, "txStats(id, out: Float64Array)");
  }
  return boolean(env, tx_stats(id, out));
}

/*
 * trimMemory(): gives the C allocator's free pages back to the system (glibc's malloc_trim, which
 * also releases free pages inside the heap, not only at its top). A burst of logins leaves freed
 * socket and read buffers scattered through the heap; glibc keeps them resident until trimmed.
 * Returns true when memory was released; false elsewhere (not glibc) or when there was none.
 * src/gateway/memory.ts calls it once the main thread is quiet after a burst.
 */
static napi_value js_trim_memory(napi_env env, napi_callback_info info) {
  (void)info;
#ifdef __GLIBC__
  return boolean(env, malloc_trim(0) == 1);
#else
  return boolean(env, 0);
#endif
}

/* native/memory.cc: V8's critical memory-pressure notification on the calling (main) thread. */
int gatehouse_memory_pressure(void);

/*
 * memoryPressure(): one full collection with V8's reduce-memory flag, which also shrinks the young
 * generation that a burst of logins grew (a plain gc() keeps it while allocation was recently
 * fast). True when it ran. src/gateway/memory.ts calls it once the main thread is quiet after a
 * burst, before trimMemory().
 */
static napi_value js_memory_pressure(napi_env env, napi_callback_info info) {
  (void)info;
  return boolean(env, gatehouse_memory_pressure());
}

static napi_value js_fast_shape(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = {NULL, NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  unsigned char *key;
  size_t len;
  uint32_t id;
  if (argc < 2 || get_buffer(env, argv[0], &key, &len) < 0 || napi_get_value_uint32(env, argv[1], &id) != napi_ok) {
    return throw_error(env, "fastShape(key: Buffer, id: number)");
  }
  return boolean(env, relay_fast_shape(key, len, id));
}

static napi_value js_fast_count(napi_env env, napi_callback_info info) {
  (void)info;
  return number(env, relay_fast_count());
}

static napi_value js_line_part(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2] = {NULL, NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint32_t id;
  unsigned char *p;
  size_t n;
  if (argc < 2 || napi_get_value_uint32(env, argv[0], &id) != napi_ok || get_buffer(env, argv[1], &p, &n) < 0) {
    return throw_error(env, "linePart(id: number, part: Buffer)");
  }
  return boolean(env, line_part(id, p, n));
}

/* A JavaScript number that is an integer in [min, 2^53). */
static int whole(double d, double min) {
  return d >= min && d < 9007199254740992.0 && d == floor(d);
}

static napi_value js_lines(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8] = {NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *entries = NULL, *numsp = NULL;
  size_t elen = 0, nnums = 0, prevlen = 0, timelen = 0;
  napi_typedarray_type type;
  uint32_t count, nsessions;
  double seq;
  char prev[65], time[32];
  unsigned char *key = NULL;
  size_t klen = 0;
  bool is_array = false;
  if (argc < 7 || napi_get_arraybuffer_info(env, argv[0], &entries, &elen) != napi_ok
      || napi_get_typedarray_info(env, argv[1], &type, &nnums, &numsp, NULL, NULL) != napi_ok || type != napi_float64_array
      || napi_get_value_uint32(env, argv[2], &count) != napi_ok || (size_t)count * LINE_STRIDE > nnums
      || napi_is_array(env, argv[3], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[3], &nsessions) != napi_ok
      || napi_get_value_double(env, argv[4], &seq) != napi_ok || !whole(seq, 1)
      || napi_get_value_string_latin1(env, argv[5], prev, sizeof prev, &prevlen) != napi_ok || prevlen != 64
      || napi_get_value_string_latin1(env, argv[6], time, sizeof time, &timelen) != napi_ok || timelen != 24
      || (argc > 7 && get_buffer(env, argv[7], &key, &klen) < 0)) {
    return throw_error(env, "lines(entries: ArrayBuffer, nums: Float64Array, count, sessions: string[], seq, prev, time, key?: Buffer)");
  }
  const double *nums = numsp;
  const unsigned char *base = entries;
  bytes_t *sessions = calloc(nsessions ? nsessions : 1, sizeof *sessions);
  /* Kept between calls (the JavaScript thread's only): a fresh buffer each hand-over costs its pages' faults. */
  static bytes_t out = {0};
  out.len = 0;
  const char *failed = !sessions ? "lines: out of memory" : !line_hash_ready() || (key && !hmac_key(key, klen)) ? "lines: OpenSSL gave no SHA-256" : NULL;
  for (uint32_t i = 0; !failed && i < nsessions; i++) {
    napi_value v;
    size_t n = 0;
    if (napi_get_element(env, argv[3], i, &v) != napi_ok || napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok) failed = "lines: a session is not a string";
    else if (!(sessions[i].buf = malloc(n + 1))) failed = "lines: out of memory";
    else napi_get_value_string_utf8(env, v, (char *)sessions[i].buf, n + 1, &sessions[i].len);
  }
  for (uint32_t i = 0; !failed && i < count; i++) {
    const double *r = nums + (size_t)i * LINE_STRIDE;
    /* The entry as tap.ts prebuilt() reads it: 'R', int32, u32 template id, f64, u32 CommandComplete length, it, the text. */
    if (!whole(r[0], 0) || !whole(r[1], 21) || r[0] + r[1] > (double)elen || !whole(r[2], 1) || !(r[3] >= 0 && r[3] < 1e9)
        || !(r[4] == -1 || whole(r[4], 0)) || !whole(r[5], 0) || r[5] >= nsessions) {
      failed = "lines: a record's numbers are out of range";
      break;
    }
    const unsigned char *m = base + (size_t)r[0];
    size_t mlen = (size_t)r[1];
    uint32_t tid = read_le32(m + 5), clen = read_le32(m + 17);
    if (tid == 0 || tid > FAST_MAX_SHAPES || !line_parts[tid].p || clen > mlen - 21) {
      failed = "lines: an entry is not a prebuilt record of a registered template";
      break;
    }
    const bytes_t *s = &sessions[(size_t)r[5]];
    line_rec_t rec = {seq + i, r[2], r[3], r[4], s->buf, s->len, &line_parts[tid], m + 21 + clen, mlen - 21 - clen};
    if (!line_append(&out, &rec, prev, time, key != NULL)) failed = "lines: out of memory";
  }
  /* A string a line: one string of the whole hand-over would be a large object for V8, allocated afresh each time. */
  napi_value result = NULL, texts = NULL, text, last;
  if (!failed && (napi_create_array_with_length(env, count, &texts) != napi_ok || napi_create_array_with_length(env, 2, &result) != napi_ok)) failed = "lines: out of memory";
  for (size_t at = 0, i = 0; !failed && i < count; i++) {
    const unsigned char *nl = memchr(out.buf + at, '\n', out.len - at);
    if (napi_create_string_utf8(env, (const char *)out.buf + at, (size_t)(nl - (out.buf + at)), &text) != napi_ok || napi_set_element(env, texts, (uint32_t)i, text) != napi_ok) failed = "lines: out of memory";
    at = (size_t)(nl - out.buf) + 1;
  }
  if (!failed && napi_create_string_latin1(env, prev, 64, &last) != napi_ok) failed = "lines: out of memory";
  if (failed) {
    throw_error(env, failed);
    result = NULL;
  } else {
    napi_set_element(env, result, 0, texts);
    napi_set_element(env, result, 1, last);
  }
  for (uint32_t i = 0; sessions && i < nsessions; i++) free(sessions[i].buf);
  free(sessions);
  if (out.cap > ((size_t)8 << 20)) {
    free(out.buf);
    out = (bytes_t){0};
  }
  return result;
}

/* The one Buffer argument of the shape.h test exports; 0 after throwing. */
static int text_arg(napi_env env, napi_callback_info info, const char *usage, unsigned char **t, size_t *n) {
  size_t argc = 1;
  napi_value argv[1] = {NULL};
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || get_buffer(env, argv[0], t, n) < 0) {
    throw_error(env, usage);
    return 0;
  }
  return 1;
}

static napi_value js_shape_test(napi_env env, napi_callback_info info) {
  unsigned char *t;
  size_t n, cut;
  if (!text_arg(env, info, "shapeTest(text: Buffer)", &t, &n)) return NULL;
  bytes_t key = {0};
  napi_value out = NULL, v;
  if (shape_of(t, n, &key, &cut)) {
    napi_create_array_with_length(env, 2, &out);
    napi_create_string_utf8(env, key.len ? (const char *)key.buf : "", key.len, &v);
    napi_set_element(env, out, 0, v);
    napi_set_element(env, out, 1, number(env, (double)cut));
  } else {
    napi_get_null(env, &out);
  }
  free(key.buf);
  return out;
}

static napi_value js_secret_test(napi_env env, napi_callback_info info) {
  unsigned char *t;
  size_t n;
  if (!text_arg(env, info, "secretTest(text: Buffer)", &t, &n)) return NULL;
  return boolean(env, may_carry_secret(t, n));
}

static napi_value js_json_test(napi_env env, napi_callback_info info) {
  unsigned char *t;
  size_t n;
  if (!text_arg(env, info, "jsonTest(text: Buffer)", &t, &n)) return NULL;
  bytes_t out = {0};
  napi_value v = NULL;
  if (json_trimmed_string(&out, t, n)) napi_create_string_utf8(env, (const char *)out.buf, out.len, &v);
  else throw_error(env, "jsonTest: out of memory");
  free(out.buf);
  return v;
}

static napi_value module_init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"init", NULL, js_init, NULL, NULL, NULL, napi_default, NULL},
    {"start", NULL, js_start, NULL, NULL, NULL, napi_default, NULL},
    {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
    {"hold", NULL, js_hold, NULL, NULL, NULL, napi_default, NULL},
    {"sync", NULL, js_sync, NULL, NULL, NULL, napi_default, NULL},
    {"stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL},
    {"live", NULL, js_live, NULL, NULL, NULL, napi_default, NULL},
    {"pin", NULL, js_pin, NULL, NULL, NULL, napi_default, NULL},
    {"tlsContext", NULL, js_tls_context, NULL, NULL, NULL, napi_default, NULL},
    {"tlsAccept", NULL, js_tls_accept, NULL, NULL, NULL, napi_default, NULL},
    {"attach", NULL, js_attach, NULL, NULL, NULL, napi_default, NULL},
    {"txClient", NULL, js_tx_client, NULL, NULL, NULL, napi_default, NULL},
    {"txServer", NULL, js_tx_server, NULL, NULL, NULL, napi_default, NULL},
    {"txTakeServer", NULL, js_tx_take_server, NULL, NULL, NULL, napi_default, NULL},
    {"txClose", NULL, js_tx_close, NULL, NULL, NULL, napi_default, NULL},
    {"txPool", NULL, js_tx_pool, NULL, NULL, NULL, napi_default, NULL},
    {"txRecall", NULL, js_tx_recall, NULL, NULL, NULL, napi_default, NULL},
    {"txInfo", NULL, js_tx_info, NULL, NULL, NULL, napi_default, NULL},
    {"txStats", NULL, js_tx_stats, NULL, NULL, NULL, napi_default, NULL},
    {"trimMemory", NULL, js_trim_memory, NULL, NULL, NULL, napi_default, NULL},
    {"memoryPressure", NULL, js_memory_pressure, NULL, NULL, NULL, napi_default, NULL},
    {"fastShape", NULL, js_fast_shape, NULL, NULL, NULL, napi_default, NULL},
    {"fastCount", NULL, js_fast_count, NULL, NULL, NULL, napi_default, NULL},
    {"linePart", NULL, js_line_part, NULL, NULL, NULL, napi_default, NULL},
    {"lines", NULL, js_lines, NULL, NULL, NULL, napi_default, NULL},
    {"shapeTest", NULL, js_shape_test, NULL, NULL, NULL, napi_default, NULL},
    {"secretTest", NULL, js_secret_test, NULL, NULL, NULL, napi_default, NULL},
    {"jsonTest", NULL, js_json_test, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, module_init)
