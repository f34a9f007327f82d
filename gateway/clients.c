/*
 * clients.c - proxy.coap_clients as an allowlist of source addresses. The
 * CoAP side takes no tokens: without this list, anyone who reaches
 * coap.listen could use the forward proxy (RFC 7252 §11.2: an open proxy
 * is a tool for attacks on others).
 */
#include "gw_clients.h"

#include <stdio.h>

gw_acl_t *gw_clients_build(const cfg_t *c, char *err, size_t errlen)
{
    gw_acl_t *acl = gw_acl_new();
    if (!acl) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < c->coap_clients.n; i++) {
        if (gw_acl_add(acl, c->coap_clients.v[i])) {
            snprintf(err, errlen,
                     "bad proxy.coap_clients entry \"%s\" (want an address or a CIDR "
                     "range)",
                     c->coap_clients.v[i]);
            gw_acl_free(acl);
            return NULL;
        }
    }
    return acl;
}

int gw_clients_allow(const gw_acl_t *clients, const coap_addr_t *peer)
{
    return gw_acl_allows_addr(clients, peer);
}
