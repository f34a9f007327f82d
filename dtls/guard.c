/*
 * guard.c - the server's defences before it keeps anything for a client:
 * the stateless cookie of RFC 6347 §4.2.1 (a secret per process, rotated)
 * and a handshake rate per source address (a fixed table of token
 * buckets: a flood from many addresses costs no memory).
 */
#include "dtls_internal.h"

#include <stdlib.h>
#include <string.h>

int dtls_guard_init_(dtls_guard_t *g, uint32_t rotate_ms, uint32_t per_s, uint64_t now)
{
    memset(g, 0, sizeof *g);
    g->rotate_ms = rotate_ms;
    g->per_s = per_s;
    g->born_ms = now;
    /* Both start random: a cookie made before the first rotation is
     * checked against a secret nobody knows, and fails. */
    if (gnutls_key_generate(&g->key[0], GNUTLS_COOKIE_KEY_SIZE) < 0) return -1;
    if (gnutls_key_generate(&g->key[1], GNUTLS_COOKIE_KEY_SIZE) < 0) {
        gnutls_free(g->key[0].data);
        g->key[0].data = NULL;
        return -1;
    }
    return 0;
}

void dtls_guard_free_(dtls_guard_t *g)
{
    for (int i = 0; i < 2; i++) {
        if (g->key[i].data) gnutls_memset(g->key[i].data, 0, g->key[i].size);
        gnutls_free(g->key[i].data);
        g->key[i].data = NULL;
    }
}

/* §4.2.1: "the server SHOULD change its secret frequently"; a cookie made
 * with the previous secret still passes, so a client whose
 * HelloVerifyRequest came just before the change is not sent another. */
void dtls_guard_tick_(dtls_guard_t *g, uint64_t now)
{
    if (now < g->born_ms + g->rotate_ms) return;
    gnutls_datum_t fresh;
    if (gnutls_key_generate(&fresh, GNUTLS_COOKIE_KEY_SIZE) < 0) return; /* keep the old one */
    gnutls_memset(g->key[1].data, 0, g->key[1].size);
    gnutls_free(g->key[1].data);
    g->key[1] = g->key[0];
    g->key[0] = fresh;
    g->born_ms = now;
}

uint64_t dtls_guard_next_(const dtls_guard_t *g)
{
    return g->born_ms + g->rotate_ms;
}

size_t dtls_guard_client_data_(const coap_addr_t *a, uint8_t out[20])
{
    size_t n = 0;
    if (a->u.sa.sa_family == AF_INET) {
        memcpy(out, &a->u.v4.sin_addr, 4);
        memcpy(out + 4, &a->u.v4.sin_port, 2);
        n = 6;
    } else {
        memcpy(out, &a->u.v6.sin6_addr, 16);
        memcpy(out + 16, &a->u.v6.sin6_port, 2);
        n = 18;
    }
    return n;
}

int dtls_guard_verify_(dtls_guard_t *g, const coap_addr_t *from, const uint8_t *buf, size_t len,
                       gnutls_dtls_prestate_st *pre)
{
    uint8_t cd[20];
    size_t n = dtls_guard_client_data_(from, cd);
    for (int i = 0; i < 2; i++) {
        memset(pre, 0, sizeof *pre);
        if (gnutls_dtls_cookie_verify(&g->key[i], cd, n, (void *)(uintptr_t)buf, len, pre) == 0)
            return 0;
    }
    return -1;
}

/* A token bucket per source address (not per port: one host cannot get
 * more by using many ports), `per_s` tokens a second up to twice that.
 * Two addresses that share a slot share its bucket until one of them
 * takes it over: a coarse limit, never a lockout of anyone for long. */
int dtls_guard_rate_ok_(dtls_guard_t *g, const coap_addr_t *from, uint64_t now)
{
    coap_addr_t host = *from;
    if (host.u.sa.sa_family == AF_INET)
        host.u.v4.sin_port = 0;
    else
        host.u.v6.sin6_port = 0;
    uint64_t h = coap_addr_hash(&host);
    dtls_rate_slot_t *s = &g->slots[h % DTLS_RATE_SLOTS];
    uint32_t cap = 2000 * g->per_s;
    if (s->host_hash != h || !s->last_ms) {
        s->host_hash = h;
        s->tokens_milli = cap;
    } else if (now > s->last_ms) {
        uint64_t add = (now - s->last_ms) * g->per_s;
        s->tokens_milli = add >= cap - s->tokens_milli ? cap : s->tokens_milli + (uint32_t)add;
    }
    s->last_ms = now ? now : 1;
    if (s->tokens_milli < 1000) return 0;
    s->tokens_milli -= 1000;
    return 1;
}
