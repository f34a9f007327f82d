/*
 * rd_simple.c - simple registration (RFC 9176 §5.1): a device that cannot
 * send its links POSTs /.well-known/rd?ep=NAME[&lt=S] with no payload;
 * the directory answers 2.04 at once, fetches GET /.well-known/core from
 * the request's source address and port through the gateway's CoAP
 * client, and registers those links as a POST /rd?ep=NAME&lt=S from that
 * source would: the same checks (allowlist, names, limits), the same
 * durable commit (rd.c), the same log line. What goes wrong after the
 * 2.04 is logged and counted (/metrics).
 *
 * The source must first prove its address with an Echo (RFC 9175 §2.4
 * item 3, COAP_RES_VERIFY_SOURCE): otherwise a forged source would make
 * the gateway send a GET, and its retransmissions, to any allowed host.
 * One fetch at a time per source host, SIMPLE_MAX_PENDING in all, so one
 * host that never answers cannot hold every slot.
 *
 * Plaintext only (coap.listen): over DTLS the device is reached through
 * its session, and it can register its links itself.
 */
#include "rd_internal.h"

#include "coap_cf.h"
#include "coap_client.h"
#include "gw_clients.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIMPLE_MAX_PENDING  16   /* fetches at once: each is one CoAP request of ours */
#define SIMPLE_MAX_PER_HOST 1    /* of them, from one source host */
#define SIMPLE_TIMEOUT_MS   5000 /* for the device's answer */

/* One fetch of a device's /.well-known/core. */
struct rd_simple {
    struct rd_simple *next;
    gw_rd_t *rd;
    coap_req_t *req;
    coap_addr_t peer;
    char ep[70]; /* "ep=NAME", a query argument of the registration */
    char lt[20]; /* "lt=S", or "" */
};

static void unlink_fetch(gw_rd_t *rd, rd_simple_t *s)
{
    for (rd_simple_t **pp = &rd->simple; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            rd->nsimple--;
            return;
        }
}

static void failed(gw_rd_t *rd, const char *ep, const coap_addr_t *peer, const char *why)
{
    char from[COAP_ADDR_STRLEN];
    rd->simple_failed++;
    gw_log(CFG_LOG_WARN, "rd: simple registration of %s from %s failed: %s", ep,
           coap_addr_str(peer, from, sizeof from), why);
}

void rd_simple_outcome(const rd_call_t *c, uint8_t code, const char *diag)
{
    char ep[64] = "?", why[200];
    for (size_t i = 0; i < c->req->nquery; i++)
        if (c->req->query[i].len > 3 && !memcmp(c->req->query[i].s, "ep=", 3))
            snprintf(ep, sizeof ep, "%.*s", (int)c->req->query[i].len - 3, c->req->query[i].s + 3);
    if (COAP_CODE_CLASS(code) == 2) {
        c->rd->simple_ok++;
        return;
    }
    snprintf(why, sizeof why, "%u.%02u %s", code >> 5, code & 31, diag ? diag : "");
    failed(c->rd, ep, c->req->peer, why);
}

/* The device's links are in: registered as if it had sent them. */
static void register_fetched(rd_simple_t *s, const coap_resp_t *r)
{
    coap_uri_part_t query[2] = {{s->ep, strlen(s->ep)}, {s->lt, strlen(s->lt)}};
    uint32_t cf = COAP_CF_LINK_FORMAT;
    coap_msg_get_uint(r->msg, COAP_OPT_CONTENT_FORMAT, &cf);
    coap_server_request_t req = {.method = COAP_POST,
                                 .peer = &s->peer,
                                 .path = "/rd",
                                 .query = query,
                                 .nquery = s->lt[0] ? 2 : 1,
                                 .payload = r->body,
                                 .payload_len = r->body_len,
                                 .content_format = (int)cf,
                                 .accept = -1,
                                 .observe = -1};
    rd_call_t c;
    rd_call_init(&c, s->rd, NULL, &req); /* no server: rd_simple_outcome hears the answer */
    rd_register(&c);
}

static void on_fetched(coap_req_t *creq, const coap_resp_t *r, void *arg)
{
    (void)creq;
    rd_simple_t *s = arg;
    if (!r->last) return;
    gw_rd_t *rd = s->rd;
    unlink_fetch(rd, s);
    char why[120];
    if (r->err == COAP_ERR_CANCELLED) {
        /* the gateway stops */
    } else if (r->err) {
        snprintf(why, sizeof why, "GET /.well-known/core: %s", coap_strerror(r->err));
        failed(rd, s->ep + 3, &s->peer, why);
    } else if (r->msg->code != COAP_CONTENT) {
        snprintf(why, sizeof why, "GET /.well-known/core answered %u.%02u", r->msg->code >> 5,
                 r->msg->code & 31);
        failed(rd, s->ep + 3, &s->peer, why);
    } else {
        register_fetched(s, r);
    }
    free(s);
}

static unsigned fetches_from(const gw_rd_t *rd, const coap_addr_t *peer)
{
    unsigned n = 0;
    for (const rd_simple_t *s = rd->simple; s; s = s->next)
        n += coap_addr_same_host(&s->peer, peer);
    return n;
}

/* GET coap://SOURCE/.well-known/core from the gateway's client. 0, or -1
 * with why. */
static int start_fetch(gw_rd_t *rd, rd_simple_t *s, const char **why)
{
    char host[COAP_ADDR_STRLEN], uri[COAP_ADDR_STRLEN + 40];
    int err = 0;
    coap_addr_t dest = s->peer;
    coap_addr_unmap(&dest);
    snprintf(uri, sizeof uri, "coap://%s/.well-known/core",
             coap_addr_str(&dest, host, sizeof host));
    coap_req_t *req = coap_req_new(rd->gw->ep, COAP_GET, uri, &dest, &err);
    if (req) {
        coap_req_set_timeout(req, SIMPLE_TIMEOUT_MS);
        coap_req_set_max_body(req, rd->gw->cfg.rd_max_links_bytes);
    }
    if (!req || (err = coap_req_send(req, on_fetched, s))) {
        *why = coap_strerror(err);
        return -1;
    }
    s->req = req;
    return 0;
}

/* POST /.well-known/rd?ep=NAME[&lt=S] (RFC 9176 §5.1): what can be checked
 * now is (4.xx), the rest after the fetch. */
static void on_simple(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    gw_rd_t *rd = arg;
    rd_call_t c;
    rd_call_init(&c, rd, srv, req);
    rd_params_t p;
    char diag[96], uri[300];
    coap_addr_t addr;
    rd_reg_t *r;
    const char *bad = rd_parse_params(&c, &p, diag, sizeof diag);
    if (!bad && !p.has_ep) bad = "ep (the endpoint name) is required: POST /.well-known/rd?ep=NAME";
    if (!bad && p.has_base) bad = "base: not in a simple registration (the source is the base)";
    if (!bad && req->payload_len)
        bad = "a simple registration has no payload (POST /rd with links)";
    if (bad) {
        rd_answer(&c, COAP_BAD_REQUEST, bad);
        return;
    }
    if (rd_resolve_base(&c, &p, uri, sizeof uri, &addr) || !rd_may_take_name(&c, p.ep, &r) ||
        (!r && !rd_room_for_new(&c)))
        return;
    if (rd->nsimple >= SIMPLE_MAX_PENDING || fetches_from(rd, req->peer) >= SIMPLE_MAX_PER_HOST) {
        coap_server_response_t busy = COAP_RESPONSE(COAP_SERVICE_UNAVAILABLE);
        busy.max_age = SIMPLE_TIMEOUT_MS / 1000;
        coap_server_respond(srv, req->id, &busy);
        return;
    }
    rd_simple_t *s = calloc(1, sizeof *s);
    if (!s) {
        rd_answer(&c, COAP_INTERNAL_SERVER_ERROR, "out of memory");
        return;
    }
    s->rd = rd;
    s->peer = *req->peer;
    snprintf(s->ep, sizeof s->ep, "ep=%s", p.ep);
    if (p.has_lt) snprintf(s->lt, sizeof s->lt, "lt=%u", p.lt);
    rd_answer(&c, COAP_CHANGED, NULL); /* §5.1: at once, before the device is asked */
    s->next = rd->simple;              /* linked first: on_fetched unlinks it */
    rd->simple = s;
    rd->nsimple++;
    const char *why;
    if (start_fetch(rd, s, &why)) {
        failed(rd, p.ep, req->peer, why);
        unlink_fetch(rd, s);
        free(s);
    }
}

/* RFC 7252 §11.3: a source that could never register gets a bare 4.03
 * before anything is done for it (as /rd, rd_admit). */
static uint8_t simple_admit(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    (void)srv;
    gw_t *gw = ((gw_rd_t *)arg)->gw;
    if (req->identity) return COAP_FORBIDDEN;
    return gw_clients_allow(gw->coap_clients, req->peer) || gw_acl_allows_addr(gw->acl, req->peer)
               ? 0
               : COAP_FORBIDDEN;
}

int rd_simple_serve(gw_rd_t *rd, coap_server_t *srv)
{
    coap_server_resource_t *res = coap_server_add(srv, "/.well-known/rd", COAP_RES_VERIFY_SOURCE,
                                                  COAP_METHOD_BIT(COAP_POST), on_simple, rd, NULL);
    if (!res) return -1;
    coap_resource_set_admit(res, simple_admit, rd);
    coap_resource_set_max_upload(res, 64); /* no payload: a small one gets told so */
    rd->simple_srv = srv;
    rd->simple_res = res;
    return 0;
}

void rd_simple_free(gw_rd_t *rd)
{
    if (rd->simple_res) coap_server_remove(rd->simple_srv, rd->simple_res);
    rd->simple_res = NULL;
    while (rd->simple) coap_req_cancel(rd->simple->req); /* on_fetched unlinks it */
}

void gw_rd_simple_stats(const gw_rd_t *rd, uint64_t *ok, uint64_t *failed_count)
{
    *ok = rd ? rd->simple_ok : 0;
    *failed_count = rd ? rd->simple_failed : 0;
}
