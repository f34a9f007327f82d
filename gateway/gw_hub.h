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
    uint64_t subscribers;   /* streams open now */
    uint64_t observations;  /* upstream observations now */
    uint64_t events;        /* events formatted (once each) */
    uint64_t dropped;       /* events a slow subscriber lost */
    uint64_t registrations; /* upstream registrations sent */
} gw_hub_stats_t;

typedef struct {
    uint32_t queue_len;      /* events a subscriber may have waiting, default 64 */
    uint32_t keepalive_ms;   /* comment line on idle streams, default 15000 */
    uint32_t retry_ms;       /* the SSE retry: field, default 3000 */
    uint32_t max_backoff_ms; /* re-registration back-off cap, default 60000 */
} gw_hub_params_t;

gw_hub_t *gw_hub_new(gw_t *gw, const gw_hub_params_t *p);
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

/* Answers req with an event stream carrying notifications of the targets
 * (already resolved and allowed). The newest known value of each target is
 * sent at once. token is the access token that allowed the request (kept
 * for gw_hub_revoke), NULL when none was needed. */
void gw_hub_subscribe(gw_hub_t *hub, http_req_t *req, const gw_target_t *targets, size_t n,
                      const char *token);

const gw_hub_stats_t *gw_hub_stats(const gw_hub_t *hub);

#endif
