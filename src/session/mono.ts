/**
 * The native relay's read times are CLOCK_MONOTONIC ms (native/counters.h mono_ms), libuv's clock
 * too; performance.now() counts from the process's start on that clock. Mirrored entries are given
 * to the tap on performance.now()'s scale (this added), so a plane client's statements (mirrored,
 * then back in JavaScript) are all timed on one clock.
 */
export const MONO_TO_PERF = performance.now() - Number(process.hrtime.bigint()) / 1e6;
