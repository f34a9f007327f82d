/*
 * cache.c - bounded LRU cache of CoAP responses by URI and Accept.
 */
#include "base_list.h"
#include "gw_cache.h"
#include "gw_strmap.h"

#include <stdlib.h>
#include <string.h>

typedef struct variant {
    struct variant *next_in_uri;
    base_list_t lru; /* in gw_cache.lru */
    struct uri_node *owner;
    int accept;
    gw_cache_entry_t e;
} variant_t;

typedef struct uri_node {
    variant_t *variants;
    char *uri;
} uri_node_t;

struct gw_cache {
    gw_strmap_t *uris;
    base_list_t lru; /* least recently used first */
    size_t entries, bytes, max_entries, max_bytes;
    void (*drop)(void *prepared);
};

gw_cache_t *gw_cache_new(size_t max_entries, size_t max_bytes)
{
    gw_cache_t *c = calloc(1, sizeof *c);
    if (!c || !(c->uris = gw_strmap_new())) {
        free(c);
        return NULL;
    }
    base_list_init(&c->lru);
    c->max_entries = max_entries;
    c->max_bytes = max_bytes;
    return c;
}

/* The least recently used variant, or NULL when the cache is empty. */
static variant_t *lru_oldest(const gw_cache_t *c)
{
    base_list_t *n = base_list_first(&c->lru);
    return n ? base_list_entry(n, variant_t, lru) : NULL;
}

static void variant_drop(gw_cache_t *c, variant_t *v)
{
    uri_node_t *u = v->owner;
    for (variant_t **pp = &u->variants; *pp; pp = &(*pp)->next_in_uri) {
        if (*pp == v) {
            *pp = v->next_in_uri;
            break;
        }
    }
    base_list_remove(&v->lru);
    c->entries--;
    c->bytes -= v->e.len;
    if (v->e.prepared && c->drop) c->drop(v->e.prepared);
    free(v->e.body);
    free(v);
    if (!u->variants) {
        gw_strmap_del(c->uris, u->uri);
        free(u->uri);
        free(u);
    }
}

void gw_cache_on_drop(gw_cache_t *c, void (*drop)(void *prepared))
{
    c->drop = drop;
}

void gw_cache_free(gw_cache_t *c)
{
    if (!c) return;
    for (variant_t *v; (v = lru_oldest(c));) variant_drop(c, v);
    gw_strmap_free(c->uris);
    free(c);
}

static variant_t *find(gw_cache_t *c, const char *uri, int accept)
{
    uri_node_t *u = gw_strmap_get(c->uris, uri);
    for (variant_t *v = u ? u->variants : NULL; v; v = v->next_in_uri)
        if (v->accept == accept) return v;
    return NULL;
}

gw_cache_entry_t *gw_cache_get(gw_cache_t *c, const char *uri, int accept)
{
    variant_t *v = find(c, uri, accept);
    if (!v) return NULL;
    base_list_remove(&v->lru); /* now the most recently used */
    base_list_push_back(&c->lru, &v->lru);
    return &v->e;
}

/* Room for one more entry of len bytes: least recently used out first. */
static void make_room(gw_cache_t *c, size_t len)
{
    variant_t *v;
    while ((c->entries >= c->max_entries || c->bytes + len > c->max_bytes) && (v = lru_oldest(c)))
        variant_drop(c, v);
}

int gw_cache_put(gw_cache_t *c, const char *uri, int accept, const gw_cache_entry_t *e)
{
    if (!c->max_entries || e->len > c->max_bytes) return -1;
    variant_t *old = find(c, uri, accept);
    if (old) variant_drop(c, old);
    make_room(c, e->len);
    variant_t *v = calloc(1, sizeof *v);
    if (!v) return -1;
    v->e = *e;
    v->e.prepared = NULL;
    v->e.body = e->len ? malloc(e->len) : NULL;
    if (e->len && !v->e.body) {
        free(v);
        return -1;
    }
    if (e->len) memcpy(v->e.body, e->body, e->len);
    v->accept = accept;
    uri_node_t *u = gw_strmap_get(c->uris, uri);
    if (!u) {
        u = calloc(1, sizeof *u);
        if (!u || !(u->uri = strdup(uri)) || gw_strmap_set(c->uris, uri, u)) {
            if (u) free(u->uri);
            free(u);
            free(v->e.body);
            free(v);
            return -1;
        }
    }
    v->owner = u;
    v->next_in_uri = u->variants;
    u->variants = v;
    base_list_push_back(&c->lru, &v->lru);
    c->entries++;
    c->bytes += e->len;
    return 0;
}

void gw_cache_invalidate(gw_cache_t *c, const char *uri)
{
    uri_node_t *u = gw_strmap_get(c->uris, uri);
    while (u && u->variants) {
        variant_t *v = u->variants;
        int last = v->next_in_uri == NULL;
        variant_drop(c, v); /* frees u with the last variant */
        if (last) break;
    }
}

size_t gw_cache_entries(const gw_cache_t *c)
{
    return c->entries;
}
