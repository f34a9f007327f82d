/*
 * dns_cache.c - the name cache of the resolver (gw_dns.h): one entry per
 * name (lower case), with its addresses and when they expire (the
 * record's TTL, clamped), or a negative entry for GW_DNS_NEGATIVE_S, or a
 * query in flight with the requests that wait for it. Bounded: at
 * max_names the least recently used answered entry goes; entries in
 * flight stay until their answer. Names come from request URLs: the
 * table is keyed with SipHash under a random key (no collision floods).
 */
#include "gw_dns.h"
#include "base_htab.h"
#include "base_list.h"
#include "base_siphash.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

enum { ENTRY_PENDING, ENTRY_FOUND, ENTRY_FAILED };

typedef struct {
    base_hnode_t node;
    base_list_t lru;     /* answered entries, oldest use first */
    base_list_t waiters; /* while pending */
    int state;
    uint64_t expires_ms;
    coap_addr_t addrs[GW_DNS_MAX_ADDRS];
    size_t naddrs;
    char name[GW_DNS_NAME_MAX + 1];
} entry_t;

struct gw_dns_waiter {
    base_list_t link;
    gw_dns_done_cb cb;
    void *arg;
};

struct gw_dns_cache {
    base_htab_t tab;
    base_list_t lru;
    size_t n, max;
    gw_dns_start_fn start;
    void *ctx;
    uint8_t key[16];
};

uint32_t gw_dns_ttl_clamp(uint32_t ttl_s)
{
    return ttl_s < GW_DNS_TTL_MIN_S   ? GW_DNS_TTL_MIN_S
           : ttl_s > GW_DNS_TTL_MAX_S ? GW_DNS_TTL_MAX_S
                                      : ttl_s;
}

gw_dns_cache_t *gw_dns_cache_new(size_t max_names, gw_dns_start_fn start, void *ctx)
{
    gw_dns_cache_t *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    if (getrandom(c->key, sizeof c->key, 0) != (ssize_t)sizeof c->key) {
        free(c);
        return NULL;
    }
    base_list_init(&c->lru);
    c->max = max_names ? max_names : 1;
    c->start = start;
    c->ctx = ctx;
    return c;
}

static void drop_waiters(entry_t *e)
{
    while (!base_list_empty(&e->waiters)) {
        gw_dns_waiter_t *w = base_list_entry(base_list_first(&e->waiters), gw_dns_waiter_t, link);
        base_list_remove(&w->link);
        free(w);
    }
}

static void entry_remove(gw_dns_cache_t *c, entry_t *e)
{
    base_htab_remove(&c->tab, &e->node);
    if (base_list_linked(&e->lru)) base_list_remove(&e->lru);
    drop_waiters(e);
    c->n--;
    free(e);
}

void gw_dns_cache_free(gw_dns_cache_t *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->tab.nb; i++)
        while (c->tab.b[i]) entry_remove(c, base_container_of(c->tab.b[i], entry_t, node));
    base_htab_free(&c->tab);
    free(c);
}

/* name in lower case into out; -1 when empty or too long. */
static int fold(const char *name, char out[GW_DNS_NAME_MAX + 1])
{
    size_t l = strlen(name);
    if (l == 0 || l > GW_DNS_NAME_MAX) return -1;
    for (size_t i = 0; i <= l; i++) out[i] = (char)tolower((unsigned char)name[i]);
    return 0;
}

static uint64_t hash_of(const gw_dns_cache_t *c, const char *folded)
{
    return base_siphash24(c->key, folded, strlen(folded));
}

static entry_t *find(const gw_dns_cache_t *c, const char *folded)
{
    uint64_t h = hash_of(c, folded);
    for (base_hnode_t *n = base_htab_first(&c->tab, h); n; n = base_htab_next(n)) {
        entry_t *e = base_container_of(n, entry_t, node);
        if (!strcmp(e->name, folded)) return e;
    }
    return NULL;
}

/* A new pending entry, making room by dropping the least recently used
 * answered one; NULL when every entry is in flight (or no memory). */
static entry_t *add(gw_dns_cache_t *c, const char *folded)
{
    if (c->n >= c->max) {
        base_list_t *oldest = base_list_first(&c->lru);
        if (!oldest) return NULL;
        entry_remove(c, base_list_entry(oldest, entry_t, lru));
    }
    entry_t *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    strcpy(e->name, folded);
    base_list_init(&e->lru);
    base_list_init(&e->waiters);
    e->state = ENTRY_PENDING;
    if (base_htab_insert(&c->tab, &e->node, hash_of(c, folded))) {
        free(e);
        return NULL;
    }
    c->n++;
    return e;
}

static gw_dns_result_t answer_of(gw_dns_cache_t *c, entry_t *e, coap_addr_t *out)
{
    if (e->state == ENTRY_PENDING) return GW_DNS_WAIT;
    base_list_remove(&e->lru); /* most recently used last */
    base_list_push_back(&c->lru, &e->lru);
    if (e->state == ENTRY_FAILED) return GW_DNS_FAILED;
    *out = e->addrs[0];
    return GW_DNS_FOUND;
}

gw_dns_result_t gw_dns_cache_lookup(gw_dns_cache_t *c, const char *name, uint64_t now_ms,
                                    coap_addr_t *out)
{
    char folded[GW_DNS_NAME_MAX + 1];
    if (fold(name, folded)) return GW_DNS_FAILED;
    entry_t *e = find(c, folded);
    if (e && (e->state == ENTRY_PENDING || now_ms < e->expires_ms)) return answer_of(c, e, out);
    if (e) { /* expired: asked again */
        base_list_remove(&e->lru);
        e->state = ENTRY_PENDING;
    } else if (!(e = add(c, folded))) {
        return GW_DNS_FULL;
    }
    if (c->start(c->ctx, folded)) {
        gw_dns_cache_answer(c, folded, now_ms, NULL, 0, 0);
        return GW_DNS_FAILED;
    }
    /* the query may have ended already (/etc/hosts, a malformed name) */
    return answer_of(c, e, out);
}

gw_dns_waiter_t *gw_dns_cache_wait(gw_dns_cache_t *c, const char *name, gw_dns_done_cb cb,
                                   void *arg)
{
    char folded[GW_DNS_NAME_MAX + 1];
    entry_t *e = fold(name, folded) ? NULL : find(c, folded);
    if (!e || e->state != ENTRY_PENDING) return NULL;
    gw_dns_waiter_t *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->cb = cb;
    w->arg = arg;
    base_list_push_back(&e->waiters, &w->link);
    return w;
}

void gw_dns_cache_cancel(gw_dns_waiter_t *w)
{
    if (!w) return;
    base_list_remove(&w->link);
    free(w);
}

static void store(entry_t *e, uint64_t now_ms, const coap_addr_t *addrs, size_t n, uint32_t ttl_s)
{
    e->naddrs = n < GW_DNS_MAX_ADDRS ? n : GW_DNS_MAX_ADDRS;
    if (e->naddrs) memcpy(e->addrs, addrs, e->naddrs * sizeof *addrs);
    e->state = e->naddrs ? ENTRY_FOUND : ENTRY_FAILED;
    /* a negative answer is kept briefly: a flood of one bad name is not a
     * flood of queries */
    e->expires_ms = now_ms + 1000ull * (e->naddrs ? gw_dns_ttl_clamp(ttl_s) : GW_DNS_NEGATIVE_S);
}

void gw_dns_cache_answer(gw_dns_cache_t *c, const char *name, uint64_t now_ms,
                         const coap_addr_t *addrs, size_t n, uint32_t ttl_s)
{
    char folded[GW_DNS_NAME_MAX + 1];
    entry_t *e = fold(name, folded) ? NULL : find(c, folded);
    if (!e || e->state != ENTRY_PENDING) return;
    store(e, now_ms, addrs, n, ttl_s);
    base_list_push_back(&c->lru, &e->lru);
    /* the waiters move out first: a callback may look up other names,
     * which may drop this entry to make room */
    base_list_t woken;
    base_list_init(&woken);
    while (!base_list_empty(&e->waiters)) {
        base_list_t *l = base_list_first(&e->waiters);
        base_list_remove(l);
        base_list_push_back(&woken, l);
    }
    while (!base_list_empty(&woken)) {
        gw_dns_waiter_t *w = base_list_entry(base_list_first(&woken), gw_dns_waiter_t, link);
        base_list_remove(&w->link);
        gw_dns_done_cb cb = w->cb;
        void *arg = w->arg;
        free(w);
        cb(arg);
    }
}

size_t gw_dns_cache_count(const gw_dns_cache_t *c)
{
    return c->n;
}
