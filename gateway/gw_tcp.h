/*
 * gw_tcp.h - CoAP over TCP (RFC 8323) in the gateway: the client endpoint
 * for coap+tcp:// targets (gw->tcp_ep, connect_out) and the listener
 * (coap.listen_tcp: gw->tcp_srv_ep and gw->tcp_srv), through which a
 * device that registered over its own connection is reached back.
 * Internal to gateway/.
 */
#ifndef GW_TCP_H
#define GW_TCP_H

#include "gw.h"

#include <stdio.h>

/* Opens gw->tcp_ep and, when coap.listen_tcp is on, the listener with its
 * CoAP server (sp); both attached to the loop. 0, or -1 with err. */
int gw_tcp_start(gw_t *gw, const coap_ep_params_t *ep, const coap_server_params_t *sp, char *err,
                 size_t errlen);

/* An endpoint on a TCP transport with coap.tcp_max_connections: listening
 * on `listen` (its connections the devices', never idle-closed, a closed
 * one marking its device offline), or with `listen` NULL connecting out
 * (released after coap.tcp_idle_s). tls (NULL: plain TCP) and tls_arg
 * are taken over (coap_tcp_params_t). NULL with *rc. */
coap_ep_t *gw_tcp_endpoint(gw_t *gw, const coap_addr_t *listen, const coap_ep_params_t *ep,
                           const coap_stream_ops_t *tls, void *tls_arg, int *rc);
/* Opens the listener of coap.listen_tcp (tls NULL) or coap.listen_tls
 * (key names it in errors): gw->tcp_srv_ep, tcp_srv and tcp_addr, or the
 * tls_* ones, attached, with the CoAP server (sp). tls_arg is taken
 * over, also on failure. 0, or -1 with err. */
int gw_tcp_listen(gw_t *gw, const char *key, const coap_stream_ops_t *tls, void *tls_arg,
                  const coap_ep_params_t *ep, const coap_server_params_t *sp, char *err,
                  size_t errlen);

/* Opens gw->tls_ep and, when coap.listen_tls is on, the TLS listener
 * (tls.c): the credentials of "credentials" for targets (as coaps://),
 * creds and dtls.identities for the listener (as coap.listen_dtls). 0,
 * or -1 with err. */
int gw_tls_start(gw_t *gw, const coap_ep_params_t *ep, const coap_server_params_t *sp,
                 struct dtls_creds *creds, char *err, size_t errlen);

/* The answer's text when a request to `uri` could not be sent through
 * ep because coap.tcp_max_connections connections to coap+tcp:// and
 * coaps+tcp:// targets are open (COAP_TCP_ERR_FULL); else NULL. */
const char *gw_tcp_full(const gw_t *gw, const coap_ep_t *ep, const char *uri, int err, char *buf,
                        size_t cap);

/* The answer's text when an exchange with `uri` at `peer` through ep
 * ended with err because the TCP or TLS connection a device registered
 * over is gone; else NULL. */
const char *gw_tcp_gone(const gw_t *gw, const coap_ep_t *ep, const char *uri,
                        const coap_addr_t *peer, int err, char *buf, size_t cap);

/* The coapgw_tcp_* families of /metrics, each series with a side label:
 * "server" (the listener, when on) and "client" (gw->tcp_ep). */
void gw_tcp_metrics(FILE *f, const gw_t *gw);

#endif
