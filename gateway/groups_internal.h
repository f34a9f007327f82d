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
    base_list_t in_gw; /* gw->group_streams, when it streams (checked on reload) */
    gw_t *gw;
    http_req_t *req;  /* the JSON answer's request; NULL once answered or gone */
    base_list_t subs; /* gsub_t: the event streams (one, or an observation's) */
    int sse, observe, ending, stopping;
    int quiet; /* an observation: no event since the last keep-alive tick */
    base_loop_timer_t *keepalive;
    char *key;    /* an observation's key in gw->group_obs while it takes subscribers */
    json_t *last; /* an observation's last event per member (address -> text) */
    char *group;
    char *sig; /* the group's address or members when q started (gw_groups_sig_) */
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
/* The group's address and port, or its members: what a reload must keep
 * for q's streams to go on (malloc'd; NULL: no memory). */
char *gw_groups_sig_(const cfg_group_t *g);
/* q streams: its streams are checked on reload (gw_groups_revoke). */
void gw_groups_track_(gq_t *q);

/* groups.c: a stream closed (its client left); no more subscribers join
 * q; the configured group NAME (len bytes); the target of q's leg i
 * (0, or an HTTP status with msg). */
void gw_groups_sub_closed_(void *arg);
void gw_groups_unshare_(gq_t *q);
const cfg_group_t *gw_groups_find_(gw_t *gw, const char *name, size_t len);
int gw_groups_leg_target_(gw_t *gw, const cfg_group_t *g, size_t i, const char *path,
                          const char *query, gw_target_t *t, char *msg, size_t cap);

#endif
