/*
 * htab.h - an intrusive chained hash table (internal). Nodes are embedded in
 * the caller's structs; the caller computes hashes and compares keys.
 */
#ifndef BASE_HTAB_H
#define BASE_HTAB_H

#include <stddef.h>
#include <stdint.h>

typedef struct base_hnode {
    struct base_hnode *next;
    uint64_t hash;
} base_hnode_t;

typedef struct {
    base_hnode_t **b;
    size_t nb; /* power of two */
    size_t n;
} base_htab_t;

/* Inserts; grows the table when the load passes 1. Returns 0 or -1. */
int base_htab_insert(base_htab_t *t, base_hnode_t *node, uint64_t hash);
void base_htab_remove(base_htab_t *t, base_hnode_t *node);
/* First node with this hash, then the next with the same hash. */
base_hnode_t *base_htab_first(const base_htab_t *t, uint64_t hash);
base_hnode_t *base_htab_next(const base_hnode_t *node);
void base_htab_free(base_htab_t *t);

#define base_container_of(ptr, type, member)                                                       \
    ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static inline uint64_t base_hash_mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h * 0xff51afd7ed558ccdull;
}

static inline uint64_t base_hash_bytes(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

#endif
