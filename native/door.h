/*
 * The native TLS door (relay.h relay_tls_accept, relay_attach), part of relay.c: header-only,
 * included by relay.c alone (after everything it uses), like counters.h and mirror.h.
 *
 * A TLS client's relay starts in PHASE_HANDSHAKE: its client side is a tls_conn_t (tls.h) on the
 * client's descriptor and its server side one end of a socketpair, watched for a hang-up only.
 * Once the handshake is done (RELAY_EV_TLS) it is the door (PHASE_DOOR): plaintext flows between
 * the TLS connection and the socketpair, whose other end JavaScript reads the startup and the
 * authentication from, uncounted and unmirrored. relay_attach() then swaps the real server in
 * (PHASE_RELAY): from there on it is a session relay like any other, its client side TLS.
 */
#ifndef GATEHOUSE_DOOR_H
#define GATEHOUSE_DOOR_H

const char *relay_tls_accept(void *ctx, int fd, const unsigned char *head, size_t head_len, double *id, int *js_fd) {
  if (!started) return "not started";
  relay_t *r = calloc(1, sizeof *r);
  if (!r) return "out of memory";
  r->fd[CLIENT] = r->fd[SERVER] = -1;
  r->phase = PHASE_HANDSHAKE; /* its relay buffers are taken when bytes come (pump) */
  int sp[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) < 0) return discard(r), "could not create a socketpair";
  r->fd[SERVER] = sp[0];
  r->fd[CLIENT] = take_fd(fd);
  if (r->fd[CLIENT] < 0) return close(sp[1]), discard(r), "could not duplicate the socket";
  r->tls = tls_conn_new(ctx, r->fd[CLIENT], head, head_len);
  if (!r->tls) return close(sp[1]), discard(r), "out of memory";
  /* Head bytes (a ClientHello) are not in the socket: start the handshake at the first writability. */
  if (head_len > 0) r->tls->hs_want = TLS_WANT_OUT;
  pthread_mutex_lock(&mu);
  int slot = free_slot();
  if (slot < 0) {
    pthread_mutex_unlock(&mu);
    return close(sp[1]), discard(r), "too many native relays";
  }
  generation += 1;
  r->id = generation * MAX_SLOTS + slot;
  slots[slot] = r;
  watch(r);
  *id = r->id;
  *js_fd = sp[1];
  pthread_mutex_unlock(&mu);
  return NULL;
}

/* Room for n more bytes in a growing buffer (at least one relay buffer big); 0 when out of memory. */
static int reserve(unsigned char **buf, size_t len, size_t *cap, size_t n) {
  if (*buf && len + n <= *cap) return 1;
  size_t c = *cap ? *cap : RELAY_BUF_SIZE;
  while (c < len + n) c *= 2;
  unsigned char *b = realloc(*buf, c);
  if (!b) return 0;
  *buf = b;
  *cap = c;
  return 1;
}

static int append(unsigned char **buf, size_t *len, size_t *cap, const unsigned char *p, size_t n) {
  if (!reserve(buf, *len, cap, n)) return 0;
  if (n) memcpy(*buf + *len, p, n);
  *len += n;
  return 1;
}

/* Appends what fd (non-blocking) holds right now; 0 on out of memory or a read error. */
static int append_readable(unsigned char **buf, size_t *len, size_t *cap, int fd) {
  for (;;) {
    if (!reserve(buf, *len, cap, 4096)) return 0;
    ssize_t n = read(fd, *buf + *len, *cap - *len);
    if (n > 0) { *len += (size_t)n; continue; }
    if (n < 0 && errno == EINTR) continue;
    return n == 0 || errno == EAGAIN || errno == EWOULDBLOCK;
  }
}

const char *relay_attach(double id, int sfd, int door_fd, const unsigned char *ch, size_t chl, const unsigned char *sh, size_t shl, int mirror,
                         int reuse, const unsigned char *reset, size_t reset_len, double reset_ms) {
  if (!started) return "not started";
  int nfd = take_fd(sfd);
  if (nfd < 0) return "could not duplicate the server socket";
  mirror_t *mir = mirror ? calloc(1, sizeof *mir) : NULL;
  if (mirror && !mir) return close(nfd), "out of memory";
  reset_t rs = {0};
  if (reuse && !reset_set(&rs, reset, reset_len, reset_ms)) return mirror_free(mir), close(nfd), "out of memory";
  unsigned char *up = NULL, *down = NULL;
  size_t ulen = 0, ucap = 0, dlen = 0, dcap = 0;
  pthread_mutex_lock(&mu);
  relay_t *r = lookup(id);
  if (!r || r->ended || r->closing || r->phase != PHASE_DOOR) {
    pthread_mutex_unlock(&mu);
    mirror_free(mir);
    reset_free(&rs);
    close(nfd);
    return "the TLS connection has ended";
  }
  /* To the server, in order: what JavaScript read and did not use, what sits unread in its end of
     the socketpair, what this thread had not yet passed on. To the client: what waits for it, what
     JavaScript wrote to its end (ReadyForQuery…), then what the server sent. */
  int ok = append(&up, &ulen, &ucap, ch, chl) && append_readable(&up, &ulen, &ucap, door_fd) &&
           append(&up, &ulen, &ucap, r->len[C2S] ? r->buf[C2S] + r->off[C2S] : NULL, r->len[C2S]) &&
           append(&down, &dlen, &dcap, r->len[S2C] ? r->buf[S2C] + r->off[S2C] : NULL, r->len[S2C]) &&
           append_readable(&down, &dlen, &dcap, r->fd[SERVER]) && append(&down, &dlen, &dcap, sh, shl);
  if (!ok) {
    free(up);
    free(down);
    mirror_free(mir);
    reset_free(&rs);
    close(nfd);
    set_reason(r, "out of memory");
    begin_closing(r);
    int queued = command(id, CMD_INTEREST);
    pthread_mutex_unlock(&mu);
    if (queued) wake();
    return "out of memory";
  }
  epoll_ctl(epfd, EPOLL_CTL_DEL, r->fd[SERVER], NULL);
  close(r->fd[SERVER]);
  r->fd[SERVER] = nfd;
  r->mask[SERVER] = 0;
  struct epoll_event ev = {.events = 0, .data.u64 = ((uint64_t)(uintptr_t)r) | (uint64_t)SERVER};
  epoll_ctl(epfd, EPOLL_CTL_ADD, nfd, &ev);
  free(r->buf[C2S]);
  free(r->buf[S2C]);
  r->buf[C2S] = up;
  r->buf[S2C] = down;
  r->off[C2S] = r->off[S2C] = 0;
  r->len[C2S] = ulen;
  r->len[S2C] = dlen;
  r->phase = PHASE_RELAY;
  r->mir = mir;
  if (mir) mir->id = r->id;
  if (mir) mir->fast.track = mir->fast.on = ulen == 0 && shl == 0; /* as relay_start */
  r->c.last_request = epoch_ms();
  if (ulen) counters_client(&r->c, ulen); /* as relay_start: the first query is timed from its first byte, not from the attach */
  r->ru.enabled = reuse;
  r->rs = rs;
  if (reuse && ulen && reuse_client(&r->ru, up, ulen) >= 0) r->ru.broken = 1; /* a Terminate here goes on */
  if (shl) counters_server(&r->c, sh, shl, on_sqlstate, r);
  if (mir) {
    double now = mono_ms();
    mirror_scan(mir, C2S, up, ulen, now);
    mirror_scan(mir, S2C, sh, shl, now);
    if (mir->broken) set_reason(r, "protocol violation"), begin_closing(r);
    else if (mir->out.len > 0 && !mark_dirty(mir)) set_reason(r, "out of memory"), begin_closing(r);
  }
  /* The thread sets the interest (and reads what OpenSSL holds) in its next batch. */
  int queued = command(id, CMD_INTEREST);
  pthread_mutex_unlock(&mu);
  if (queued) wake();
  return NULL;
}

#endif
