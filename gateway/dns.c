/*
 * dns.c - the resolver on the event loop: c-ares's sockets watched by the
 * loop (ARES_OPT_SOCK_STATE_CB), one loop timer at ares_timeout() for its
 * retransmissions, ares_getaddrinfo() (A and AAAA, /etc/hosts first) for
 * the queries of the cache (dns_cache.c). Each try waits TRY_MS (c-ares
 * doubles it on the next round), TRIES rounds: a server that never
 * answers makes a name fail within about 3 s, cached as negative.
 */
#include "gw_dns.h"

#include <ares.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRY_MS 1000
#define TRIES  2

struct gw_dns {
    base_loop_t *loop;
    ares_channel ch;
    base_loop_timer_t *timer;
    gw_dns_cache_t *cache;
    uint64_t lookups;
    int closing; /* ares_destroy() ends the queries: no answers then */
};

typedef struct {
    gw_dns_t *d;
    char name[GW_DNS_NAME_MAX + 1];
} query_t;

/* ares_timeout() on the loop's timer: retransmissions and give-ups. */
static void rearm(gw_dns_t *d)
{
    struct timeval tv, *t = ares_timeout(d->ch, NULL, &tv);
    if (t)
        base_loop_timer_arm_in(d->timer,
                               (uint64_t)t->tv_sec * 1000 + (uint64_t)t->tv_usec / 1000 + 1);
    else
        base_loop_timer_disarm(d->timer);
}

static void on_timer(base_loop_t *loop, base_loop_timer_t *t, void *arg)
{
    (void)loop;
    (void)t;
    gw_dns_t *d = arg;
    ares_process_fd(d->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    rearm(d);
}

static void on_fd(base_loop_t *loop, int fd, unsigned events, void *arg)
{
    (void)loop;
    gw_dns_t *d = arg;
    ares_process_fd(d->ch, events & BASE_LOOP_READ ? fd : ARES_SOCKET_BAD,
                    events & BASE_LOOP_WRITE ? fd : ARES_SOCKET_BAD);
    rearm(d);
}

/* c-ares opens, watches and closes its sockets through this. */
static void sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
    gw_dns_t *d = data;
    unsigned ev = (readable ? BASE_LOOP_READ : 0) | (writable ? BASE_LOOP_WRITE : 0);
    if (!ev)
        base_loop_del_fd(d->loop, fd);
    else if (base_loop_mod_fd(d->loop, fd, ev))
        base_loop_add_fd(d->loop, fd, ev, on_fd, d);
}

/* The smallest TTL of the answer's records, and its addresses. */
static size_t collect(const struct ares_addrinfo *ai, coap_addr_t *out, uint32_t *ttl)
{
    size_t n = 0;
    *ttl = GW_DNS_TTL_MAX_S;
    for (const struct ares_addrinfo_node *a = ai ? ai->nodes : NULL; a && n < GW_DNS_MAX_ADDRS;
         a = a->ai_next) {
        if (a->ai_family != AF_INET && a->ai_family != AF_INET6) continue;
        if ((size_t)a->ai_addrlen > sizeof out[n].u) continue;
        memset(&out[n], 0, sizeof out[n]);
        memcpy(&out[n].u, a->ai_addr, (size_t)a->ai_addrlen);
        out[n].len = a->ai_addrlen;
        coap_addr_unmap(&out[n]);
        if (a->ai_ttl >= 0 && (uint32_t)a->ai_ttl < *ttl) *ttl = (uint32_t)a->ai_ttl;
        n++;
    }
    return n;
}

static void on_answer(void *arg, int status, int timeouts, struct ares_addrinfo *ai)
{
    (void)timeouts;
    query_t *q = arg;
    gw_dns_t *d = q->d;
    coap_addr_t addrs[GW_DNS_MAX_ADDRS];
    uint32_t ttl = 0;
    size_t n = status == ARES_SUCCESS ? collect(ai, addrs, &ttl) : 0;
    ares_freeaddrinfo(ai);
    if (!d->closing) gw_dns_cache_answer(d->cache, q->name, base_loop_now(d->loop), addrs, n, ttl);
    free(q);
}

static int start_query(void *ctx, const char *name)
{
    gw_dns_t *d = ctx;
    query_t *q = calloc(1, sizeof *q);
    if (!q) return -1;
    q->d = d;
    snprintf(q->name, sizeof q->name, "%s", name);
    struct ares_addrinfo_hints hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM};
    d->lookups++;
    ares_getaddrinfo(d->ch, name, NULL, &hints, on_answer, q);
    rearm(d);
    return 0;
}

/* "IP", "IP:PORT", "[IPv6]:PORT" joined with commas, as c-ares takes them. */
static int set_servers(gw_dns_t *d, const cfg_list_t *servers, char *err, size_t cap)
{
    char csv[2048] = "";
    size_t len = 0;
    for (size_t i = 0; i < servers->n; i++) {
        int w = snprintf(csv + len, sizeof csv - len, "%s%s", i ? "," : "", servers->v[i]);
        if (w < 0 || (size_t)w >= sizeof csv - len)
            return snprintf(err, cap, "dns.servers too long"), -1;
        len += (size_t)w;
    }
    int rc = ares_set_servers_ports_csv(d->ch, csv);
    if (rc != ARES_SUCCESS) return snprintf(err, cap, "dns.servers: %s", ares_strerror(rc)), -1;
    return 0;
}

gw_dns_t *gw_dns_new(base_loop_t *loop, const cfg_list_t *servers, char *err, size_t cap)
{
    static int initialised;
    if (!initialised && ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS)
        return snprintf(err, cap, "c-ares: cannot initialise"), NULL;
    initialised = 1;
    gw_dns_t *d = calloc(1, sizeof *d);
    if (!d) return snprintf(err, cap, "out of memory"), NULL;
    d->loop = loop;
    struct ares_options o = {
        .sock_state_cb = sock_state, .sock_state_cb_data = d, .timeout = TRY_MS, .tries = TRIES};
    int rc =
        ares_init_options(&d->ch, &o, ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
    if (rc != ARES_SUCCESS) {
        snprintf(err, cap, "c-ares: %s", ares_strerror(rc));
        free(d);
        return NULL;
    }
    d->timer = base_loop_timer_new(loop, on_timer, d);
    d->cache = gw_dns_cache_new(GW_DNS_MAX_NAMES, start_query, d);
    if (!d->timer || !d->cache) {
        snprintf(err, cap, "out of memory");
        gw_dns_free(d);
        return NULL;
    }
    if (servers->n && set_servers(d, servers, err, cap)) {
        gw_dns_free(d);
        return NULL;
    }
    return d;
}

void gw_dns_free(gw_dns_t *d)
{
    if (!d) return;
    d->closing = 1;
    ares_destroy(d->ch); /* each query's callback runs (ARES_EDESTRUCTION) */
    gw_dns_cache_free(d->cache);
    base_loop_timer_free(d->timer);
    free(d);
}

gw_dns_result_t gw_dns_lookup(gw_dns_t *d, const char *name, coap_addr_t *out)
{
    return gw_dns_cache_lookup(d->cache, name, base_loop_now(d->loop), out);
}

gw_dns_waiter_t *gw_dns_wait(gw_dns_t *d, const char *name, gw_dns_done_cb cb, void *arg)
{
    return gw_dns_cache_wait(d->cache, name, cb, arg);
}

uint64_t gw_dns_lookups(const gw_dns_t *d)
{
    return d->lookups;
}

size_t gw_dns_names(const gw_dns_t *d)
{
    return gw_dns_cache_count(d->cache);
}
