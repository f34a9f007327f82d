/*
 * htab.c - intrusive chained hash table.
 */
#include "base_htab.h"

#include <stdlib.h>

static int grow(base_htab_t *t)
{
    size_t nb = t->nb ? t->nb * 2 : 64;
    base_hnode_t **b = calloc(nb, sizeof *b);
    if (!b) return -1;
    for (size_t i = 0; i < t->nb; i++) {
        base_hnode_t *n = t->b[i];
        while (n) {
            base_hnode_t *next = n->next;
            size_t j = n->hash & (nb - 1);
            n->next = b[j];
            b[j] = n;
            n = next;
        }
    }
    free(t->b);
    t->b = b;
    t->nb = nb;
    return 0;
}

int base_htab_insert(base_htab_t *t, base_hnode_t *node, uint64_t hash)
{
    if (t->n >= t->nb && grow(t) && !t->nb) return -1;
    node->hash = hash;
    size_t i = hash & (t->nb - 1);
    node->next = t->b[i];
    t->b[i] = node;
    t->n++;
    return 0;
}

void base_htab_remove(base_htab_t *t, base_hnode_t *node)
{
    if (!t->nb) return;
    base_hnode_t **pp = &t->b[node->hash & (t->nb - 1)];
    for (; *pp; pp = &(*pp)->next) {
        if (*pp == node) {
            *pp = node->next;
            node->next = NULL;
            t->n--;
            return;
        }
    }
}

base_hnode_t *base_htab_first(const base_htab_t *t, uint64_t hash)
{
    if (!t->nb) return NULL;
    base_hnode_t *n = t->b[hash & (t->nb - 1)];
    while (n && n->hash != hash) n = n->next;
    return n;
}

base_hnode_t *base_htab_next(const base_hnode_t *node)
{
    base_hnode_t *n = node->next;
    while (n && n->hash != node->hash) n = n->next;
    return n;
}

void base_htab_free(base_htab_t *t)
{
    free(t->b);
    t->b = NULL;
    t->nb = t->n = 0;
}
