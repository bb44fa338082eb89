/*
 * The protocol's one number format the native relay reads itself: a message's int32 length, big-endian
 * (counters.h, mirror.h and reuse.h follow message headers; txplane.h reads whole messages).
 */
#ifndef GATEHOUSE_WIRE_H
#define GATEHOUSE_WIRE_H
#include <stdint.h>

static inline uint32_t be32(const unsigned char *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

#endif
