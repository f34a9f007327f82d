/*
 * gw_auth.h - HTTP access tokens (RFC 6750 bearer tokens), checked before
 * routing when the configuration lists any. Internal to gateway/.
 */
#ifndef GW_AUTH_H
#define GW_AUTH_H

#include "gw.h"

/* Tokens are compared over this many bytes; longer ones never match. */
#define GW_AUTH_TOKEN_MAX 512

/* 0: the request may go on. -1: it was answered (401 or 403 with
 * WWW-Authenticate). With no token configured everything passes; the
 * probes (/healthz, /readyz, /metrics) always pass. The token comes from
 * "Authorization: Bearer TOKEN" (RFC 6750 §2.1), or from the access_token
 * query parameter (§2.3) on event streams and the page only, since
 * EventSource cannot send headers. A read-only token allows GET, HEAD
 * and OPTIONS. */
int gw_auth_check(gw_t *gw, http_req_t *req);

/* The query without its access_token parameters (when tokens are
 * configured), so the token never reaches a device. Returns 0, or -1 when
 * it does not fit in cap bytes. */
int gw_auth_strip_query(const gw_t *gw, const char *query, char *out, size_t cap);

/* Constant-time token lookup: the token of cfg that equals guess, or NULL.
 * The time depends on neither where a guess first differs nor its length. */
const cfg_token_t *gw_auth_match(const cfg_t *cfg, const char *guess, size_t len);

#endif
