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

/* The answer's text when an exchange with `uri` at `peer` through ep
 * ended with err because the TCP connection a device registered over is
 * gone; else NULL. */
const char *gw_tcp_gone(const gw_t *gw, const coap_ep_t *ep, const char *uri,
                        const coap_addr_t *peer, int err, char *buf, size_t cap);

/* The coapgw_tcp_* families of /metrics, each series with a side label:
 * "server" (the listener, when on) and "client" (gw->tcp_ep). */
void gw_tcp_metrics(FILE *f, const gw_t *gw);

#endif
