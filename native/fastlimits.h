/*
 * The limits of prebuilt statement records (fastrec.h, on the relay thread), in a header of their
 * own so that auditline.h (on the JavaScript thread, in addon.c) shares them without taking
 * fastrec.h's state and functions into addon.c as an unused second copy.
 */
#ifndef GATEHOUSE_FASTLIMITS_H
#define GATEHOUSE_FASTLIMITS_H

/* The entry header mirror.h writes: u8 direction, f64 read time. */
#define FAST_ENTRY_HEAD 9
/* Longer texts are left to JavaScript (its classifier's worker threshold is far above this). */
#define FAST_MAX_TEXT 4096
/* Shapes registered at most (never evicted: a template id stays valid while entries name it). */
#define FAST_MAX_SHAPES 4096
#define FAST_SLOTS 8192
_Static_assert(FAST_MAX_SHAPES < FAST_SLOTS, "fast_slot's probe ends at an empty slot");

#endif
