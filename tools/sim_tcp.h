/*
 * sim_tcp.h - coapgw-sim's --listen-tcp: the same resources over CoAP over
 * TCP (RFC 8323) on a listening socket of their own.
 */
#ifndef SIM_TCP_H
#define SIM_TCP_H

#include "coap_ep.h"
#include "sim_rd.h"
#include "tls_args.h"

/* What open_listener() is given for a TCP listener instead of DTLS
 * credentials. */
#define SIM_TCP ((const tls_args_t *)(uintptr_t)1)
/* The same, for a listener that also connects out (a coap+tcp://
 * --register). */
#define SIM_TCP_OUT ((const tls_args_t *)(uintptr_t)2)

/* An endpoint on a TCP transport listening on addr. With reg (a
 * coap+tcp:// --register), its requests connect to their peer, which then
 * reaches the device back over that connection, kept open (Pings, no idle
 * release); when it closes, reg registers again. NULL with *err set. */
coap_ep_t *sim_tcp_endpoint(const coap_addr_t *addr, sim_reg_t *reg, int *err);
/* The same with a stream filter (TLS: sim_tls.c) under each connection,
 * taken over (coap_tcp_params_t.tls); addr NULL: listening nowhere. */
coap_ep_t *sim_tcp_endpoint_on(const coap_addr_t *addr, sim_reg_t *reg,
                               const coap_stream_ops_t *tls, void *tls_arg, int *err);

#endif
