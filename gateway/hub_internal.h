/*
 * hub_internal.h - the observe hub's tables (hub.c) and its limits and
 * parameters (hub_limits.c). Internal to the hub.
 */
#ifndef HUB_INTERNAL_H
#define HUB_INTERNAL_H

#include "base_list.h"
#include "gw_hub.h"
#include "gw_sse_event.h"

/* A subscriber's interest in one observation: in both their lists. */
typedef struct link {
    base_list_t in_obs, in_sub;
    struct sub *sub;
    struct obs *obs;
    char *device; /* the device the stream named (/devices/NAME/...), NULL: none;
                     checked on reload (gw_hub_recheck) */
} link_t;

/* One upstream observation. */
typedef struct obs {
    gw_hub_t *hub;
    gw_target_t t;
    coap_req_t *req;
    base_list_t links; /* link_t.in_obs */
    size_t nlinks;
    gw_ev_t *latest;
    base_loop_timer_t *retry;
    uint32_t backoff_ms;
    int gone_err;  /* obs_start failed so: the retry timer ends it (obs_trouble) */
    uint8_t dying; /* deregistering: freed by the final callback */
} obs_t;

/* One SSE stream. */
typedef struct sub {
    base_list_t in_hub; /* gw_hub.subs */
    gw_hub_t *hub;
    http_stream_t *stream;
    base_list_t links;  /* link_t.in_sub */
    gw_ev_t **q;        /* a ring of cap entries, grown on demand up to slots */
    uint64_t last_push; /* loop time of the last event queued */
    uint32_t slots;     /* the limit: queue_len waiting + the one being sent */
    uint32_t cap, head, count;
    size_t off;
    char *token;    /* that opened the stream, NULL without: checked on reload */
    uint8_t ending; /* close once the queue is drained */
} sub_t;

struct gw_hub {
    gw_t *gw;
    gw_hub_params_t p;
    gw_strmap_t *obs; /* canonical URI -> obs_t */
    base_list_t subs; /* sub_t.in_hub, the newest first */
    base_loop_timer_t *keepalive;
    gw_ev_t *ka_ev, *retry_ev;
    gw_hub_stats_t stats;
};

/* A limit of one target, as refusals name it. */
typedef struct {
    const char *key, *what;
} gw_hub_limit_t;

/* The limit a new stream of t is beyond (*value: its value), NULL when
 * none. */
const gw_hub_limit_t *gw_hub_target_limit_(const gw_hub_t *hub, const gw_target_t *t,
                                           uint32_t *value);
/* The limit every target is beyond (that of the first), or NULL. */
const gw_hub_limit_t *gw_hub_none_fits_(const gw_hub_t *hub, const gw_target_t *targets, size_t n,
                                        uint32_t *value);
/* Counts a refusal by l (a stream answered 503 or a target `event: error`). */
void gw_hub_count_refusal_(gw_hub_t *hub, const gw_hub_limit_t *l);
/* Answers req 503 with Retry-After, naming the limit. */
void gw_hub_refuse_(gw_hub_t *hub, http_req_t *req, const gw_target_t *targets, size_t n,
                    const char *what, const char *key, uint32_t limit);
/* p with the defaults in its zero fields. */
gw_hub_params_t gw_hub_with_defaults_(const gw_hub_params_t *p);
/* The `retry:` line every stream starts with. */
gw_ev_t *gw_hub_retry_event_(uint32_t retry_ms);

#endif
