// Prototype: an epoll relay thread; relay(fdA, fdB) dups both fds and forwards bytes both ways.
#include <node_api.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <pthread.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct Pair Pair;
typedef struct End { int fd; Pair* pair; int idx; } End;
struct Pair { End e[2]; char* pend[2]; size_t plen[2], poff[2]; int eof[2]; int dead; };
static int ep = -1;
static char rbuf[65536];

static void update(Pair* p, int i) {
  struct epoll_event ev; memset(&ev, 0, sizeof ev); ev.data.ptr = &p->e[i];
  if (!p->pend[i] && !p->eof[i]) ev.events |= EPOLLIN;
  if (p->pend[1 - i]) ev.events |= EPOLLOUT;
  epoll_ctl(ep, EPOLL_CTL_MOD, p->e[i].fd, &ev);
}
static void kill_pair(Pair* p) {
  if (p->dead) return;
  p->dead = 1;
  epoll_ctl(ep, EPOLL_CTL_DEL, p->e[0].fd, NULL); epoll_ctl(ep, EPOLL_CTL_DEL, p->e[1].fd, NULL);
  close(p->e[0].fd); close(p->e[1].fd); free(p->pend[0]); free(p->pend[1]);
}
static void on_readable(Pair* p, int i) {
  int src = p->e[i].fd, dst = p->e[1 - i].fd;
  for (;;) {
    ssize_t n = read(src, rbuf, sizeof rbuf);
    if (n > 0) {
      ssize_t w = write(dst, rbuf, n);
      if (w < 0) { if (errno == EAGAIN) w = 0; else { kill_pair(p); return; } }
      if (w < n) { p->pend[i] = malloc(n - w); memcpy(p->pend[i], rbuf + w, n - w); p->plen[i] = n - w; p->poff[i] = 0; update(p, i); update(p, 1 - i); return; }
      if (n < (ssize_t)sizeof rbuf) return;
    } else if (n == 0) { p->eof[i] = 1; shutdown(dst, SHUT_WR); if (p->eof[1 - i]) kill_pair(p); else update(p, i); return; }
    else { if (errno == EAGAIN) return; kill_pair(p); return; }
  }
}
static void on_writable(Pair* p, int i) {
  int j = 1 - i;
  ssize_t w = write(p->e[i].fd, p->pend[j] + p->poff[j], p->plen[j] - p->poff[j]);
  if (w < 0) { if (errno == EAGAIN) return; kill_pair(p); return; }
  p->poff[j] += w;
  if (p->poff[j] == p->plen[j]) { free(p->pend[j]); p->pend[j] = NULL; update(p, i); update(p, j); }
}
static void* loop(void* arg) {
  (void)arg;
  struct epoll_event evs[64];
  for (;;) {
    int n = epoll_wait(ep, evs, 64, -1);
    for (int k = 0; k < n; k++) {
      End* e = evs[k].data.ptr; Pair* p = e->pair;
      if (p->dead) continue;
      if (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(p, e->idx);
      if (!p->dead && (evs[k].events & EPOLLOUT)) on_writable(p, e->idx);
    }
  }
  return NULL;
}
static napi_value relay(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value argv[2]; int32_t a, b;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_get_value_int32(env, argv[0], &a); napi_get_value_int32(env, argv[1], &b);
  Pair* p = calloc(1, sizeof *p);
  p->e[0] = (End){ dup(a), p, 0 }; p->e[1] = (End){ dup(b), p, 1 };
  for (int i = 0; i < 2; i++) {
    fcntl(p->e[i].fd, F_SETFL, fcntl(p->e[i].fd, F_GETFL) | O_NONBLOCK);
    struct epoll_event ev; memset(&ev, 0, sizeof ev); ev.events = EPOLLIN; ev.data.ptr = &p->e[i];
    epoll_ctl(ep, EPOLL_CTL_ADD, p->e[i].fd, &ev);
  }
  return NULL;
}
static napi_value init(napi_env env, napi_value exports) {
  if (ep < 0) { ep = epoll_create1(EPOLL_CLOEXEC); pthread_t t; pthread_create(&t, NULL, loop, NULL); pthread_detach(t); }
  napi_value fn; napi_create_function(env, "relay", NAPI_AUTO_LENGTH, relay, NULL, &fn);
  napi_set_named_property(env, exports, "relay", fn);
  return exports;
}
NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
