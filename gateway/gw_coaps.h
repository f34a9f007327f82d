/*
 * gw_coaps.h - the gateway as a DTLS client to coaps:// devices: a second
 * client endpoint (gw->coaps_ep) on a DTLS transport (dtls/dtls.h, client
 * role only: no server credentials), beside the UDP one (gw->ep); the
 * credentials of each peer from "credentials" (gw_creds.h); DTLS events
 * to the log, failed handshakes counted for /metrics (gw_dtls_metrics
 * writes them with the listener's). Also the one choice of the endpoint
 * that reaches a target, and what a DTLS failure means in an answer.
 * Internal to gateway/.
 */
#ifndef GW_COAPS_H
#define GW_COAPS_H

#include "gw.h"
#include "gw_creds.h"
#include "gw_dtls.h"

/* Loads gw->cfg's credentials into gw->creds (start). 0, or -1 with err. */
int gw_coaps_configure(gw_t *gw, char *err, size_t errlen);
/* Opens gw->coaps_ep and attaches it to the loop. 0, or -1 with err. */
int gw_coaps_start(gw_t *gw, char *err, size_t errlen);
/* After the endpoint is freed: the credentials and the peers' table. */
void gw_coaps_free(gw_t *gw);
/* A reload: creds (loaded from the new configuration, now owned here)
 * serve the handshakes from now on; sessions open go on with theirs. */
void gw_coaps_set_creds(gw_t *gw, gw_creds_t *creds);
/* Warns about each entry of c with no_verify; when prefixes the lines. */
void gw_coaps_warn(const cfg_t *c, const char *when);
/* The client endpoint's transport (NULL before start) and its failed
 * handshakes by reason, for /metrics. */
coap_transport_t *gw_coaps_transport(const gw_t *gw, const gw_dtls_failures_t **failed);

/* The credentials that open a connection or session with peer: those
 * recorded for its address by gw_target_ep, else the entry named after
 * the address (arg: the gw_t; a client_creds of dtls_config_t, for the
 * TLS client too). NULL for none. */
struct dtls_creds *gw_coaps_client_creds(void *arg, const coap_addr_t *peer);

/* The endpoint that reaches t, the one place that picks it: a device
 * reached through the DTLS session it registered over (t->ep, set by
 * gw_target_parse) -> that session's endpoint (the listener's); coaps://
 * -> gw->coaps_ep, after recording which credentials open a session with
 * t's address; a device reached over the TCP connection it registered
 * over -> the TCP listener's endpoint (t->ep too); coap+tcp:// ->
 * gw->tcp_ep; coaps+tcp:// -> gw->tls_ep, with credentials as for
 * coaps://; coap:// -> gw->ep. NULL with *err
 * COAP_ERR_DTLS_NO_CREDENTIALS when the entry t was resolved with is
 * gone (a reload). */
coap_ep_t *gw_target_ep(gw_t *gw, const gw_target_t *t, int *err);

/* What a COAP_ERR_DTLS_* err with the target uri means, for HTTP and
 * CoAP answers and events: "DTLS handshake with coaps://HOST:PORT
 * failed: REASON", or "no credentials for coaps://HOST:PORT (see
 * credentials in docs/configuration.md)". Returns 0 when err is another
 * code (nothing written). A device's session gone is gw_dtls_gone's. */
int gw_dtls_explain(const char *uri, int err, char *out, size_t cap);
/* The text of an exchange with uri at peer through ep that ended with
 * err, when DTLS is why: gw_dtls_explain's (a handshake of ours failed,
 * no credentials) or gw_dtls_gone's (the session a device was reached
 * through is gone), written to buf; else NULL. */
const char *gw_dtls_why(const gw_t *gw, const coap_ep_t *ep, const char *uri,
                        const coap_addr_t *peer, int err, char *buf, size_t cap);

#endif
