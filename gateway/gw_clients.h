/*
 * gw_clients.h - proxy.coap_clients: the source addresses that may use the
 * CoAP forward proxy on coap.listen (and read any registration of the
 * Resource Directory). Internal to gateway/.
 */
#ifndef GW_CLIENTS_H
#define GW_CLIENTS_H

#include "cfg.h"
#include "gw_acl.h"

/* The allowlist of c->coap_clients (addresses and CIDR ranges). Returns
 * NULL with a message in err for a malformed entry or no memory. */
gw_acl_t *gw_clients_build(const cfg_t *c, char *err, size_t errlen);

/* Whether the source address (any port; IPv4-mapped IPv6 as IPv4) is in
 * `clients`. NULL: nobody. */
int gw_clients_allow(const gw_acl_t *clients, const coap_addr_t *peer);

#endif
