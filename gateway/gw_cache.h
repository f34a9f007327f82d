/*
 * gw_cache.h - the response cache of the HTTP->CoAP proxy (RFC 7252 §5.6):
 * fresh 2.05 responses to GET, keyed by the target URI (Uri-* options) and
 * the Accept option, bounded in entries and bytes, least recently used
 * first out. Unsafe methods invalidate every variant of their URI (§5.6.2).
 */
#ifndef GW_CACHE_H
#define GW_CACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct gw_cache gw_cache_t;

typedef struct {
    uint8_t code;
    int content_format; /* -1: none */
    uint8_t etag[8];
    size_t etag_len;
    uint64_t expires_ms; /* stored time + Max-Age */
    uint8_t *body;
    size_t len;
    /* The answer built from it for one Max-Age value (proxy.c), released
     * with the drop function when the entry goes; NULL when none. */
    void *prepared;
    long prepared_max_age;
} gw_cache_entry_t;

gw_cache_t *gw_cache_new(size_t max_entries, size_t max_bytes);
void gw_cache_free(gw_cache_t *c);

/* Called with an entry's prepared answer when the entry goes. */
void gw_cache_on_drop(gw_cache_t *c, void (*drop)(void *prepared));

/* The entry for (uri, accept), fresh or stale, or NULL. accept is -1 when
 * the request had none. */
gw_cache_entry_t *gw_cache_get(gw_cache_t *c, const char *uri, int accept);
/* Stores a copy (replacing the variant), without e->prepared. Returns 0
 * or -1. */
int gw_cache_put(gw_cache_t *c, const char *uri, int accept, const gw_cache_entry_t *e);
/* Drops every variant of uri. */
void gw_cache_invalidate(gw_cache_t *c, const char *uri);

size_t gw_cache_entries(const gw_cache_t *c);

#endif
