/*
 * sim_group.h - coapgw-sim's --group ADDR[%IF]: the listener joins a
 * multicast group (RFC 7252 §8), so the simulated device is a member of
 * group requests and multicast discovery; its answers to them follow the
 * engine's rules for members (coap/ep_mcast.c).
 */
#ifndef SIM_GROUP_H
#define SIM_GROUP_H

#include "coap_transport.h"

#define SIM_MAX_GROUPS 8

/* Joins the group spec names ("224.0.1.187", "ff02::fd%eth0") on tr.
 * Returns 0, or 2 with a line on stderr. */
int sim_group_join(coap_transport_t *tr, const char *spec);

#endif
