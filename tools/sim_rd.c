/*
 * sim_rd.c - coapgw-sim's registration with a Resource Directory
 * (RFC 9176 §5).
 */
#include "sim_rd.h"
#include "coap_cf.h"

#include <netdb.h>
#include <stdio.h>
#include <string.h>

static void reg_send(sim_reg_t *g);

static const char *scheme(const sim_reg_t *g)
{
    if (g->uri.tcp) /* RFC 8323 §8.1, §8.2: over our TCP or TLS connection */
        return g->uri.secure ? "coaps+tcp" : "coap+tcp";
    return g->uri.secure ? "coaps" : "coap";
}

static void reg_due(base_loop_t *loop, base_loop_timer_t *t, void *arg)
{
    (void)loop;
    (void)t;
    reg_send(arg);
}

static void reg_retry(sim_reg_t *g, const char *why)
{
    g->backoff_s = g->backoff_s ? (g->backoff_s * 2 > 30 ? 30 : g->backoff_s * 2) : 1;
    fprintf(stderr, "coapgw-sim: rd: %s; retrying in %u s\n", why, g->backoff_s);
    base_loop_timer_arm_in(g->timer, (uint64_t)g->backoff_s * 1000);
}

/* Refresh at 2/3 of the lifetime (RFC 9176 §5.3.1: before it runs out). */
static void reg_refresh_later(sim_reg_t *g)
{
    g->backoff_s = 0;
    base_loop_timer_arm_in(g->timer, (uint64_t)g->lifetime_s * 2000 / 3);
}

/* "/rd/ID" from the Location-Path options of a 2.01. */
static void reg_location(sim_reg_t *g, const coap_msg_t *m)
{
    size_t n = 0;
    for (const coap_msg_opt_t *o = coap_msg_find_opt(m, COAP_OPT_LOCATION_PATH);
         o && n + o->len + 2 < sizeof g->location; o = coap_msg_next_opt(m, o)) {
        g->location[n++] = '/';
        memcpy(g->location + n, coap_msg_opt_value(o), o->len);
        n += o->len;
    }
    g->location[n] = '\0';
}

static void reg_answered(coap_req_t *req, const coap_resp_t *r, void *arg)
{
    (void)req;
    sim_reg_t *g = arg;
    if (r->last) g->inflight = NULL;
    if (g->stopping) return;
    char why[160];
    uint8_t code = r->msg ? r->msg->code : 0;
    if (r->err) {
        snprintf(why, sizeof why, "no answer from the RD (%s)", coap_strerror(r->err));
        reg_retry(g, why);
    } else if (code == COAP_CREATED) {
        reg_location(g, r->msg);
        fprintf(stderr, "coapgw-sim: rd: registered as %s at %s, lifetime %u s\n", g->location,
                g->uri.host, g->lifetime_s);
        reg_refresh_later(g);
    } else if (code == COAP_CHANGED && g->simple) { /* §5.1: the RD fetches our links */
        fprintf(stderr, "coapgw-sim: rd: simple registration accepted by %s, lifetime %u s\n",
                g->uri.host, g->lifetime_s);
        reg_refresh_later(g); /* §5.1: repeated to refresh */
    } else if (code == COAP_CHANGED) {
        fprintf(stderr, "coapgw-sim: rd: refreshed %s\n", g->location);
        reg_refresh_later(g);
    } else if (code == COAP_NOT_FOUND && g->location[0]) { /* expired: register again */
        fprintf(stderr, "coapgw-sim: rd: %s is gone; registering again\n", g->location);
        g->location[0] = '\0';
        reg_send(g);
    } else {
        snprintf(why, sizeof why, "the RD answered %u.%02u %.*s", code >> 5, code & 31,
                 (int)(r->body_len > 80 ? 80 : r->body_len),
                 r->body_len ? (const char *)r->body : "");
        g->location[0] = '\0'; /* start over with a fresh registration */
        reg_retry(g, why);
    }
}

/* The RD's address, resolved again for each registration (a gateway that
 * restarts elsewhere is found); the family of our socket. The simulator
 * may block on DNS: it is not the gateway. */
static int reg_resolve(sim_reg_t *g)
{
    if (g->uri.host_is_literal) return coap_addr_from_host(&g->rd, g->uri.host, g->uri.port);
    coap_addr_t self;
    coap_ep_local_addr(g->ep, &self);
    struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *res = NULL;
    hints.ai_family = self.u.sa.sa_family == AF_INET ? AF_INET : AF_UNSPEC;
    if (getaddrinfo(g->uri.host, NULL, &hints, &res) || !res) return -1;
    memset(&g->rd, 0, sizeof g->rd);
    if (res->ai_addrlen > sizeof g->rd.u) { /* not IPv4 or IPv6 */
        freeaddrinfo(res);
        return -1;
    }
    memcpy(&g->rd.u, res->ai_addr, res->ai_addrlen);
    g->rd.len = res->ai_addrlen;
    freeaddrinfo(res);
    if (g->rd.u.sa.sa_family == AF_INET)
        g->rd.u.v4.sin_port = htons(g->uri.port);
    else
        g->rd.u.v6.sin6_port = htons(g->uri.port);
    return 0;
}

/* A registration (POST /rd?ep=&lt= with our links) or, once registered,
 * a refresh (POST /rd/ID with nothing); a simple registration (POST
 * /.well-known/rd?ep=&lt= with nothing, RFC 9176 §5.1) each time. */
static void reg_send(sim_reg_t *g)
{
    char target[COAP_ADDR_STRLEN], uri[512];
    int err = 0;
    if (!g->location[0] && reg_resolve(g)) {
        reg_retry(g, "cannot resolve the RD's host");
        return;
    }
    coap_addr_str(&g->rd, target, sizeof target);
    if (g->location[0]) {
        snprintf(uri, sizeof uri, "%s://%s%s", scheme(g), target, g->location);
    } else {
        size_t n = (size_t)snprintf(uri, sizeof uri, "%s://%s", scheme(g), target);
        for (size_t i = 0; i < g->uri.path_count && n < sizeof uri; i++)
            n += (size_t)snprintf(uri + n, sizeof uri - n, "/%.*s", (int)g->uri.path[i].len,
                                  g->uri.path[i].s);
        if (n < sizeof uri)
            snprintf(uri + n, sizeof uri - n, "%s?ep=%s&lt=%u%s%s",
                     g->uri.path_count ? ""
                     : g->simple       ? "/.well-known/rd"
                                       : "/rd",
                     g->name, g->lifetime_s, g->base ? "&base=" : "", g->base ? g->base : "");
    }
    coap_req_t *req = coap_req_new(g->ep, COAP_POST, uri, NULL, &err);
    if (req && !g->location[0] && !g->simple) {
        coap_req_set_content_format(req, COAP_CF_LINK_FORMAT);
        coap_req_set_payload(req, g->links, g->links_len);
    }
    if (req) coap_req_set_timeout(req, 5000);
    if (!req || coap_req_send(req, reg_answered, g)) {
        reg_retry(g, "cannot send the request");
        return;
    }
    g->inflight = req;
    fprintf(stderr, "coapgw-sim: rd: POST %s\n", uri);
}

static void reg_deleted(coap_req_t *req, const coap_resp_t *r, void *arg)
{
    (void)req;
    sim_reg_t *g = arg;
    uint8_t code = r->msg ? r->msg->code : 0;
    fprintf(stderr, "coapgw-sim: rd: DELETE %s: %u.%02u\n", g->location, code >> 5, code & 31);
    if (r->last) g->deleted = 1;
}

/* RFC 9176 §5.3.2 */
void sim_reg_remove(sim_reg_t *g, base_loop_t *loop)
{
    g->stopping = 1;
    if (g->inflight) coap_req_cancel(g->inflight);
    base_loop_timer_free(g->timer);
    if (!g->location[0]) return;
    char target[COAP_ADDR_STRLEN], uri[512];
    int err;
    coap_addr_str(&g->rd, target, sizeof target);
    snprintf(uri, sizeof uri, "%s://%s%s", scheme(g), target, g->location);
    coap_req_t *req = coap_req_new(g->ep, COAP_DELETE, uri, NULL, &err);
    if (req) coap_req_set_timeout(req, 2000);
    if (!req || coap_req_send(req, reg_deleted, g)) return;
    for (int i = 0; i < 40 && !g->deleted; i++) base_loop_run_once(loop, 50);
}

void sim_reg_lost(sim_reg_t *g)
{
    if (g->stopping || !g->timer || g->inflight) return; /* one in flight fails on its own */
    reg_retry(g, "the connection to the directory closed");
}

void sim_reg_start(sim_reg_t *g, base_loop_t *loop)
{
    g->timer = base_loop_timer_new(loop, reg_due, g);
    base_loop_timer_arm_in(g->timer, 0);
}
