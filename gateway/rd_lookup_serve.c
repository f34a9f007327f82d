/*
 * rd_lookup_serve.c - the Resource Directory's lookup interface (RFC 9176
 * §6) on the gateway's CoAP servers (/rd-lookup/ep, /rd-lookup/res, with
 * Observe: RFC 7641); over HTTP as JSON it is rd_lookup_http.c, the
 * lookup itself rd_lookup.c.
 *
 * Who may look up (RFC 9176 §7 leaves it to policy): the results carry
 * the addresses of devices, so in plaintext only the sources in
 * proxy.coap_clients (by default loopback: the gateway's host), over DTLS
 * the identities in dtls.identities, and over HTTP whoever the /api/
 * token rules let in (as /api/devices, which shows the same). Everyone
 * else gets a bare 4.03.
 */
#include "rd_internal.h"

#include "coap_cf.h"
#include "gw_clients.h"
#include "gw_rdlookup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const lookup_paths[RD_LOOKUPS] = {"/rd-lookup/ep", "/rd-lookup/res"};
static const char *const lookup_rts[RD_LOOKUPS] = {"core.rd-lookup-ep", "core.rd-lookup-res"};

size_t rd_lookup_snapshot(gw_rd_t *rd, rd_lookup_ep_t **eps)
{
    size_t n = gw_devices_count(rd->gw, GW_DEV_CONFIG) + gw_devices_count(rd->gw, GW_DEV_RD);
    gw_device_t **all = n ? calloc(n, sizeof *all) : NULL;
    *eps = n ? calloc(n, sizeof **eps) : NULL;
    size_t k = 0;
    if (all && *eps) {
        n = gw_devices_list(rd->gw, all, n);
        for (size_t i = 0; i < n; i++) {
            const gw_device_t *d = all[i];
            if (d->source != GW_DEV_RD) continue;
            (*eps)[k++] =
                (rd_lookup_ep_t){d->name, d->rd_id, d->uri, d->lifetime_s, d->links, d->links_len};
        }
    }
    free(all);
    return k;
}

/* The lookup as link format into out; NULL, or the reason of a 4.00
 * (diag) or "" for no memory. */
static const char *run_links(gw_rd_t *rd, rd_lookup_kind_t kind, const rd_query_t *q,
                             base_buf_t *out)
{
    rd_lookup_ep_t *eps;
    size_t n = rd_lookup_snapshot(rd, &eps);
    int rc = rd_lookup_links(kind, q, eps, n, out);
    free(eps);
    return rc ? "" : NULL;
}

/* RFC 7252 §11.3 and RFC 9176 §7: asked before anything is kept. */
static uint8_t lookup_admit(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    gw_rd_t *rd = arg;
    gw_t *gw = rd->gw;
    if (req->identity || srv == gw->dtls_srv || srv == gw->tls_srv)
        return gw_ids_find(gw->ids, req->identity) ? 0 : COAP_FORBIDDEN;
    return gw_clients_allow(gw->coap_clients, req->peer) ? 0 : COAP_FORBIDDEN;
}

/* FNV-1a, never 0 (0 is "nothing sent yet"). */
static uint64_t digest(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h ? h : 1;
}

static rd_lookup_kind_t kind_of(gw_rd_t *rd, const coap_server_resource_t *res)
{
    for (size_t i = 0; i < rd->nsrv; i++)
        if (rd->lookup[i][RD_LOOKUP_RES] == res) return RD_LOOKUP_RES;
    return RD_LOOKUP_EP;
}

static void on_lookup(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    gw_rd_t *rd = arg;
    rd_call_t c;
    rd_call_init(&c, rd, srv, req);
    if (req->accept >= 0 && req->accept != COAP_CF_LINK_FORMAT) {
        rd_answer(&c, COAP_NOT_ACCEPTABLE, "application/link-format (40) only");
        return;
    }
    rd_query_t q;
    rd_query_init(&q);
    const char *bad = NULL;
    for (size_t i = 0; !bad && i < req->nquery; i++) {
        const char *s = req->query[i].s, *eq = memchr(s, '=', req->query[i].len);
        size_t len = req->query[i].len;
        bad = eq ? rd_query_add(&q, s, (size_t)(eq - s), eq + 1, len - (size_t)(eq - s) - 1)
                 : rd_query_add(&q, s, len, NULL, 0);
    }
    base_buf_t out = {0};
    if (!bad) bad = run_links(rd, kind_of(rd, req->resource), &q, &out);
    if (bad) {
        rd_answer(&c, *bad ? COAP_BAD_REQUEST : COAP_INTERNAL_SERVER_ERROR,
                  *bad ? bad : "out of memory");
    } else {
        coap_server_response_t resp = COAP_RESPONSE(COAP_CONTENT);
        resp.payload = out.data;
        resp.payload_len = out.len;
        resp.content_format = COAP_CF_LINK_FORMAT;
        resp.observe_word = digest(out.data, out.len); /* notified when it changes */
        coap_server_respond(srv, req->id, &resp);      /* Block2 and Echo: the server's */
    }
    base_buf_free(&out);
}

int rd_lookup_serve(gw_rd_t *rd, coap_server_t *srv, size_t i)
{
    for (int k = 0; k < RD_LOOKUPS; k++) {
        /* RFC 9176 §4.3: discovered with GET /.well-known/core?rt=core.rd-lookup-* */
        coap_link_attrs_t a = {.rt = lookup_rts[k], .ct = COAP_CF_LINK_FORMAT, .sz = -1};
        coap_server_resource_t *res = coap_server_add(srv, lookup_paths[k], COAP_RES_OBSERVABLE,
                                                      COAP_METHODS_READ, on_lookup, rd, &a);
        if (!res) return -1;
        coap_resource_set_admit(res, lookup_admit, rd);
        rd->lookup[i][k] = res;
    }
    return 0;
}

void rd_lookup_unserve(gw_rd_t *rd, size_t i)
{
    for (int k = 0; k < RD_LOOKUPS; k++)
        if (rd->lookup[i][k]) {
            coap_server_remove(rd->srv[i], rd->lookup[i][k]);
            rd->lookup[i][k] = NULL;
        }
}

/* --- Observe: a notification when an observer's result changes --- */

typedef struct {
    gw_rd_t *rd;
    rd_lookup_kind_t kind;
    base_buf_t out;
} notify_t;

static int build_notification(const char *query, uint64_t *word, coap_server_response_t *rep,
                              void *arg)
{
    notify_t *x = arg;
    rd_query_t q;
    rd_query_init(&q);
    base_buf_reset(&x->out);
    if (rd_query_parse(&q, query) || run_links(x->rd, x->kind, &q, &x->out)) return 0;
    uint64_t h = digest(x->out.data, x->out.len);
    if (h == *word) return 0; /* its result did not change */
    *word = h;
    rep->payload = x->out.data;
    rep->payload_len = x->out.len;
    rep->content_format = COAP_CF_LINK_FORMAT;
    return 1;
}

/* Every change (a registration, an update, a removal) would otherwise run
 * each observer's lookup over all registrations at once: a device sending
 * updates as fast as it can, even ones that change nothing, would keep the
 * gateway busy, and observers would get a notification per change. Runs
 * closer than NOTIFY_GAP_MS are merged into one at the end of the gap
 * (RFC 7641 §4.5.1: no more than one notification per RTT, and without
 * an estimate one every few seconds). */
#define NOTIFY_GAP_MS 1000

static void notify_all(gw_rd_t *rd)
{
    rd->notified_ms = base_loop_now(rd->gw->loop);
    notify_t x = {.rd = rd};
    for (size_t i = 0; i < rd->nsrv; i++)
        for (int k = 0; k < RD_LOOKUPS; k++) {
            if (!rd->lookup[i][k] || !coap_server_observers(rd->lookup[i][k])) continue;
            x.kind = (rd_lookup_kind_t)k;
            coap_server_notify_each(rd->srv[i], rd->lookup[i][k], build_notification, &x);
        }
    base_buf_free(&x.out);
}

void rd_lookup_on_timer(base_loop_t *loop, base_loop_timer_t *t, void *arg)
{
    (void)loop;
    (void)t;
    notify_all(arg);
}

void rd_lookup_changed(gw_rd_t *rd)
{
    int observed = 0;
    for (size_t i = 0; i < rd->nsrv; i++)
        for (int k = 0; k < RD_LOOKUPS; k++)
            observed |= rd->lookup[i][k] && coap_server_observers(rd->lookup[i][k]);
    if (!observed) return;
    uint64_t now = base_loop_now(rd->gw->loop);
    if (rd->notified_ms && now < rd->notified_ms + NOTIFY_GAP_MS)
        base_loop_timer_arm(rd->notify_timer, rd->notified_ms + NOTIFY_GAP_MS); /* merged */
    else
        notify_all(rd);
}
