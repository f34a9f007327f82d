/*
 * rd_params.c - the Resource Directory's reading of a request (RFC 9176
 * §5): query parameters, the link-format payload, the base the device is
 * reached at, and the answers' forms.
 */
#include "rd_internal.h"

#include "coap_cf.h"
#include "coap_link.h"
#include "coap_uri.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --- answers --- */

void rd_answer(const rd_call_t *c, uint8_t code, const char *diag)
{
    if (!c->srv) {
        rd_simple_outcome(c, code, diag);
        return;
    }
    coap_server_response_t r = COAP_RESPONSE(code);
    if (diag) { /* RFC 7252 §5.5.2: a diagnostic payload */
        r.payload = diag;
        r.payload_len = strlen(diag);
        r.content_format = COAP_CF_TEXT_PLAIN;
    }
    coap_server_respond(c->srv, c->req->id, &r);
}

void rd_too_large(const rd_call_t *c, uint32_t limit, const char *diag)
{
    if (!c->srv) {
        rd_simple_outcome(c, COAP_REQUEST_ENTITY_TOO_LARGE, diag);
        return;
    }
    coap_msg_opt_t size1 = {.num = COAP_OPT_SIZE1, .is_inline = 1};
    size1.len = (uint16_t)coap_uint_encode(limit, size1.v.bytes);
    coap_server_response_t r = COAP_RESPONSE(COAP_REQUEST_ENTITY_TOO_LARGE);
    r.payload = diag;
    r.payload_len = strlen(diag);
    r.content_format = COAP_CF_TEXT_PLAIN;
    r.opts = &size1;
    r.nopts = 1;
    coap_server_respond(c->srv, c->req->id, &r);
}

/* --- parameters --- */

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

/* Other endpoint attributes (d, et, ...) are accepted and ignored. */
const char *rd_parse_params(const rd_call_t *c, rd_params_t *p, char *diag, size_t cap)
{
    const coap_server_request_t *req = c->req;
    uint32_t max_lt = c->rd->gw->cfg.rd_max_lifetime_s;
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

/* --- payload --- */

char *rd_copy_links(const coap_server_request_t *req)
{
    char *links = malloc(req->payload_len + 1);
    if (!links) return NULL;
    if (req->payload_len) memcpy(links, req->payload, req->payload_len); /* NULL when empty */
    links[req->payload_len] = '\0';
    return links;
}

int rd_check_payload(const rd_call_t *c)
{
    const coap_server_request_t *req = c->req;
    uint32_t max = c->rd->gw->cfg.rd_max_links_bytes;
    if (req->content_format >= 0 && req->content_format != COAP_CF_LINK_FORMAT) {
        rd_answer(c, COAP_UNSUPPORTED_CONTENT_FORMAT,
                  "want application/link-format (Content-Format 40)");
        return -1;
    }
    if (req->payload_len > max) {
        rd_too_large(c, max, "link-format payload over rd.max_links_bytes");
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
        rd_answer(c, COAP_BAD_REQUEST, diag);
        return -1;
    }
    return 0;
}

/* --- the base --- */

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

int rd_over_conn(const char *uri)
{
    return !strncmp(uri, "coap+tcp://", 11) || !strncmp(uri, "coaps+tcp://", 12);
}

int rd_base_addr(const char *uri, coap_addr_t *addr)
{
    coap_parsed_uri_t u;
    if (coap_uri_parse_ex(&u, uri, COAP_URI_TCP) || !u.host_is_literal) return -1;
    return coap_addr_from_host(addr, u.host, u.port) ? -1 : 0;
}

/* The request's source as a base URI: SCHEME://ADDR:PORT, IPv6 in
 * brackets with a zone as %25 (RFC 6874). */
static void source_base(const char *scheme, const coap_addr_t *peer, coap_addr_t *addr, char *uri,
                        size_t cap)
{
    *addr = *peer;
    coap_addr_unmap(addr);
    char s[COAP_ADDR_STRLEN];
    coap_addr_str(addr, s, sizeof s);
    size_t n = (size_t)snprintf(uri, cap, "%s://", scheme);
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

/* Over DTLS the device is where its session is: coaps://SOURCE, and over
 * TLS where its connection is: coaps+tcp://SOURCE. A base naming anything
 * else would either widen access (another host) or go around the session
 * (plaintext), so none is taken. */
static int session_base(const rd_call_t *c, const rd_params_t *p, char *uri, size_t cap,
                        coap_addr_t *addr)
{
    if (p->has_base) {
        rd_answer(c, COAP_BAD_REQUEST,
                  "base: not with a DTLS registration (the device is reached through its "
                  "session)");
        return -1;
    }
    source_base(c->srv && c->srv == c->rd->gw->tls_srv ? "coaps+tcp" : "coaps", c->req->peer, addr,
                uri, cap);
    return 0;
}

int rd_resolve_base(const rd_call_t *c, const rd_params_t *p, char *uri, size_t cap,
                    coap_addr_t *addr)
{
    gw_t *gw = c->rd->gw;
    if (c->id) return session_base(c, p, uri, cap, addr);
    coap_addr_t src = *c->req->peer;
    coap_addr_unmap(&src);
    if (!gw_acl_allows_addr(gw->acl, &src)) {
        rd_answer(c, COAP_FORBIDDEN, "source address not in the target allowlist");
        return -1;
    }
    int over_tcp = c->srv && c->srv == gw->tcp_srv;
    if (over_tcp && p->has_base) { /* as over DTLS: nothing around the connection */
        rd_answer(c, COAP_BAD_REQUEST,
                  "base: not with a registration over TCP (the device is reached over its "
                  "connection)");
        return -1;
    }
    if (over_tcp) {
        source_base("coap+tcp", c->req->peer, addr, uri, cap);
    } else if (!p->has_base) {
        source_base("coap", c->req->peer, addr, uri, cap);
    } else {
        const char *bad = parse_base(p->base, addr);
        if (bad) {
            rd_answer(c, COAP_BAD_REQUEST, bad);
            return -1;
        }
        snprintf(uri, cap, "%s", p->base);
    }
    /* the base is a target like any other: no low port, no metadata
     * address unless named exactly (RFC 7252 §11.5) */
    char why[300];
    gw_acl_verdict_t v = gw_acl_check_target(gw->acl, addr, NULL, why, sizeof why);
    if (v == GW_ACL_UNLISTED) {
        rd_answer(c, COAP_FORBIDDEN, "base not in the target allowlist (see proxy.allow_targets)");
        return -1;
    }
    if (v) {
        rd_answer(c, COAP_FORBIDDEN, why);
        return -1;
    }
    return 0;
}

void rd_mark_contact(gw_device_t *d, const coap_addr_t *peer)
{
    coap_addr_t src = *peer, base = d->addr;
    coap_addr_unmap(&src);
    coap_addr_unmap(&base);
    if (!coap_addr_equal(&src, &base)) return;
    d->online = 1;
    d->last_seen = (int64_t)time(NULL);
}
