/*
 * srvnet.h - helpers for the server-role unit tests: our server on one node
 * of the simulated network, our client on another, and a raw node for
 * hand-built messages; handlers and callbacks that record what they get.
 */
#ifndef SRVNET_H
#define SRVNET_H

#include "coap_block.h"
#include "coap_server.h"
#include "simnet.h"
#include "simsrv.h"

/* Node 0: our client; node 1: our server; node 2: a raw node (black hole:
 * what it receives is read back from the wire log). */
typedef struct {
    simnet_t n;
    int cli, srvn, raw;
    coap_ep_t *sep;
    coap_server_t *srv;
} st_t;

static inline void st_init(st_t *t, const coap_ep_params_t *ep, const coap_server_params_t *sp)
{
    sim_init(&t->n);
    t->cli = sim_add_ep(&t->n, NULL);
    t->srvn = sim_add_ep(&t->n, ep);
    t->raw = sim_add_raw(&t->n, NULL, NULL);
    t->sep = sim_ep(&t->n, t->srvn);
    /* these tests are about other things than the amplification bound
     * (test_server_echo.c): every peer counts as verified */
    sim_verify_peers(&t->n, t->srvn, 1);
    t->srv = coap_server_new(t->sep, sp);
    ck_assert_ptr_nonnull(t->srv);
}

/* The server goes first: it lives on the endpoint. */
static inline void st_free(st_t *t)
{
    coap_server_free(t->srv);
    t->srv = NULL;
    sim_free(&t->n);
}

/* --- a handler that records the request and answers (or keeps) it --- */

typedef struct {
    int calls;
    uint64_t id;
    uint8_t method;
    char path[COAP_URI_BUF];
    size_t nsegs, nquery;
    char seg[8][64], query[8][64];
    size_t payload_len;
    uint8_t payload[8192];
    int cf, accept, observe;
    coap_addr_t peer;
    char identity[64]; /* "" when the request came with none */
    int identity_kind;
    coap_server_resource_t *res;
    /* the answer: resp when resp.code is set, else 2.05 with `name` */
    const char *name;
    coap_server_response_t resp;
    int defer; /* keep the request: the test answers it (id) */
} hrec_t;

static inline void part_copy(char *dst, const coap_uri_part_t *p)
{
    ck_assert_uint_lt(p->len, 64);
    memcpy(dst, p->s, p->len);
    dst[p->len] = '\0';
}

static inline void h_rec(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    hrec_t *h = arg;
    h->calls++;
    h->id = req->id;
    h->method = req->method;
    ck_assert_uint_lt(strlen(req->path), sizeof h->path);
    strcpy(h->path, req->path);
    h->nsegs = req->nsegs;
    h->nquery = req->nquery;
    for (size_t i = 0; i < req->nsegs && i < 8; i++) part_copy(h->seg[i], &req->segs[i]);
    for (size_t i = 0; i < req->nquery && i < 8; i++) part_copy(h->query[i], &req->query[i]);
    ck_assert_uint_le(req->payload_len, sizeof h->payload);
    h->payload_len = req->payload_len;
    if (req->payload_len) memcpy(h->payload, req->payload, req->payload_len);
    h->cf = req->content_format;
    h->accept = req->accept;
    h->observe = req->observe;
    h->peer = *req->peer;
    h->identity_kind = req->identity ? (int)req->identity->kind : 0;
    snprintf(h->identity, sizeof h->identity, "%s", req->identity ? req->identity->name : "");
    h->res = req->resource;
    if (h->defer) return;
    coap_server_response_t r = h->resp;
    if (!r.code) {
        r = COAP_RESPONSE(COAP_CONTENT);
        r.payload = h->name;
        r.payload_len = h->name ? strlen(h->name) : 0;
    }
    ck_assert_int_eq(coap_server_respond(srv, req->id, &r), COAP_OK);
}

/* --- server callbacks --- */

typedef struct {
    int registers, deregisters, refuse;
    int reasons[64];
    coap_server_resource_t *res;
    coap_addr_t peer;
    int completes;
    uint64_t complete_id;
    int complete_result;
} cbrec_t;

static inline int cb_register(coap_server_t *srv, coap_server_resource_t *res,
                              const coap_addr_t *peer, void *arg)
{
    (void)srv;
    cbrec_t *c = arg;
    c->registers++;
    c->res = res;
    c->peer = *peer;
    return !c->refuse;
}

static inline void cb_deregister(coap_server_t *srv, coap_server_resource_t *res,
                                 const coap_addr_t *peer, int reason, void *arg)
{
    (void)srv;
    cbrec_t *c = arg;
    ck_assert_uint_lt((size_t)c->deregisters, 64);
    c->reasons[c->deregisters++] = reason;
    c->res = res;
    c->peer = *peer;
}

static inline void cb_complete(coap_server_t *srv, uint64_t id, int result, void *arg)
{
    (void)srv;
    cbrec_t *c = arg;
    c->completes++;
    c->complete_id = id;
    c->complete_result = result;
}

static inline void st_callbacks(st_t *t, cbrec_t *c)
{
    coap_server_on_register(t->srv, cb_register, c);
    coap_server_on_deregister(t->srv, cb_deregister, c);
    coap_server_on_complete(t->srv, cb_complete, c);
}

/* --- our client --- */

static inline coap_req_t *st_req(st_t *t, uint8_t method, const char *path)
{
    return sim_req(&t->n, t->cli, t->srvn, method, path);
}

/* Sends req and runs until the network is quiet. */
static inline void st_do(st_t *t, coap_req_t *req, sim_rec_t *k)
{
    ck_assert_int_eq(coap_req_send(req, sim_on_resp, k), COAP_OK);
    sim_run_idle(&t->n);
}

/* A whole GET: sends, runs, checks that it ended. */
static inline void st_get(st_t *t, const char *path, sim_rec_t *k)
{
    memset(k, 0, sizeof *k);
    st_do(t, st_req(t, COAP_GET, path), k);
    ck_assert_int_eq(k->finals, 1);
}

/* --- hand-built messages from the raw node --- */

static inline void raw_init(coap_msg_t *m, coap_type_t type, uint8_t code, uint16_t mid,
                            uint8_t tok)
{
    coap_msg_init(m, type, code, mid);
    uint8_t tk[2] = {0xA5, tok};
    coap_msg_set_token(m, tk, 2);
}

/* Adds Uri-Path options for "a/b/c" (the string must outlive m). */
static inline void raw_path(coap_msg_t *m, const char *path)
{
    for (const char *p = path; *p;) {
        size_t l = strcspn(p, "/");
        ck_assert_int_eq(coap_msg_add_opt(m, COAP_OPT_URI_PATH, p, l), COAP_OK);
        p += l;
        if (*p == '/') p++;
    }
}

/* The last datagram from the server to `dst` with this message ID and
 * type (SIM_ANY: any), copied: the log moves as it grows, the bytes the
 * message points into do not. */
static inline int raw_find_to(st_t *t, const coap_addr_t *dst, uint16_t mid, int type,
                              coap_msg_t *out)
{
    for (size_t i = t->n.nlog; i-- > 0;) {
        const sim_dgram_t *d = &t->n.log[i];
        if (d->from == t->srvn && coap_addr_equal(&d->dst, dst) && d->msg.mid == mid &&
            (type == SIM_ANY || d->msg.type == type)) {
            *out = d->msg;
            return 1;
        }
    }
    return 0;
}

static inline int raw_find(st_t *t, uint16_t mid, int type, coap_msg_t *out)
{
    return raw_find_to(t, sim_addr(&t->n, t->raw), mid, type, out);
}

/* Sends m (a CON) from address `src` (any: no node needs to be there) and
 * returns the piggybacked answer. */
static inline coap_msg_t raw_ask_as(st_t *t, const coap_addr_t *src, const coap_msg_t *m)
{
    uint8_t buf[2048];
    int len = coap_msg_serialize(m, buf, sizeof buf);
    ck_assert_int_gt(len, 0);
    sim_send_raw(&t->n, src, t->srvn, buf, (size_t)len);
    sim_run_idle(&t->n);
    coap_msg_t r;
    ck_assert_msg(raw_find_to(t, src, m->mid, COAP_ACK, &r), "no answer to mid %u", m->mid);
    return r;
}

/* Sends m (a CON) from the raw node and returns the piggybacked answer. */
static inline coap_msg_t raw_ask(st_t *t, const coap_msg_t *m)
{
    return raw_ask_as(t, sim_addr(&t->n, t->raw), m);
}

static inline uint32_t opt_u(const coap_msg_t *m, uint16_t num)
{
    uint32_t v = 0xDEADBEEF;
    coap_msg_get_uint(m, num, &v);
    return v;
}

static inline int has_opt(const coap_msg_t *m, uint16_t num)
{
    return coap_msg_find_opt(m, num) != NULL;
}

#endif
