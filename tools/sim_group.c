/*
 * sim_group.c - coapgw-sim's --group (sim_group.h).
 */
#include "sim_group.h"
#include "coap_msg.h"

#include <net/if.h>
#include <stdio.h>
#include <string.h>

int sim_group_join(coap_transport_t *tr, const char *spec)
{
    char host[64];
    unsigned ifindex = 0;
    const char *pct = strchr(spec, '%');
    size_t hl = pct ? (size_t)(pct - spec) : strlen(spec);
    if (hl >= sizeof host) hl = sizeof host - 1;
    memcpy(host, spec, hl);
    host[hl] = '\0';
    if (pct && !(ifindex = if_nametoindex(pct + 1))) {
        fprintf(stderr, "coapgw-sim: --group %s: no interface %s\n", spec, pct + 1);
        return 2;
    }
    coap_addr_t group;
    int err = coap_addr_from_host(&group, host, COAP_DEFAULT_PORT);
    if (!err) err = coap_transport_udp_join(tr, &group, ifindex);
    if (err) {
        fprintf(stderr, "coapgw-sim: --group %s: %s\n", spec,
                err == COAP_ERR_INVALID ? "not a multicast address, or --listen is not UDP"
                                        : coap_strerror(err));
        return 2;
    }
    fprintf(stderr, "coapgw-sim: member of group %s\n", spec);
    return 0;
}
