/*
 * groups_internal.h - what groups.c (the requests and their CoAP side)
 * and groups_subs.c (their event streams) share. Internal to gateway/.
 */
#ifndef GROUPS_INTERNAL_H
#define GROUPS_INTERNAL_H

#include "base_buf.h"
#include "base_list.h"
#include "gw.h"
#include "gw_groups.h"
#include "gw_sse_event.h"

#include <jansson.h>

typedef struct gq gq_t;

/* One CoAP request of a group request: the multicast one, or one member's. */
typedef struct {
    gq_t *q;
    coap_req_t *creq; /* NULL once its final callback ran */
} gq_leg_t;

/* One event stream of a group request: its own queue of event text. */
typedef struct {
    base_list_t in_q;
    gq_t *q;
    http_stream_t *stream;
    base_buf_t out; /* events not yet pulled */
    size_t sent;
    char *token; /* the bearer token it was opened with (NULL: none) */
    int ending;  /* its token was revoked: what is queued goes, then the end */
} gsub_t;

struct gq {
    gw_t *gw;
    http_req_t *req;  /* the JSON answer's request; NULL once answered or gone */
    base_list_t subs; /* gsub_t: the event streams (one, or an observation's) */
    int sse, observe, ending, stopping;
    int quiet; /* an observation: no event since the last keep-alive tick */
    base_loop_timer_t *keepalive;
    char *key;    /* an observation's key in gw->group_obs while it takes subscribers */
    json_t *last; /* an observation's last event per member (address -> text) */
    char *group;
    json_t *request, *responses;
    unsigned refused, dropped; /* responders the allowlist refused; answers over the cap */
    gq_leg_t *legs;
    size_t nlegs, pending;
};

/* groups_subs.c: a new event stream of q on req (NULL when req was
 * answered 503); an event to every stream of q (taken: unref'd); the
 * keep-alive of an observation; a stream's end. */
gsub_t *gw_groups_add_sub_(gq_t *q, http_req_t *req, const char *token);
void gw_groups_push_(gq_t *q, gw_ev_t *e);
void gw_groups_keepalive_(gq_t *q);
void gw_groups_sub_free_(gsub_t *s);
/* groups.c: a stream closed (its client left). */
void gw_groups_sub_closed_(void *arg);

#endif
