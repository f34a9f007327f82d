/*
 * gw_reverse.h - the reverse direction: CoAP -> HTTP (and CoAP -> CoAP)
 * forward proxy on the gateway's CoAP port.
 */
#ifndef GW_REVERSE_H
#define GW_REVERSE_H

#include "coap_server.h"
#include "gw.h"

typedef struct gw_reverse gw_reverse_t;

/* The forward proxy. Returns NULL with a message in err when an
 * allow_origins entry is malformed. */
gw_reverse_t *gw_reverse_new(gw_t *gw, char *err, size_t errlen);
/* Serves the proxy requests arriving at srv too (coap.listen, then
 * coap.listen_dtls). Returns 0, or -1 when it serves two already. */
int gw_reverse_serve(gw_reverse_t *rv, coap_server_t *srv);
void gw_reverse_free(gw_reverse_t *rv);
/* Replaces the origin allowlist (SIGHUP reload). All or nothing: returns
 * -1 with a message in err, the old list still in force, for a malformed
 * entry. */
int gw_reverse_set_origins(gw_reverse_t *rv, char *const *origins, size_t n, char *err,
                           size_t errlen);

#endif
