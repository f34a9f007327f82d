/*
 * auth.c - bearer tokens (RFC 6750) on every HTTP request when tokens are
 * configured: 401 without a valid one, 403 when a read-only token tries
 * to write. Tokens are read from gw->cfg at each request, so a reload
 * that replaces them applies at once to new requests; event streams
 * already open are checked again by gw_auth_still_valid.
 */
#include "gw_api.h"
#include "gw_auth.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Liveness and readiness probes and metrics scrapers carry no token. */
static int open_path(const char *path)
{
    return !strcmp(path, "/healthz") || !strcmp(path, "/readyz") || !strcmp(path, "/metrics");
}

static int is_read(const char *method)
{
    return !strcmp(method, "GET") || !strcmp(method, "HEAD") || !strcmp(method, "OPTIONS");
}

/* Where the access_token query parameter is accepted (RFC 6750 §2.3
 * discourages it: URLs end up in logs): event streams, which EventSource
 * opens without custom headers, and the page with its assets (/, /app.js,
 * ...: one segment, not one of the gateway's own trees). */
static int token_in_query_ok(http_req_t *req, const char *path)
{
    if (strcmp(http_req_method(req), "GET") && strcmp(http_req_method(req), "HEAD")) return 0;
    const char *accept = http_req_header(req, "Accept");
    if (!strcmp(path, "/events") || (accept && strstr(accept, "text/event-stream"))) return 1;
    if (!strcmp(path, "/")) return 1;
    return path[0] == '/' && !strchr(path + 1, '/') && strcmp(path, "/api") &&
           strcmp(path, "/devices") && strcmp(path, "/hc");
}

/* Answers 401/403 with WWW-Authenticate (RFC 6750 §3), JSON under /api/. */
__attribute__((format(printf, 4, 5))) static int deny(http_req_t *req, unsigned status,
                                                      const char *error, const char *fmt, ...)
{
    char msg[256], challenge[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(challenge, sizeof challenge, "Bearer realm=\"coapgw\"%s%s%s",
             error ? ", error=\"" : "", error ? error : "", error ? "\"" : "");
    http_req_add_header(req, "WWW-Authenticate", challenge);
    gw_log(CFG_LOG_INFO, "%s %s %s -> %u %s", http_req_client(req), http_req_method(req),
           http_req_path(req), status, msg);
    if (gw_api_path(http_req_path(req)))
        gw_api_error(req, status, "%s", msg);
    else
        http_respond_text(req, status, "%s", msg);
    return -1;
}

int gw_auth_check(gw_t *gw, http_req_t *req, const cfg_token_t **who)
{
    const cfg_t *cfg = &gw->cfg;
    const char *path = http_req_path(req), *method = http_req_method(req);
    if (who) *who = NULL;
    if (!cfg->ntokens || open_path(path)) return 0;
    const char *tok = NULL;
    size_t len = 0;
    int in_header = gw_auth_bearer(http_req_header(req, "Authorization"), &tok, &len);
    const char *in_query = http_req_arg(req, "access_token"); /* valid until the next call */
    /* RFC 6750 §2: clients MUST NOT use more than one method per request */
    if (in_header && in_query)
        return deny(req, 400, "invalid_request",
                    "a token in both the Authorization header and the access_token parameter: "
                    "send one");
    if (!in_header) {
        tok = in_query;
        if (tok && !token_in_query_ok(req, path))
            return deny(req, 401, "invalid_request",
                        "access_token in the URL is accepted only on event streams and the "
                        "page: send Authorization: Bearer TOKEN");
        if (tok) len = strlen(tok);
    }
    /* §3.1: a request without credentials gets the challenge alone */
    if (!tok) return deny(req, 401, NULL, "authentication required: Authorization: Bearer TOKEN");
    const cfg_token_t *t = len ? gw_auth_match(cfg, tok, len) : NULL;
    if (!t) return deny(req, 401, "invalid_token", "invalid token");
    if (!t->write && !is_read(method))
        return deny(req, 403, "insufficient_scope", "token %s is read-only: %s is not allowed",
                    t->name ? t->name : "(unnamed)", method);
    if (who) *who = t;
    return 0;
}

int gw_auth_still_valid(const char *token, void *gw)
{
    return gw_auth_token_still_valid(&((gw_t *)gw)->cfg, token);
}
