/*
 * gw_dns.h - host names resolved on the event loop: c-ares (dns.c) behind
 * a bounded cache (dns_cache.c). A lookup answers at once from the cache,
 * or starts one query for the name (however many requests wait for it)
 * and the caller waits: its callback runs when the query ends, the answer
 * then in the cache. Nothing here blocks. Internal to gateway/.
 */
#ifndef GW_DNS_H
#define GW_DNS_H

#include "base_loop.h"
#include "cfg.h"
#include "coap_addr.h"

#include <stddef.h>
#include <stdint.h>

#define GW_DNS_MAX_NAMES  4096 /* names cached or in flight at once */
#define GW_DNS_TTL_MIN_S  1    /* a record's TTL is clamped to these bounds */
#define GW_DNS_TTL_MAX_S  86400
#define GW_DNS_NEGATIVE_S 5   /* how long a name that did not resolve stays so */
#define GW_DNS_MAX_ADDRS  4   /* addresses kept per name (the first is used) */
#define GW_DNS_NAME_MAX   253 /* RFC 1035 §2.3.4, as text without the final dot */

typedef enum {
    GW_DNS_FOUND,  /* *out holds the address (port 0) */
    GW_DNS_FAILED, /* the name does not resolve (cached for GW_DNS_NEGATIVE_S) */
    GW_DNS_WAIT,   /* a query is in flight: wait for it (gw_dns_wait) */
    GW_DNS_FULL,   /* GW_DNS_MAX_NAMES queries in flight: try later */
} gw_dns_result_t;

typedef struct gw_dns_waiter gw_dns_waiter_t;
typedef void (*gw_dns_done_cb)(void *arg);

/* --- the cache, without I/O (dns_cache.c) --- */
typedef struct gw_dns_cache gw_dns_cache_t;
/* Starts a query for name, whose end calls gw_dns_cache_answer (perhaps
 * before it returns). Returns 0, or -1 when none could start. */
typedef int (*gw_dns_start_fn)(void *ctx, const char *name);

gw_dns_cache_t *gw_dns_cache_new(size_t max_names, gw_dns_start_fn start, void *ctx);
/* Frees the cache; waiters are dropped without their callbacks. */
void gw_dns_cache_free(gw_dns_cache_t *c);
/* The cached answer for name at now_ms, or GW_DNS_WAIT after starting a
 * query (none when one is in flight already). */
gw_dns_result_t gw_dns_cache_lookup(gw_dns_cache_t *c, const char *name, uint64_t now_ms,
                                    coap_addr_t *out);
/* Waits for the query in flight for name: cb(arg) once when it ends.
 * NULL when no query for name is in flight, or out of memory. */
gw_dns_waiter_t *gw_dns_cache_wait(gw_dns_cache_t *c, const char *name, gw_dns_done_cb cb,
                                   void *arg);
/* Forgets a waiter before its callback (its request went away). */
void gw_dns_cache_cancel(gw_dns_waiter_t *w);
/* The query for name ended: n addresses (0: it failed) valid for ttl_s
 * (clamped); wakes its waiters. */
void gw_dns_cache_answer(gw_dns_cache_t *c, const char *name, uint64_t now_ms,
                         const coap_addr_t *addrs, size_t n, uint32_t ttl_s);
/* ttl_s within [GW_DNS_TTL_MIN_S, GW_DNS_TTL_MAX_S]. */
uint32_t gw_dns_ttl_clamp(uint32_t ttl_s);
/* Names cached or in flight. */
size_t gw_dns_cache_count(const gw_dns_cache_t *c);

/* --- the resolver on the loop (dns.c) --- */
typedef struct gw_dns gw_dns_t;

/* servers: dns.servers ("IP", "IP:PORT", "[IPv6]:PORT"; none: the
 * system's /etc/resolv.conf). NULL with err on failure. */
gw_dns_t *gw_dns_new(base_loop_t *loop, const cfg_list_t *servers, char *err, size_t cap);
/* Frees the resolver; queries in flight end, their waiters uncalled. */
void gw_dns_free(gw_dns_t *d);
gw_dns_result_t gw_dns_lookup(gw_dns_t *d, const char *name, coap_addr_t *out);
gw_dns_waiter_t *gw_dns_wait(gw_dns_t *d, const char *name, gw_dns_done_cb cb, void *arg);
/* Lookups started since start (coapgw_dns_lookups_total: each one
 * getaddrinfo, A and AAAA), and names cached or in flight now. */
uint64_t gw_dns_lookups(const gw_dns_t *d);
size_t gw_dns_names(const gw_dns_t *d);

#endif
