/*
 * sim_dtls.h - coapgw-sim's --listen-dtls: the same resources over DTLS
 * (coaps://) with the credential options, and its statistics on SIGUSR1.
 */
#ifndef SIM_DTLS_H
#define SIM_DTLS_H

#include "coap_transport.h"
#include "dtls.h"
#include "tls_args.h"

/* A DTLS transport bound to addr, in both roles with the credentials of
 * tls (a coaps:// --register goes out from the same socket), its events
 * logged on stderr: 0 with *tr set (NULL with *err when it cannot bind),
 * or 2 after a message for credentials that do not load. */
int sim_dtls_transport(const coap_addr_t *addr, const tls_args_t *tls, coap_transport_t **tr,
                       int *err);
/* One line of the transport's counters on stderr. */
void sim_dtls_print_stats(const coap_transport_t *dtls);

#endif
