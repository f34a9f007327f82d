/*
 * sim_tcp.c - coapgw-sim's TCP listener (sim_tcp.h).
 */
#include "sim_tcp.h"

coap_ep_t *sim_tcp_endpoint(const coap_addr_t *addr, int connect_out, int *err)
{
    /* notifications go back over the observer's own connection, and one
     * that closed ends its observations; a device that connected out to
     * its directory keeps that connection: it is how it is reached */
    coap_tcp_params_t p = {.connect_out = (uint8_t)connect_out};
    if (connect_out) p.idle_ms = UINT32_MAX;
    coap_transport_t *tr = coap_transport_tcp_new(addr, &p, err);
    return tr ? coap_ep_new_on(tr, NULL, err) : NULL;
}
