/*
 * gw_sse_event.h - Server-Sent Events as the observe hub sends them
 * (WHATWG HTML, "Server-sent events"): each formatted once into a
 * reference-counted buffer that every subscriber's queue shares.
 */
#ifndef GW_SSE_EVENT_H
#define GW_SSE_EVENT_H

#include "coap_client.h"

#include <stddef.h>
#include <stdint.h>

typedef struct gw_ev {
    uint32_t refs; /* one per queue holding it, plus its creator's */
    size_t len;
    char data[];
} gw_ev_t;

/* A copy of data, with one reference; NULL when out of memory. */
gw_ev_t *gw_ev_new(const char *data, size_t len);
/* Drops one reference (NULL is fine); the last one frees. */
void gw_ev_unref(gw_ev_t *e);

/* The events a stream carries (each NULL when out of memory): */
/* `event: notification`, `id:` a new event ID (below), data the response
 * (code, content format, ETag, Max-Age, payload, its Observe sequence) as
 * JSON. */
gw_ev_t *gw_ev_notification(const char *target, const coap_resp_t *r);
/* The response's fields of a notification (code, content format and
 * type, ETag, Max-Age, received_at, payload) set in the JSON object d:
 * the one encoding of CoAP answers in JSON (events, group answers).
 * Returns -1 when d is NULL. */
struct json_t;
int gw_ev_set_response(struct json_t *d, const coap_resp_t *r);
/* `event: EVENT` with a new `id:` and data (its reference is taken). */
gw_ev_t *gw_ev_with_id(const char *event, struct json_t *data);
/* `event: status` with {"target":..., "state":...}. */
gw_ev_t *gw_ev_status(const char *target, const char *state);
/* `event: status` with {"target":..., "state":"resumed", "last_event_id":
 * last_id, "restarted": B}: a stream that came back with Last-Event-ID;
 * B is false only when last_id is an ID this run of the gateway gave. */
gw_ev_t *gw_ev_resumed(const char *target, const char *last_id);

/* Event IDs are decimal microseconds of wall-clock time, strictly
 * increasing within a run; this is where this run's IDs begin. */
uint64_t gw_ev_epoch(void);
/* `event: error` with {"target":..., "status":..., "message":...}; without
 * target (NULL) it is about the whole stream. */
gw_ev_t *gw_ev_error(const char *target, unsigned status, const char *message);
/* The message of the 401 that ends a stream whose token a reload revoked. */
#define GW_EV_TOKEN_REVOKED "the access token of this stream is no longer valid"

#endif
