/*
 * heap.h - an intrusive binary min-heap of timers (internal to the engine
 * and the loop). Each timer knows its slot, so removal is O(log n).
 */
#ifndef BASE_HEAP_H
#define BASE_HEAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct base_heap_tmr {
    uint64_t when; /* ms on the owner's clock */
    size_t slot;   /* index in the heap + 1; 0 when not armed */
} base_heap_tmr_t;

typedef struct {
    base_heap_tmr_t **v;
    size_t n, cap;
} base_heap_t;

/* Arms t at `when` (re-arms if already armed). Returns 0 or -1 (no memory). */
int base_heap_arm(base_heap_t *h, base_heap_tmr_t *t, uint64_t when);
void base_heap_disarm(base_heap_t *h, base_heap_tmr_t *t);
static inline base_heap_tmr_t *base_heap_top(const base_heap_t *h)
{
    return h->n ? h->v[0] : NULL;
}
static inline int base_heap_armed(const base_heap_tmr_t *t)
{
    return t->slot != 0;
}
void base_heap_free(base_heap_t *h);

#endif
