/*
 * router.c - the HTTP entry point: the gateway's own resources, then the
 * proxied URL forms.
 */
#include "gw.h"
#include "gw_api.h"
#include "gw_auth.h"
#include "gw_dns.h"
#include "gw_forward.h"
#include "gw_groups.h"
#include "gw_guard.h"
#include "gw_hub.h"
#include "gw_web.h"
#include "gw_metrics.h"
#include "gw_store.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char index_text[] =
    "coapgw " GW_VERSION ": a CoAP <-> HTTP gateway\n"
    "\n"
    "  /                           the device browser (a web page)\n"
    "  /devices/NAME/PATH          a configured device's resource\n"
    "  /hc/coap://HOST:PORT/PATH   any allowed CoAP target (RFC 8075 default mapping)\n"
    "  /hc/coaps://HOST:PORT/PATH  the same over DTLS, with the host's \"credentials\"\n"
    "  /hc/?target_uri=URI         the same, with the target percent-encoded\n"
    "  /groups/NAME/PATH           a group request: every member's answer (JSON or SSE)\n"
    "  /api/devices                the devices and their resources, as JSON\n"
    "  /api/openapi.json           the OpenAPI description of these URLs\n"
    "  /.well-known/core           the mapping template (RFC 8075 §5.5)\n"
    "  /healthz, /readyz, /metrics liveness, readiness, Prometheus metrics\n";

/* /readyz while the shared store is unreachable: not ready, and why; or,
 * with ?store=optional, ready (every instance shares the one store, so a
 * balancer that drops every instance at once serves nobody: configured
 * devices and known registrations are still served), still saying why. */
static void store_down(http_req_t *req, const char *why, int optional)
{
    json_t *o =
        optional ? json_pack("{s:s, s:s, s:s}", "status", "ready", "store", "down", "reason", why)
                 : json_pack("{s:s, s:s}", "status", "not ready", "reason", why);
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    int status = optional ? 200 : 503;
    if (body)
        http_respond(req, status, "application/json", body, strlen(body));
    else
        http_respond_text(req, status, optional ? "ready" : "not ready");
    free(body);
    json_decref(o);
}

/* Accept: text/event-stream asks for an Observe stream (SSE). */
static int wants_events(http_req_t *req)
{
    const char *a = http_req_header(req, "Accept");
    return a && strstr(a, "text/event-stream");
}

#define MAX_EVENT_TARGETS 32

typedef struct {
    gw_t *gw;
    gw_target_t *t;
    size_t n;
    unsigned status;
    char msg[GW_MSG_MAX];
} events_ctx_t;

static void add_target(const char *value, void *arg)
{
    events_ctx_t *x = arg;
    if (x->status) return;
    if (x->n == MAX_EVENT_TARGETS) {
        x->status = 400;
        snprintf(x->msg, sizeof x->msg, "at most %d targets per stream", MAX_EVENT_TARGETS);
        return;
    }
    unsigned rc = (unsigned)gw_target_parse(x->gw, value, &x->t[x->n], x->msg, sizeof x->msg);
    if (rc)
        x->status = rc;
    else
        x->n++;
}

/* The ID a reconnecting EventSource sends (WHATWG HTML, "Server-sent
 * events": Last-Event-ID); on /events also the lastEventId parameter, for
 * a page that opens a new EventSource where the old one left off (on a
 * device URL the query goes to the device). */
static const char *last_event_id(const http_req_t *req, int events)
{
    const char *h = http_req_header(req, "Last-Event-ID");
    return h || !events ? h : http_req_arg(req, "lastEventId");
}

/* GET /events?target=T&target=T...: several observations on one stream,
 * so a page with many live values needs one connection. */
static void events(gw_t *gw, http_req_t *req, const char *token)
{
    /* about 43 KB: from the heap for the time of the call (the hub copies
     * what it keeps) */
    gw_target_t *targets = calloc(MAX_EVENT_TARGETS, sizeof *targets);
    if (!targets) {
        http_respond_text(req, 503, "out of memory");
        return;
    }
    events_ctx_t x = {.gw = gw, .t = targets};
    http_req_each_arg(req, "target", add_target, &x);
    if (!x.status && !x.n) {
        x.status = 400;
        snprintf(x.msg, sizeof x.msg,
                 "no target: use /events?target=coap://...&target=/devices/NAME/PATH");
    }
    if (x.status == GW_TARGET_WAIT) /* a name is being resolved: all again after */
        gw_route_after_dns(gw, req, x.msg);
    else if (x.status)
        http_respond_text(req, x.status, "%s", x.msg);
    else
        gw_hub_subscribe(gw->hub, req, targets, x.n, token, last_event_id(req, 1));
    free(targets);
}

/* Every answer but the page's own files (web.c has their policy) may
 * carry a device's bytes: nothing in them may run in our origin, where
 * the page keeps the user's token. A request routed again after a host
 * name's query (`again`) has them from its first routing. */
static void add_sandbox(http_req_t *req, int again)
{
    if (again) return;
    http_req_add_header(req, "X-Content-Type-Options", GW_NOSNIFF);
    http_req_add_header(req, "Content-Security-Policy", GW_SANDBOX_CSP);
}

/* DNS rebinding and CSRF (docs/security.md, "HTTP side"), before tokens
 * and routing, with the configuration in force now (a reload applies to
 * the next request). Answers and returns -1 when the request is refused. */
static int guard(gw_t *gw, http_req_t *req, int again)
{
    const char *host = http_req_header(req, "Host"), *method = http_req_method(req);
    const char *origin = http_req_header(req, "Origin");
    if (!gw_host_ok(host, &gw->cfg.allowed_hosts)) {
        http_req_set_log(req, NULL, "Host not in http.allowed_hosts");
        add_sandbox(req, again);
        http_respond_text(req, 421,
                          "this gateway does not answer for host \"%.100s\": use its address, or "
                          "add the name to http.allowed_hosts",
                          host);
        return -1;
    }
    const char *scheme = http_req_is_tls(req) ? "https" : "http"; /* of its own origin */
    if (gw_cross_site_refused(method, scheme, host, origin, http_req_header(req, "Sec-Fetch-Site"),
                              &gw->cfg.trusted_origins)) {
        http_req_set_log(req, NULL, "cross-site, origin not in http.trusted_origins");
        add_sandbox(req, again);
        http_respond_text(req, 403,
                          "cross-site %s from %.100s refused: list the page's origin in "
                          "http.trusted_origins to allow it",
                          method, origin ? origin : "another site");
        return -1;
    }
    return 0;
}

static void route(gw_t *gw, http_req_t *req, int again);

/* A request waiting for a host name's query (gw_route_after_dns). */
typedef struct {
    gw_t *gw;
    http_req_t *req;
    gw_dns_waiter_t *waiter;
} dns_wait_t;

static void on_dns_abort(http_req_t *req, void *arg)
{
    (void)req;
    dns_wait_t *w = arg;
    gw_dns_cache_cancel(w->waiter);
    free(w);
}

/* The name's answer is in the cache: everything runs again (the guards
 * and the token too: a reload may have come in between), but the request
 * was counted when it came. */
static void on_dns_done(void *arg)
{
    dns_wait_t *w = arg;
    gw_t *gw = w->gw;
    http_req_t *req = w->req;
    free(w);
    http_req_on_abort(req, NULL, NULL);
    route(gw, req, 1);
}

void gw_route_after_dns(gw_t *gw, http_req_t *req, const char *name)
{
    dns_wait_t *w = calloc(1, sizeof *w);
    if (w) *w = (dns_wait_t){.gw = gw, .req = req};
    if (w && gw->dns && (w->waiter = gw_dns_wait(gw->dns, name, on_dns_done, w))) {
        http_req_on_abort(req, on_dns_abort, w);
        return;
    }
    free(w);
    http_respond_text(req, 503, "out of memory");
}

void gw_route(http_req_t *req, void *arg)
{
    gw_t *gw = arg;
    gw->stats.http_requests++;
    route(gw, req, 0);
}

static void route(gw_t *gw, http_req_t *req, int again)
{
    const char *path = http_req_path(req);
    const char *method = http_req_method(req);
    if (guard(gw, req, again)) return;
    /* The page and its assets are the same for everyone and hold no data;
     * they load without a token (a browser cannot add one to <script src>),
     * and the page then sends its token on every request. */
    if (gw_web_serve(req)) return;
    add_sandbox(req, again);
    int get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    /* /help is the page's "Other URLs" link: static text, no data, so it
     * loads without a token like the page. */
    if (!strcmp(path, "/help") && get) {
        http_respond(req, 200, "text/plain; charset=utf-8", index_text, sizeof index_text - 1);
        return;
    }
    /* The OpenAPI description is public like /help (docs/security.md): it
     * describes this version of the software, no device or value. */
    if (gw_api_openapi(req)) return;
    int forwarded = gw_forward_incoming(gw, req); /* from another gateway of the cluster */
    if (forwarded < 0) return;                    /* 403 answered */
    const cfg_token_t *who;                   /* kept by event streams: a reload may revoke it */
    if (gw_auth_check(gw, req, &who)) return; /* 400 / 401 / 403 answered */
    const char *token = who ? who->token : NULL;
    if (!strcmp(path, "/.well-known/core") && get) {
        /* RFC 8075 §5.5: clients discover the URI template here. */
        static const char links[] = "</hc/>;rt=\"core.hc\";hct=\"/hc/{+tu}\"";
        http_respond(req, 200, "application/link-format", links, sizeof links - 1);
        return;
    }
    if (!strcmp(path, "/healthz") && get) {
        static const char ok[] = "{\"status\":\"ok\"}";
        http_respond(req, 200, "application/json", ok, sizeof ok - 1);
        return;
    }
    if (!strcmp(path, "/readyz") && get) { /* ready: listening and not shutting down */
        static const char ready[] = "{\"status\":\"ready\"}",
                          bye[] = "{\"status\":\"shutting down\"}";
        const char *down = gw->store ? gw_store_down(gw->store) : NULL;
        if (gw->drain)
            http_respond(req, 503, "application/json", bye, sizeof bye - 1);
        else if (down) { /* state.redis unreachable: writes would answer 5.03 */
            const char *store = http_req_arg(req, "store");
            store_down(req, down, store && !strcmp(store, "optional"));
        } else
            http_respond(req, 200, "application/json", ready, sizeof ready - 1);
        return;
    }
    if (gw->drain) { /* a new request on a kept-alive connection */
        http_respond_text(req, 503, "the gateway is shutting down");
        return;
    }
    if (gw_api_path(path)) {
        gw_api(gw, req);
        return;
    }
    if (!strcmp(path, "/metrics") && get) {
        gw_metrics_respond(gw, req);
        return;
    }
    if (!strcmp(path, "/events") && get) {
        events(gw, req, token);
        return;
    }
    if (!strncmp(path, "/groups/", 8)) {
        gw_groups_serve(gw, req, path + 8, token);
        return;
    }
    if (gw_target_path(path)) {
        if (gw_forward_route(gw, req, forwarded, token)) return; /* its session is elsewhere */
        gw_target_t t;
        coap_parsed_uri_t u; /* about 2.4 KB: on the stack, the loop runs shallow */
        if (gw_target_resolve(gw, req, &t, &u)) return;
        if (get && wants_events(req))
            gw_hub_subscribe(gw->hub, req, &t, 1, token, last_event_id(req, 0));
        else
            gw_proxy(gw, req, &t, &u);
        return;
    }
    http_respond_text(req, 404, "no such resource: %s", path);
}
