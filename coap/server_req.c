/*
 * server_req.c - requests coming in to the server role: option checks
 * (RFC 7252 §5.4.1, §5.7.2, control bytes), the URI, resource lookup and
 * method, the application's admission (before anything is kept for the
 * request), then Block2, Observe and Block1 (RFC 7959, RFC 7641) and the
 * handler.
 */
#include "server_internal.h"
#include "ep_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Exact match first, then the longest prefix resource covering the path. */
static coap_server_resource_t *find_resource(coap_server_t *srv, const char *path, size_t len)
{
    coap_server_resource_t *best = NULL;
    for (coap_server_resource_t *r = srv->resources; r; r = r->next) {
        if (r->path_len == len && memcmp(r->path, path, len) == 0) return r;
        if (!(r->flags & COAP_RES_PREFIX) || r->path_len > len) continue;
        int root = r->path_len == 1;
        if (memcmp(r->path, path, r->path_len) == 0 && (root || path[r->path_len] == '/') &&
            (!best || r->path_len > best->path_len))
            best = r;
    }
    return best;
}

/* Options this server acts on; everything else critical gets 4.02. Proxy-Uri
 * and Proxy-Scheme are known as well: refused with 5.05 below (§5.7.2). A
 * switch: the list scanned whole for every option was 150 instructions of
 * a GET. */
static int understood(uint16_t n)
{
    switch (n) {
    case COAP_OPT_IF_MATCH:
    case COAP_OPT_URI_HOST:
    case COAP_OPT_ETAG:
    case COAP_OPT_IF_NONE_MATCH:
    case COAP_OPT_OBSERVE:
    case COAP_OPT_URI_PORT:
    case COAP_OPT_URI_PATH:
    case COAP_OPT_CONTENT_FORMAT:
    case COAP_OPT_URI_QUERY:
    case COAP_OPT_ACCEPT:
    case COAP_OPT_BLOCK2:
    case COAP_OPT_BLOCK1:
    case COAP_OPT_SIZE2:
    case COAP_OPT_SIZE1:
    case COAP_OPT_REQUEST_TAG:
    case COAP_OPT_HOP_LIMIT:
    case COAP_OPT_NO_RESPONSE:
    case COAP_OPT_PROXY_URI:
    case COAP_OPT_PROXY_SCHEME:
        return 1;
    default:
        return 0;
    }
}

static int critical_unknown(const coap_msg_t *m)
{
    for (unsigned i = 0; i < m->opt_count; i++) {
        uint16_t n = m->opts[i].num;
        if (coap_opt_is_critical(n) && !understood(n)) return n;
    }
    return coap_msg_check_options(m, NULL);
}

static int opt_int(const coap_msg_t *m, uint16_t num)
{
    uint32_t v;
    return coap_msg_get_uint(m, num, &v) ? -1 : (int)v;
}

/* RFC 7252 §3.2: URI options are strings in Net-Unicode form (RFC 5198
 * §2), which has no control characters. One there would make "rd\0" pass
 * for "rd" (the path is a C string) and has no place in a Proxy-Uri.
 * Returns the name of the first option with one, or NULL. */
static const char *control_byte_option(const coap_msg_t *m)
{
    for (unsigned i = 0; i < m->opt_count; i++) {
        const coap_msg_opt_t *o = &m->opts[i];
        const char *name = o->num == COAP_OPT_URI_PATH       ? "Uri-Path"
                           : o->num == COAP_OPT_URI_QUERY    ? "Uri-Query"
                           : o->num == COAP_OPT_URI_HOST     ? "Uri-Host"
                           : o->num == COAP_OPT_PROXY_URI    ? "Proxy-Uri"
                           : o->num == COAP_OPT_PROXY_SCHEME ? "Proxy-Scheme"
                                                             : NULL;
        const uint8_t *v = coap_msg_opt_value(o);
        for (size_t j = 0; name && j < o->len; j++)
            if (v[j] < 0x20 || v[j] == 0x7F) return name;
    }
    return NULL;
}

/* Fills path, segments and query parts from the Uri-* options. */
static int split_uri(const coap_msg_t *m, char *path, size_t cap, coap_uri_part_t *segs,
                     size_t *nsegs, coap_uri_part_t *query, size_t *nquery)
{
    size_t n = 0;
    *nsegs = *nquery = 0;
    for (unsigned i = 0; i < m->opt_count; i++) {
        const coap_msg_opt_t *o = &m->opts[i];
        const char *v = (const char *)coap_msg_opt_value(o);
        if (o->num == COAP_OPT_URI_PATH) {
            if (*nsegs == COAP_URI_MAX_PARTS || n + 1 + o->len >= cap) return -1;
            path[n++] = '/';
            memcpy(path + n, v, o->len);
            segs[(*nsegs)++] = (coap_uri_part_t){path + n, o->len};
            n += o->len;
        } else if (o->num == COAP_OPT_URI_QUERY) {
            if (*nquery == COAP_URI_MAX_PARTS) return -1;
            query[(*nquery)++] = (coap_uri_part_t){v, o->len};
        }
    }
    if (n == 0) path[n++] = '/';
    path[n] = '\0';
    return 0;
}

static srv_req_t *pending_add(coap_server_t *srv, coap_ep_req_t *er, const coap_msg_t *m)
{
    srv_req_t *sr = malloc(sizeof *sr); /* not calloc: as in ep_dedup.c's dd_add */
    if (!sr) return NULL;
    *sr = (srv_req_t){0};
    sr->id = coap_ep_req_id(er);
    sr->request_size = coap_msg_size(m);
    sr->epreq = er;
    sr->peer = *coap_ep_req_peer(er);
    sr->token_len = m->token_len;
    memcpy(sr->token, m->token, m->token_len);
    sr->method = m->code;
    for (const coap_msg_opt_t *o = coap_msg_find_opt(m, COAP_OPT_ETAG); o && sr->netags < 4;
         o = coap_msg_next_opt(m, o)) {
        uint8_t n = (uint8_t)(o->len > 8 ? 8 : o->len);
        sr->etag_lens[sr->netags] = n;
        memcpy(sr->etags[sr->netags], coap_msg_opt_value(o), n);
        sr->netags++;
    }
    coap_srv_echo_request_(srv, sr, m); /* RFC 9175 §2.4 */
    /* A group member answers once, later and size-bounded (ep_mcast.c,
     * RFC 7252 §8.2.1) instead: an Echo challenge would be an error,
     * which §8.2 suppresses, and the client would never hear of it. */
    if (coap_ep_req_multicast(er)) sr->verified = 1;
    base_list_push_back(&srv->pending, &sr->link);
    coap_ep_req_set_owner(er, sr); /* coap_server_respond() finds it through er */
    return sr;
}

/* What every request goes through before the server looks at it:
 * critical options (§5.4.1), the proxy options without a proxy (§5.7.2)
 * and control bytes in URI options. Answers and returns -1 on failure. */
static int check_options(coap_server_t *srv, const srv_req_t *sr, const coap_msg_t *m, int proxied)
{
    char diag[64];
    int bad = critical_unknown(m);
    if (bad) { /* §5.4.1 */
        snprintf(diag, sizeof diag, "unrecognized critical option %d", bad);
        coap_server_error_(srv, sr->id, COAP_BAD_OPTION, diag);
        return -1;
    }
    if (proxied && !srv->proxy) {
        coap_server_error_(srv, sr->id, COAP_PROXYING_NOT_SUPPORTED, "this server is not a proxy");
        return -1; /* §5.7.2 */
    }
    const char *ctl = control_byte_option(m);
    if (ctl) {
        snprintf(diag, sizeof diag, "control byte in %s", ctl);
        coap_server_error_(srv, sr->id, COAP_BAD_REQUEST, diag);
        return -1;
    }
    return 0;
}

/* The resource (NULL for a proxied request) and its method: 4.04, 4.05. */
static int find_target(coap_server_t *srv, const srv_req_t *sr, const coap_msg_t *m,
                       const char *path, int proxied, coap_server_resource_t **res)
{
    *res = proxied ? NULL : find_resource(srv, path, strlen(path));
    if (!*res && !proxied) {
        coap_server_error_(srv, sr->id, COAP_NOT_FOUND, "no such resource");
        return -1;
    }
    if (*res && (m->code >= 32 || !((*res)->methods & COAP_METHOD_BIT(m->code)))) {
        coap_server_error_(srv, sr->id, COAP_METHOD_NOT_ALLOWED, "method not allowed here");
        return -1;
    }
    return 0;
}

/* The application's admission (RFC 7252 §11.3), before anything is kept
 * for the request: a refusal is the bare code. Returns -1 when refused. */
static int admit(coap_server_t *srv, const coap_server_request_t *req)
{
    coap_admit_cb cb = req->resource ? req->resource->admit : srv->proxy_admit;
    void *arg = req->resource ? req->resource->admit_arg : srv->proxy_admit_arg;
    uint8_t code = cb ? cb(srv, req, arg) : 0;
    if (!code) return 0;
    coap_server_response_t r = COAP_RESPONSE(code);
    coap_server_respond(srv, req->id, &r);
    return -1;
}

/* The Uri-Query of a request, '&'-joined ("" for none): what an observer
 * asked for, kept for coap_server_notify_each(). NULL on no memory (the
 * observer then has the empty query). */
static char *join_query(const coap_server_request_t *req)
{
    size_t n = 0;
    for (size_t i = 0; i < req->nquery; i++) n += req->query[i].len + 1;
    char *q = malloc(n + 1), *p = q;
    for (size_t i = 0; q && i < req->nquery; i++) {
        if (i) *p++ = '&';
        memcpy(p, req->query[i].s, req->query[i].len);
        p += req->query[i].len;
    }
    if (q) *p = '\0';
    return q;
}

/* Block2 of a later block, Observe and Block1 (RFC 7959, RFC 7641): runs
 * the handler when the request (its whole body) is there. */
static void serve(coap_server_t *srv, srv_req_t *sr, coap_server_request_t *req, int proxied)
{
    const coap_msg_t *m = req->msg;
    coap_server_resource_t *res = req->resource;
    coap_block_info_t b;
    int bert = coap_ep_bert_(srv->ep, &sr->peer); /* SZX 7 only then (RFC 8323 §6) */
    int hb = coap_block_get_bert(m, COAP_OPT_BLOCK2, &b, bert);
    if (hb < 0 || coap_block_get_bert(m, COAP_OPT_BLOCK1, &b, bert) < 0) {
        coap_server_error_(srv, sr->id, COAP_BAD_REQUEST, "malformed block option");
        return;
    }
    if (hb == 1) {
        coap_block_get_bert(m, COAP_OPT_BLOCK2, &b, bert);
        sr->has_b2 = 1;
        sr->b2_num = b.num;
        sr->b2_szx = b.szx;
    }
    /* RFC 9175 §2.4 item 3: before the handler sends anything to this
     * address (and before a Block1 body is kept for it), the address
     * proves it receives what is sent to it */
    if (res && (res->flags & COAP_RES_VERIFY_SOURCE) && !sr->verified) {
        sr->demand_echo = 1;
        coap_server_response_t r = COAP_RESPONSE(COAP_UNAUTHORIZED);
        coap_server_respond(srv, sr->id, &r);
        return;
    }
    /* Unsafe requests, and every proxied one (the origin is asked once per
     * transfer), keep their whole answer for the Block2 requests after. */
    if ((m->code != COAP_GET || proxied) && !(sr->store_key = coap_srv_request_key_(m, 0))) {
        coap_server_error_(srv, sr->id, COAP_INTERNAL_SERVER_ERROR, "out of memory");
        return;
    }
    int has_b1 = coap_msg_find_opt(m, COAP_OPT_BLOCK1) != NULL;
    if (sr->store_key && sr->has_b2 && sr->b2_num > 0 && !has_b1) {
        if (!coap_srv_respond_stored_(srv, sr))
            coap_server_error_(srv, sr->id, COAP_REQUEST_ENTITY_INCOMPLETE,
                               "response no longer available");
        return;
    }
    if (res && coap_srv_preconditions_(srv, req)) return;
    /* RFC 7641 §4.1: GET with Observe 0 registers (when the answer is a
     * success); Observe 1 deregisters. A block request other than the first
     * does not register again (RFC 7959 §2.6). */
    if (res && req->observe == 0 && m->code == COAP_GET && (res->flags & COAP_RES_OBSERVABLE) &&
        sr->b2_num == 0) {
        sr->want_observe = 1;
        sr->obs_query = join_query(req);
    }
    if (res && req->observe == 1)
        coap_obs_deregister_(srv, res, &sr->peer, m->token, m->token_len, COAP_DEREG_EXPLICIT);
    upload_t *up = NULL;
    if (coap_block_get_bert(m, COAP_OPT_BLOCK1, &b, bert) == 1) {
        if (b.szx == COAP_BLOCK_BERT && b.more && m->payload_len % COAP_BERT_UNIT) {
            /* RFC 8323 §6: a BERT block but the last is whole 1024-byte units */
            coap_server_error_(srv, sr->id, COAP_BAD_REQUEST, "BERT block not whole units");
            return;
        }
        sr->has_b1 = 1;
        sr->b1_num = b.num;
        sr->b1_szx = b.szx;
        int rc = coap_srv_block1_receive_(srv, sr, m, &b, &up);
        if (rc < 0) coap_server_error_(srv, sr->id, COAP_INTERNAL_SERVER_ERROR, "out of memory");
        if (rc <= 0) return;
        req->payload = up->body.data;
        req->payload_len = up->body.len;
    } else if (m->payload_len > coap_srv_max_upload_(srv, sr)) {
        coap_srv_too_large_(srv, sr); /* the limit holds for a body in one datagram too */
        return;
    }
    if (res)
        res->handler(srv, req, res->arg);
    else
        srv->proxy(srv, req, srv->proxy_arg);
    if (up) {
        free(up->kept.key);
        base_buf_free(&up->body);
        free(up);
    }
}

void coap_srv_on_request_(coap_ep_t *ep, coap_ep_req_t *er, const coap_msg_t *m, void *ctx)
{
    coap_server_t *srv = ctx;
    srv_req_t *sr = pending_add(srv, er, m);
    if (!sr) {
        coap_ep_req_drop(srv->ep, er);
        return;
    }
    int proxied =
        coap_msg_find_opt(m, COAP_OPT_PROXY_URI) || coap_msg_find_opt(m, COAP_OPT_PROXY_SCHEME);
    if (check_options(srv, sr, m, proxied)) return;
    char path[COAP_URI_BUF];
    coap_uri_part_t segs[COAP_URI_MAX_PARTS], query[COAP_URI_MAX_PARTS];
    coap_server_request_t req = {.id = sr->id,
                                 .method = m->code,
                                 .msg = m,
                                 .peer = &sr->peer,
                                 .identity = coap_ep_rx_identity(ep),
                                 .path = path,
                                 .segs = segs,
                                 .query = query,
                                 .payload = m->payload,
                                 .payload_len = m->payload_len,
                                 .content_format = opt_int(m, COAP_OPT_CONTENT_FORMAT),
                                 .accept = opt_int(m, COAP_OPT_ACCEPT),
                                 .observe = opt_int(m, COAP_OPT_OBSERVE)};
    if (split_uri(m, path, sizeof path, segs, &req.nsegs, query, &req.nquery)) {
        coap_server_error_(srv, sr->id, COAP_BAD_REQUEST, "URI too long");
        return;
    }
    if (find_target(srv, sr, m, path, proxied, &req.resource) || admit(srv, &req)) return;
    sr->res = req.resource;
    serve(srv, sr, &req, proxied);
}
