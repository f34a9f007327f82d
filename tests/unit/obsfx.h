/*
 * obsfx.h - what the Observe client tests (test_observe.c,
 * test_observe_rereg.c) share: a simulated server that accepts
 * registrations and sends notifications, and the client's registration.
 */
#ifndef OBSFX_H
#define OBSFX_H

#include "coap_client.h"
#include "simnet.h"
#include "simsrv.h"

#include <check.h>
#include <string.h>

/* A server that accepts registrations (answering with Observe = seq++),
 * answers deregistrations without Observe, and sends notifications. */
typedef struct {
    sim_srv_t srv;
    uint32_t seq;
    uint32_t max_age; /* in the registration's answer; 0: none */
    int plain;        /* answer registrations without Observe */
    int hold_dereg;   /* keep the deregistration for later */
    int registrations, deregistrations;
    uint8_t tok[COAP_TOKEN_MAX], tkl;
    coap_addr_t client;
} obs_t;

static inline void obs_fn(sim_srv_t *s, coap_ep_req_t *req, const coap_msg_t *m)
{
    obs_t *o = s->arg;
    uint32_t ov;
    int has = coap_msg_get_uint(m, COAP_OPT_OBSERVE, &ov) == 0;
    coap_msg_t r;
    sim_resp(&r, COAP_CONTENT, "state", 5);
    if (has && ov == 0) {
        o->registrations++;
        memcpy(o->tok, m->token, m->token_len);
        o->tkl = m->token_len;
        o->client = *coap_ep_req_peer(req);
        if (!o->plain) coap_msg_add_uint(&r, COAP_OPT_OBSERVE, o->seq++);
        if (o->max_age) coap_msg_add_uint(&r, COAP_OPT_MAX_AGE, o->max_age);
    } else if (has && ov == 1) {
        o->deregistrations++;
        if (o->hold_dereg) {
            s->held = req;
            return;
        }
    }
    ck_assert_int_eq(coap_ep_respond(s->ep, req, &r, NULL, NULL), COAP_OK);
}

/* A notification from the server; seq < 0: without Observe. */
static inline void obs_notify(simnet_t *n, obs_t *o, coap_type_t type, uint8_t code, long seq,
                              uint32_t max_age)
{
    coap_msg_t m;
    coap_msg_init(&m, type, code, 0);
    coap_msg_set_token(&m, o->tok, o->tkl);
    if (seq >= 0) coap_msg_add_uint(&m, COAP_OPT_OBSERVE, (uint32_t)seq);
    if (max_age) coap_msg_add_uint(&m, COAP_OPT_MAX_AGE, max_age);
    m.payload = (const uint8_t *)"new";
    m.payload_len = 3;
    ck_assert_int_eq(coap_ep_send(o->srv.ep, &o->client, &m, NULL, NULL, NULL), COAP_OK);
    sim_run_idle(n);
}

/* Client node 0, server node 1; registers and runs until the answer. */
static inline coap_req_t *setup(simnet_t *n, obs_t *o, sim_rec_t *k, uint32_t seq, uint32_t margin)
{
    sim_init(n);
    int a = sim_add_ep(n, NULL);
    o->seq = seq;
    sim_srv_init(&o->srv, n, NULL, obs_fn, o);
    coap_req_t *req = sim_req(n, a, o->srv.node, COAP_GET, "temp");
    coap_req_set_observe(req, margin);
    ck_assert_int_eq(coap_req_send(req, sim_on_resp, k), COAP_OK);
    sim_run_idle(n);
    return req;
}

#endif
