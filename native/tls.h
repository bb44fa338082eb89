/*
 * The native TLS engine's OpenSSL side (tls.c), used by relay.c and addon.c. It links against the
 * OpenSSL 3 that the node binary itself exports, so the addon needs no library of its own.
 *
 * A context is built once per configuration (and again on reload) from the same PEM files and
 * settings as src/net/tls.ts's SecureContext. A connection (tls_conn_t) is one SSL on a
 * non-blocking socket that relay.c's epoll thread drives: every call returns at once, saying
 * whether it must wait for readability (TLS_WANT_IN) or writability (TLS_WANT_OUT).
 */
#ifndef GATEHOUSE_TLS_H
#define GATEHOUSE_TLS_H

#include <stddef.h>
#include <sys/types.h>

enum { TLS_WANT_IN = 1, TLS_WANT_OUT = 2 };
/* tls_read/tls_write results besides a byte count. */
enum { TLS_EOF = 0, TLS_AGAIN = -1, TLS_FAILED = -2 };

typedef struct tls_conn {
  void *ssl;
  void *head;        /* a memory BIO with bytes read before the handover (a direct-TLS ClientHello); NULL once drained */
  int fd;
  int hs_want;       /* what the handshake waits for */
  int rd_want;       /* what the last tls_read waits for (TLS_WANT_OUT: a TLS 1.3 key update to answer) */
  int wr_want;       /* what the last tls_write waits for */
  int failed;        /* a fatal error: no close_notify (OpenSSL forbids SSL_shutdown after one) */
  char err[200];     /* what failed, as PostgreSQL's log says it: "could not accept SSL connection: …" */
} tls_conn_t;

/*
 * Builds an SSL_CTX. ca may be NULL (no client certificates asked for). min_version: "TLSv1.2" or
 * "TLSv1.3". cipher_list: OpenSSL syntax, TLS 1.3 suites (TLS_…) and the rest mixed, as Node's
 * `ciphers` option takes it. Returns the context, or NULL with err filled.
 */
void *tls_ctx_new(const char *cert, size_t cert_len, const char *key, size_t key_len, const char *ca, size_t ca_len,
                  const char *min_version, const char *cipher_list, char *err, size_t errlen);
void tls_ctx_free(void *ctx);

/* A server-side connection on fd (not owned); head bytes are read first. NULL when out of memory. */
tls_conn_t *tls_conn_new(void *ctx, int fd, const unsigned char *head, size_t head_len);
/* 1: the handshake is done; 0: it waits (hs_want); -1: it failed (err). */
int tls_handshake(tls_conn_t *c);
/* Decrypted bytes: > 0 read, TLS_EOF, TLS_AGAIN (rd_want says what for), TLS_FAILED (err). */
ssize_t tls_read(tls_conn_t *c, unsigned char *buf, size_t n);
/* Bytes written (a partial write is allowed), TLS_AGAIN (wr_want), TLS_FAILED (err). */
ssize_t tls_write(tls_conn_t *c, const unsigned char *buf, size_t n);
/* Decrypted bytes that are not in the socket any more (epoll will not report them). */
int tls_pending(const tls_conn_t *c);
/*
 * The handshake's result for JavaScript, malloc()ed: "version\0cipher\0alpn\0verify error\0" then
 * the client certificate's DER (absent when none was presented). The verify error is empty when
 * the chain verified (or no certificate came), else Node's code name (UNABLE_TO_VERIFY_LEAF_SIGNATURE…).
 */
unsigned char *tls_info(const tls_conn_t *c, size_t *len);
/* Sends close_notify (once, without waiting for the peer's) unless the connection failed. */
void tls_shutdown(tls_conn_t *c);
void tls_conn_free(tls_conn_t *c);

#endif
