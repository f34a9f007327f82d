/*
 * gw_strmap.h - a small string-keyed hash map (chained, grows by doubling)
 * for the gateway's tables: cache entries, requests in flight, devices.
 */
#ifndef GW_STRMAP_H
#define GW_STRMAP_H

#include <stddef.h>

typedef struct gw_strmap gw_strmap_t;

gw_strmap_t *gw_strmap_new(void);
/* Frees the map and its copies of the keys; values are the caller's. */
void gw_strmap_free(gw_strmap_t *m);
/* Sets key -> value (the key is copied). Returns 0 or -1 (no memory). */
int gw_strmap_set(gw_strmap_t *m, const char *key, void *value);
void *gw_strmap_get(const gw_strmap_t *m, const char *key);
/* Removes key; returns its value or NULL. */
void *gw_strmap_del(gw_strmap_t *m, const char *key);
size_t gw_strmap_count(const gw_strmap_t *m);
/* Calls fn for every entry; fn must not change the map. */
void gw_strmap_each(const gw_strmap_t *m, void (*fn)(const char *key, void *value, void *arg),
                    void *arg);

#endif
