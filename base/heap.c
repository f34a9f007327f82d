/*
 * heap.c - intrusive binary min-heap keyed by deadline.
 */
#include "base_heap.h"

#include <stdlib.h>

static void place(base_heap_t *h, size_t i, base_heap_tmr_t *t)
{
    h->v[i] = t;
    t->slot = i + 1;
}

static void sift_up(base_heap_t *h, size_t i)
{
    base_heap_tmr_t *t = h->v[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (h->v[parent]->when <= t->when) break;
        place(h, i, h->v[parent]);
        i = parent;
    }
    place(h, i, t);
}

static void sift_down(base_heap_t *h, size_t i)
{
    base_heap_tmr_t *t = h->v[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && h->v[c + 1]->when < h->v[c]->when) c++;
        if (h->v[c]->when >= t->when) break;
        place(h, i, h->v[c]);
        i = c;
    }
    place(h, i, t);
}

int base_heap_arm(base_heap_t *h, base_heap_tmr_t *t, uint64_t when)
{
    if (t->slot) {
        uint64_t old = t->when;
        t->when = when;
        if (when < old)
            sift_up(h, t->slot - 1);
        else
            sift_down(h, t->slot - 1);
        return 0;
    }
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        base_heap_tmr_t **v = realloc(h->v, cap * sizeof *v);
        if (!v) return -1;
        h->v = v;
        h->cap = cap;
    }
    t->when = when;
    place(h, h->n++, t);
    sift_up(h, h->n - 1);
    return 0;
}

void base_heap_disarm(base_heap_t *h, base_heap_tmr_t *t)
{
    if (!t->slot) return;
    size_t i = t->slot - 1;
    t->slot = 0;
    h->n--;
    if (i == h->n) return;
    place(h, i, h->v[h->n]);
    sift_down(h, i);
    sift_up(h, h->v[i]->slot - 1);
}

void base_heap_free(base_heap_t *h)
{
    free(h->v);
    h->v = NULL;
    h->n = h->cap = 0;
}
