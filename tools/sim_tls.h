/*
 * sim_tls.h - coapgw-sim's --listen-tls: the same resources over CoAP over
 * TLS (coaps+tcp://, RFC 8323 §9) with the DTLS credential options.
 */
#ifndef SIM_TLS_H
#define SIM_TLS_H

#include "coap_ep.h"
#include "tls_args.h"

#include "sim_rd.h"

/* An endpoint on a TCP transport listening on addr, every connection in
 * TLS with the credentials of tls (the server role: a client shows the
 * PSK identity and key, a certificate from -C's CA, or a raw public
 * key). With reg (a coaps+tcp:// --register; addr NULL) it listens
 * nowhere and connects out instead, in the client role with the same
 * credentials (the directory's certificate must name reg's host), kept
 * open as sim_tcp_endpoint's. NULL with *err set (COAP_ERR_INVALID after
 * a message for credentials that do not load). */
coap_ep_t *sim_tls_endpoint(const coap_addr_t *addr, const tls_args_t *tls, sim_reg_t *reg,
                            int *err);

#endif
