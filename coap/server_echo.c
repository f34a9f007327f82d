/*
 * server_echo.c - the amplification bound of the server role (RFC 7252
 * §11.3, RFC 9175 §2.4): an answer to a peer whose address is not
 * verified is at most three times the size of its request, datagram for
 * datagram.
 *
 * A safe request (GET, FETCH) whose answer would be larger gets 4.01
 * Unauthorized with an Echo option instead (RFC 9175 §2.2). The Echo value
 * is a timestamp and a keyed MAC (SipHash-2-4, a random key per server)
 * over it and the peer's address and port, so the server keeps nothing
 * per peer before verification. A request that carries a valid Echo no
 * older than ECHO_FRESH_MS verifies its address, which is remembered for
 * VERIFIED_MS in a direct-mapped table of VERIFIED_SLOTS (a collision
 * evicts: that peer is asked again). An unsafe request has already acted
 * when its answer is known, and a 4.01 would make the client act twice: its
 * answer goes out in Block2 blocks small enough for the bound instead (the
 * rest kept for the follow-up requests, RFC 7959 §2.7).
 *
 * A transport that proves the peer's address itself (DTLS: the cookie
 * exchange, RFC 6347 §4.2.1) marks every request verified.
 */
#include "server_internal.h"

#include "base_siphash.h"
#include "coap_block.h"
#include "ep_internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define ECHO_FRESH_MS  30000u  /* an Echo value is accepted this long */
#define VERIFIED_MS    600000u /* a verified address is remembered this long */
#define VERIFIED_SLOTS 1024u
#define ECHO_TIME_LEN  4 /* seconds of the server's clock, big-endian */
#define ECHO_MAC_LEN   8
#define ECHO_LEN       (ECHO_TIME_LEN + ECHO_MAC_LEN)
#define AMPLIFICATION  3 /* RFC 7252 §11.3 */

struct srv_verified {
    coap_addr_t peer;
    uint64_t until;
};

void coap_srv_echo_init_(coap_server_t *srv)
{
    if (getrandom(srv->echo_key, sizeof srv->echo_key, 0) != sizeof srv->echo_key)
        for (size_t i = 0; i < sizeof srv->echo_key; i += 4) { /* not expected on Linux */
            uint32_t r = coap_ep_random_(srv->ep);
            memcpy(srv->echo_key + i, &r, 4);
        }
}

void coap_srv_echo_free_(coap_server_t *srv)
{
    free(srv->verified);
    srv->verified = NULL;
}

/* The address bytes and port the MAC and the table are keyed by. */
static size_t addr_bytes(const coap_addr_t *a, uint8_t out[18])
{
    size_t n = a->u.sa.sa_family == AF_INET ? 4 : 16;
    memcpy(out,
           a->u.sa.sa_family == AF_INET ? (const void *)&a->u.v4.sin_addr
                                        : (const void *)&a->u.v6.sin6_addr,
           n);
    uint16_t port = coap_addr_port(a);
    out[n] = (uint8_t)(port >> 8);
    out[n + 1] = (uint8_t)port;
    return n + 2;
}

static void echo_mac(const coap_server_t *srv, const coap_addr_t *peer, const uint8_t *when,
                     uint8_t mac[ECHO_MAC_LEN])
{
    uint8_t in[ECHO_TIME_LEN + 18];
    memcpy(in, when, ECHO_TIME_LEN);
    size_t n = ECHO_TIME_LEN + addr_bytes(peer, in + ECHO_TIME_LEN);
    uint64_t h = base_siphash24(srv->echo_key, in, n);
    for (int i = 0; i < ECHO_MAC_LEN; i++) mac[i] = (uint8_t)(h >> (8 * i));
}

static uint32_t now_s(const coap_server_t *srv)
{
    return (uint32_t)(coap_ep_now(srv->ep) / 1000);
}

/* RFC 9175 §2.4 item 3: fresh, made by this server, for this address and
 * port. */
static int echo_valid(const coap_server_t *srv, const coap_addr_t *peer, const uint8_t *v,
                      size_t len)
{
    uint8_t mac[ECHO_MAC_LEN];
    if (len != ECHO_LEN) return 0;
    echo_mac(srv, peer, v, mac);
    uint32_t made = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3];
    uint32_t age = now_s(srv) - made; /* in the future: wraps, stale */
    return !memcmp(mac, v + ECHO_TIME_LEN, ECHO_MAC_LEN) && age * 1000ull <= ECHO_FRESH_MS;
}

static struct srv_verified *slot(const coap_server_t *srv, const coap_addr_t *peer)
{
    uint8_t in[18];
    size_t n = addr_bytes(peer, in);
    return &srv->verified[base_siphash24(srv->echo_key, in, n) % VERIFIED_SLOTS];
}

static int remembered(const coap_server_t *srv, const coap_addr_t *peer)
{
    const struct srv_verified *s = srv->verified ? slot(srv, peer) : NULL;
    return s && s->until > coap_ep_now(srv->ep) && coap_addr_equal(&s->peer, peer);
}

static void remember(coap_server_t *srv, const coap_addr_t *peer)
{
    if (!srv->verified && !(srv->verified = calloc(VERIFIED_SLOTS, sizeof *srv->verified))) return;
    struct srv_verified *s = slot(srv, peer);
    s->peer = *peer;
    s->until = coap_ep_now(srv->ep) + VERIFIED_MS;
}

void coap_srv_echo_request_(coap_server_t *srv, srv_req_t *sr, const coap_msg_t *m)
{
    if (srv->ep->tr->ops->verifies_peers) {
        sr->verified = 1;
        return;
    }
    const coap_msg_opt_t *echo = coap_msg_find_opt(m, COAP_OPT_ECHO);
    if (echo && echo_valid(srv, &sr->peer, coap_msg_opt_value(echo), echo->len)) {
        remember(srv, &sr->peer);
        srv->stats.echo_verified++;
        sr->verified = 1;
        return;
    }
    if (echo) srv->stats.echo_refused++; /* a wrong or stale value: asked again if need be */
    sr->verified = remembered(srv, &sr->peer);
}

static int safe_method(uint8_t method)
{
    return method == COAP_GET || method == COAP_FETCH;
}

static size_t budget(const srv_req_t *sr)
{
    return AMPLIFICATION * sr->request_size;
}

/* The answer's datagram: the endpoint adds the request's token. */
static size_t size_of(const srv_req_t *sr, const coap_msg_t *m)
{
    return coap_msg_size(m) + sr->token_len;
}

unsigned coap_srv_echo_cap_szx_(coap_server_t *srv, const srv_req_t *sr, const coap_msg_t *m,
                                unsigned szx)
{
    if (sr->verified || safe_method(sr->method) || size_of(sr, m) <= budget(sr)) return szx;
    /* the answer without its payload, plus Block2 (up to 4 bytes), Size2
     * (up to 5) and the payload marker */
    size_t head = size_of(sr, m) - (m->payload_len ? 1 + m->payload_len : 0) + 10;
    unsigned fit = szx;
    while (fit > 0 && head + coap_block_size(fit) > budget(sr)) fit--;
    if (fit < szx) srv->stats.amplification_blocks++;
    return fit; /* at least 16 bytes a block, whatever the bound */
}

int coap_srv_echo_challenge_(coap_server_t *srv, const srv_req_t *sr, coap_msg_t *m,
                             uint8_t value[ECHO_VALUE_MAX])
{
    if (sr->verified ||
        (!sr->demand_echo && (!safe_method(sr->method) || size_of(sr, m) <= budget(sr))))
        return 0;
    coap_msg_init(m, COAP_CON, COAP_UNAUTHORIZED, 0);
    uint32_t t = now_s(srv);
    value[0] = (uint8_t)(t >> 24);
    value[1] = (uint8_t)(t >> 16);
    value[2] = (uint8_t)(t >> 8);
    value[3] = (uint8_t)t;
    echo_mac(srv, &sr->peer, value, value + ECHO_TIME_LEN);
    coap_msg_add_opt(m, COAP_OPT_ECHO, value, ECHO_LEN);
    /* a request too small even for the challenge gets a bare 4.01 */
    if (size_of(sr, m) > budget(sr)) coap_msg_init(m, COAP_CON, COAP_UNAUTHORIZED, 0);
    srv->stats.echo_challenges++;
    return 1;
}

const coap_server_stats_t *coap_server_stats(const coap_server_t *srv)
{
    return &srv->stats;
}
