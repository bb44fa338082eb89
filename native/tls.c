/*
 * The native TLS engine's OpenSSL calls (tls.h). Behaviour follows src/net/tls.ts and
 * src/session/negotiate.ts, which follow PostgreSQL's be-secure-openssl.c:
 * - a client certificate is asked for only when tls.client_ca is set, and the handshake itself
 *   never fails for the chain: the verify callback accepts, and JavaScript refuses a presented
 *   certificate whose verify result is not OK (as Node's path does with rejectUnauthorized false);
 * - ALPN: "postgresql" is selected when offered; direct TLS without it is refused in JavaScript;
 * - no renegotiation, no session tickets or cache (be-secure-openssl.c sets the same).
 * OpenSSL's error queue is per thread: every call clears it first and drains it on failure.
 */
#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

static void set_err(char *err, size_t errlen, const char *what) {
  unsigned long e = ERR_peek_last_error();
  char detail[160] = "";
  if (e) ERR_error_string_n(e, detail, sizeof detail);
  ERR_clear_error();
  snprintf(err, errlen, "%s%s%s", what, detail[0] ? ": " : "", detail);
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in, unsigned int inlen, void *arg) {
  (void)ssl;
  (void)arg;
  static const unsigned char ours[] = "\x0apostgresql";
  unsigned char *sel;
  /* No protocol in common: a fatal no_application_protocol alert (RFC 7301 §3.2), as Node and PostgreSQL 17 send. */
  if (SSL_select_next_proto(&sel, outlen, ours, sizeof ours - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED) return SSL_TLSEXT_ERR_ALERT_FATAL;
  *out = sel;
  return SSL_TLSEXT_ERR_OK;
}

/* Verification goes on past errors; the result is read after the handshake (SSL_get_verify_result). */
static int verify_accept(int ok, X509_STORE_CTX *x) {
  (void)ok;
  (void)x;
  return 1;
}

/* No passphrase: OpenSSL's default callback would prompt on the terminal (an encrypted key fails instead). */
static int no_passphrase(char *buf, int size, int rwflag, void *u) {
  (void)buf;
  (void)size;
  (void)rwflag;
  (void)u;
  return 0;
}

/* The leaf then its chain, from one PEM buffer (what SSL_CTX_use_certificate_chain_file does with a file). */
static int use_cert_chain(SSL_CTX *ctx, BIO *bio) {
  X509 *leaf = PEM_read_bio_X509_AUX(bio, NULL, no_passphrase, NULL);
  if (!leaf) return 0;
  int ok = SSL_CTX_use_certificate(ctx, leaf);
  X509_free(leaf);
  if (!ok) return 0;
  X509 *extra;
  while ((extra = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL)) != NULL) {
    if (!SSL_CTX_add0_chain_cert(ctx, extra)) {
      X509_free(extra);
      return 0;
    }
  }
  ERR_clear_error(); /* the end of the PEM data */
  return 1;
}

/* Trusts every certificate in the CA bundle and names them in CertificateRequest (as Node's `ca` does). */
static int use_client_ca(SSL_CTX *ctx, BIO *bio) {
  X509_STORE *store = SSL_CTX_get_cert_store(ctx);
  X509 *c;
  int n = 0;
  while ((c = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL)) != NULL) {
    int ok = X509_STORE_add_cert(store, c) && SSL_CTX_add_client_CA(ctx, c);
    X509_free(c);
    if (!ok) return 0;
    n++;
  }
  ERR_clear_error();
  return n > 0;
}

/* Node's `ciphers`: TLS 1.3 suites (TLS_…) go to SSL_CTX_set_ciphersuites, the rest to the cipher list. */
static int use_ciphers(SSL_CTX *ctx, const char *list) {
  size_t n = strlen(list);
  char *v13 = calloc(1, n + 1), *v12 = calloc(1, n + 1), *copy = strdup(list);
  int ok = 0;
  if (v13 && v12 && copy) {
    char *save = NULL;
    for (char *t = strtok_r(copy, ":", &save); t; t = strtok_r(NULL, ":", &save)) {
      char *to = strncmp(t, "TLS_", 4) == 0 ? v13 : v12;
      if (to[0]) strcat(to, ":");
      strcat(to, t);
    }
    ok = SSL_CTX_set_cipher_list(ctx, v12[0] ? v12 : "") || !v12[0];
    if (ok && v13[0]) ok = SSL_CTX_set_ciphersuites(ctx, v13);
  }
  free(v13);
  free(v12);
  free(copy);
  return ok;
}

void *tls_ctx_new(const char *cert, size_t cert_len, const char *key, size_t key_len, const char *ca, size_t ca_len,
                  const char *min_version, const char *cipher_list, char *err, size_t errlen) {
  ERR_clear_error();
  SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return set_err(err, errlen, "could not create an SSL context"), NULL;
  BIO *b = NULL;
  const char *what = NULL;
  int min = strcmp(min_version, "TLSv1.3") == 0 ? TLS1_3_VERSION : TLS1_2_VERSION;
  if (!SSL_CTX_set_min_proto_version(ctx, min)) what = "could not set the minimum TLS version";
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  if (!what && cipher_list && cipher_list[0] && !use_ciphers(ctx, cipher_list)) what = "no cipher in tls.ciphers can be used";
  if (!what && (!(b = BIO_new_mem_buf(cert, (int)cert_len)) || !use_cert_chain(ctx, b))) what = "could not load tls.cert";
  BIO_free(b);
  b = NULL;
  if (!what) {
    EVP_PKEY *pk = (b = BIO_new_mem_buf(key, (int)key_len)) ? PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL) : NULL;
    if (!pk || !SSL_CTX_use_PrivateKey(ctx, pk)) what = "could not load tls.key";
    else if (!SSL_CTX_check_private_key(ctx)) what = "tls.key does not match tls.cert";
    EVP_PKEY_free(pk);
    BIO_free(b);
    b = NULL;
  }
  if (!what && ca) {
    if (!(b = BIO_new_mem_buf(ca, (int)ca_len)) || !use_client_ca(ctx, b)) what = "could not load tls.client_ca";
    else SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_accept);
    BIO_free(b);
  }
  if (what) {
    set_err(err, errlen, what);
    SSL_CTX_free(ctx);
    return NULL;
  }
  SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
  ERR_clear_error(); /* an empty TLS 1.2 cipher list's refusal, say: nothing for Node's own calls to find */
  return ctx;
}

void tls_ctx_free(void *ctx) { SSL_CTX_free(ctx); }

tls_conn_t *tls_conn_new(void *ctx, int fd, const unsigned char *head, size_t head_len) {
  ERR_clear_error();
  tls_conn_t *c = calloc(1, sizeof *c);
  SSL *ssl = c ? SSL_new(ctx) : NULL;
  BIO *wb = ssl ? BIO_new_socket(fd, BIO_NOCLOSE) : NULL;
  BIO *rb = NULL;
  if (wb && head_len > 0 && (rb = BIO_new(BIO_s_mem())) != NULL) {
    /* An empty memory BIO says "retry", not EOF: then the socket takes over (tls_head_drained). */
    BIO_set_mem_eof_return(rb, -1);
    if (BIO_write(rb, head, (int)head_len) != (int)head_len) BIO_free(rb), rb = NULL;
    c->head = rb;
  } else if (wb) {
    rb = BIO_new_socket(fd, BIO_NOCLOSE);
  }
  if (!rb) {
    BIO_free(wb);
    SSL_free(ssl);
    free(c);
    ERR_clear_error();
    return NULL;
  }
  SSL_set_bio(ssl, rb, wb);
  SSL_set_accept_state(ssl);
  c->ssl = ssl;
  c->fd = fd;
  c->hs_want = TLS_WANT_IN;
  return c;
}

/* The head bytes are all read: the socket is the read side from now on. 1 when it switched. */
static int head_drained(tls_conn_t *c) {
  if (!c->head || BIO_ctrl_pending(c->head) > 0) return 0;
  BIO *rb = BIO_new_socket(c->fd, BIO_NOCLOSE);
  if (!rb) return 0;
  SSL_set0_rbio(c->ssl, rb); /* frees the memory BIO */
  c->head = NULL;
  return 1;
}

/* Classifies a failed SSL call: TLS_AGAIN with *want set, TLS_EOF, or TLS_FAILED with c->err set. */
static int failure(tls_conn_t *c, int rc, int *want, const char *during) {
  int e = SSL_get_error(c->ssl, rc);
  switch (e) {
    case SSL_ERROR_WANT_READ:
      *want = TLS_WANT_IN;
      return TLS_AGAIN;
    case SSL_ERROR_WANT_WRITE:
      *want = TLS_WANT_OUT;
      return TLS_AGAIN;
    case SSL_ERROR_ZERO_RETURN:
      ERR_clear_error();
      return TLS_EOF;
    case SSL_ERROR_SYSCALL:
      c->failed = 1;
      if (errno == 0) {
        ERR_clear_error();
        return TLS_EOF; /* EOF without close_notify */
      }
      snprintf(c->err, sizeof c->err, "could not %s SSL connection: %s", during, strerror(errno));
      ERR_clear_error();
      return TLS_FAILED;
    default:
      c->failed = 1;
      set_err(c->err, sizeof c->err, during[0] == 'a' ? "could not accept SSL connection" : "SSL error");
      return TLS_FAILED;
  }
}

int tls_handshake(tls_conn_t *c) {
  for (;;) {
    ERR_clear_error();
    errno = 0;
    int rc = SSL_do_handshake(c->ssl);
    if (rc == 1) {
      c->hs_want = 0;
      return 1;
    }
    int r = failure(c, rc, &c->hs_want, "accept");
    if (r == TLS_AGAIN && c->hs_want == TLS_WANT_IN && head_drained(c)) continue;
    if (r == TLS_AGAIN) return 0;
    if (r == TLS_EOF) {
      c->failed = 1;
      snprintf(c->err, sizeof c->err, "connection closed during TLS handshake");
    }
    return -1;
  }
}

ssize_t tls_read(tls_conn_t *c, unsigned char *buf, size_t n) {
  for (;;) {
    ERR_clear_error();
    errno = 0;
    int rc = SSL_read(c->ssl, buf, n > 0x7fffffff ? 0x7fffffff : (int)n);
    if (rc > 0) {
      c->rd_want = 0;
      return rc;
    }
    int r = failure(c, rc, &c->rd_want, "read from");
    if (r == TLS_AGAIN && c->rd_want == TLS_WANT_IN && head_drained(c)) continue;
    return r;
  }
}

ssize_t tls_write(tls_conn_t *c, const unsigned char *buf, size_t n) {
  ERR_clear_error();
  errno = 0;
  int rc = SSL_write(c->ssl, buf, n > 0x7fffffff ? 0x7fffffff : (int)n);
  if (rc > 0) {
    c->wr_want = 0;
    return rc;
  }
  int r = failure(c, rc, &c->wr_want, "write to");
  return r == TLS_EOF ? TLS_FAILED : r;
}

int tls_pending(const tls_conn_t *c) {
  return SSL_pending(c->ssl) > 0 || (c->head && BIO_ctrl_pending(c->head) > 0);
}

/* Node's names for X509 verify results (src/crypto/crypto_common.cc X509ErrorCode). */
static const char *verify_name(long v) {
  switch (v) {
#define CASE(x) case X509_V_ERR_##x: return #x;
    CASE(UNABLE_TO_GET_ISSUER_CERT) CASE(UNABLE_TO_GET_CRL) CASE(UNABLE_TO_DECRYPT_CERT_SIGNATURE)
    CASE(UNABLE_TO_DECRYPT_CRL_SIGNATURE) CASE(UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY) CASE(CERT_SIGNATURE_FAILURE)
    CASE(CRL_SIGNATURE_FAILURE) CASE(CERT_NOT_YET_VALID) CASE(CERT_HAS_EXPIRED) CASE(CRL_NOT_YET_VALID)
    CASE(CRL_HAS_EXPIRED) CASE(ERROR_IN_CERT_NOT_BEFORE_FIELD) CASE(ERROR_IN_CERT_NOT_AFTER_FIELD)
    CASE(ERROR_IN_CRL_LAST_UPDATE_FIELD) CASE(ERROR_IN_CRL_NEXT_UPDATE_FIELD) CASE(OUT_OF_MEM)
    CASE(DEPTH_ZERO_SELF_SIGNED_CERT) CASE(SELF_SIGNED_CERT_IN_CHAIN) CASE(UNABLE_TO_GET_ISSUER_CERT_LOCALLY)
    CASE(UNABLE_TO_VERIFY_LEAF_SIGNATURE) CASE(CERT_CHAIN_TOO_LONG) CASE(CERT_REVOKED) CASE(INVALID_CA)
    CASE(PATH_LENGTH_EXCEEDED) CASE(INVALID_PURPOSE) CASE(CERT_UNTRUSTED) CASE(CERT_REJECTED) CASE(HOSTNAME_MISMATCH)
#undef CASE
    default: return X509_verify_cert_error_string(v);
  }
}

unsigned char *tls_info(const tls_conn_t *c, size_t *len) {
  SSL *ssl = c->ssl;
  const SSL_CIPHER *cipher = SSL_get_current_cipher(ssl);
  const char *version = SSL_get_version(ssl);
  const char *name = cipher ? SSL_CIPHER_standard_name(cipher) : NULL;
  if (!name && cipher) name = SSL_CIPHER_get_name(cipher);
  const unsigned char *alpn = NULL;
  unsigned int alpn_len = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
  X509 *peer = SSL_get1_peer_certificate(ssl);
  long v = peer ? SSL_get_verify_result(ssl) : X509_V_OK;
  const char *verr = v == X509_V_OK ? "" : verify_name(v);
  int der_len = peer ? i2d_X509(peer, NULL) : 0;
  if (der_len < 0) der_len = 0;
  size_t vl = strlen(version ? version : ""), nl = strlen(name ? name : ""), el = strlen(verr);
  size_t total = vl + nl + alpn_len + el + 4 + (size_t)der_len;
  unsigned char *out = malloc(total), *p = out;
  if (out) {
    memcpy(p, version ? version : "", vl + 1), p += vl + 1;
    memcpy(p, name ? name : "", nl + 1), p += nl + 1;
    if (alpn_len) memcpy(p, alpn, alpn_len);
    p += alpn_len;
    *p++ = 0;
    memcpy(p, verr, el + 1), p += el + 1;
    if (der_len > 0 && i2d_X509(peer, &p) != der_len) total -= (size_t)der_len; /* not encodable: no certificate */
    *len = total;
  }
  X509_free(peer);
  ERR_clear_error();
  return out;
}

void tls_shutdown(tls_conn_t *c) {
  if (c->failed || !SSL_is_init_finished((SSL *)c->ssl)) return;
  ERR_clear_error();
  (void)SSL_shutdown(c->ssl); /* close_notify out; the peer's answer is not waited for */
  ERR_clear_error();
  c->failed = 1; /* once */
}

void tls_conn_free(tls_conn_t *c) {
  if (!c) return;
  SSL_free(c->ssl); /* frees both BIOs (never the descriptor: BIO_NOCLOSE) */
  free(c);
}
