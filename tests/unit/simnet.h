/*
 * simnet.h - a simulated network for the engine's unit tests.
 *
 * One fake clock is shared by every node. A node is either an endpoint on
 * the simulated transport (coap_transport.h; wired to the net's clock and a
 * seeded random source) or a raw node whose datagrams the test handles
 * itself. Datagrams travel with a latency; rules drop, duplicate or delay
 * the ones they match. Every datagram put on the wire is logged with its
 * time, parsed, so tests can count what was sent.
 *
 * Running: sim_run_until() delivers datagrams and fires endpoint timers in
 * time order up to a time; sim_run_idle() runs until nothing is in flight.
 * Both stop the test when the engine makes no progress (a spinning timer).
 */
#ifndef SIMNET_H
#define SIMNET_H

#include "coap_client.h"
#include "coap_ep.h"
#include "testutil.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_MAX_NODES 8
#define SIM_MAX_RULES 16
#define SIM_ANY       (-1)
#define SIM_NOWHERE   (-2) /* an address with no node behind it */

typedef struct simnet simnet_t;
typedef void (*sim_raw_cb)(simnet_t *net, int node, const coap_addr_t *from, const uint8_t *buf,
                           size_t len, void *arg);

typedef struct {
    simnet_t *net;
    int id;
    coap_addr_t addr;
    coap_ep_t *ep; /* NULL for a raw node */
    uint32_t rng;
    int rand_fixed; /* the random hook returns rand_value */
    uint32_t rand_value;
    sim_raw_cb on_raw;
    void *raw_arg;
    /* what the node's transport does with a datagram it sends: the net by
     * default; a test may put a failing link here */
    int (*send)(void *node, const coap_addr_t *to, const uint8_t *buf, size_t len);
    coap_transport_t *tr; /* the node's transport (endpoint nodes) */
    /* what receivers are told about this node's datagrams, as a secured
     * transport would authenticate it (NULL: plain, as UDP) */
    const coap_identity_t *identity;
} sim_node_t;

/* One datagram as it went on the wire (dropped ones included). */
typedef struct {
    uint64_t t;
    int from, to; /* node ids, or SIM_NOWHERE */
    coap_addr_t src, dst;
    int dropped;
    int parse_rc;
    coap_msg_t msg; /* parsed; points into bytes */
    size_t len;
    uint8_t *bytes;
} sim_dgram_t;

typedef struct {
    uint64_t at, seq;
    int to;
    coap_addr_t src;
    size_t len;
    uint8_t *bytes;
} sim_flight_t;

enum { SIM_DROP = 1, SIM_DUP, SIM_DELAY };

/* Matches datagrams by sender, receiver, type and code (SIM_ANY for any);
 * lets `skip` matches pass, then acts on `count` (-1: all) of them. */
typedef struct {
    int from, to, type, code;
    int action;
    int skip, count;
    uint32_t delay_ms;
} sim_rule_t;

struct simnet {
    uint64_t now;
    uint32_t latency_ms;
    sim_node_t nodes[SIM_MAX_NODES];
    int nnodes;
    sim_flight_t *fl;
    size_t nfl, capfl;
    uint64_t seq;
    sim_dgram_t *log;
    size_t nlog, caplog;
    sim_rule_t rules[SIM_MAX_RULES];
    int nrules;
    /* random faults for datagrams no rule matched (seeded: deterministic) */
    unsigned loss_pct, dup_pct;
    uint32_t jitter_ms; /* extra delay 0..jitter_ms: reorders datagrams */
    uint32_t rng;
};

static inline uint32_t sim_rand(simnet_t *n)
{
    uint32_t x = n->rng ? n->rng : 0x2545F491u; /* xorshift32 */
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return n->rng = x;
}

static inline void sim_init(simnet_t *n)
{
    memset(n, 0, sizeof *n);
    n->now = 1000000; /* not 0: catches "0 means unset" mistakes */
    n->latency_ms = 5;
}

static inline void sim_free(simnet_t *n)
{
    for (int i = 0; i < n->nnodes; i++) {
        coap_ep_free(n->nodes[i].ep);
        n->nodes[i].ep = NULL;
    }
    for (size_t i = 0; i < n->nfl; i++) free(n->fl[i].bytes);
    for (size_t i = 0; i < n->nlog; i++) free(n->log[i].bytes);
    free(n->fl);
    free(n->log);
}

static inline int sim_node_by_addr(const simnet_t *n, const coap_addr_t *a)
{
    for (int i = 0; i < n->nnodes; i++)
        if (coap_addr_equal(&n->nodes[i].addr, a)) return i;
    return SIM_NOWHERE;
}

static inline void sim_rule(simnet_t *n, int from, int to, int type, int code, int action, int skip,
                            int count)
{
    ck_assert_int_lt(n->nrules, SIM_MAX_RULES);
    n->rules[n->nrules++] = (sim_rule_t){from, to, type, code, action, skip, count, 0};
}

static inline int rule_match(const sim_rule_t *r, const sim_dgram_t *d)
{
    return (r->from == SIM_ANY || r->from == d->from) && (r->to == SIM_ANY || r->to == d->to) &&
           (r->type == SIM_ANY || r->type == d->msg.type) &&
           (r->code == SIM_ANY || r->code == d->msg.code);
}

static inline void sim_enqueue(simnet_t *n, int to, const coap_addr_t *src, const uint8_t *buf,
                               size_t len, uint32_t delay)
{
    if (n->nfl == n->capfl) {
        n->capfl = n->capfl ? n->capfl * 2 : 64;
        n->fl = realloc(n->fl, n->capfl * sizeof *n->fl);
        ck_assert_ptr_nonnull(n->fl);
    }
    sim_flight_t *f = &n->fl[n->nfl++];
    f->at = n->now + delay;
    f->seq = n->seq++;
    f->to = to;
    f->src = *src;
    f->len = len;
    f->bytes = malloc(len ? len : 1);
    memcpy(f->bytes, buf, len);
}

/* Puts a datagram on the wire from `src`: logs it, applies the rules. */
static inline void sim_transmit(simnet_t *n, const coap_addr_t *src, const coap_addr_t *dst,
                                const uint8_t *buf, size_t len)
{
    if (n->nlog == n->caplog) {
        n->caplog = n->caplog ? n->caplog * 2 : 256;
        n->log = realloc(n->log, n->caplog * sizeof *n->log);
        ck_assert_ptr_nonnull(n->log);
    }
    sim_dgram_t *d = &n->log[n->nlog++];
    memset(d, 0, sizeof *d);
    d->t = n->now;
    d->from = sim_node_by_addr(n, src);
    d->to = sim_node_by_addr(n, dst);
    d->src = *src;
    d->dst = *dst;
    d->len = len;
    d->bytes = malloc(len ? len : 1);
    memcpy(d->bytes, buf, len);
    d->parse_rc = coap_msg_parse(&d->msg, d->bytes, len);
    if (len < 4) d->msg.type = d->msg.code = 0xFF;
    int copies = 1, ruled = 0;
    uint32_t delay = n->latency_ms;
    for (int i = 0; i < n->nrules && !ruled; i++) {
        sim_rule_t *r = &n->rules[i];
        if (!r->count || !rule_match(r, d)) continue;
        if (r->skip > 0) {
            r->skip--;
            continue;
        }
        if (r->count > 0) r->count--;
        if (r->action == SIM_DROP)
            copies = 0;
        else if (r->action == SIM_DUP)
            copies = 2;
        else
            delay += r->delay_ms;
        ruled = 1;
    }
    if (!ruled && n->loss_pct && sim_rand(n) % 100 < n->loss_pct) copies = 0;
    if (!ruled && copies && n->dup_pct && sim_rand(n) % 100 < n->dup_pct) copies = 2;
    d->dropped = copies == 0;
    if (d->to == SIM_NOWHERE) return;
    for (int c = 0; c < copies; c++)
        sim_enqueue(n, d->to, src, buf, len,
                    delay + (n->jitter_ms ? sim_rand(n) % (n->jitter_ms + 1) : 0));
}

static inline int sim_hook_send(void *ctx, const coap_addr_t *to, const uint8_t *buf, size_t len)
{
    sim_node_t *node = ctx;
    sim_transmit(node->net, &node->addr, to, buf, len);
    return 0;
}

/* --- the simulated transport: datagrams go on the net; the net delivers
 * them with coap_ep_input(), so process() has nothing to read --- */

typedef struct {
    coap_transport_t base;
    sim_node_t *node;
} sim_transport_t;

static inline int sim_tr_send(coap_transport_t *t, const coap_addr_t *to, const coap_addr_t *local,
                              const uint8_t *buf, size_t len)
{
    (void)local;
    sim_node_t *node = ((sim_transport_t *)t)->node;
    int rc = node->send ? node->send(node, to, buf, len) : sim_hook_send(node, to, buf, len);
    if (rc == -ENETUNREACH) return COAP_ERR_UNREACHABLE;
    return rc < 0 ? COAP_ERR_SYS(-rc) : COAP_OK;
}

static inline void sim_tr_process(coap_transport_t *t, uint64_t now)
{
    (void)t, (void)now;
}

static inline uint64_t sim_tr_deadline(const coap_transport_t *t)
{
    (void)t;
    return BASE_NEVER;
}

static inline int sim_tr_fd(const coap_transport_t *t)
{
    (void)t;
    return -1;
}

static inline int sim_tr_local_addr(const coap_transport_t *t, coap_addr_t *out)
{
    *out = ((const sim_transport_t *)t)->node->addr;
    return COAP_OK;
}

static inline void sim_tr_free(coap_transport_t *t)
{
    free(t);
}

static const coap_transport_ops_t sim_transport_ops = {
    "sim",       sim_tr_send, sim_tr_process, sim_tr_deadline, sim_tr_fd, sim_tr_local_addr,
    sim_tr_free, 0, /* addresses unverified: the server role asks for an Echo */
    0,              /* unreliable: the message layer of RFC 7252 §4 */
    NULL,           /* no Max-Message-Size */
    NULL,           /* no BERT (RFC 8323 §6) */
    NULL,           /* no CSM to wait for (RFC 8323 §3.3) */
};

/* The same, for a transport that verifies its peers' addresses (as DTLS
 * does): the server role asks for no Echo (RFC 9175 §2.4). */
static const coap_transport_ops_t sim_transport_verified_ops = {
    "sim",
    sim_tr_send,
    sim_tr_process,
    sim_tr_deadline,
    sim_tr_fd,
    sim_tr_local_addr,
    sim_tr_free,
    1,
    0,
    NULL,
    NULL,
    NULL,
};

static inline coap_transport_t *sim_transport_new(sim_node_t *node)
{
    sim_transport_t *t = calloc(1, sizeof *t);
    ck_assert_ptr_nonnull(t);
    t->base.ops = &sim_transport_ops;
    t->node = node;
    return &t->base;
}

static inline uint64_t sim_hook_now(void *ctx)
{
    return ((sim_node_t *)ctx)->net->now;
}

static inline uint32_t sim_hook_random(void *ctx)
{
    sim_node_t *node = ctx;
    if (node->rand_fixed) return node->rand_value;
    uint32_t x = node->rng; /* xorshift32 */
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return node->rng = x;
}

static inline int sim_add_node(simnet_t *n)
{
    ck_assert_int_lt(n->nnodes, SIM_MAX_NODES);
    int id = n->nnodes++;
    sim_node_t *node = &n->nodes[id];
    memset(node, 0, sizeof *node);
    node->net = n;
    node->id = id;
    node->rng = 0x9E3779B9u * (uint32_t)(id + 1);
    char host[32];
    snprintf(host, sizeof host, "10.0.0.%d", id + 1);
    ck_assert_int_eq(coap_addr_from_host(&node->addr, host, COAP_DEFAULT_PORT), 0);
    return id;
}

/* A node with a virtual endpoint; params may be NULL. */
static inline int sim_add_ep(simnet_t *n, const coap_ep_params_t *params)
{
    int id = sim_add_node(n);
    sim_node_t *node = &n->nodes[id];
    coap_ep_hooks_t h = {sim_hook_now, sim_hook_random, node};
    node->tr = sim_transport_new(node);
    node->ep = coap_ep_new_on(node->tr, params, NULL);
    ck_assert_ptr_nonnull(node->ep);
    coap_ep_set_hooks(node->ep, &h);
    return id;
}

/* A node whose datagrams go to cb (which may be NULL: a black hole). */
static inline int sim_add_raw(simnet_t *n, sim_raw_cb cb, void *arg)
{
    int id = sim_add_node(n);
    n->nodes[id].on_raw = cb;
    n->nodes[id].raw_arg = arg;
    return id;
}

static inline coap_ep_t *sim_ep(simnet_t *n, int id)
{
    return n->nodes[id].ep;
}

/* Whether node id's transport verifies its peers (see above). */
static inline void sim_verify_peers(simnet_t *n, int id, int on)
{
    n->nodes[id].tr->ops = on ? &sim_transport_verified_ops : &sim_transport_ops;
}

static inline const coap_addr_t *sim_addr(simnet_t *n, int id)
{
    return &n->nodes[id].addr;
}

/* Sends raw bytes from any address to a node. */
static inline void sim_send_raw(simnet_t *n, const coap_addr_t *src, int to, const uint8_t *buf,
                                size_t len)
{
    sim_transmit(n, src, &n->nodes[to].addr, buf, len);
}

/* Serializes m and sends it from node `from` to node `to`. */
static inline void sim_send_msg(simnet_t *n, int from, int to, const coap_msg_t *m)
{
    uint8_t buf[2048];
    int len = coap_msg_serialize(m, buf, sizeof buf);
    ck_assert_int_gt(len, 0);
    sim_send_raw(n, &n->nodes[from].addr, to, buf, (size_t)len);
}

/* Sends hex bytes (blanks allowed) from node `from` to node `to`. */
static inline void sim_send_hex(simnet_t *n, int from, int to, const char *hex)
{
    uint8_t b[2048];
    size_t len = hex_decode(hex, b, sizeof b);
    sim_send_raw(n, &n->nodes[from].addr, to, b, len);
}

static inline void sim_deliver(simnet_t *n, size_t i)
{
    sim_flight_t f = n->fl[i];
    n->fl[i] = n->fl[--n->nfl];
    sim_node_t *node = &n->nodes[f.to];
    if (node->ep) {
        /* Like a readable socket: process() reads, then runs due timers. */
        int from = sim_node_by_addr(n, &f.src);
        const coap_identity_t *id = from >= 0 ? n->nodes[from].identity : NULL;
        node->tr->up->datagram(node->tr->up_arg, &f.src, NULL, id, f.bytes, f.len);
        coap_ep_process(node->ep);
    } else if (node->on_raw) {
        node->on_raw(n, f.to, &f.src, f.bytes, f.len, node->raw_arg);
    }
    free(f.bytes);
}

/* Runs the earliest event due at or before `limit`; 0 when there is none. */
static inline int sim_step(simnet_t *n, uint64_t limit)
{
    size_t fi = 0;
    uint64_t tf = BASE_NEVER, te = BASE_NEVER;
    for (size_t i = 0; i < n->nfl; i++) {
        if (n->fl[i].at < tf || (n->fl[i].at == tf && n->fl[i].seq < n->fl[fi].seq)) {
            tf = n->fl[i].at;
            fi = i;
        }
    }
    int ei = -1;
    for (int i = 0; i < n->nnodes; i++) {
        if (!n->nodes[i].ep) continue;
        uint64_t d = coap_ep_next_deadline(n->nodes[i].ep);
        if (d < te) {
            te = d;
            ei = i;
        }
    }
    if (n->nfl && tf <= te && tf <= limit) {
        if (tf > n->now) n->now = tf;
        sim_deliver(n, fi);
        return 1;
    }
    if (ei >= 0 && te <= limit) {
        if (te > n->now) n->now = te;
        coap_ep_process(n->nodes[ei].ep);
        return 1;
    }
    return 0;
}

static inline void sim_run_until(simnet_t *n, uint64_t t)
{
    long steps = 0;
    while (sim_step(n, t))
        if (++steps > 200000)
            ck_abort_msg("simnet: no progress at t=%llu", (unsigned long long)n->now);
    if (n->now < t) n->now = t;
}

static inline void sim_run_for(simnet_t *n, uint64_t ms)
{
    sim_run_until(n, n->now + ms);
}

/* Runs until no datagram is in flight (timers fire on the way). */
static inline void sim_run_idle(simnet_t *n)
{
    long steps = 0;
    while (n->nfl && sim_step(n, BASE_NEVER))
        if (++steps > 200000)
            ck_abort_msg("simnet: no progress at t=%llu", (unsigned long long)n->now);
}

/* --- the wire log --- */

static inline int sim_dgram_match(const sim_dgram_t *d, int from, int to, int type, int code)
{
    return (from == SIM_ANY || d->from == from) && (to == SIM_ANY || d->to == to) &&
           (type == SIM_ANY || d->msg.type == type) && (code == SIM_ANY || d->msg.code == code);
}

/* Datagrams sent (dropped or not) matching; SIM_ANY for any field. */
static inline size_t sim_count(const simnet_t *n, int from, int to, int type, int code)
{
    size_t c = 0;
    for (size_t i = 0; i < n->nlog; i++)
        c += (size_t)sim_dgram_match(&n->log[i], from, to, type, code);
    return c;
}

/* Index of the first match at or after `start`, or -1. */
static inline long sim_find(const simnet_t *n, size_t start, int from, int to, int type, int code)
{
    for (size_t i = start; i < n->nlog; i++)
        if (sim_dgram_match(&n->log[i], from, to, type, code)) return (long)i;
    return -1;
}

/* The i-th match (0-based), or NULL. */
static inline const sim_dgram_t *sim_nth(const simnet_t *n, size_t i, int from, int to, int type,
                                         int code)
{
    long at = -1;
    for (size_t k = 0; k <= i; k++) {
        at = sim_find(n, (size_t)(at + 1), from, to, type, code);
        if (at < 0) return NULL;
    }
    return &n->log[at];
}

static inline const sim_dgram_t *sim_last(const simnet_t *n)
{
    return n->nlog ? &n->log[n->nlog - 1] : NULL;
}

#endif
