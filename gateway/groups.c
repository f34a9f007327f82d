/*
 * groups.c - group requests over HTTP (RFC 7390, draft-ietf-core-
 * groupcomm-bis §3): /groups/NAME/PATH sends one request to a configured
 * group (one NON to its multicast address, or one request per member) and
 * answers with every response received within the window, as one JSON
 * document or as Server-Sent Events; with ?observe, an Observe
 * registration on the group (groupcomm-bis §3.7) streamed until the last
 * client leaves: the clients of one group, path, query and Accept share
 * one registration, like the hub's (hub.c) for a device. docs/discovery.md,
 * "Group requests".
 */
#include "gw.h"
#include "gw_coaps.h"
#include "groups_internal.h"
#include "gw_hub.h"
#include "gw_map.h"
#include "gw_sse_event.h"
#include "gw_tokens.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GROUP_MAX_RESPONSES 256 /* answers kept per request (docs/discovery.md) */
#define WINDOW_MIN_MS       100
#define WINDOW_MAX_MS       10000

/* --- ending --- */

/* No more subscribers join q: the next client starts a registration. */
void gw_groups_unshare_(gq_t *q)
{
    if (!q->key) return;
    gw_strmap_del(q->gw->group_obs, q->key);
    free(q->key);
    q->key = NULL;
}

static void gq_free(gq_t *q)
{
    base_list_remove(&q->in_gw);
    gw_groups_unshare_(q);
    if (q->keepalive) base_loop_timer_free(q->keepalive);
    json_decref(q->last);
    json_decref(q->request);
    json_decref(q->responses);
    free(q->group);
    free(q->sig);
    free(q->legs);
    free(q);
}

/* Freed when no CoAP request is left and no one waits for the answer. */
static void maybe_free(gq_t *q)
{
    if (!q->pending && !q->req && base_list_empty(&q->subs) && !q->stopping) gq_free(q);
}

static void stop_legs(gq_t *q)
{
    q->stopping = 1;
    for (size_t i = 0; i < q->nlegs; i++) {
        coap_req_t *c = q->legs[i].creq;
        if (!c) continue;
        if (q->observe)
            coap_req_observe_stop(c, COAP_OBSERVE_FORGET); /* RFC 7641 §3.6 */
        else
            coap_req_cancel(c);
    }
    q->stopping = 0;
}

static json_t *summary(gq_t *q)
{
    return json_pack("{s:s, s:O, s:I, s:I, s:I}", "group", q->group, "request", q->request,
                     "responders", (json_int_t)json_array_size(q->responses), "refused",
                     (json_int_t)q->refused, "dropped", (json_int_t)q->dropped);
}

/* The window is over (every leg ended): the answer, or the stream's end. */
static void finish(gq_t *q)
{
    if (q->req) {
        json_t *doc = summary(q);
        json_object_set(doc, "responses", q->responses);
        char *text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(15));
        json_decref(doc);
        if (text)
            http_respond(q->req, 200, "application/json", text, strlen(text));
        else
            http_respond_text(q->req, 503, "out of memory");
        free(text);
        q->req = NULL;
    } else if (!base_list_empty(&q->subs)) {
        gw_groups_push_(q, gw_ev_with_id("end", summary(q))); /* docs/sse.md: then the close */
        q->ending = 1;
        for (base_list_t *it = q->subs.next; it != &q->subs; it = it->next)
            http_stream_wake(base_list_entry(it, gsub_t, in_q)->stream);
    }
    gw_groups_unshare_(q);
}

/* --- answers --- */

static int allowed_responder(gq_t *q, const coap_addr_t *peer)
{
    char why[GW_MSG_MAX];
    coap_addr_t a = *peer;
    coap_addr_unmap(&a);
    return gw_acl_check_target(q->gw->acl, &a, NULL, why, sizeof why) == GW_ACL_ALLOWED;
}

/* One member's answer (or notification) as JSON: its address, its device
 * name when it is a known device, and the response as SSE events carry it. */
static json_t *answer_json(gq_t *q, const coap_resp_t *r)
{
    char addr[80];
    coap_addr_t a = *r->peer;
    coap_addr_unmap(&a);
    json_t *o = json_pack("{s:s}", "address", coap_addr_str(&a, addr, sizeof addr));
    const gw_device_t *d = gw_device_by_addr(q->gw, &a);
    if (o && d) json_object_set_new(o, "device", json_string(d->name));
    if (o && r->observing) json_object_set_new(o, "seq", json_integer(r->seq));
    if (gw_ev_set_response(o, r)) return NULL;
    return o;
}

/* GROUP_MAX_RESPONSES answers per request, and as many members per
 * observation: any source port on the LAN is one more member, each kept
 * (q->last) and replayed to every new subscriber. */
static int over_cap(gq_t *q, const coap_addr_t *peer)
{
    if (!q->observe) return json_array_size(q->responses) >= GROUP_MAX_RESPONSES;
    char addr[80];
    coap_addr_t a = *peer;
    coap_addr_unmap(&a);
    return json_object_size(q->last) >= GROUP_MAX_RESPONSES &&
           !json_object_get(q->last, coap_addr_str(&a, addr, sizeof addr));
}

static void on_answer(gq_t *q, const coap_resp_t *r)
{
    if (!allowed_responder(q, r->peer)) { /* docs/security.md: each responder is a target */
        q->refused++;
        return;
    }
    if (q->observe && !r->fresh) return; /* RFC 7641 §3.4, per member */
    if (over_cap(q, r->peer)) {
        q->dropped++;
        return;
    }
    json_t *o = answer_json(q, r);
    if (!o) return;
    if (q->sse) {
        json_object_set_new(o, "group", json_string(q->group));
        gw_ev_t *e = gw_ev_with_id(q->observe ? "notification" : "response", json_incref(o));
        if (e && q->observe) /* what a later subscriber gets first */
            json_object_set_new(q->last, json_string_value(json_object_get(o, "address")),
                                json_stringn(e->data, e->len));
        gw_groups_push_(q, e);
    }
    if (!q->observe) json_array_append(q->responses, o);
    json_decref(o);
}

static void on_coap(coap_req_t *creq, const coap_resp_t *r, void *arg)
{
    (void)creq;
    gq_leg_t *leg = arg;
    gq_t *q = leg->q;
    if (r->msg) on_answer(q, r);
    if (!r->last) return;
    leg->creq = NULL;
    if (--q->pending == 0 && !q->stopping) finish(q);
    maybe_free(q);
}

/* --- the HTTP side --- */

static void on_abort(http_req_t *req, void *arg)
{
    (void)req;
    gq_t *q = arg;
    q->req = NULL;
    stop_legs(q);
    maybe_free(q);
}

void gw_groups_sub_closed_(void *arg)
{
    gsub_t *s = arg;
    gq_t *q = s->q;
    gw_groups_sub_free_(s);
    if (!base_list_empty(&q->subs)) return;
    gw_groups_unshare_(q);
    stop_legs(q); /* the last subscriber left: forget the observation */
    maybe_free(q);
}

/* --- starting --- */

/* The query without the gateway's own parameters (window_ms, observe,
 * access_token): the rest goes to the members. */
static int device_query(gw_t *gw, const char *query, char *out, size_t cap)
{
    char tmp[GW_URI_MAX];
    if (gw_auth_strip_query(gw->cfg.ntokens > 0, query, tmp, sizeof tmp)) return -1;
    size_t n = 0;
    out[0] = '\0';
    for (char *p = tmp, *arg; (arg = strsep(&p, "&"));) {
        if (!*arg || !strncmp(arg, "window_ms=", 10) || !strcmp(arg, "observe") ||
            !strncmp(arg, "observe=", 8))
            continue;
        int w = snprintf(out + n, cap - n, "%s%s", n ? "&" : "", arg);
        if (w < 0 || (size_t)w >= cap - n) return -1;
        n += (size_t)w;
    }
    return 0;
}

/* Whether the query holds name, bare ("?observe") or with a value:
 * http_req_arg() sees only arguments with a value. */
static int query_has(const char *query, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = query; p && *p; p = strchr(p, '&'), p = p ? p + 1 : NULL)
        if (!strncmp(p, name, n) && (p[n] == '\0' || p[n] == '&' || p[n] == '=')) return 1;
    return 0;
}

/* Builds and sends one leg: to the group's address (multicast), or to a
 * member's target. On failure answers req and returns -1. */
static int send_leg(gq_t *q, http_req_t *req, gq_leg_t *leg, uint8_t method, const gw_target_t *t,
                    int multicast, uint32_t window_ms)
{
    gw_t *gw = q->gw;
    int err;
    coap_ep_t *ep = multicast ? gw->ep : gw_target_ep(gw, t, &err);
    coap_req_t *c = ep ? coap_req_new(ep, method, t->uri, &t->addr, &err) : NULL;
    if (!c)
        return http_respond_text(req, 502, "cannot build a request for %s: %s", t->uri,
                                 coap_strerror(err)),
               -1;
    if (gw_proxy_set_body(req, t, -1, c)) return coap_req_cancel(c), -1;
    int accept = gw_map_accept(http_req_header(req, "Accept"));
    if (accept >= 0) coap_req_set_accept(c, (unsigned)accept);
    coap_req_set_max_body(c, gw->cfg.max_body);
    if (q->observe) coap_req_set_observe(c, 5000);
    if (multicast)
        coap_req_set_group(c, window_ms); /* RFC 7252 §8.2: one NON */
    else if (!q->observe)
        coap_req_set_timeout(c, window_ms);
    leg->q = q;
    leg->creq = c;
    if ((err = coap_req_send(c, on_coap, leg))) {
        leg->creq = NULL;
        return http_respond_text(req, 502, "cannot send to %s: %s", t->uri, coap_strerror(err)), -1;
    }
    q->pending++;
    return 0;
}

/* The target of one leg: the group address, or member i, with path and
 * query. Returns 0, or an HTTP status with msg. */
int gw_groups_leg_target_(gw_t *gw, const cfg_group_t *g, size_t i, const char *path,
                          const char *query, gw_target_t *t, char *msg, size_t cap)
{
    char uri[GW_URI_MAX];
    const char *base = g->address ? NULL : g->members.v[i];
    if (g->address) snprintf(uri, sizeof uri, "coap://%s:%u", g->address, (unsigned)g->port);
    int n = snprintf(t->uri, sizeof t->uri, "%s/%s%s%s", base ? base : uri, path, *query ? "?" : "",
                     query);
    if (n < 0 || (size_t)n >= sizeof t->uri) return snprintf(msg, cap, "target URI too long"), 414;
    if (!g->address) {
        memcpy(uri, t->uri, (size_t)n + 1);
        int rc = gw_target_parse(gw, uri, t, msg, cap);
        if (rc != GW_TARGET_WAIT) return rc;
        /* its name expired since members_resolving: the query goes on */
        char host[256];
        snprintf(host, sizeof host, "%.253s", msg);
        return snprintf(msg, cap, "resolving %s: retry", host), 503;
    }
    /* the zone (%br0) goes in the destination, not in the URI's host */
    char host[128];
    size_t hl = strlen(g->address);
    int br = g->address[0] == '[';
    snprintf(host, sizeof host, "%.*s", (int)(hl - 2 * br), g->address + br);
    coap_addr_from_host(&t->addr, host, (uint16_t)g->port); /* checked by the configuration */
    char *zone = strchr(host, '%');
    if (zone) {
        *zone = '\0';
        snprintf(t->uri, sizeof t->uri, "coap://[%s]:%u/%s%s%s", host, (unsigned)g->port, path,
                 *query ? "?" : "", query);
    }
    /* the group address itself must be allowed (docs/security.md) */
    return gw_acl_check_target(gw->acl, &t->addr, NULL, msg, cap) ? 403 : 0;
}

const cfg_group_t *gw_groups_find_(gw_t *gw, const char *name, size_t len)
{
    for (size_t i = 0; i < gw->cfg.ngroups; i++)
        if (strlen(gw->cfg.groups[i].name) == len && !strncmp(gw->cfg.groups[i].name, name, len))
            return &gw->cfg.groups[i];
    return NULL;
}

/* window_ms=N: 0 when absent, -1 when out of bounds. */
static long window_arg(http_req_t *req)
{
    const char *w = http_req_arg(req, "window_ms");
    if (!w) return 0;
    char *end;
    long v = strtol(w, &end, 10);
    return *w && !*end && v >= WINDOW_MIN_MS && v <= WINDOW_MAX_MS ? v : -1;
}

/* Checks the method and its scope. 0 when the request may go on. */
static int check_method(gw_t *gw, http_req_t *req, uint8_t *method)
{
    const char *m = http_req_method(req);
    *method = !strcmp(m, "GET")      ? COAP_GET
              : !strcmp(m, "PUT")    ? COAP_PUT
              : !strcmp(m, "POST")   ? COAP_POST
              : !strcmp(m, "DELETE") ? COAP_DELETE
                                     : 0;
    if (!*method) {
        http_req_add_header(req, "Allow", "GET, POST, PUT, DELETE");
        return http_respond_text(req, 405, "a group takes GET, POST, PUT and DELETE"), -1;
    }
    /* a write reaches every member at once: only with a write token, and
     * never on a gateway without tokens (docs/security.md); auth.c has
     * refused read-only tokens already */
    if (*method != COAP_GET && !gw->cfg.ntokens)
        return http_respond_text(req, 403,
                                 "group writes need a token with write scope: configure tokens "
                                 "(docs/configuration.md) to allow them"),
               -1;
    return 0;
}

static gq_t *gq_new(gw_t *gw, const cfg_group_t *g, size_t nlegs)
{
    gq_t *q = calloc(1, sizeof *q);
    if (!q) return NULL;
    q->gw = gw;
    base_list_init(&q->subs);
    q->legs = calloc(nlegs, sizeof *q->legs);
    q->group = strdup(g->name);
    q->sig = gw_groups_sig_(g);
    q->responses = json_array();
    q->last = json_object();
    if (!q->legs || !q->group || !q->sig || !q->responses || !q->last) {
        gq_free(q);
        return NULL;
    }
    return q;
}

/* Sends every leg; on failure answers req, stops what was sent and
 * returns -1. */
static int send_all(gq_t *q, http_req_t *req, const cfg_group_t *g, uint8_t method,
                    const char *path, const char *query, uint32_t window_ms)
{
    size_t nlegs = g->address ? 1 : g->members.n;
    for (size_t i = 0; i < nlegs; i++) {
        gw_target_t t;
        char msg[GW_MSG_MAX];
        memset(&t, 0, sizeof t);
        int rc = gw_groups_leg_target_(q->gw, g, i, path, query, &t, msg, sizeof msg);
        if (rc) http_respond_text(req, (unsigned)rc, "%s", msg);
        if (!i)
            q->request = json_pack("{s:s, s:s, s:I}", "method", http_req_method(req), "uri",
                                   g->address ? t.uri : path, "window_ms", (json_int_t)window_ms);
        if (rc || send_leg(q, req, &q->legs[i], method, &t, g->address != NULL, window_ms)) {
            stop_legs(q);
            return -1;
        }
        q->nlegs = i + 1;
    }
    return 0;
}

/* Answers as a stream (events) or later as one JSON document. */
static void answer_later(gq_t *q, http_req_t *req, const char *token)
{
    if (!q->sse) {
        q->req = req;
        http_req_on_abort(req, on_abort, q);
        return;
    }
    if (!gw_groups_add_sub_(q, req, token)) {
        stop_legs(q);
        return;
    }
    if (q->observe) gw_groups_keepalive_(q);
}

/* The key of an observation: what its members are asked, and how. */
static char *obs_key(http_req_t *req, const char *rest, const char *query)
{
    const char *accept = http_req_header(req, "Accept");
    int accept_cf = gw_map_accept(accept);
    char *key = NULL;
    if (asprintf(&key, "%s?%s#%d", rest, query, accept_cf) < 0) return NULL;
    return key;
}

/* A client joins the observation of the same group, path, query and
 * Accept, if there is one (hub.c does the same for a device). */
static int join_shared(gw_t *gw, http_req_t *req, const char *key, const char *token)
{
    gq_t *q = gw->group_obs ? gw_strmap_get(gw->group_obs, key) : NULL;
    if (!q) return 0;
    http_req_set_log(req, NULL, "group observe");
    gw_groups_add_sub_(q, req, token);
    return 1;
}

/* q, an observation now taking subscribers, under key (taken). */
static void share(gq_t *q, char *key)
{
    gw_t *gw = q->gw;
    if (!gw->group_obs) gw->group_obs = gw_strmap_new();
    if (gw->group_obs && !gw_strmap_set(gw->group_obs, key, q))
        q->key = key;
    else
        free(key); /* out of memory: it works, unshared */
}

/* The request's group, method, window and query. 0, or -1 when req was
 * answered (an error). */
static int prepare(gw_t *gw, http_req_t *req, const char *rest, const cfg_group_t **g,
                   uint8_t *method, uint32_t *window, char *query, size_t cap)
{
    const char *slash = strchr(rest, '/');
    if (!(*g = gw_groups_find_(gw, rest, slash ? (size_t)(slash - rest) : strlen(rest))))
        return http_respond_text(req, 404, "unknown group"), -1;
    if (check_method(gw, req, method)) return -1;
    long w = window_arg(req);
    if (w < 0)
        return http_respond_text(req, 400, "window_ms must be from %d to %d", WINDOW_MIN_MS,
                                 WINDOW_MAX_MS),
               -1;
    *window = w ? (uint32_t)w : (*g)->window_ms;
    if (device_query(gw, http_req_query(req), query, cap))
        return http_respond_text(req, 414, "target URI too long"), -1;
    return 0;
}

/* Every member's host name is looked up before any leg goes out; while
 * one is being resolved the request is routed again when its query ends
 * (nothing sent yet: a write reaches each member once). Returns 1 then. */
static int members_resolving(gw_t *gw, http_req_t *req, const cfg_group_t *g)
{
    char first[GW_MSG_MAX] = "", msg[GW_MSG_MAX];
    gw_target_t t;
    for (size_t i = 0; g->members.v && i < g->members.n; i++)
        if (gw_target_parse(gw, g->members.v[i], &t, msg, sizeof msg) == GW_TARGET_WAIT && !*first)
            memcpy(first, msg, sizeof first);
    if (!*first) return 0;
    gw_route_after_dns(gw, req, first);
    return 1;
}

void gw_groups_serve(gw_t *gw, http_req_t *req, const char *rest, const char *token)
{
    const cfg_group_t *g;
    uint8_t method;
    uint32_t window;
    char query[GW_URI_MAX];
    if (prepare(gw, req, rest, &g, &method, &window, query, sizeof query)) return;
    if (!g->address && members_resolving(gw, req, g)) return;
    const char *accept = http_req_header(req, "Accept"), *slash = strchr(rest, '/');
    int sse = accept && strstr(accept, "text/event-stream");
    int observe = sse && method == COAP_GET && query_has(http_req_query(req), "observe");
    /* a group's event stream is one of sse.max_subscribers, as a device's,
     * checked before anything is sent; a new observation one of
     * sse.max_observations, else one client opening observations of many
     * paths takes coap.max_exchanges from everyone (docs/security.md) */
    if (sse && gw->hub && gw_hub_streams_full(gw->hub, req, NULL, 0)) return;
    char *key = observe ? obs_key(req, rest, query) : NULL;
    if (key && join_shared(gw, req, key, token)) {
        free(key);
        return;
    }
    if (key && gw->hub && gw_hub_observations_full(gw->hub, req)) {
        free(key);
        return;
    }
    gq_t *q = gq_new(gw, g, g->address ? 1 : g->members.n);
    if (!q) {
        free(key);
        http_respond_text(req, 503, "out of memory");
        return;
    }
    q->sse = sse;
    q->observe = observe;
    if (sse) gw_groups_track_(q);
    http_req_set_log(req, NULL, q->observe ? "group observe" : "group");
    /* nothing is answered before every leg is out: a send failure answers req */
    q->stopping = 1;
    int rc = send_all(q, req, g, method, slash ? slash + 1 : "", query, window);
    q->stopping = 0;
    if (!rc) answer_later(q, req, token);
    if (key && !rc && !base_list_empty(&q->subs) && !q->ending)
        share(q, key);
    else
        free(key);
    if (!q->pending && !q->req && base_list_empty(&q->subs)) gq_free(q);
}
