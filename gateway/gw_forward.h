/*
 * gw_forward.h - requests for a device whose DTLS session lives on another
 * gateway of the cluster go to that gateway (forward.c,
 * docs/cluster.md "Forwarding to the owner"). Internal to gateway/.
 */
#ifndef GW_FORWARD_H
#define GW_FORWARD_H

#include "http_server.h"

#include <stddef.h>

struct gw;
typedef struct gw_forward gw_forward_t;

/* At start: gw->forward set with state.redis (requests for devices
 * whose DTLS session another gateway holds), or left NULL. -1 with err
 * when cluster.advertise is set without cluster.token, or on no memory. */
int gw_forward_start(struct gw *gw, char *err, size_t cap);
/* Cancels the requests in flight. NULL: nothing. */
void gw_forward_free(gw_forward_t *fw);

/* Requests forwarded to the gateway holding a device, and those of them
 * that got no answer (502), since the start (NULL: none). */
typedef struct {
    unsigned long long forwarded, failed;
} gw_forward_stats_t;
gw_forward_stats_t gw_forward_stats(const gw_forward_t *fw);

/* A request forwarded by another gateway (X-Coapgw-Forwarded): 1 when it
 * carries this gateway's cluster.token, 0 when it is not a forwarded one,
 * -1 when it was refused (403 answered). */
int gw_forward_incoming(struct gw *gw, http_req_t *req);
/* /devices/NAME/... of a device held by another gateway: forwarded there
 * (never when `forwarded`), or 503 saying which gateway holds it; returns
 * 1. Returns 0 for any other request (served here). token: the request's
 * bearer token (NULL: none), which a relayed event stream keeps. */
int gw_forward_route(struct gw *gw, http_req_t *req, int forwarded, const char *token);
/* After a reload: every relayed event stream whose token is no longer
 * valid gets `event: error` 401 after its last whole event and ends, as
 * the hub's streams (gw_hub_revoke). Returns how many. NULL: none. */
size_t gw_forward_revoke(gw_forward_t *fw, int (*still_valid)(const char *token, void *arg),
                         void *arg);

/* After a reload: every relayed event stream that refused(arg, NULL,
 * DEVICE, msg, cap) refuses (its device was removed: gw_hub_recheck's
 * check) gets `event: error` with that status and message after its last
 * whole event and ends. Returns how many. NULL: none. */
size_t gw_forward_recheck(gw_forward_t *fw,
                          unsigned (*refused)(void *arg, const char *uri, const char *device,
                                              char *msg, size_t cap),
                          void *arg);

#endif
