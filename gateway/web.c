/*
 * web.c - serves the embedded device browser: "/" is index.html, the other
 * assets by name. Each answer carries a strict Content-Security-Policy (the
 * page has no inline script or style), and an ETag with "no-cache", so a
 * browser revalidates cheaply (304) and never runs a stale app.js after an
 * upgrade.
 */
#include "gw_web.h"

#include <string.h>

static const char *content_type_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (dot && !strcmp(dot, ".html")) return "text/html; charset=utf-8";
    if (dot && !strcmp(dot, ".js")) return "text/javascript; charset=utf-8";
    if (dot && !strcmp(dot, ".css")) return "text/css; charset=utf-8";
    if (dot && !strcmp(dot, ".svg")) return "image/svg+xml";
    return "application/octet-stream";
}

static const gw_web_asset_t *find_asset(const char *path)
{
    if (!strcmp(path, "/")) path = "/index.html";
    for (size_t i = 0; i < gw_web_assets_n; i++)
        if (!strcmp(gw_web_assets[i].path, path)) return &gw_web_assets[i];
    return NULL;
}

/* RFC 9110 §13.1.2: If-None-Match uses the weak comparison, so W/"x"
 * matches "x"; "*" matches any current representation. */
static int etag_matches(const char *if_none_match, const char *etag)
{
    if (!if_none_match) return 0;
    if (!strcmp(if_none_match, "*")) return 1;
    return strstr(if_none_match, etag) != NULL;
}

void gw_web_send(http_req_t *req, const gw_web_asset_t *a, const char *content_type)
{
    http_req_add_header(req, "ETag", a->etag);
    http_req_add_header(req, "Cache-Control", "no-cache");
    if (etag_matches(http_req_header(req, "If-None-Match"), a->etag)) {
        /* RFC 9110 §15.4.5: a 304 has no body. */
        http_respond(req, 304, NULL, "", 0);
        return;
    }
    http_respond(req, 200, content_type, a->data, a->len);
}

int gw_web_serve(http_req_t *req)
{
    const char *method = http_req_method(req);
    if (strcmp(method, "GET") && strcmp(method, "HEAD")) return 0;
    const gw_web_asset_t *a = find_asset(http_req_path(req));
    if (!a) return 0;
    http_req_add_header(req, "Content-Security-Policy",
                        "default-src 'self'; frame-ancestors 'none'; base-uri 'none'");
    http_req_add_header(req, "X-Content-Type-Options", "nosniff");
    gw_web_send(req, a, content_type_of(a->path));
    return 1;
}
