/*
 * rd.c - the Resource Directory's registration interface (RFC 9176 §5) on
 * the gateway's CoAP ports (coap.listen, and coap.listen_dtls when on). A
 * registration becomes a device of the registry (devices.c, source
 * GW_DEV_RD) reachable as /devices/NAME/...; the table of registrations
 * is rd_regs.c, who may do what rd_auth.c (RFC 9176 §7), the reading of
 * parameters and payload rd_params.c.
 *
 * Registration never widens access: in plaintext the source and the base
 * (when given) must both be allowed targets, otherwise anyone could
 * register base=coap://any-host and use the gateway as an open proxy; a
 * device that registers over DTLS is reached through its own session
 * only. The loop never resolves names, so a base must name an IP address.
 * A reload that takes the source, the base or the identity out removes
 * the registration. Registration IDs are random. A source (or an
 * identity) holds at most rd.max_per_source registrations, each for at
 * most rd.max_lifetime_s.
 */
#include "rd_internal.h"

#include "coap_cf.h"
#include "coap_link.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void answer_created(const rd_call_t *c, const rd_reg_t *r)
{
    if (!c->srv) {
        rd_simple_outcome(c, COAP_CREATED, NULL);
        return;
    }
    coap_msg_opt_t loc[2] = {
        {.num = COAP_OPT_LOCATION_PATH, .len = 2, .v.ptr = (const uint8_t *)"rd"},
        {.num = COAP_OPT_LOCATION_PATH, .len = (uint16_t)strlen(r->id), .v.ptr = (uint8_t *)r->id}};
    coap_server_response_t resp = COAP_RESPONSE(COAP_CREATED);
    resp.opts = loc;
    resp.nopts = 2;
    coap_server_respond(c->srv, c->req->id, &resp);
}

/* The registration `ep` becomes: r replaced in place (its ID kept, its
 * name now spelled as ep), or a new one with this ID. NULL on no memory. */
static rd_reg_t *take_name(gw_rd_t *rd, rd_reg_t *r, const char *id, const char *ep)
{
    if (!r) return rd_reg_new(rd, id, ep);
    gw_device_t *old = rd_reg_device(rd, r);
    if (old) gw_device_remove(rd->gw, old); /* added again by the caller */
    snprintf(r->name, sizeof r->name, "%s", ep);
    return r;
}

/* The device of a registration that went through every check. */
static gw_device_t *add_device(const rd_call_t *c, rd_reg_t *r, const char *ep, const char *uri,
                               const coap_addr_t *addr)
{
    gw_device_t *d = gw_device_add_rd(c->rd->gw, ep, uri, addr);
    if (!d) return NULL;
    snprintf(d->rd_id, sizeof d->rd_id, "%s", r->id);
    d->via_session = c->who[0] != '\0'; /* over DTLS: c->id is gone by now */
    d->via_conn = rd_over_conn(uri);    /* over the TCP or TLS listener */
    d->links_len = c->req->payload_len;
    if (!(d->links = rd_copy_links(c->req)) || (c->who[0] && !(d->auth = strdup(c->who))) ||
        rd_reg_set_owner(r, c->who[0] ? c->who : NULL))
        return NULL; /* freed with the registration */
    return d;
}

/* The registration committed: in memory now, and answered. */
static void registered(const rd_call_t *c, rd_change_t *ch)
{
    gw_rd_t *rd = c->rd;
    rd_reg_t *r = rd_reg_by_id(rd, ch->id, strlen(ch->id));
    rd_reg_t *other = rd_reg_by_name(rd, ch->ep);
    if (other && other != r)
        rd_reg_drop(rd, other, "taken over"); /* by another gateway meanwhile */
    r = take_name(rd, r, ch->id, ch->ep);
    gw_device_t *d = r ? add_device(c, r, ch->ep, ch->uri, &ch->addr) : NULL;
    if (!d) {
        if (r) rd_reg_remove(rd, r, "dropped");
        rd_answer(c, COAP_INTERNAL_SERVER_ERROR, "out of memory");
        return;
    }
    r->registrant = *c->req->peer;
    r->implicit_base = !ch->has_base;
    r->taken_here = 1;
    rd_mark_contact(d, c->req->peer);
    rd_set_lifetime(rd, d, ch->lt);
    rd_arm_expiry(rd);
    char from[COAP_ADDR_STRLEN];
    gw_log(CFG_LOG_INFO,
           "rd: %s %s at %s as /rd/%s, lifetime %u s, %zu bytes of links (from %s%s%s)",
           ch->is_new ? "registered" : "re-registered", ch->ep, d->uri, r->id, d->lifetime_s,
           d->links_len, coap_addr_str(c->req->peer, from, sizeof from), c->who[0] ? " as " : "",
           c->who);
    answer_created(c, r);
    rd_lookup_changed(rd);
}

/* POST /rd?ep=NAME[&lt=S][&base=URI] (RFC 9176 §5). */
void rd_register(const rd_call_t *c)
{
    gw_rd_t *rd = c->rd;
    rd_params_t p;
    char diag[96];
    const char *bad = rd_parse_params(c, &p, diag, sizeof diag);
    if (!bad && !p.has_ep) bad = "ep (the endpoint name) is required: POST /rd?ep=NAME";
    if (bad) {
        rd_answer(c, COAP_BAD_REQUEST, bad);
        return;
    }
    char uri[300];
    coap_addr_t addr;
    if (rd_check_payload(c) || rd_resolve_base(c, &p, uri, sizeof uri, &addr)) return;
    rd_sweep(rd);
    rd_reg_t *r;
    if (!rd_may_take_name(c, p.ep, &r)) return;
    int is_new = !r;
    if (is_new && !rd_room_for_new(c)) return;
    char id[sizeof r->id];
    if (r)
        memcpy(id, r->id, sizeof id);
    else
        rd_new_id(rd, id, sizeof id);
    uint32_t lt = p.has_lt ? p.lt : rd_default_lifetime(rd);
    gw_store_reg_t rec = {.id = id,
                          .name = p.ep,
                          .registrant = *c->req->peer,
                          .base = uri,
                          .implicit_base = !p.has_base,
                          .lifetime_s = lt,
                          .expires_at =
                              rd_wall_expiry(rd, base_loop_now(rd->gw->loop) + lt * 1000ull),
                          .links = (const char *)c->req->payload,
                          .links_len = c->req->payload_len,
                          .owner = c->id ? c->who : NULL};
    rd_change_t ch = {.lt = lt, .has_base = p.has_base, .is_new = is_new, .addr = addr};
    snprintf(ch.id, sizeof ch.id, "%s", id);
    snprintf(ch.ep, sizeof ch.ep, "%s", p.ep);
    snprintf(ch.uri, sizeof ch.uri, "%s", uri);
    rd_commit_put(c, &rec, &ch, registered); /* committed before the answer, or nothing changes */
}

/* A base URI as the device keeps it: without a trailing slash. */
static char *base_copy(const char *uri)
{
    char *u = strdup(uri);
    size_t l = u ? strlen(u) : 0;
    while (l > 0 && u[l - 1] == '/') u[--l] = '\0';
    return u;
}

/* The update committed: swapped in, and answered. */
static void updated(const rd_call_t *c, rd_change_t *ch)
{
    gw_rd_t *rd = c->rd;
    rd_reg_t *r = rd_reg_by_id(rd, ch->id, strlen(ch->id));
    gw_device_t *d = r ? rd_reg_device(rd, r) : NULL;
    if (!d) { /* expired or removed while the store committed */
        rd_answer(c, COAP_NOT_FOUND, "no such registration");
        return;
    }
    if (ch->base) {
        free(d->uri);
        d->uri = ch->base;
        d->addr = ch->addr;
        ch->base = NULL;
        /* an update over the TCP or TLS listener moves the device onto
         * that connection (reached over it, never by a connection of
         * ours to its port); one over UDP or DTLS off it */
        d->via_conn = rd_over_conn(d->uri);
    }
    if (ch->links) {
        free(d->links);
        d->links = ch->links;
        d->links_len = ch->links_len;
        ch->links = NULL;
    }
    r->implicit_base = ch->implicit_base;
    r->registrant = *c->req->peer;
    r->taken_here = 1;
    rd_mark_contact(d, c->req->peer);
    rd_set_lifetime(rd, d, ch->lt);
    rd_arm_expiry(rd);
    gw_log(CFG_LOG_INFO, "rd: updated %s (/rd/%s) at %s, lifetime %u s%s", r->name, r->id, d->uri,
           d->lifetime_s, ch->links_len ? ", new links" : "");
    rd_answer(c, COAP_CHANGED, NULL);
    rd_lookup_changed(rd);
}

/* The removal committed. */
static void removed(const rd_call_t *c, rd_change_t *ch)
{
    rd_reg_t *r = rd_reg_by_id(c->rd, ch->id, strlen(ch->id));
    if (r) rd_reg_drop(c->rd, r, "removed");
    rd_arm_expiry(c->rd);
    rd_answer(c, COAP_DELETED, NULL);
}

/* POST /rd/ID[?lt=S][&base=URI]: the registration update (RFC 9176
 * §5.3.1); a payload replaces the links. Without base, a registration
 * that had none takes the update's source address as its base: over DTLS
 * the session it came through. */
static void do_update(const rd_call_t *c, rd_reg_t *r, gw_device_t *d)
{
    gw_rd_t *rd = c->rd;
    rd_params_t p;
    char diag[96];
    const char *bad = rd_parse_params(c, &p, diag, sizeof diag);
    if (bad) {
        rd_answer(c, COAP_BAD_REQUEST, bad);
        return;
    }
    if (rd_check_payload(c)) return;
    char uri[300];
    coap_addr_t addr;
    if (rd_resolve_base(c, &p, uri, sizeof uri, &addr)) return;
    /* what changes is made first, then committed, then swapped in */
    int rebased = (p.has_base || r->implicit_base) && strcmp(uri, d->uri);
    char *base = rebased ? base_copy(uri) : NULL;
    char *links = c->req->payload_len ? rd_copy_links(c->req) : NULL;
    if ((rebased && !base) || (c->req->payload_len && !links)) {
        free(base);
        free(links);
        rd_answer(c, COAP_INTERNAL_SERVER_ERROR, "out of memory");
        return;
    }
    uint32_t lt = p.has_lt ? p.lt : d->lifetime_s;
    gw_store_reg_t rec;
    rd_store_record(rd, r, d, &rec);
    rec.registrant = *c->req->peer;
    rec.base = base ? base : d->uri;
    rec.implicit_base = p.has_base ? 0 : r->implicit_base;
    rec.lifetime_s = lt;
    rec.expires_at = rd_wall_expiry(rd, base_loop_now(rd->gw->loop) + lt * 1000ull);
    if (links) {
        rec.links = links;
        rec.links_len = c->req->payload_len;
    }
    rd_change_t ch = {.lt = lt,
                      .implicit_base = rec.implicit_base,
                      .addr = addr,
                      .base = base,
                      .links = links,
                      .links_len = c->req->payload_len};
    snprintf(ch.id, sizeof ch.id, "%s", r->id);
    rd_commit_put(c, &rec, &ch, updated);
}

/* GET /rd/ID: the registered links (rd_admit let only the owner and, for
 * a plaintext registration, proxy.coap_clients this far). */
static void do_read(const rd_call_t *c, gw_device_t *d)
{
    coap_server_response_t resp = COAP_RESPONSE(COAP_CONTENT);
    resp.payload = d->links;
    resp.payload_len = d->links_len;
    resp.content_format = COAP_CF_LINK_FORMAT;
    coap_server_respond(c->srv, c->req->id, &resp);
}

/* /rd/ID: update, read, removal (RFC 9176 §5.3). */
static void on_registration(const rd_call_t *c)
{
    gw_rd_t *rd = c->rd;
    const coap_server_request_t *req = c->req;
    rd_reg_t *r = rd_reg_by_id(rd, req->segs[1].s, req->segs[1].len);
    gw_device_t *d = r ? rd_reg_device(rd, r) : NULL;
    if (!d)
        rd_answer(c, COAP_NOT_FOUND, "no such registration");
    else if (req->method == COAP_GET)
        do_read(c, d);
    else if (!rd_may_change(c, r))
        rd_answer(c, COAP_FORBIDDEN,
                  r->owner ? "only its DTLS identity may change it"
                           : "only the registering host may change it");
    else if (req->method == COAP_POST)
        do_update(c, r, d);
    else { /* DELETE: the methods are POST, GET, DELETE */
        rd_change_t ch = {0};
        snprintf(ch.id, sizeof ch.id, "%s", r->id);
        snprintf(ch.ep, sizeof ch.ep, "%s", r->name);
        rd_commit_del(c, &ch, removed);
    }
}

static void on_rd(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    rd_call_t c;
    rd_call_init(&c, arg, srv, req);
    if (req->nsegs == 1 && req->method == COAP_POST)
        rd_register(&c);
    else if (req->nsegs == 1)
        rd_answer(&c, COAP_METHOD_NOT_ALLOWED, "POST /rd?ep=NAME to register");
    else if (req->nsegs == 2)
        on_registration(&c);
    else
        rd_answer(&c, COAP_NOT_FOUND, "no such registration");
}

gw_rd_t *gw_rd_new(gw_t *gw)
{
    gw_rd_t *rd = calloc(1, sizeof *rd);
    if (!rd) return NULL;
    rd->gw = gw;
    rd->timer = base_loop_timer_new(gw->loop, rd_on_expiry, rd);
    rd->notify_timer = base_loop_timer_new(gw->loop, rd_lookup_on_timer, rd);
    if (!rd->timer || !rd->notify_timer) {
        if (rd->timer) base_loop_timer_free(rd->timer);
        if (rd->notify_timer) base_loop_timer_free(rd->notify_timer);
        free(rd);
        return NULL;
    }
    return rd;
}

int gw_rd_serve(gw_rd_t *rd, coap_server_t *srv)
{
    /* RFC 9176 §4.3: the registration interface is discovered with
     * GET /.well-known/core?rt=core.rd */
    coap_link_attrs_t a = {.rt = "core.rd", .ct = COAP_CF_LINK_FORMAT, .sz = -1};
    unsigned methods =
        COAP_METHOD_BIT(COAP_POST) | COAP_METHOD_BIT(COAP_GET) | COAP_METHOD_BIT(COAP_DELETE);
    if (rd->nsrv == RD_SERVERS) return -1;
    coap_server_resource_t *res =
        coap_server_add(srv, "/rd", COAP_RES_PREFIX, methods, on_rd, rd, &a);
    if (!res) return -1;
    coap_resource_set_admit(res, rd_admit, rd);
    /* links over the limit are refused while they arrive, not after the
     * whole Block1 upload (RFC 7959 §2.9.3) */
    coap_resource_set_max_upload(res, rd->gw->cfg.rd_max_links_bytes);
    rd->srv[rd->nsrv] = srv;
    rd->res[rd->nsrv] = res;
    if (rd_lookup_serve(rd, srv, rd->nsrv)) {
        rd_lookup_unserve(rd, rd->nsrv);
        coap_server_remove(srv, res);
        return -1;
    }
    rd->nsrv++;
    /* RFC 9176 §5.1 in plaintext: over DTLS or TLS a device sends its links */
    if (srv != rd->gw->dtls_srv && srv != rd->gw->tls_srv && !rd->simple_res &&
        rd_simple_serve(rd, srv))
        return -1;
    return 0;
}

void gw_rd_reloaded(gw_rd_t *rd)
{
    if (!rd) return;
    for (size_t i = 0; i < rd->nsrv; i++)
        coap_resource_set_max_upload(rd->res[i], rd->gw->cfg.rd_max_links_bytes);
    rd_regs_recheck(rd, "reload");
}

void gw_rd_free(gw_rd_t *rd)
{
    if (!rd) return;
    rd_simple_free(rd);
    rd_commit_cancel_all(rd);
    for (size_t i = 0; i < rd->nsrv; i++) {
        rd_lookup_unserve(rd, i);
        coap_server_remove(rd->srv[i], rd->res[i]);
    }
    if (rd->timer) base_loop_timer_free(rd->timer);
    if (rd->notify_timer) base_loop_timer_free(rd->notify_timer);
    rd_regs_free(rd);
    free(rd);
}
