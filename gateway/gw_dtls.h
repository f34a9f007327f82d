/*
 * gw_dtls.h - the gateway as a DTLS client to coaps:// devices: a second
 * client endpoint (gw->dtls_ep) on a DTLS transport (dtls/dtls.h, client
 * role only: no server credentials), beside the UDP one (gw->ep); the
 * credentials of each peer from "credentials" (gw_creds.h); DTLS events
 * to the log and /metrics. Internal to gateway/.
 */
#ifndef GW_DTLS_H
#define GW_DTLS_H

#include "gw.h"
#include "gw_creds.h"

#include <stdio.h>

/* Loads gw->cfg's credentials into gw->creds (start). 0, or -1 with err. */
int gw_dtls_configure(gw_t *gw, char *err, size_t errlen);
/* Opens gw->dtls_ep and attaches it to the loop. 0, or -1 with err. */
int gw_dtls_start(gw_t *gw, char *err, size_t errlen);
/* After the endpoint is freed: the credentials and the peers' table. */
void gw_dtls_free(gw_t *gw);
/* A reload: creds (loaded from the new configuration, now owned here)
 * serve the handshakes from now on; sessions open go on with theirs. */
void gw_dtls_set_creds(gw_t *gw, gw_creds_t *creds);
/* Warns about each entry of c with no_verify; when prefixes the lines. */
void gw_dtls_warn(const cfg_t *c, const char *when);

/* The client endpoint for t: the UDP one for coap://, the DTLS one for
 * coaps://, after recording which credentials open a session with t's
 * address. NULL with *err COAP_ERR_DTLS_NO_CREDENTIALS when the entry t
 * was resolved with is gone (a reload). */
coap_ep_t *gw_target_ep(gw_t *gw, const gw_target_t *t, int *err);

/* What a COAP_ERR_DTLS_* err with the target uri means, for HTTP and
 * CoAP answers and events: "DTLS handshake with coaps://HOST:PORT
 * failed: REASON", or "no credentials for coaps://HOST:PORT (see
 * credentials in docs/configuration.md)". Returns 0 when err is another
 * code (nothing written). */
int gw_dtls_explain(const char *uri, int err, char *out, size_t cap);

/* The coapgw_dtls_* families of GET /metrics. */
void gw_dtls_metrics(gw_t *gw, FILE *f);

#endif
