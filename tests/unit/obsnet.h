/*
 * obsnet.h - the Observe server tests' fixture (test_server_observe.c,
 * test_server_notify.c): an observable /temp on a simulated network,
 * our client registering, and helpers to count notifications.
 */
#ifndef OBSNET_H
#define OBSNET_H

#include "server_internal.h"
#include "srvnet.h"

typedef struct {
    st_t t;
    hrec_t h;
    cbrec_t c;
    coap_server_resource_t *res;
} ot_t;

/* /temp, observable, answering "state" (Max-Age max_age, -1: none). */
static inline void ot_init(ot_t *o, const coap_server_params_t *sp, long max_age)
{
    memset(o, 0, sizeof *o);
    st_init(&o->t, NULL, sp);
    st_callbacks(&o->t, &o->c);
    o->h.resp = COAP_RESPONSE(COAP_CONTENT);
    o->h.resp.payload = "state";
    o->h.resp.payload_len = 5;
    o->h.resp.max_age = max_age;
    o->res = coap_server_add(o->t.srv, "/temp", COAP_RES_OBSERVABLE, COAP_METHODS_READ, h_rec,
                             &o->h, NULL);
}

/* Our client registers; runs until the answer. */
static inline coap_req_t *ot_register(ot_t *o, sim_rec_t *k)
{
    coap_req_t *req = st_req(&o->t, COAP_GET, "temp");
    coap_req_set_observe(req, 0);
    st_do(&o->t, req, k);
    return req;
}

/* A notification with `payload` (a string that stays alive). */
static inline int ot_notify(ot_t *o, uint8_t code, const char *payload, long max_age)
{
    coap_server_response_t r = COAP_RESPONSE(code);
    r.payload = payload;
    r.payload_len = strlen(payload);
    r.max_age = max_age;
    return coap_server_notify(o->t.srv, o->res, &r);
}

/* Notifications (2.xx or not) from the server to node `to`. */
static inline size_t notifs(ot_t *o, int to, int type)
{
    size_t c = 0;
    for (size_t i = 0; i < o->t.n.nlog; i++) {
        const sim_dgram_t *d = &o->t.n.log[i];
        c += d->from == o->t.srvn && d->to == to && (type == SIM_ANY || d->msg.type == type) &&
             (d->msg.type == COAP_CON || d->msg.type == COAP_NON) && d->msg.code != COAP_EMPTY;
    }
    return c;
}

static inline const sim_dgram_t *nth_notif(ot_t *o, int to, size_t n)
{
    for (size_t i = 0; i < o->t.n.nlog; i++) {
        const sim_dgram_t *d = &o->t.n.log[i];
        if (d->from == o->t.srvn && d->to == to &&
            (d->msg.type == COAP_CON || d->msg.type == COAP_NON) && d->msg.code && n-- == 0)
            return d;
    }
    return NULL;
}

#endif
