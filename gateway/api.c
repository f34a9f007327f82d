/*
 * api.c - the JSON discovery API (docs/api.md). A device's resources come
 * from its /.well-known/core (RFC 6690 §4), fetched with the gateway's
 * CoAP client (Block2 followed when the listing is long, RFC 7959) and
 * kept in the device's discovery cache for cfg.discovery_refresh_s;
 * concurrent requests for one device share one fetch. A device registered
 * through the Resource Directory is described by the links it registered
 * (RFC 9176 §5), without waking it.
 */
#include "gw_api.h"
#include "coap_uri.h"
#include "gw_coaps.h"
#include "gw_discovery.h"
#include "gw_limits.h"
#include "gw_rd.h"
#include "gw_links.h"
#include "gw_web.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DEVICES_PREFIX   "/api/devices"
#define OPENAPI_PATH     "/api/openapi.json"
#define RD_LOOKUP_PREFIX "/api/rd-lookup/"
#define DISCOVERY_PATH   "/api/discovery"

struct fetch;

/* gw_device_t.disc: the device's parsed /.well-known/core. */
typedef struct {
    json_t *resources;   /* array of resource objects; NULL until fetched */
    uint64_t fetched_ms; /* loop clock */
    struct fetch *fetch; /* in flight, or NULL */
} disc_t;

typedef struct waiter {
    struct waiter *next;
    struct fetch *f;
    http_req_t *req;
} waiter_t;

/* One GET /.well-known/core and the HTTP requests waiting for it. It
 * names its device rather than pointing at it: the device may be removed
 * or replaced by a reload before the answer comes. */
typedef struct fetch {
    gw_t *gw;
    char *name;
    char *uri;    /* what is fetched: coap[s]://HOST:PORT/.well-known/core */
    disc_t *disc; /* NULL once the device's cache is gone */
    coap_addr_t addr;
    coap_ep_t *ep; /* the endpoint it went through (gw_target_ep) */
    waiter_t *waiters;
} fetch_t;

json_t *gw_api_known_links(const gw_device_t *d)
{
    char why[160];
    if (d->source != GW_DEV_CONFIG && d->links) /* registered, or the group answer */
        return gw_links_to_json(d->links, d->links_len, why, sizeof why);
    const disc_t *disc = d->disc;
    return disc && disc->resources ? json_incref(disc->resources) : NULL;
}

int gw_api_path(const char *path)
{
    return !strcmp(path, "/api") || !strncmp(path, "/api/", 5);
}

/* --- answers --- */

static void respond_json(http_req_t *req, unsigned status, json_t *body)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) {
        static const char oom[] = "{\"status\":500,\"error\":\"out of memory\"}";
        http_respond(req, 500, "application/json", oom, sizeof oom - 1);
        return;
    }
    http_respond(req, status, "application/json", text, strlen(text));
    free(text);
}

void gw_api_error(http_req_t *req, unsigned status, const char *fmt, ...)
{
    char msg[GW_MSG_MAX + 100];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* json_pack refuses invalid UTF-8 (a name from the URL): say less */
    json_t *body = json_pack("{s:i, s:s}", "status", (json_int_t)status, "error", msg);
    if (!body) body = json_pack("{s:i, s:s}", "status", (json_int_t)status, "error", "error");
    respond_json(req, status, body);
}

/* RFC 3339 in UTC, or null for a device never heard from. */
static json_t *timestamp(int64_t t)
{
    char buf[32];
    struct tm tm;
    time_t tt = (time_t)t;
    if (!t || !gmtime_r(&tt, &tm)) return json_null();
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(buf);
}

/* auth (docs/api.md): how the device authenticated when it registered
 * over DTLS or TLS ("psk:NAME", "x509:DN", "rpk:SHA256"); for a coaps://
 * URI, how the gateway authenticates it ("dtls-psk", "dtls-x509",
 * "dtls-rpk" after its credentials entry, "dtls-none" without one), and
 * for a coaps+tcp:// one the same over TLS ("tls-psk", ...); else "none". */
static const char *device_auth(const gw_t *gw, const gw_device_t *d)
{
    if (d->auth) return d->auth;
    int tls = !strncasecmp(d->uri, "coaps+tcp://", 12);
    if (!tls && strncasecmp(d->uri, "coaps://", 8)) return "none";
    coap_parsed_uri_t u; /* ~2.4 KB: the loop runs shallow */
    const char *entry = coap_uri_parse_ex(&u, d->uri, COAP_URI_TCP)
                            ? NULL
                            : gw_creds_pick(gw->creds, d->name, u.host);
    const char *dtls = gw_creds_auth(gw->creds, entry); /* "dtls-..." */
    return tls ? dtls + 1 : dtls;                       /* "tls-..." */
}

static const char *const sources[] = {
    [GW_DEV_CONFIG] = "config", [GW_DEV_RD] = "rd", [GW_DEV_DISC] = "discovered"};

/* A discovered device's own fields: its address, the links of its last
 * group answer, when it first answered and the rounds it missed since. */
static void add_discovered(json_t *o, const gw_device_t *d)
{
    char addr[COAP_ADDR_STRLEN];
    json_object_set_new(o, "address", json_string(coap_addr_str(&d->addr, addr, sizeof addr)));
    json_object_set_new(o, "links", d->links ? json_stringn(d->links, d->links_len) : json_null());
    json_object_set_new(o, "first_seen", timestamp(d->first_seen));
    json_object_set_new(o, "missed_rounds", json_integer(d->missed));
}

static json_t *device_json(const gw_t *gw, const gw_device_t *d)
{
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s, s:b, s:o, s:s+}", "name", d->name, "uri", d->uri, "source",
                  sources[d->source], "auth", device_auth(gw, d), "online", d->online, "last_seen",
                  timestamp(d->last_seen), "href", DEVICES_PREFIX "/", d->name);
    if (o && d->source == GW_DEV_DISC) add_discovered(o, d);
    return o;
}

static void list_devices(gw_t *gw, http_req_t *req)
{
    size_t n = gw_devices_count(gw, -1);
    gw_device_t **all = calloc(n ? n : 1, sizeof *all);
    json_t *arr = json_array();
    if (!all || !arr) {
        free(all);
        json_decref(arr);
        gw_api_error(req, 500, "out of memory");
        return;
    }
    n = gw_devices_list(gw, all, n);
    for (size_t i = 0; i < n; i++) json_array_append_new(arr, device_json(gw, all[i]));
    free(all);
    respond_json(req, 200, arr);
}

/* The device object plus its resources (shared, not copied). */
static void answer_device(const gw_t *gw, http_req_t *req, const gw_device_t *d, json_t *resources)
{
    json_t *o = device_json(gw, d);
    if (o) json_object_set(o, "resources", resources);
    respond_json(req, 200, o);
}

/* --- the discovery cache --- */

static void disc_free(void *p)
{
    disc_t *c = p;
    if (c->fetch) c->fetch->disc = NULL; /* the fetch finishes without us */
    json_decref(c->resources);
    free(c);
}

static disc_t *disc_of(gw_device_t *d)
{
    if (!d->disc) {
        disc_t *c = calloc(1, sizeof *c);
        if (!c) return NULL;
        d->disc = c;
        d->disc_free = disc_free;
    }
    return d->disc;
}

/* --- fetching /.well-known/core --- */

static void fetch_free(fetch_t *f)
{
    while (f->waiters) {
        waiter_t *w = f->waiters;
        f->waiters = w->next;
        free(w);
    }
    free(f->name);
    free(f->uri);
    free(f);
}

/* The client went away: the fetch goes on (and fills the cache). */
static void on_http_abort(http_req_t *req, void *arg)
{
    (void)req;
    waiter_t *w = arg;
    for (waiter_t **pp = &w->f->waiters; *pp; pp = &(*pp)->next) {
        if (*pp == w) {
            *pp = w->next;
            break;
        }
    }
    free(w);
}

static int add_waiter(fetch_t *f, http_req_t *req)
{
    waiter_t *w = calloc(1, sizeof *w);
    if (!w) return -1;
    *w = (waiter_t){.next = f->waiters, .f = f, .req = req};
    f->waiters = w;
    http_req_on_abort(req, on_http_abort, w);
    return 0;
}

/* The outcome of a fetch: the resources, or an HTTP status and message. */
static json_t *outcome(const fetch_t *f, const coap_resp_t *r, unsigned *status, char *msg,
                       size_t cap)
{
    json_t *resources = NULL;
    if (r->err == COAP_ERR_TIMEOUT) {
        *status = 504;
        snprintf(msg, cap, "device %s did not answer in time", f->name);
    } else if (r->err == COAP_ERR_CANCELLED) {
        *status = 503;
        snprintf(msg, cap, "the gateway is shutting down");
    } else if (r->err) {
        char why[GW_MSG_MAX];
        const char *dtls = gw_dtls_why(f->gw, f->ep, f->uri, &f->addr, r->err, why, sizeof why);
        *status = 502;
        snprintf(msg, cap, "device %s: %s", f->name, dtls ? dtls : coap_strerror(r->err));
    } else if (r->msg->code != COAP_CONTENT) {
        char code[40];
        *status = 502;
        snprintf(msg, cap, "device %s answered %s to GET /.well-known/core", f->name,
                 coap_code_str(r->msg->code, code, sizeof code));
    } else {
        char why[160];
        resources = gw_links_to_json((const char *)r->body, r->body_len, why, sizeof why);
        *status = resources ? 200 : 502;
        if (!resources) snprintf(msg, cap, "device %s: %s", f->name, why);
    }
    return resources;
}

static void on_fetched(coap_req_t *creq, const coap_resp_t *r, void *arg)
{
    (void)creq;
    fetch_t *f = arg;
    gw_t *gw = f->gw;
    /* Silence and ICMP unreachable mean offline; any answer, even RST, online. */
    if (r->err != COAP_ERR_CANCELLED && r->err != COAP_ERR_DTLS_NO_CREDENTIALS)
        gw_devices_mark(gw, &f->addr, r->err != COAP_ERR_TIMEOUT && r->err != COAP_ERR_UNREACHABLE);
    if (f->disc) f->disc->fetch = NULL;
    unsigned status;
    char msg[GW_MSG_MAX + 100];
    json_t *resources = outcome(f, r, &status, msg, sizeof msg);
    /* Looked up again: the device may have gone, or been reloaded (its
     * cache moves along when its URI stays; see devices.c). */
    gw_device_t *d = gw_device_find(gw, f->name);
    if (resources && d && f->disc && d->disc == f->disc) {
        json_decref(f->disc->resources);
        f->disc->resources = json_incref(resources);
        f->disc->fetched_ms = base_loop_now(gw->loop);
    }
    if (status != 200) gw_log(CFG_LOG_INFO, "api: %s", msg);
    for (waiter_t *w = f->waiters; w; w = w->next) {
        http_req_on_abort(w->req, NULL, NULL);
        if (!d)
            gw_api_error(w->req, 404, "device %s was removed", f->name);
        else if (status != 200)
            gw_api_error(w->req, status, "%s", msg);
        else
            answer_device(gw, w->req, d, resources);
    }
    json_decref(resources);
    fetch_free(f);
}

/* "coap://HOST:PORT/.well-known/core" for a device URI that may carry a
 * base path: the listing lives at the origin (RFC 6690 §4). */
static int wellknown_uri(const char *base, char *out, size_t cap)
{
    const char *auth = strstr(base, "://");
    size_t origin = auth ? (size_t)(auth + 3 - base) + strcspn(auth + 3, "/?#") : strlen(base);
    int n = snprintf(out, cap, "%.*s/.well-known/core", (int)origin, base);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* The request for d's /.well-known/core, on the endpoint that reaches it
 * (*ep: its session's, or the one its scheme takes, with its credentials
 * for coaps://), or NULL with the answer given. */
static coap_req_t *fetch_request(gw_t *gw, gw_device_t *d, http_req_t *req, char *uri, size_t cap,
                                 coap_ep_t **ep)
{
    char msg[GW_MSG_MAX];
    gw_target_t t;
    int err = COAP_ERR_INVALID, status;
    coap_req_t *creq = NULL;
    if (wellknown_uri(d->uri, uri, cap)) {
        gw_api_error(req, 502, "device %s: bad URI %s", d->name, d->uri);
        return NULL;
    }
    if ((status = gw_target_of_device(gw, d, uri, &t, msg, sizeof msg)) == GW_TARGET_WAIT) {
        gw_route_after_dns(gw, req, msg); /* its host name: asked again when known */
        return NULL;
    }
    if (status) {
        gw_api_error(req, (unsigned)status, "device %s: %s", d->name, msg);
        return NULL;
    }
    if (!(*ep = gw_target_ep(gw, &t, &err)) ||
        !(creq = coap_req_new(*ep, COAP_GET, uri, &t.addr, &err)))
        gw_api_error(req, 502, "device %s: %s", d->name,
                     gw_dtls_explain(uri, err, msg, sizeof msg) ? msg : coap_strerror(err));
    return creq;
}

static void start_fetch(gw_t *gw, gw_device_t *d, disc_t *c, http_req_t *req)
{
    char uri[600];
    coap_ep_t *ep = NULL;
    coap_req_t *creq = fetch_request(gw, d, req, uri, sizeof uri, &ep);
    if (!creq) return;
    fetch_t *f = calloc(1, sizeof *f);
    if (f)
        *f = (fetch_t){.gw = gw,
                       .name = strdup(d->name),
                       .uri = strdup(uri),
                       .disc = c,
                       .addr = d->addr,
                       .ep = ep};
    if (!f || !f->name || !f->uri || add_waiter(f, req)) {
        if (f) fetch_free(f);
        coap_req_cancel(creq);
        gw_api_error(req, 500, "out of memory");
        return;
    }
    gw_log(CFG_LOG_DEBUG, "api: %s: GET %s", d->name, uri);
    /* Block2 is followed whenever the device sends it; the body is bounded. */
    coap_req_set_timeout(creq, gw->cfg.timeout_ms);
    coap_req_set_max_body(creq, gw->cfg.max_body);
    int rc = coap_req_send(creq, on_fetched, f); /* on failure creq is freed already */
    if (rc) {
        char why[GW_MSG_MAX];
        const char *dtls = gw_dtls_why(gw, ep, uri, &d->addr, rc, why, sizeof why);
        http_req_on_abort(req, NULL, NULL);
        fetch_free(f);
        if (gw_limits_refusal(rc)) { /* the JSON form of gw_limits_http's answer */
            gw_limits_refused(gw, rc, uri, why, sizeof why);
            http_req_add_header(req, "Retry-After", GW_BUSY_RETRY_S_TEXT);
            gw_api_error(req, 503, "device %s: %s", d->name, why);
            return;
        }
        gw_api_error(req, 502, "device %s: %s%s", d->name,
                     dtls ? "" : "cannot send: ", dtls ? dtls : coap_strerror(rc));
        return;
    }
    c->fetch = f;
}

static int no_cache(http_req_t *req)
{
    const char *cc = http_req_header(req, "Cache-Control");
    return cc && (strcasestr(cc, "no-cache") || strcasestr(cc, "max-age=0"));
}

static void device_detail(gw_t *gw, http_req_t *req, const char *name)
{
    gw_device_t *d = gw_device_find(gw, name);
    if (!d) {
        gw_api_error(req, 404, "no device named %s", name);
        return;
    }
    if (d->source != GW_DEV_CONFIG && d->links) {
        char why[160];
        json_t *resources = gw_links_to_json(d->links, d->links_len, why, sizeof why);
        if (!resources) {
            gw_api_error(req, 502, "device %s: registered links: %s", name, why);
            return;
        }
        answer_device(gw, req, d, resources);
        json_decref(resources);
        return;
    }
    disc_t *c = disc_of(d);
    if (!c) {
        gw_api_error(req, 500, "out of memory");
        return;
    }
    uint64_t now = base_loop_now(gw->loop);
    if (c->resources && now - c->fetched_ms < (uint64_t)gw->cfg.discovery_refresh_s * 1000 &&
        !no_cache(req)) {
        answer_device(gw, req, d, c->resources);
        return;
    }
    if (c->fetch) { /* a fetch is on its way: wait for it too */
        if (add_waiter(c->fetch, req)) gw_api_error(req, 500, "out of memory");
        return;
    }
    start_fetch(gw, d, c, req);
}

/* --- routing --- */

static int method_is(http_req_t *req, const char *allow)
{
    const char *m = http_req_method(req);
    if (!strcmp(m, "GET") || !strcmp(m, "HEAD")) return 1;
    http_req_add_header(req, "Allow", allow);
    if (!strcmp(m, "OPTIONS"))
        http_respond(req, 204, NULL, NULL, 0);
    else
        gw_api_error(req, 405, "method %s not allowed here (allowed: %s)", m, allow);
    return 0;
}

static const char allow[] = "GET, HEAD, OPTIONS";

int gw_api_openapi(http_req_t *req)
{
    if (strcmp(http_req_path(req), OPENAPI_PATH)) return 0;
    if (method_is(req, allow)) gw_web_send(req, &gw_openapi_assets[0], "application/json");
    return 1;
}

/* POST /api/discovery: a round now (202); 409 while one runs, 404 when
 * discovery.multicast is false (nothing multicast may go out), 503 when
 * the socket cannot be opened or nothing could be sent. GET: the state. */
static void discovery(gw_t *gw, http_req_t *req)
{
    const char *m = http_req_method(req);
    if (strcmp(m, "POST") && strcmp(m, "GET") && strcmp(m, "HEAD")) {
        http_req_add_header(req, "Allow", "GET, HEAD, POST, OPTIONS");
        if (!strcmp(m, "OPTIONS"))
            http_respond(req, 204, NULL, NULL, 0);
        else
            gw_api_error(req, 405, "method %s not allowed here (allowed: GET, HEAD, POST)", m);
        return;
    }
    int rc = strcmp(m, "POST") ? -1 : gw_disc_round(gw->disc);
    if (rc == GW_DISC_OFF || (rc < 0 && !gw->cfg.discovery_multicast)) {
        gw_api_error(req, 404, "multicast discovery is off (discovery.multicast)");
        return;
    }
    if (rc == GW_DISC_RUNNING || rc == GW_DISC_FAILED) {
        gw_api_error(req, rc == GW_DISC_RUNNING ? 409 : 503, "%s",
                     rc == GW_DISC_RUNNING ? "a discovery round is running"
                                           : "no discovery request could be sent (see the log)");
        return;
    }
    respond_json(req, rc == GW_DISC_STARTED ? 202 : 200,
                 json_pack("{s:b, s:I, s:i, s:I}", "running", gw_disc_running(gw->disc), "rounds",
                           (json_int_t)gw_disc_rounds(gw->disc), "window_ms",
                           (json_int_t)gw->cfg.discovery_window_ms, "devices",
                           (json_int_t)gw_devices_count(gw, GW_DEV_DISC)));
}

void gw_api(gw_t *gw, http_req_t *req)
{
    const char *path = http_req_path(req);
    if (!strcmp(path, DISCOVERY_PATH)) {
        discovery(gw, req);
        return;
    }
    if (!strcmp(path, DEVICES_PREFIX) || !strcmp(path, DEVICES_PREFIX "/")) {
        if (method_is(req, allow)) list_devices(gw, req);
        return;
    }
    if (!strncmp(path, RD_LOOKUP_PREFIX, strlen(RD_LOOKUP_PREFIX))) {
        if (method_is(req, allow)) gw_rd_lookup_http(gw, req, path + strlen(RD_LOOKUP_PREFIX));
        return;
    }
    const char *rest = path + strlen(DEVICES_PREFIX "/");
    if (strncmp(path, DEVICES_PREFIX "/", strlen(DEVICES_PREFIX "/")) || strchr(rest, '/')) {
        gw_api_error(req, 404, "no such API resource: %s", path);
        return;
    }
    char name[256];
    int n = coap_pct_decode(rest, strlen(rest), name, sizeof name - 1);
    if (n < 0 || memchr(name, '\0', (size_t)n)) {
        gw_api_error(req, 404, "no such API resource: %s", path);
        return;
    }
    name[n] = '\0';
    if (method_is(req, allow)) device_detail(gw, req, name);
}
