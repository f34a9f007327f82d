/*
 * router.c - the HTTP entry point: the gateway's own resources, then the
 * proxied URL forms.
 */
#include "gw.h"

#include <stdio.h>
#include <string.h>

static const char index_text[] =
    "coapgw " GW_VERSION ": a CoAP <-> HTTP gateway\n"
    "\n"
    "  /devices/NAME/PATH          a configured device's resource\n"
    "  /hc/coap://HOST:PORT/PATH   any allowed CoAP target (RFC 8075 default mapping)\n"
    "  /hc/?target_uri=URI         the same, with the target percent-encoded\n"
    "  /.well-known/core           the mapping template (RFC 8075 §5.5)\n";

void gw_route(http_req_t *req, void *arg)
{
    gw_t *gw = arg;
    const char *path = http_req_path(req);
    const char *method = http_req_method(req);
    gw->stats.http_requests++;
    int get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    if (!strcmp(path, "/.well-known/core") && get) {
        /* RFC 8075 §5.5: clients discover the URI template here. */
        static const char links[] = "</hc/>;rt=\"core.hc\";hct=\"/hc/{+tu}\"";
        http_respond(req, 200, "application/link-format", links, sizeof links - 1);
        return;
    }
    if (!strcmp(path, "/") && get) {
        http_respond(req, 200, "text/plain; charset=utf-8", index_text, sizeof index_text - 1);
        return;
    }
    if (!strcmp(path, "/healthz") && get) {
        http_respond(req, 200, "application/json", "{\"status\":\"ok\"}", 15);
        return;
    }
    if (!strncmp(path, "/hc/", 4) || !strcmp(path, "/hc") || !strncmp(path, "/devices/", 9)) {
        gw_target_t t;
        if (gw_target_resolve(gw, req, &t) == 0) gw_proxy(gw, req, &t);
        return;
    }
    http_respond_text(req, 404, "no such resource: %s", path);
}
