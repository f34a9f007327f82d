/*
 * heap.h - an intrusive binary min-heap of timers (internal to the engine
 * and the loop). Each timer knows its slot, so removal is O(log n).
 */
#ifndef COAP_HEAP_H
#define COAP_HEAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct coap_heap_tmr {
    uint64_t when; /* ms on the owner's clock */
    size_t slot;   /* index in the heap + 1; 0 when not armed */
} coap_heap_tmr_t;

typedef struct {
    coap_heap_tmr_t **v;
    size_t n, cap;
} coap_heap_t;

/* Arms t at `when` (re-arms if already armed). Returns 0 or -1 (no memory). */
int coap_heap_arm(coap_heap_t *h, coap_heap_tmr_t *t, uint64_t when);
void coap_heap_disarm(coap_heap_t *h, coap_heap_tmr_t *t);
static inline coap_heap_tmr_t *coap_heap_top(const coap_heap_t *h)
{
    return h->n ? h->v[0] : NULL;
}
static inline int coap_heap_armed(const coap_heap_tmr_t *t)
{
    return t->slot != 0;
}
void coap_heap_free(coap_heap_t *h);

#endif
