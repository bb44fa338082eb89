/*
 * V8's memory-pressure notification, for src/gateway/memory.ts (through addon.c's
 * memoryPressure()). The one part of the addon that uses V8's C++ API rather than N-API: N-API has
 * no way to ask for it, and a plain full collection (`gc()`) keeps the young generation's
 * semi-spaces at the size a burst of logins grew them to whenever allocation was fast during the
 * last seconds, which right after a burst it was. A critical pressure notification collects with
 * V8's reduce-memory flag, which shrinks them at once (to 1 MB from up to 2 x 16 MB).
 */
/* V8's headers leave parameters unused in their inline defaults (-Wextra). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <v8-isolate.h>
#pragma GCC diagnostic pop

/*
 * On the isolate's own thread (the main thread) the collection runs before this returns. The level
 * goes back to none at once: V8 otherwise keeps optimising for memory, not speed, while it lasts.
 * Returns 0 off the isolate's thread (no current isolate), where nothing is done.
 */
extern "C" int gatehouse_memory_pressure(void) {
  v8::Isolate *isolate = v8::Isolate::TryGetCurrent();
  if (!isolate) return 0;
  isolate->MemoryPressureNotification(v8::MemoryPressureLevel::kCritical);
  isolate->MemoryPressureNotification(v8::MemoryPressureLevel::kNone);
  return 1;
}
