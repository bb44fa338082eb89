/*
 * The relay thread's C interface (relay.c), used by the N-API glue (addon.c). Every function is
 * safe to call from the JavaScript thread while the relay thread runs.
 */
#ifndef GATEHOUSE_RELAY_H
#define GATEHOUSE_RELAY_H

#include <stddef.h>
#include <stdint.h>

/* The most head bytes start() takes per direction: one relay buffer. */
#define RELAY_BUF_SIZE 65536

enum { RELAY_EV_END = 0, RELAY_EV_SQLSTATE = 1, RELAY_EV_MIRROR = 2, RELAY_EV_SYNC = 3, RELAY_EV_TLS = 4 };
/* The transaction plane's events (native/txplane.h; src/pool/native-plane.ts reads them). */
enum { TX_EV_ESCALATE = 5, TX_EV_CLIENT_END = 6, TX_EV_SERVER_END = 7, TX_EV_SERVER_BACK = 8, TX_EV_NEED = 9 };

/*
 * How the relay thread reports: a relay ended (text: its reason; stats: its final counters,
 * relay_stats_len() numbers, the last a kept server descriptor or -1), the server sent an ErrorResponse (text: the SQLSTATE; stats NULL),
 * or mirrored sessions have entries (RELAY_EV_MIRROR, id 0: bytes is a malloc()ed blob of
 * nbytes that the callee owns once it returns 1; its layout is in relay.c mirror_flush()), or a TLS handshake is done (RELAY_EV_TLS: bytes as
 * RELAY_EV_MIRROR's, laid out by tls.h tls_info()). Returns 0 when the event could not be queued. Called with the relay lock held, on the relay thread; it
 * must not block.
 */
typedef int (*relay_event_fn)(int kind, double id, const char *text, const double *stats, unsigned char *bytes, size_t nbytes);

/* Starts the thread. Returns NULL, or what failed. */
const char *relay_init(const double *buckets, int nbuckets, relay_event_fn on_event);
/*
 * Pins the relay thread to these CPUs (`relay_cpus`); n == 0 lets it run on any CPU the process may
 * use. Returns NULL, or what failed (the thread keeps its previous affinity).
 */
const char *relay_pin(const int *cpus, int n);
/* Stops the thread (environment teardown); relays still running are left to the process exit. */
void relay_stop(void);
size_t relay_stats_len(void);
/*
 * dup()s both descriptors; head bytes go out first. mirror: copy what the audit tap reads
 * (mirror.h) and report it as RELAY_EV_MIRROR. reuse: when the client leaves with the server idle
 * (reuse.h), the server's descriptor is not closed but passed with RELAY_EV_END as the last stats
 * number (-1 otherwise); the callee owns it. With a reset (a Query message, reset_len > 0) the
 * server first runs it: its reply, up to its ReadyForQuery, comes as RELAY_EV_END's bytes, and a
 * server with no reply within reset_ms (or gone) is closed, not passed. Returns NULL and sets *id,
 * or what failed.
 */
const char *relay_start(int client_fd, int server_fd, const unsigned char *client_head, size_t client_head_len,
                        const unsigned char *server_head, size_t server_head_len, int mirror, int reuse,
                        const unsigned char *reset, size_t reset_len, double reset_ms, double *id);
/* Stops (on != 0) or resumes reading the client of a mirrored relay. 0 when the relay had ended. */
int relay_hold(double id, int on);
/*
 * Asks the thread for a RELAY_EV_SYNC after its next batch: every entry mirrored before the call
 * has been reported by then. 0 when the thread is not running.
 */
int relay_sync(void);

/*
 * Registers a statement shape (src/audit/sql-lexer.ts shapeOf) whose template JavaScript keeps
 * under `id` (src/audit/prebuilt.ts): a mirrored session's Query of that shape may then reach
 * JavaScript as one prebuilt entry (fastrec.h). 0 when the table is full.
 */
int relay_fast_shape(const unsigned char *key, size_t len, uint32_t id);

/* Entries prebuilt since start. */
double relay_fast_count(void);
/*
 * JavaScript has processed a RELAY_EV_MIRROR blob: its bytes are no longer in flight, and the next
 * hand-over may go. Takes the blob (the thread frees it). Never waits for the thread's batch lock.
 */
void relay_returned(unsigned char *blob, size_t len);
/* Asks the thread to flush, send `to_client`, then close both sides. 0 when the relay had ended. */
int relay_close(double id, const unsigned char *to_client, size_t len);
/*
 * The native TLS door: dup()s fd, runs the TLS handshake on it (head: bytes already read, a
 * direct-TLS ClientHello), then relays plaintext between the TLS connection and one end of a
 * socketpair, whose other end (*js_fd, owned by the caller) JavaScript reads the startup and
 * authentication from. The handshake's result comes as RELAY_EV_TLS (bytes: tls_info()); a
 * failure or a hang-up as RELAY_EV_END with the reason. Returns NULL and sets *id, or what failed.
 */
const char *relay_tls_accept(void *ssl_ctx, int fd, const unsigned char *head, size_t head_len, double *id, int *js_fd);
/*
 * Turns a TLS door into a session relay: the server (dup()ed) replaces the socketpair. The client
 * head, then what is unread in door_fd (JavaScript's end, which it closes after), go to the server;
 * what JavaScript wrote to its end, then the server head, go to the client. Returns NULL, or what
 * failed (the relay then ends). reuse and reset: as relay_start's.
 */
const char *relay_attach(double id, int server_fd, int door_fd, const unsigned char *client_head, size_t client_head_len,
                         const unsigned char *server_head, size_t server_head_len, int mirror, int reuse,
                         const unsigned char *reset, size_t reset_len, double reset_ms);
/* Copies a running relay's counters into out (relay_stats_len() numbers). 0 when it has ended. */
int relay_stats(double id, double *out);

/*
 * The transaction plane (native/txplane.h). tx_client takes a logged-in client between
 * transactions (fd dup()ed; head: bytes it sent that nobody read) into pool `pool` with parameter
 * signature `sig`, with its statement map (names: native/txprep.h's layout; extended: 0 when the
 * extended protocol is not carried, as with max_prepared_statements 0); mirror: 1 for a recorded
 * client, whose carried messages are mirrored under its id (mirror.h; relay_hold holds it too); tx_server lends an idle
 * server with the prepared-statement ids it holds. tx_take_server gives an idle server back (by
 * id, or any with -1): its id, or -1, and its statement ids in order of use (none when over cap). tx_close_client sends `bytes` (a FATAL), then ends the client;
 * tx_pool_set passes PAUSE, JavaScript's waiters and whether a server may be opened; tx_pool_recall
 * gives every client of a pool back to JavaScript (idle ones now, linked ones when answered); tx_info and
 * tx_stats read state (txplane.h says the layouts); tx_stats (and the escalate and end events) hand
 * over a client's counters accrued since the last of them, and start them again from zero.
 */
const char *tx_client(double pool, int fd, double sig, const unsigned char *head, size_t head_len, const unsigned char *names,
                      size_t names_len, int extended, int mirror, double *id);
const char *tx_server(double pool, int fd, double sig, double server_id, const uint32_t *held, size_t nheld);
double tx_take_server(double pool, double server_id, uint32_t *held, size_t cap, size_t *nheld);
int tx_close_client(double id, const unsigned char *bytes, size_t len, const char *why);
int tx_pool_set(double pool, int paused, int js_waiting, int can_grow);
int tx_pool_recall(double pool);
long tx_info(double pool, double *out, size_t cap);
int tx_stats(double id, double *out);

#endif
