/*
 * simsrv.h - a message-layer server on a node of the simulated network
 * (simnet.h), for the client tests: it answers, or holds, each request
 * through a function the test gives, and records what it saw.
 */
#ifndef SIMSRV_H
#define SIMSRV_H

#include "simnet.h"

/* --- a message-layer server on a node, for the client tests --- */

typedef struct sim_srv sim_srv_t;
/* Answers (or keeps) one request; runs inside the request handler. */
typedef void (*sim_srv_fn)(sim_srv_t *s, coap_ep_req_t *req, const coap_msg_t *m);

struct sim_srv {
    simnet_t *net;
    int node;
    coap_ep_t *ep;
    sim_srv_fn fn;
    void *arg;
    int calls;
    coap_ep_req_t *held; /* a request the fn chose to answer later */
    uint8_t last_token[COAP_TOKEN_MAX];
    uint8_t last_token_len;
    const coap_addr_t *last_peer;
};

static inline void sim_srv_handler(coap_ep_t *ep, coap_ep_req_t *req, const coap_msg_t *m,
                                   void *ctx)
{
    (void)ep;
    sim_srv_t *s = ctx;
    s->calls++;
    memcpy(s->last_token, m->token, m->token_len);
    s->last_token_len = m->token_len;
    s->last_peer = coap_ep_req_peer(req);
    if (s->fn)
        s->fn(s, req, m);
    else
        s->held = req;
}

static inline void sim_srv_init(sim_srv_t *s, simnet_t *n, const coap_ep_params_t *p, sim_srv_fn fn,
                                void *arg)
{
    memset(s, 0, sizeof *s);
    s->net = n;
    s->node = sim_add_ep(n, p);
    s->ep = sim_ep(n, s->node);
    s->fn = fn;
    s->arg = arg;
    coap_ep_set_request_handler(s->ep, sim_srv_handler, s);
}

/* Records how a coap_ep_send() or coap_ep_respond() ended. */
typedef struct {
    int calls;
    int result;
    int code; /* of the ACK, -1 for an empty one */
    uint64_t t;
} sim_sent_t;

static inline void sim_on_sent(coap_ep_t *ep, int result, const coap_msg_t *ack, void *arg)
{
    sim_sent_t *s = arg;
    s->calls++;
    s->result = result;
    s->code = ack ? ack->code : -1;
    s->t = coap_ep_now(ep);
}

/* A response message with a payload (which must outlive the send). */
static inline void sim_resp(coap_msg_t *r, uint8_t code, const void *payload, size_t len)
{
    coap_msg_init(r, COAP_CON, code, 0);
    r->payload = payload;
    r->payload_len = len;
}

/* --- a raw server node, for tests that script the server by hand --- */

/* A raw server: answers every request it gets as `mode` says, and keeps
 * the last request's token and message ID for the test. */
enum { SIM_ANS_NONE, SIM_ANS_EMPTY_ACK, SIM_ANS_RST, SIM_ANS_PIGGY };

typedef struct {
    int mode;
    int got;
    uint8_t tok[COAP_TOKEN_MAX], tkl;
    uint16_t mid;
    uint8_t type;
    char path[16];
} sim_rawsrv_t;

static inline void sim_raw_answer(simnet_t *n, int node, const coap_addr_t *to, coap_type_t type,
                                  uint8_t code, uint16_t mid, const uint8_t *tok, size_t tkl,
                                  const char *payload)
{
    coap_msg_t a;
    coap_msg_init(&a, type, code, mid);
    coap_msg_set_token(&a, tok, tkl);
    if (payload) {
        a.payload = (const uint8_t *)payload;
        a.payload_len = strlen(payload);
    }
    uint8_t b[1500];
    int len = coap_msg_serialize(&a, b, sizeof b);
    ck_assert_int_gt(len, 0);
    sim_transmit(n, sim_addr(n, node), to, b, (size_t)len);
}

static inline void sim_rawsrv_cb(simnet_t *n, int node, const coap_addr_t *from, const uint8_t *buf,
                                 size_t len, void *arg)
{
    sim_rawsrv_t *s = arg;
    coap_msg_t m;
    if (coap_msg_parse(&m, buf, len) || m.code == 0 || COAP_CODE_CLASS(m.code) != 0) return;
    s->got++;
    memcpy(s->tok, m.token, m.token_len);
    s->tkl = m.token_len;
    s->mid = m.mid;
    s->type = m.type;
    const coap_msg_opt_t *o = coap_msg_find_opt(&m, COAP_OPT_URI_PATH);
    size_t pl = o ? (o->len < sizeof s->path ? o->len : sizeof s->path - 1) : 0;
    memcpy(s->path, o ? coap_msg_opt_value(o) : (const uint8_t *)"", pl);
    s->path[pl] = 0;
    if (m.type != COAP_CON) return;
    if (s->mode == SIM_ANS_EMPTY_ACK)
        sim_raw_answer(n, node, from, COAP_ACK, 0, m.mid, NULL, 0, NULL);
    if (s->mode == SIM_ANS_RST) sim_raw_answer(n, node, from, COAP_RST, 0, m.mid, NULL, 0, NULL);
    if (s->mode == SIM_ANS_PIGGY)
        sim_raw_answer(n, node, from, COAP_ACK, COAP_CONTENT, m.mid, m.token, m.token_len, s->path);
}

/* --- a recorder for client callbacks --- */

typedef struct sim_rec sim_rec_t;
struct sim_rec {
    int calls, finals;
    int err, last, observing, fresh, code;
    uint32_t seq;
    uint64_t t;
    size_t body_len;
    uint8_t body[8192];
    /* optional: runs inside the callback, after recording */
    void (*then)(sim_rec_t *rec, coap_req_t *req, const coap_resp_t *r);
    void *arg;
    int id; /* for tests that record an order */
    int *order;
    int *norder;
};

static inline void sim_on_resp(coap_req_t *req, const coap_resp_t *r, void *arg)
{
    sim_rec_t *k = arg;
    ck_assert_int_eq(k->finals, 0); /* nothing after the final call */
    k->calls++;
    k->finals += r->last;
    k->err = r->err;
    k->last = r->last;
    k->observing = r->observing;
    k->fresh = r->fresh;
    k->seq = r->seq;
    k->code = r->msg ? r->msg->code : -1;
    k->t = coap_ep_now(coap_req_ep(req));
    ck_assert(r->err == COAP_OK || r->msg == NULL);
    ck_assert_uint_le(r->body_len, sizeof k->body);
    k->body_len = r->body_len;
    if (r->body_len) memcpy(k->body, r->body, r->body_len);
    if (k->order) k->order[(*k->norder)++] = k->id;
    if (k->then) k->then(k, req, r);
}

/* A request from node `from` to node `to` for coap://<to>/<path>. */
static inline coap_req_t *sim_req(simnet_t *n, int from, int to, uint8_t method, const char *path)
{
    char host[COAP_ADDR_STRLEN], uri[256];
    coap_addr_host(&n->nodes[to].addr, host, sizeof host);
    snprintf(uri, sizeof uri, "coap://%s/%s", host, path);
    int err = 0;
    coap_req_t *req = coap_req_new(n->nodes[from].ep, method, uri, NULL, &err);
    ck_assert_int_eq(err, COAP_OK);
    ck_assert_ptr_nonnull(req);
    return req;
}

#endif
