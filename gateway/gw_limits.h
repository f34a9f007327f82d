/*
 * gw_limits.h - the limits on what the gateway sends towards devices
 * (coap.max_exchanges, coap.max_pending_per_peer) and the uniform answer
 * past them: HTTP 503 with Retry-After, CoAP 5.03 with Max-Age, a text
 * naming the key, a counter and a log line at most once a second.
 * Internal to gateway/.
 */
#ifndef GW_LIMITS_H
#define GW_LIMITS_H

#include "gw.h"

/* Seconds a client is told to wait (Retry-After, Max-Age): requests in
 * flight end within proxy.timeout_ms, most much sooner. */
#define GW_BUSY_RETRY_S      1
#define GW_BUSY_RETRY_S_TEXT "1"

/* Applies the configured limits to every client endpoint (at start, once
 * the endpoints exist, and on reload). */
void gw_limits_apply(gw_t *gw);
/* Whether err is a refusal by one of the limits (COAP_ERR_BUSY,
 * COAP_ERR_PEER_BUSY). */
int gw_limits_refusal(int err);
/* Counts and logs a refusal of a request for target; writes the text
 * that names the key into msg. */
void gw_limits_refused(gw_t *gw, int err, const char *target, char *msg, size_t cap);
/* The answers: 503 with Retry-After, or 5.03 with Max-Age. */
void gw_limits_http(gw_t *gw, http_req_t *req, int err, const char *target);
void gw_limits_coap(gw_t *gw, coap_server_t *srv, uint64_t id, int err, const char *target);
/* A forward proxy HTTP call takes a place in the budget (0), or the
 * budget is spent (COAP_ERR_BUSY); give it back when the call ends. */
int gw_limits_take(gw_t *gw);
void gw_limits_give(gw_t *gw);

#endif
