/*
 * strmap.c - chained hash map with string keys (FNV-1a).
 */
#include "gw_strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct node {
    struct node *next;
    uint64_t hash;
    void *value;
    char key[];
} node_t;

struct gw_strmap {
    node_t **b;
    size_t nb, n;
};

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

gw_strmap_t *gw_strmap_new(void)
{
    gw_strmap_t *m = calloc(1, sizeof *m);
    if (m && !(m->b = calloc(m->nb = 64, sizeof *m->b))) {
        free(m);
        return NULL;
    }
    return m;
}

void gw_strmap_free(gw_strmap_t *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->nb; i++) {
        while (m->b[i]) {
            node_t *n = m->b[i];
            m->b[i] = n->next;
            free(n);
        }
    }
    free(m->b);
    free(m);
}

static node_t **find(const gw_strmap_t *m, const char *key, uint64_t h)
{
    node_t **pp = &m->b[h & (m->nb - 1)];
    while (*pp && ((*pp)->hash != h || strcmp((*pp)->key, key))) pp = &(*pp)->next;
    return pp;
}

static void grow(gw_strmap_t *m)
{
    size_t nb = m->nb * 2;
    node_t **b = calloc(nb, sizeof *b);
    if (!b) return; /* stay at this size: slower, still correct */
    for (size_t i = 0; i < m->nb; i++) {
        while (m->b[i]) {
            node_t *n = m->b[i];
            m->b[i] = n->next;
            n->next = b[n->hash & (nb - 1)];
            b[n->hash & (nb - 1)] = n;
        }
    }
    free(m->b);
    m->b = b;
    m->nb = nb;
}

int gw_strmap_set(gw_strmap_t *m, const char *key, void *value)
{
    uint64_t h = fnv(key);
    node_t **pp = find(m, key, h);
    if (*pp) {
        (*pp)->value = value;
        return 0;
    }
    size_t kl = strlen(key);
    node_t *n = malloc(sizeof *n + kl + 1);
    if (!n) return -1;
    n->next = NULL;
    n->hash = h;
    n->value = value;
    memcpy(n->key, key, kl + 1);
    *pp = n;
    if (++m->n > m->nb) grow(m);
    return 0;
}

void *gw_strmap_get(const gw_strmap_t *m, const char *key)
{
    node_t *n = *find(m, key, fnv(key));
    return n ? n->value : NULL;
}

void *gw_strmap_del(gw_strmap_t *m, const char *key)
{
    node_t **pp = find(m, key, fnv(key));
    node_t *n = *pp;
    if (!n) return NULL;
    *pp = n->next;
    void *v = n->value;
    free(n);
    m->n--;
    return v;
}

size_t gw_strmap_count(const gw_strmap_t *m)
{
    return m->n;
}

void gw_strmap_each(const gw_strmap_t *m, void (*fn)(const char *, void *, void *), void *arg)
{
    for (size_t i = 0; i < m->nb; i++)
        for (node_t *n = m->b[i]; n; n = n->next) fn(n->key, n->value, arg);
}
