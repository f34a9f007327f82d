/*
 * rd.c - the Resource Directory's registration interface (RFC 9176 §5) on
 * the gateway's CoAP port. A registration becomes a device of the registry
 * (devices.c, source GW_DEV_RD) reachable as /devices/NAME/...; the table
 * of registrations is rd_regs.c.
 *
 * Who may do what (RFC 9176 §7, without DTLS: the source address is all
 * there is to go by). Before the server keeps anything for a request (a
 * Block1 upload), rd_admit lets through only sources that are allowed
 * targets or in proxy.coap_clients, and for /rd/ID only the registration's
 * owner (its source address, any port) or proxy.coap_clients; everyone
 * else gets a bare 4.03. Registration never widens access: the source and
 * the base (when given) must both be allowed targets, otherwise anyone
 * could register base=coap://any-host and use the gateway as an open
 * proxy. The loop never resolves names, so a base must name an IP address.
 * A reload that takes either out of the allowlist removes the
 * registration. Registering again, updates and removals are the owner's
 * alone, whatever the base; registration IDs are random. A source holds
 * at most rd.max_per_source registrations, each for at most
 * rd.max_lifetime_s.
 */
#include "rd_internal.h"

#include "coap_cf.h"
#include "coap_link.h"
#include "coap_uri.h"
#include "gw_clients.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The query parameters of a registration or an update (RFC 9176 §5). */
typedef struct {
    char ep[64];
    char base[260];
    uint32_t lt;
    int has_ep, has_base, has_lt;
} rd_params_t;

/* --- answers --- */

static void answer(gw_rd_t *rd, uint64_t id, uint8_t code, const char *diag)
{
    coap_server_response_t r = COAP_RESPONSE(code);
    if (diag) { /* RFC 7252 §5.5.2: a diagnostic payload */
        r.payload = diag;
        r.payload_len = strlen(diag);
        r.content_format = COAP_CF_TEXT_PLAIN;
    }
    coap_server_respond(rd->srv, id, &r);
}

/* 4.13 with Size1 telling the limit (RFC 7959 §4). */
static void too_large(gw_rd_t *rd, uint64_t id, uint32_t limit, const char *diag)
{
    coap_msg_opt_t size1 = {.num = COAP_OPT_SIZE1, .is_inline = 1};
    size1.len = (uint16_t)coap_uint_encode(limit, size1.v.bytes);
    coap_server_response_t r = COAP_RESPONSE(COAP_REQUEST_ENTITY_TOO_LARGE);
    r.payload = diag;
    r.payload_len = strlen(diag);
    r.content_format = COAP_CF_TEXT_PLAIN;
    r.opts = &size1;
    r.nopts = 1;
    coap_server_respond(rd->srv, id, &r);
}

/* --- parsing --- */

static int part_is(const coap_uri_part_t *p, const char *name, const char **value, size_t *vlen)
{
    size_t n = strlen(name);
    if (p->len < n + 1 || memcmp(p->s, name, n) || p->s[n] != '=') return 0;
    *value = p->s + n + 1;
    *vlen = p->len - n - 1;
    return 1;
}

/* lt: 1..2^32-1 seconds (RFC 9176 §5). */
static int parse_lt(const char *v, size_t n, uint32_t *out)
{
    if (n == 0 || n > 10) return -1;
    uint64_t lt = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9') return -1;
        lt = lt * 10 + (uint64_t)(v[i] - '0');
    }
    if (lt == 0 || lt > UINT32_MAX) return -1;
    *out = (uint32_t)lt;
    return 0;
}

/* Reads ep, lt (at most max_lt) and base; other endpoint attributes (d,
 * et, ...) are accepted and ignored. Returns NULL or a diagnostic (in diag
 * or static). */
static const char *parse_params(const coap_server_request_t *req, uint32_t max_lt, rd_params_t *p,
                                char *diag, size_t cap)
{
    memset(p, 0, sizeof *p);
    for (size_t i = 0; i < req->nquery; i++) {
        const char *v;
        size_t n;
        if (part_is(&req->query[i], "ep", &v, &n)) {
            if (p->has_ep++) return "ep given twice";
            if (n >= sizeof p->ep) return "ep: bad endpoint name (want [A-Za-z0-9_.-]{1,63})";
            memcpy(p->ep, v, n);
            p->ep[n] = '\0';
            if (!gw_device_name_ok(p->ep))
                return "ep: bad endpoint name (want [A-Za-z0-9_.-]{1,63})";
        } else if (part_is(&req->query[i], "lt", &v, &n)) {
            if (p->has_lt++) return "lt given twice";
            if (parse_lt(v, n, &p->lt)) return "lt: want a lifetime of 1..4294967295 seconds";
            if (p->lt > max_lt) {
                snprintf(diag, cap, "lt: at most %u seconds (rd.max_lifetime_s)", max_lt);
                return diag;
            }
        } else if (part_is(&req->query[i], "base", &v, &n)) {
            if (p->has_base++) return "base given twice";
            if (n >= sizeof p->base) return "base too long";
            memcpy(p->base, v, n);
            p->base[n] = '\0';
        }
    }
    return NULL;
}

/* A base URI: coap://IP-LITERAL[:PORT][/path], no query. The loop never
 * resolves host names, so a name is refused. Returns NULL or a diagnostic. */
static const char *parse_base(const char *base, coap_addr_t *addr)
{
    coap_parsed_uri_t u; /* about 2.4 KB: on the stack, the loop runs shallow */
    int rc = coap_uri_parse(&u, base);
    if (rc || u.secure) return "base: want coap://ADDRESS[:PORT]";
    if (!u.host_is_literal) return "base: want an IP address, not a host name";
    if (u.query_count) return "base: no query allowed";
    if (coap_addr_from_host(addr, u.host, u.port)) return "base: bad address";
    return NULL;
}

/* The request's source as a base URI: coap://ADDR:PORT, IPv6 in brackets
 * with a zone as %25 (RFC 6874). */
static void source_base(const coap_addr_t *peer, coap_addr_t *addr, char *uri, size_t cap)
{
    *addr = *peer;
    coap_addr_unmap(addr);
    char s[COAP_ADDR_STRLEN];
    coap_addr_str(addr, s, sizeof s);
    size_t n = (size_t)snprintf(uri, cap, "coap://");
    for (const char *p = s; *p && n + 4 < cap; p++) {
        if (*p == '%') {
            memcpy(uri + n, "%25", 3);
            n += 3;
        } else {
            uri[n++] = *p;
        }
    }
    uri[n] = '\0';
}

/* A registration or update sent from the base address itself (what
 * coapgw-sim does) is an exchange with the device: it is online now. */
static void mark_contact(gw_device_t *d, const coap_addr_t *peer)
{
    coap_addr_t src = *peer, base = d->addr;
    coap_addr_unmap(&src);
    coap_addr_unmap(&base);
    if (!coap_addr_equal(&src, &base)) return;
    d->online = 1;
    d->last_seen = (int64_t)time(NULL);
}

static int set_links(gw_device_t *d, const coap_server_request_t *req)
{
    char *links = malloc(req->payload_len + 1);
    if (!links) return -1;
    if (req->payload_len) memcpy(links, req->payload, req->payload_len); /* NULL when empty */
    links[req->payload_len] = '\0';
    free(d->links);
    d->links = links;
    d->links_len = req->payload_len;
    return 0;
}

/* The checks a registration and an update share: the payload's format
 * and size. Answers and returns -1 when one fails. */
static int check_payload(gw_rd_t *rd, const coap_server_request_t *req)
{
    uint32_t max = rd->gw->cfg.rd_max_links_bytes;
    if (req->content_format >= 0 && req->content_format != COAP_CF_LINK_FORMAT) {
        answer(rd, req->id, COAP_UNSUPPORTED_CONTENT_FORMAT,
               "want application/link-format (Content-Format 40)");
        return -1;
    }
    if (req->payload_len > max) {
        too_large(rd, req->id, max, "link-format payload over rd.max_links_bytes");
        return -1;
    }
    /* RFC 9176 §5: the payload is the endpoint's links; an empty one
     * registers an endpoint with no resources (zero link-values). */
    size_t at = 0;
    int rc = coap_link_validate((const char *)req->payload, req->payload_len, &at);
    if (rc < 0) {
        char diag[120];
        snprintf(diag, sizeof diag, "payload is not link-format (RFC 6690): %s at byte %zu",
                 coap_link_strerror(rc), at);
        answer(rd, req->id, COAP_BAD_REQUEST, diag);
        return -1;
    }
    return 0;
}

/* The base of a registration: the given one or the source address and
 * port. The source must be in the target allowlist, the base must pass the
 * target check. Answers and returns -1 when refused. */
static int resolve_base(gw_rd_t *rd, const coap_server_request_t *req, const rd_params_t *p,
                        char *uri, size_t cap, coap_addr_t *addr)
{
    coap_addr_t src = *req->peer;
    coap_addr_unmap(&src);
    if (!gw_acl_allows_addr(rd->gw->acl, &src)) {
        answer(rd, req->id, COAP_FORBIDDEN, "source address not in the target allowlist");
        return -1;
    }
    if (!p->has_base) {
        source_base(req->peer, addr, uri, cap);
    } else {
        const char *bad = parse_base(p->base, addr);
        if (bad) {
            answer(rd, req->id, COAP_BAD_REQUEST, bad);
            return -1;
        }
        snprintf(uri, cap, "%s", p->base);
    }
    /* the base is a target like any other: no low port, no metadata
     * address unless named exactly (RFC 7252 §11.5) */
    char why[300];
    gw_acl_verdict_t v = gw_acl_check_target(rd->gw->acl, addr, NULL, why, sizeof why);
    if (v == GW_ACL_UNLISTED) {
        answer(rd, req->id, COAP_FORBIDDEN,
               "base not in the target allowlist (see proxy.allow_targets)");
        return -1;
    }
    if (v) {
        answer(rd, req->id, COAP_FORBIDDEN, why);
        return -1;
    }
    return 0;
}

/* --- the interface --- */

/* Who may take the name `ep` (RFC 9176 §7): nobody when a configured
 * device has it, whatever the case (answered, 0 returned); else *reg is
 * the registration it replaces (or NULL). §5: the same endpoint
 * registering again replaces its registration; another host may not take
 * the name, or a case variant of it, whatever base it gives (the base is
 * not proof of identity: anyone can write it). */
static int may_take_name(gw_rd_t *rd, const coap_server_request_t *req, const char *ep,
                         rd_reg_t **reg)
{
    *reg = rd_reg_by_name(rd, ep);
    if (rd_name_configured(rd, ep)) {
        answer(rd, req->id, COAP_FORBIDDEN, "name taken by a configured device");
        return 0;
    }
    if (*reg && !coap_addr_same_host(&(*reg)->registrant, req->peer)) {
        answer(rd, req->id, COAP_FORBIDDEN, "name registered by another endpoint");
        return 0;
    }
    return 1;
}

/* Room for one more registration: rd.max_per_source from this address,
 * 4.03 beyond (who asks is the obstacle: no smaller request would pass,
 * unlike 4.13), then rd.max_registrations in all, 4.13 with Size1. */
static int room_for_new(gw_rd_t *rd, const coap_server_request_t *req)
{
    const cfg_t *c = &rd->gw->cfg;
    if (rd_regs_from(rd, req->peer) >= c->rd_max_per_source) {
        char diag[96];
        snprintf(diag, sizeof diag,
                 "%u registrations from this address already (rd.max_per_source)",
                 c->rd_max_per_source);
        answer(rd, req->id, COAP_FORBIDDEN, diag);
        return 0;
    }
    if (gw_devices_count(rd->gw, GW_DEV_RD) >= c->rd_max_registrations) {
        too_large(rd, req->id, c->rd_max_registrations,
                  "too many registrations (rd.max_registrations)");
        return 0;
    }
    return 1;
}

static void answer_created(gw_rd_t *rd, uint64_t id, const rd_reg_t *r)
{
    coap_msg_opt_t loc[2] = {
        {.num = COAP_OPT_LOCATION_PATH, .len = 2, .v.ptr = (const uint8_t *)"rd"},
        {.num = COAP_OPT_LOCATION_PATH, .len = (uint16_t)strlen(r->id), .v.ptr = (uint8_t *)r->id}};
    coap_server_response_t resp = COAP_RESPONSE(COAP_CREATED);
    resp.opts = loc;
    resp.nopts = 2;
    coap_server_respond(rd->srv, id, &resp);
}

/* The registration `ep` becomes: r replaced in place (its ID kept, its
 * name now spelled as ep), or a new one. NULL on no memory. */
static rd_reg_t *take_name(gw_rd_t *rd, rd_reg_t *r, const char *ep)
{
    if (!r) return rd_reg_new(rd, ep);
    gw_device_t *old = rd_reg_device(rd, r);
    if (old) gw_device_remove(rd->gw, old); /* added again by the caller */
    snprintf(r->name, sizeof r->name, "%s", ep);
    return r;
}

/* POST /rd?ep=NAME[&lt=S][&base=URI] (RFC 9176 §5). */
static void do_register(gw_rd_t *rd, const coap_server_request_t *req)
{
    gw_t *gw = rd->gw;
    rd_params_t p;
    char diag[96];
    const char *bad = parse_params(req, gw->cfg.rd_max_lifetime_s, &p, diag, sizeof diag);
    if (!bad && !p.has_ep) bad = "ep (the endpoint name) is required: POST /rd?ep=NAME";
    if (bad) {
        answer(rd, req->id, COAP_BAD_REQUEST, bad);
        return;
    }
    char uri[300];
    coap_addr_t addr;
    if (check_payload(rd, req) || resolve_base(rd, req, &p, uri, sizeof uri, &addr)) return;
    rd_sweep(rd);
    rd_reg_t *r;
    if (!may_take_name(rd, req, p.ep, &r)) return;
    int is_new = !r;
    if (is_new && !room_for_new(rd, req)) return;
    r = take_name(rd, r, p.ep);
    gw_device_t *d = r ? gw_device_add_rd(gw, p.ep, uri, &addr) : NULL;
    if (d) snprintf(d->rd_id, sizeof d->rd_id, "%s", r->id);
    if (!d || set_links(d, req)) {
        if (r) rd_reg_remove(rd, r, "dropped");
        answer(rd, req->id, COAP_INTERNAL_SERVER_ERROR, "out of memory");
        return;
    }
    r->registrant = *req->peer;
    r->implicit_base = !p.has_base;
    mark_contact(d, req->peer);
    rd_set_lifetime(rd, d, p.has_lt ? p.lt : rd_default_lifetime(rd));
    rd_arm_expiry(rd);
    char from[COAP_ADDR_STRLEN];
    gw_log(CFG_LOG_INFO, "rd: %s %s at %s as /rd/%s, lifetime %u s, %zu bytes of links (from %s)",
           is_new ? "registered" : "re-registered", p.ep, d->uri, r->id, d->lifetime_s,
           d->links_len, coap_addr_str(req->peer, from, sizeof from));
    answer_created(rd, req->id, r);
}

/* A new base for an update; the device's URI and address change. */
static int rebase(gw_device_t *d, const char *uri, const coap_addr_t *addr)
{
    char *u = strdup(uri);
    if (!u) return -1;
    size_t l = strlen(u);
    while (l > 0 && u[l - 1] == '/') u[--l] = '\0';
    free(d->uri);
    d->uri = u;
    d->addr = *addr;
    return 0;
}

/* POST /rd/ID[?lt=S][&base=URI]: the registration update (RFC 9176
 * §5.3.1); a payload replaces the links. Without base, a registration
 * that had none takes the update's source address as its base. */
static void do_update(gw_rd_t *rd, const coap_server_request_t *req, rd_reg_t *r, gw_device_t *d)
{
    rd_params_t p;
    char diag[96];
    const char *bad = parse_params(req, rd->gw->cfg.rd_max_lifetime_s, &p, diag, sizeof diag);
    if (bad) {
        answer(rd, req->id, COAP_BAD_REQUEST, bad);
        return;
    }
    if (check_payload(rd, req)) return;
    char uri[300];
    coap_addr_t addr;
    if (resolve_base(rd, req, &p, uri, sizeof uri, &addr)) return;
    if ((p.has_base || r->implicit_base) && strcmp(uri, d->uri) && rebase(d, uri, &addr)) {
        answer(rd, req->id, COAP_INTERNAL_SERVER_ERROR, "out of memory");
        return;
    }
    if (p.has_base) r->implicit_base = 0;
    if (req->payload_len && set_links(d, req)) {
        answer(rd, req->id, COAP_INTERNAL_SERVER_ERROR, "out of memory");
        return;
    }
    r->registrant = *req->peer;
    mark_contact(d, req->peer);
    rd_set_lifetime(rd, d, p.has_lt ? p.lt : d->lifetime_s);
    rd_arm_expiry(rd);
    gw_log(CFG_LOG_INFO, "rd: updated %s (/rd/%s) at %s, lifetime %u s%s", r->name, r->id, d->uri,
           d->lifetime_s, req->payload_len ? ", new links" : "");
    answer(rd, req->id, COAP_CHANGED, NULL);
}

/* GET /rd/ID: the registered links (rd_admit let only the owner and
 * proxy.coap_clients this far). */
static void do_read(gw_rd_t *rd, const coap_server_request_t *req, gw_device_t *d)
{
    coap_server_response_t resp = COAP_RESPONSE(COAP_CONTENT);
    resp.payload = d->links;
    resp.payload_len = d->links_len;
    resp.content_format = COAP_CF_LINK_FORMAT;
    coap_server_respond(rd->srv, req->id, &resp);
}

/* /rd/ID: update, read, removal (RFC 9176 §5.3). */
static void on_registration(gw_rd_t *rd, const coap_server_request_t *req)
{
    rd_reg_t *r = rd_reg_by_id(rd, req->segs[1].s, req->segs[1].len);
    gw_device_t *d = r ? rd_reg_device(rd, r) : NULL;
    if (!d)
        answer(rd, req->id, COAP_NOT_FOUND, "no such registration");
    else if (req->method == COAP_GET)
        do_read(rd, req, d);
    else if (!coap_addr_same_host(&r->registrant, req->peer))
        answer(rd, req->id, COAP_FORBIDDEN, "only the registering host may change it");
    else if (req->method == COAP_POST)
        do_update(rd, req, r, d);
    else { /* DELETE: the methods of the resource are POST, GET, DELETE */
        rd_reg_remove(rd, r, "removed");
        rd_arm_expiry(rd);
        answer(rd, req->id, COAP_DELETED, NULL);
    }
}

static void on_rd(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    (void)srv;
    gw_rd_t *rd = arg;
    if (req->nsegs == 1 && req->method == COAP_POST)
        do_register(rd, req);
    else if (req->nsegs == 1)
        answer(rd, req->id, COAP_METHOD_NOT_ALLOWED, "POST /rd?ep=NAME to register");
    else if (req->nsegs == 2)
        on_registration(rd, req);
    else
        answer(rd, req->id, COAP_NOT_FOUND, "no such registration");
}

/* RFC 9176 §7 with RFC 7252 §11.3: who may talk to the directory, asked
 * before the server keeps anything for the request (a Block1 upload of
 * links). A source that could never register (not an allowed target) and
 * is not in proxy.coap_clients gets a bare 4.03; /rd/ID is its owner's (any
 * port) and proxy.coap_clients' alone. Nothing larger than the request
 * goes back to a source that may be forged. */
static uint8_t rd_admit(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    (void)srv;
    gw_rd_t *rd = arg;
    int trusted = gw_clients_allow(rd->gw->coap_clients, req->peer);
    if (!trusted && !gw_acl_allows_addr(rd->gw->acl, req->peer)) return COAP_FORBIDDEN;
    if (req->nsegs != 2) return 0;
    rd_reg_t *r = rd_reg_by_id(rd, req->segs[1].s, req->segs[1].len);
    if (!r) return COAP_NOT_FOUND;
    return trusted || coap_addr_same_host(&r->registrant, req->peer) ? 0 : COAP_FORBIDDEN;
}

gw_rd_t *gw_rd_new(gw_t *gw, coap_server_t *srv)
{
    gw_rd_t *rd = calloc(1, sizeof *rd);
    if (!rd) return NULL;
    rd->gw = gw;
    rd->srv = srv;
    rd->timer = base_loop_timer_new(gw->loop, rd_on_expiry, rd);
    /* RFC 9176 §4.3: the registration interface is discovered with
     * GET /.well-known/core?rt=core.rd */
    coap_link_attrs_t a = {.rt = "core.rd", .ct = COAP_CF_LINK_FORMAT, .sz = -1};
    unsigned methods =
        COAP_METHOD_BIT(COAP_POST) | COAP_METHOD_BIT(COAP_GET) | COAP_METHOD_BIT(COAP_DELETE);
    if (rd->timer) rd->res = coap_server_add(srv, "/rd", COAP_RES_PREFIX, methods, on_rd, rd, &a);
    if (!rd->res) {
        gw_rd_free(rd);
        return NULL;
    }
    coap_resource_set_admit(rd->res, rd_admit, rd);
    /* links over the limit are refused while they arrive, not after the
     * whole Block1 upload (RFC 7959 §2.9.3) */
    coap_resource_set_max_upload(rd->res, gw->cfg.rd_max_links_bytes);
    return rd;
}

void gw_rd_reloaded(gw_rd_t *rd)
{
    if (!rd) return;
    coap_resource_set_max_upload(rd->res, rd->gw->cfg.rd_max_links_bytes);
    rd_regs_reloaded(rd);
}

void gw_rd_free(gw_rd_t *rd)
{
    if (!rd) return;
    if (rd->res) coap_server_remove(rd->srv, rd->res);
    if (rd->timer) base_loop_timer_free(rd->timer);
    rd_regs_free(rd);
    free(rd);
}
