/*
 * base_clock.h - the monotonic clock (CLOCK_MONOTONIC), in milliseconds
 * for timers and microseconds for latencies.
 */
#ifndef BASE_CLOCK_H
#define BASE_CLOCK_H

#include <stdint.h>

uint64_t base_clock_ms(void);
uint64_t base_clock_us(void);

#endif
