/*
 * gw_rd.h - the Resource Directory's registration interface (RFC 9176 §5)
 * on the gateway's CoAP port: devices register themselves and become
 * reachable as /devices/NAME/... like configured ones. Internal to gateway/.
 */
#ifndef GW_RD_H
#define GW_RD_H

#include "coap_server.h"
#include "gw.h"

typedef struct gw_rd gw_rd_t;

/* The directory. Limits come from gw->cfg (rd_max_registrations,
 * rd_max_links_bytes, ...), read on every request. Returns NULL on no
 * memory. */
gw_rd_t *gw_rd_new(gw_t *gw);
/* Serves /rd (and /rd/ID) on srv too, advertised in /.well-known/core as
 * rt="core.rd": coap.listen, then coap.listen_dtls. Returns 0, or -1 (no
 * memory, or two servers already). */
int gw_rd_serve(gw_rd_t *rd, coap_server_t *srv);
/* Removes the resources and the expiry timer. The registered devices stay
 * in the registry (gw_devices_free frees them). Call before
 * coap_server_free. */
void gw_rd_free(gw_rd_t *rd);
/* After a reload swapped gw->acl, gw->ids and gw->cfg in: removes (with a
 * log line) the registrations whose source or base the new target
 * allowlist no longer allows, whose identity is gone or may no longer
 * have the name, and plaintext ones whose name an identity may register
 * now; applies the new rd.max_links_bytes. NULL: nothing. */
void gw_rd_reloaded(gw_rd_t *rd);
/* At start: the registrations of gw->store come back with their expiry
 * (expired ones are deleted from it), then those the configuration does
 * not allow go as on a reload; logs the count. -1 with err when the store
 * cannot be read. NULL: nothing. */
int gw_rd_restore(gw_rd_t *rd, char *err, size_t cap);

/* Simple registrations (RFC 9176 §5.1) registered, and failed after
 * their 2.04 (fetch, checks, store), for /metrics. NULL: 0. */
void gw_rd_simple_stats(const gw_rd_t *rd, uint64_t *ok, uint64_t *failed);
/* GET /api/rd-lookup/WHICH (ep or res): the lookup (RFC 9176 §6) as
 * JSON, the filters and paging as query arguments (rd_lookup_serve.c). */
void gw_rd_lookup_http(gw_t *gw, http_req_t *req, const char *which);

#endif
