/*
 * The guard benchmark's attacker (bench/guard.bench.ts compiles it with cc): opens RATE TCP
 * connections a second to 127.0.0.1:PORT for SECONDS, binding each to the next of the given source
 * addresses, sends an SSLRequest on each, and counts how each ends: refused (reset or closed with
 * no byte), answered (any byte back) or timed out (2 s). Written in C with epoll so that the
 * attacker costs the shared 2-core machine as little as possible: a real attack comes from other
 * machines. Prints one JSON line.
 *
 *   guard-attacker PORT RATE SECONDS SRC...
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXFD 65536
static double started_at[MAXFD];
static const unsigned char SSL_REQUEST[8] = {0, 0, 0, 8, 4, 210, 22, 47};

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 5) return 2;
  int port = atoi(argv[1]);
  double rate = atof(argv[2]), seconds = atof(argv[3]);
  int nsrc = argc - 4;
  long attempted = 0, refused = 0, answered = 0, timedout = 0, failed = 0;
  int ep = epoll_create1(0);
  struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
  double t0 = now(), credit = 0, last = t0;
  int inflight = 0;
  for (;;) {
    double t = now();
    int sending = t - t0 < seconds;
    if (!sending && inflight == 0) break;
    if (sending) {
      credit += (t - last) * rate;
      last = t;
      for (; credit >= 1; credit--) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (fd < 0 || fd >= MAXFD) { failed++; if (fd >= 0) close(fd); continue; }
        struct sockaddr_in src = {.sin_family = AF_INET};
        inet_pton(AF_INET, argv[4 + attempted % nsrc], &src.sin_addr);
        attempted++;
        if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0 ||
            (connect(fd, (struct sockaddr *)&dst, sizeof dst) < 0 && errno != EINPROGRESS)) {
          failed++;
          close(fd);
          continue;
        }
        struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.fd = fd};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        started_at[fd] = t;
        inflight++;
      }
    }
    struct epoll_event evs[256];
    int n = epoll_wait(ep, evs, 256, 1);
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      unsigned char buf[256];
      if ((evs[i].events & EPOLLOUT) && !(evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err == 0 && write(fd, SSL_REQUEST, sizeof SSL_REQUEST) == sizeof SSL_REQUEST) {
          struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = fd};
          epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
          continue;
        }
      }
      ssize_t r = read(fd, buf, sizeof buf);
      if (r > 0) answered++;
      else refused++;
      started_at[fd] = 0;
      close(fd);
      inflight--;
    }
    /* Rarely needed: a connection nobody answers within 2 s. */
    if (n == 0 && !sending) {
      for (int fd = 0; fd < MAXFD; fd++) {
        if (started_at[fd] > 0 && now() - started_at[fd] > 2) {
          if (fcntl(fd, F_GETFD) != -1) { close(fd); timedout++; inflight--; }
          started_at[fd] = 0;
        }
      }
    }
  }
  printf("{\"attempted\":%ld,\"refused\":%ld,\"answered\":%ld,\"errors\":%ld}\n", attempted, refused, answered, timedout + failed);
  return 0;
}
