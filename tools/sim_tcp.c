/*
 * sim_tcp.c - coapgw-sim's TCP listener (sim_tcp.h).
 */
#include "sim_tcp.h"

#include <stdio.h>

/* A connection ended: the directory's, and we are no longer reachable. */
static void on_event(void *arg, const coap_addr_t *peer, int up, int err)
{
    sim_reg_t *reg = arg;
    char who[COAP_ADDR_STRLEN];
    fprintf(stderr, "coapgw-sim: tcp: %s %s%s%s\n", up ? "connected" : "closed",
            coap_addr_str(peer, who, sizeof who), up ? "" : ": ", up ? "" : coap_strerror(err));
    if (!up && reg && coap_addr_equal(peer, &reg->rd)) sim_reg_lost(reg);
}

coap_ep_t *sim_tcp_endpoint(const coap_addr_t *addr, sim_reg_t *reg, int *err)
{
    return sim_tcp_endpoint_on(addr, reg, NULL, NULL, err);
}

coap_ep_t *sim_tcp_endpoint_on(const coap_addr_t *addr, sim_reg_t *reg,
                               const coap_stream_ops_t *tls, void *tls_arg, int *err)
{
    /* notifications go back over the observer's own connection, and one
     * that closed ends its observations; a device that connected out to
     * its directory keeps that connection: it is how it is reached */
    coap_tcp_params_t p = {.connect_out = reg != NULL,
                           .event = on_event,
                           .event_arg = reg,
                           .tls = tls,
                           .tls_arg = tls_arg};
    if (reg) p.idle_ms = UINT32_MAX;
    coap_transport_t *tr = coap_transport_tcp_new(addr, &p, err);
    return tr ? coap_ep_new_on(tr, NULL, err) : NULL;
}
