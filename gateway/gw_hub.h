/*
 * gw_hub.h - the observe hub: CoAP Observe (RFC 7641) fanned out to HTTP
 * clients as Server-Sent Events. One upstream observation per target,
 * whatever the number of subscribers; each notification is formatted once
 * and queued, by reference, to every subscriber.
 */
#ifndef GW_HUB_H
#define GW_HUB_H

#include "gw.h"

typedef struct gw_hub gw_hub_t;

typedef struct {
    uint64_t subscribers;          /* streams open now, groups' included */
    uint64_t observations;         /* upstream observations now */
    uint64_t events;               /* events formatted (once each) */
    uint64_t dropped;              /* events a slow subscriber lost */
    uint64_t registrations;        /* upstream registrations sent */
    uint64_t refused_subscribers;  /* streams answered 503: sse.max_subscribers */
    uint64_t refused_observations; /* streams answered 503 and targets answered
                                      `event: error` 503: sse.max_observations */
    uint64_t refused_per_target;   /* the same for sse.max_per_target */
} gw_hub_stats_t;

/* Zero means the default. */
typedef struct {
    uint32_t max_subscribers;  /* streams open at once, default 20000 */
    uint32_t max_observations; /* distinct upstream observations at once, default 1024 */
    uint32_t max_per_target;   /* streams of one target at once, default 1000 */
    uint32_t queue_len;        /* events a subscriber may have waiting, default 64 */
    uint32_t keepalive_ms;     /* comment line on idle streams, default 15000 */
    uint32_t retry_ms;         /* the SSE retry: field, default 3000 */
    uint32_t max_backoff_ms;   /* re-registration back-off cap, default 60000 */
} gw_hub_params_t;

/* The limits of the sse.* keys of c; the rest stays 0 (the defaults). */
gw_hub_params_t gw_hub_params_from_cfg(const cfg_t *c);

gw_hub_t *gw_hub_new(gw_t *gw, const gw_hub_params_t *p);
/* New parameters (a reload): they apply to streams opened from now on.
 * Open streams keep their queue length, and lowering max_subscribers or
 * max_observations ends no stream or observation. */
void gw_hub_set_params(gw_hub_t *hub, const gw_hub_params_t *p);
/* Ends every stream (an error event first) and deregisters upstream. */
void gw_hub_free(gw_hub_t *hub);

/* Graceful shutdown: every stream gets `event: error` with
 * {"status":status,"message":message} and closes once it is sent; the
 * observations left without subscribers are deregistered upstream
 * (RFC 7641 §3.6). */
void gw_hub_shutdown(gw_hub_t *hub, unsigned status, const char *message);

/* After a reload: every stream for which still_valid(token, arg) is 0 (the
 * token it was opened with, NULL when none) gets `event: error` with
 * {"status":401,...} and closes. Returns how many. */
size_t gw_hub_revoke(gw_hub_t *hub, int (*still_valid)(const char *token, void *arg), void *arg);

/* Whether an open stream's target (uri, and the device the stream named,
 * NULL: none) still passes: 0, else the status of the `event: error` that
 * ends it, and why in msg. */
typedef unsigned (*gw_stream_check_t)(void *arg, const char *uri, const char *device, char *msg,
                                      size_t cap);
/* After a reload: every target of a stream that refused() refuses gets
 * `event: error` with {"target":...,"status":...,"message":...} and
 * leaves the stream, as when its observation fails; a stream left without
 * a target closes. Returns how many streams closed so. */
size_t gw_hub_recheck(gw_hub_t *hub, gw_stream_check_t refused, void *arg);

/* Answers req with an event stream carrying notifications of the targets
 * (already resolved and allowed). The newest known value of each target is
 * sent at once. token is the access token that allowed the request (kept
 * for gw_hub_revoke), NULL when none was needed. last_id is the
 * Last-Event-ID of a reconnecting client (NULL or "" when none): each
 * target's stream then starts with a "resumed" status (gw_ev_resumed).
 * Beyond max_subscribers, or when every target is beyond a limit (not
 * observed already while max_observations are, or max_per_target streams
 * of it open), req gets 503 with Retry-After instead; a target beyond a
 * limit on a stream that has others gets `event: error` with
 * {"target":...,"status":503,...}. */
void gw_hub_subscribe(gw_hub_t *hub, http_req_t *req, const gw_target_t *targets, size_t n,
                      const char *token, const char *last_id);

/* Event streams the hub does not serve (a group's, groups.c) count
 * against sse.max_subscribers too, and in the stats: before opening one,
 * gw_hub_streams_full (1: req got the hub's 503, counted in
 * refused_subscribers; targets, n name it in the request line, or NULL,
 * 0); then gw_hub_stream_opened, and gw_hub_stream_closed when it ends. */
int gw_hub_streams_full(gw_hub_t *hub, http_req_t *req, const gw_target_t *targets, size_t n);
void gw_hub_stream_opened(gw_hub_t *hub);
void gw_hub_stream_closed(gw_hub_t *hub);
/* A new group observation beyond sse.max_observations (the hub's and the
 * groups' together): 1 when req got the hub's 503, counted in
 * refused_observations. */
int gw_hub_observations_full(gw_hub_t *hub, http_req_t *req);

const gw_hub_stats_t *gw_hub_stats(const gw_hub_t *hub);

#endif
