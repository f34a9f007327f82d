/*
 * gw_auth.h - HTTP access tokens (RFC 6750 bearer tokens), checked before
 * routing when the configuration lists any. Internal to gateway/.
 */
#ifndef GW_AUTH_H
#define GW_AUTH_H

#include "gw.h"
#include "gw_tokens.h"

/* 0: the request may go on. -1: it was answered (401 or 403 with
 * WWW-Authenticate). With no token configured everything passes; the
 * probes (/healthz, /readyz, /metrics) always pass. The token comes from
 * "Authorization: Bearer TOKEN" (RFC 6750 §2.1), or from the access_token
 * query parameter (§2.3) on event streams and the page only, since
 * EventSource cannot send headers. A read-only token allows GET, HEAD
 * and OPTIONS. Both the header and the parameter on one request is a 400
 * (RFC 6750 §2: one method only). *who is set to the token that allowed
 * the request, NULL when none was needed. */
int gw_auth_check(gw_t *gw, http_req_t *req, const cfg_token_t **who);

/* gw_auth_token_still_valid for the configuration now in gw (a gw_t *),
 * in the shape gw_hub_revoke takes. */
int gw_auth_still_valid(const char *token, void *gw);

#endif
