/*
 * The protocol's one number format the native relay reads and writes itself: a message's int32 length,
 * big-endian (counters.h, mirror.h and reuse.h follow message headers; txplane.h reads whole messages;
 * fastrec.h, txplane.h and txprep.h write lengths), and
 * the growable byte buffer mirror.h and reuse.h collect messages in.
 */
#ifndef GATEHOUSE_WIRE_H
#define GATEHOUSE_WIRE_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline uint32_t be32(const unsigned char *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Writes v as the int32 length, big-endian. */
static inline void put_be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

typedef struct {
  unsigned char *buf;
  size_t len, cap;
} bytes_t;

/* Makes room for n more bytes (a first allocation of at least `first`); 0 when memory ran out. */
static inline int bytes_reserve(bytes_t *b, size_t n, size_t first) {
  if (b->len + n <= b->cap) return 1;
  size_t cap = b->cap ? b->cap : first;
  while (cap < b->len + n) cap *= 2;
  unsigned char *nb = realloc(b->buf, cap);
  if (!nb) return 0;
  b->buf = nb;
  b->cap = cap;
  return 1;
}

/* Appends n bytes; 0 when memory ran out. */
static inline int bytes_append(bytes_t *b, const void *p, size_t n) {
  if (!bytes_reserve(b, n, 4096)) return 0;
  memcpy(b->buf + b->len, p, n);
  b->len += n;
  return 1;
}

#endif
