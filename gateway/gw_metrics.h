/*
 * gw_metrics.h - counters for GET /metrics (the Prometheus text exposition
 * format 0.0.4) and a periodic log of notable CoAP message-layer events.
 * Internal to gateway/.
 */
#ifndef GW_METRICS_H
#define GW_METRICS_H

#include "gw.h"

#include <stdio.h>

typedef struct gw_metrics gw_metrics_t;

/* Also starts the CoAP event log (malformed datagrams, RSTs, give-ups),
 * a line every few seconds when something happened. */
gw_metrics_t *gw_metrics_new(gw_t *gw);
void gw_metrics_free(gw_metrics_t *m);

/* A finished HTTP request (method label bounded: unknown ones are "other");
 * tls: it came over HTTPS. */
void gw_metrics_http(gw_metrics_t *m, const char *method, unsigned status, int tls);
/* A proxied CoAP exchange ended: with a response code, or an error. */
void gw_metrics_coap_exchange(gw_metrics_t *m, int err, uint8_t code);
/* A proxied HTTP request answered from a CoAP exchange, after us. */
void gw_metrics_latency(gw_metrics_t *m, uint64_t us);

/* One family's HELP and TYPE lines (for families written elsewhere). */
void gw_metrics_family(FILE *f, const char *name, const char *type, const char *help);

/* GET /metrics */
void gw_metrics_respond(gw_t *gw, http_req_t *req);

#endif
