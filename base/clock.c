/*
 * clock.c - the monotonic clock (base_clock.h).
 */
#include "base_clock.h"

#include <time.h>

uint64_t base_clock_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t base_clock_ms(void)
{
    return base_clock_us() / 1000u;
}
