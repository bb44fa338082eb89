/*
 * The TLS thread ("gatehouse-tls"), part of relay.c: header-only, included by relay.c alone (after
 * everything it uses), like door.h.
 *
 * A TLS handshake's CPU is about 0.8 ms with an RSA-2048 key here (native-tls.test.ts measures the
 * thread's share); on the relay thread, a burst of new TLS clients would stall every relayed
 * session for as long. So when a handshaking client's socket is ready, the relay thread takes both
 * of its descriptors out of epoll and queues the relay (hs_submit); this thread runs one
 * tls_handshake() step on it, without the relay lock, and queues it back; the relay thread puts
 * the descriptors back and goes on as before (hs_return, after each batch of events). While a relay
 * is here (hs_busy), the relay thread touches nothing of its TLS connection: settle(),
 * update_interest() and so finish() leave it alone, and a close asked for meanwhile happens when it
 * comes back. The two queues have their own lock (hsmu) and link relays through hs_next, so
 * nothing is allocated. Without the thread (it could not be started), steps run on the relay thread.
 */
#ifndef GATEHOUSE_HANDSHAKE_H
#define GATEHOUSE_HANDSHAKE_H

static pthread_t hs_thread;
static int hs_started = 0, hs_stopping = 0;
static pthread_mutex_t hsmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hscv = PTHREAD_COND_INITIALIZER;
typedef struct {
  relay_t *first, *last; /* linked through hs_next: a relay is in one queue at most, so nothing to allocate */
} hs_queue_t;
static hs_queue_t hs_todo, hs_done; /* relay thread → TLS thread, and back (hsmu) */
static void wake(void);

static void hs_push(hs_queue_t *q, relay_t *r) {
  r->hs_next = NULL;
  if (q->last) q->last->hs_next = r;
  else q->first = r;
  q->last = r;
}

static relay_t *hs_pop(hs_queue_t *q) {
  relay_t *r = q->first;
  if (r && !(q->first = r->hs_next)) q->last = NULL;
  return r;
}

/* Hands a handshaking relay's next step to the TLS thread (the lock is held); 0: run it here instead. */
static int hs_submit(relay_t *r) {
  if (!hs_started) return 0;
  for (int side = 0; side < 2; side++) epoll_ctl(epfd, EPOLL_CTL_DEL, r->fd[side], NULL);
  r->hs_busy = 1;
  pthread_mutex_lock(&hsmu);
  hs_push(&hs_todo, r);
  pthread_cond_signal(&hscv);
  pthread_mutex_unlock(&hsmu);
  return 1;
}

/* Takes back the relays whose step the TLS thread ran (the lock is held): their descriptors go back into epoll. */
static void hs_return(void) {
  if (!hs_started) return;
  for (;;) {
    pthread_mutex_lock(&hsmu);
    relay_t *r = hs_pop(&hs_done);
    pthread_mutex_unlock(&hsmu);
    if (!r) return;
    r->hs_busy = 0;
    for (int side = 0; side < 2; side++) {
      struct epoll_event ev = {.events = 0, .data.u64 = ((uint64_t)(uintptr_t)r) | (uint64_t)side};
      epoll_ctl(epfd, EPOLL_CTL_ADD, r->fd[side], &ev);
      r->mask[side] = 0;
    }
    handshake_result(r, r->hs_rc);
    settle(r, 0);
  }
}

/* The TLS thread: one handshake step at a time, without the relay lock (the relay is its own while hs_busy). */
static void *hs_main(void *arg) {
  (void)arg;
  pthread_mutex_lock(&hsmu);
  for (;;) {
    while (!hs_todo.first && !hs_stopping) pthread_cond_wait(&hscv, &hsmu);
    if (hs_stopping) break;
    relay_t *r = hs_pop(&hs_todo);
    pthread_mutex_unlock(&hsmu);
    r->hs_rc = tls_handshake(r->tls);
    pthread_mutex_lock(&hsmu);
    hs_push(&hs_done, r);
    pthread_mutex_unlock(&hsmu);
    wake();
    pthread_mutex_lock(&hsmu);
  }
  pthread_mutex_unlock(&hsmu);
  return NULL;
}

/* Stops the TLS thread; relays it still had are left as they are (the process is ending). */
static void hs_stop(void) {
  if (!hs_started) return;
  pthread_mutex_lock(&hsmu);
  hs_stopping = 1;
  pthread_cond_signal(&hscv);
  pthread_mutex_unlock(&hsmu);
  pthread_join(hs_thread, NULL);
  hs_started = 0;
  hs_stopping = 0;
}

#endif
