/*
 * server.c - the server role: resource lookup, method and option checks,
 * deferred responses, ETag validation (RFC 7252 §5.10.6), Block1 uploads
 * and Block2 slicing (RFC 7959).
 */
#include "server_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- resources --- */

coap_resource_t *coap_server_add(coap_server_t *srv, const char *path, unsigned flags,
                                 unsigned methods, coap_handler_t handler, void *arg,
                                 const coap_link_attrs_t *attrs)
{
    if (!path || path[0] != '/' || !handler) return NULL;
    coap_resource_t *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        return NULL;
    }
    r->path_len = strlen(path);
    if (r->path_len > 1 && r->path[r->path_len - 1] == '/') r->path[--r->path_len] = '\0';
    r->srv = srv;
    r->flags = flags;
    r->methods = methods;
    r->handler = handler;
    r->arg = arg;
    r->ct = -1;
    r->sz = -1;
    if (attrs) {
        r->rt = attrs->rt ? strdup(attrs->rt) : NULL;
        r->if_ = attrs->if_ ? strdup(attrs->if_) : NULL;
        r->title = attrs->title ? strdup(attrs->title) : NULL;
        r->ct = attrs->ct;
        r->sz = attrs->sz;
    }
    coap_resource_t **pp = &srv->resources; /* keep registration order */
    while (*pp) pp = &(*pp)->next;
    *pp = r;
    return r;
}

void coap_server_remove(coap_server_t *srv, coap_resource_t *res)
{
    coap_obs_remove_all_(srv, res, COAP_DEREG_SHUTDOWN);
    for (srv_req_t *sr = srv->pending; sr; sr = sr->next)
        if (sr->res == res) sr->res = NULL;
    for (coap_resource_t **pp = &srv->resources; *pp; pp = &(*pp)->next) {
        if (*pp == res) {
            *pp = res->next;
            break;
        }
    }
    if (srv->wellknown == res) srv->wellknown = NULL;
    free(res->path);
    free(res->rt);
    free(res->if_);
    free(res->title);
    free(res);
}

const char *coap_resource_path(const coap_resource_t *res)
{
    return res->path;
}

void coap_resource_set_max_upload(coap_resource_t *res, uint32_t max)
{
    res->max_upload = max;
}

/* Exact match first, then the longest prefix resource covering the path. */
static coap_resource_t *find_resource(coap_server_t *srv, const char *path, size_t len)
{
    coap_resource_t *best = NULL;
    for (coap_resource_t *r = srv->resources; r; r = r->next) {
        if (r->path_len == len && memcmp(r->path, path, len) == 0) return r;
        if (!(r->flags & COAP_RES_PREFIX) || r->path_len > len) continue;
        int root = r->path_len == 1;
        if (memcmp(r->path, path, r->path_len) == 0 && (root || path[r->path_len] == '/') &&
            (!best || r->path_len > best->path_len))
            best = r;
    }
    return best;
}

/* --- answering --- */

static srv_req_t *pending_take(coap_server_t *srv, uint64_t id)
{
    for (srv_req_t **pp = &srv->pending; *pp; pp = &(*pp)->next) {
        if ((*pp)->id == id) {
            srv_req_t *sr = *pp;
            *pp = sr->next;
            return sr;
        }
    }
    return NULL;
}

int coap_server_fill_(coap_msg_t *m, const coap_response_t *resp)
{
    int rc = COAP_OK;
    if (resp->etag && resp->etag_len)
        rc = coap_msg_add_opt(m, COAP_OPT_ETAG, resp->etag, resp->etag_len);
    if (!rc && resp->content_format >= 0)
        rc = coap_msg_add_uint(m, COAP_OPT_CONTENT_FORMAT, (uint32_t)resp->content_format);
    if (!rc && resp->max_age >= 0)
        rc = coap_msg_add_uint(m, COAP_OPT_MAX_AGE, (uint32_t)resp->max_age);
    for (size_t i = 0; !rc && i < resp->nopts; i++)
        rc = coap_msg_add_opt(m, resp->opts[i].num, coap_opt_value(&resp->opts[i]),
                              resp->opts[i].len);
    m->payload = resp->payload;
    m->payload_len = resp->payload_len;
    return rc;
}

/* §5.10.6.2: a GET carrying the current ETag is answered 2.03 Valid. */
static int etag_matches(const srv_req_t *sr, const coap_response_t *resp)
{
    if (!resp->etag || sr->method != COAP_GET || resp->code != COAP_CONTENT) return 0;
    for (unsigned i = 0; i < sr->netags; i++)
        if (sr->etag_lens[i] == resp->etag_len && !memcmp(sr->etags[i], resp->etag, resp->etag_len))
            return 1;
    return 0;
}

/* The block size of this response: the server's, or the smaller one the
 * client asked for (RFC 7959 §2.4, early negotiation). */
static unsigned block_szx(const coap_server_t *srv, const srv_req_t *sr)
{
    return sr->has_b2 && sr->b2_szx < srv->p.block_szx ? sr->b2_szx : srv->p.block_szx;
}

/* RFC 7959 §2.4: serves the requested block of a representation larger
 * than one block (handlers always produce the whole representation). */
static int slice_block2(coap_server_t *srv, const srv_req_t *sr, coap_msg_t *m)
{
    unsigned szx = block_szx(srv, sr);
    size_t bs = coap_block_size(szx);
    if (!sr->has_b2 && m->payload_len <= bs) return COAP_OK;
    size_t total = m->payload_len;
    uint32_t num = sr->has_b2 ? sr->b2_num : 0;
    if (sr->has_b2 && sr->b2_szx > szx)
        num = (uint32_t)((size_t)num * coap_block_size(sr->b2_szx) / bs);
    size_t off = (size_t)num * bs;
    if (off > total || (off == total && total)) return COAP_ERR_BLOCK;
    size_t n = total - off < bs ? total - off : bs;
    m->payload += off;
    m->payload_len = n;
    int rc = coap_block_add(m, COAP_OPT_BLOCK2, num, off + n < total, szx);
    if (!rc && num == 0) rc = coap_msg_add_uint(m, COAP_OPT_SIZE2, (uint32_t)total);
    return rc;
}

static void on_response_sent(coap_ep_t *ep, int result, const coap_msg_t *ack, void *arg);

/* A response whose end on_complete wants to hear of. The endpoint may
 * report it after coap_server_free() (a separate CON still being
 * retransmitted): the server then unhooks it (srv = NULL). */
struct sent_ctx {
    struct sent_ctx *next;
    coap_server_t *srv;
    uint64_t id;
};

static void sent_unlink(coap_server_t *srv, sent_ctx_t *ctx)
{
    for (sent_ctx_t **pp = &srv->sending; *pp; pp = &(*pp)->next) {
        if (*pp == ctx) {
            *pp = ctx->next;
            return;
        }
    }
}

int coap_server_respond(coap_server_t *srv, uint64_t id, const coap_response_t *resp)
{
    srv_req_t *sr = pending_take(srv, id);
    if (!sr) return COAP_ERR_INVALID;
    coap_msg_t m;
    coap_msg_init(&m, COAP_CON, resp->code, 0);
    int valid = etag_matches(sr, resp);
    if (valid) m.code = COAP_VALID;
    int rc = coap_server_fill_(&m, resp);
    if (valid) m.payload_len = 0;
    /* RFC 7959 §2.3: 2.31 echoes the block with M set; the final answer
     * echoes the last block. */
    if (!rc && sr->has_b1)
        rc = coap_block_add(&m, COAP_OPT_BLOCK1, sr->b1_num, m.code == COAP_CONTINUE, sr->b1_szx);
    /* RFC 7641 §4.1: a success registers (or renews); §4.2: an error ends
     * the observation a re-registration was renewing. */
    if (!rc && sr->want_observe && sr->res && COAP_CODE_CLASS(resp->code) == 2)
        coap_obs_register_(srv, sr, &m);
    else if (!rc && sr->want_observe && sr->res)
        coap_obs_deregister_(srv, sr->res, &sr->peer, sr->token, sr->token_len, COAP_DEREG_ERROR);
    /* RFC 7959 §2.7: the whole answer to an unsafe request is kept when the
     * client is to fetch it in blocks (at the size it negotiated). */
    if (!rc && sr->store_key)
        coap_srv_store_response_(srv, sr, resp,
                                 COAP_CODE_CLASS(m.code) == 2 &&
                                     m.payload_len > coap_block_size(block_szx(srv, sr)));
    if (!rc && COAP_CODE_CLASS(m.code) == 2 && m.payload_len) rc = slice_block2(srv, sr, &m);
    if (rc == COAP_ERR_BLOCK) { /* a block beyond the end (RFC 7959 §2.4) */
        coap_msg_init(&m, COAP_CON, COAP_BAD_OPTION, 0);
        rc = COAP_OK;
    }
    sent_ctx_t *ctx = srv->on_complete ? malloc(sizeof *ctx) : NULL;
    if (ctx) { /* linked first: a piggybacked answer completes at once */
        *ctx = (sent_ctx_t){srv->sending, srv, id};
        srv->sending = ctx;
    }
    if (!rc)
        rc = coap_ep_respond(srv->ep, sr->epreq, &m, ctx ? on_response_sent : NULL, ctx);
    else
        coap_ep_req_drop(srv->ep, sr->epreq);
    if (rc && ctx) { /* `done` does not run on failure */
        sent_unlink(srv, ctx);
        free(ctx);
    }
    free(sr->store_key);
    free(sr);
    return rc;
}

static void on_response_sent(coap_ep_t *ep, int result, const coap_msg_t *ack, void *arg)
{
    (void)ep;
    (void)ack;
    sent_ctx_t *ctx = arg;
    coap_server_t *srv = ctx->srv;
    if (srv) sent_unlink(srv, ctx);
    if (srv && srv->on_complete) srv->on_complete(srv, ctx->id, result, srv->on_complete_arg);
    free(ctx);
}

/* Answers at once with a diagnostic payload (§5.5.2). */
void coap_server_error_(coap_server_t *srv, uint64_t id, uint8_t code, const char *diag)
{
    coap_response_t r = COAP_RESPONSE(code);
    r.payload = diag;
    r.payload_len = diag ? strlen(diag) : 0;
    if (diag) r.content_format = 0;
    coap_server_respond(srv, id, &r);
}

/* --- requests --- */

/* Options this server acts on; everything else critical gets 4.02. Proxy-Uri
 * and Proxy-Scheme are known as well: refused with 5.05 below (§5.7.2). */
static const uint16_t understood[] = {
    COAP_OPT_IF_MATCH,    COAP_OPT_URI_HOST,  COAP_OPT_ETAG,         COAP_OPT_IF_NONE_MATCH,
    COAP_OPT_OBSERVE,     COAP_OPT_URI_PORT,  COAP_OPT_URI_PATH,     COAP_OPT_CONTENT_FORMAT,
    COAP_OPT_URI_QUERY,   COAP_OPT_ACCEPT,    COAP_OPT_BLOCK2,       COAP_OPT_BLOCK1,
    COAP_OPT_SIZE2,       COAP_OPT_SIZE1,     COAP_OPT_REQUEST_TAG,  COAP_OPT_HOP_LIMIT,
    COAP_OPT_NO_RESPONSE, COAP_OPT_PROXY_URI, COAP_OPT_PROXY_SCHEME, 0};

static int critical_unknown(const coap_msg_t *m)
{
    for (unsigned i = 0; i < m->opt_count; i++) {
        uint16_t n = m->opts[i].num;
        if (!coap_opt_is_critical(n)) continue;
        int known = 0;
        for (const uint16_t *k = understood; *k; k++) known |= *k == n;
        if (!known) return n;
    }
    return coap_msg_check_options(m, NULL);
}

static int opt_int(const coap_msg_t *m, uint16_t num)
{
    uint32_t v;
    return coap_msg_get_uint(m, num, &v) ? -1 : (int)v;
}

/* Fills path, segments and query parts from the Uri-* options. */
static int split_uri(const coap_msg_t *m, char *path, size_t cap, coap_uri_part_t *segs,
                     size_t *nsegs, coap_uri_part_t *query, size_t *nquery)
{
    size_t n = 0;
    *nsegs = *nquery = 0;
    for (unsigned i = 0; i < m->opt_count; i++) {
        const coap_opt_t *o = &m->opts[i];
        const char *v = (const char *)coap_opt_value(o);
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
    srv_req_t *sr = calloc(1, sizeof *sr);
    if (!sr) return NULL;
    sr->id = coap_ep_req_id(er);
    sr->epreq = er;
    sr->peer = *coap_ep_req_peer(er);
    sr->token_len = m->token_len;
    memcpy(sr->token, m->token, m->token_len);
    sr->method = m->code;
    for (const coap_opt_t *o = coap_msg_find_opt(m, COAP_OPT_ETAG); o && sr->netags < 4;
         o = coap_msg_next_opt(m, o)) {
        uint8_t n = (uint8_t)(o->len > 8 ? 8 : o->len);
        sr->etag_lens[sr->netags] = n;
        memcpy(sr->etags[sr->netags], coap_opt_value(o), n);
        sr->netags++;
    }
    sr->next = srv->pending;
    srv->pending = sr;
    return sr;
}

static void on_request(coap_ep_t *ep, coap_ep_req_t *er, const coap_msg_t *m, void *ctx)
{
    (void)ep;
    coap_server_t *srv = ctx;
    srv_req_t *sr = pending_add(srv, er, m);
    if (!sr) {
        coap_ep_req_drop(srv->ep, er);
        return;
    }
    char diag[64];
    int bad = critical_unknown(m);
    if (bad) { /* §5.4.1 */
        snprintf(diag, sizeof diag, "unrecognized critical option %d", bad);
        coap_server_error_(srv, sr->id, COAP_BAD_OPTION, diag);
        return;
    }
    int proxied =
        coap_msg_find_opt(m, COAP_OPT_PROXY_URI) || coap_msg_find_opt(m, COAP_OPT_PROXY_SCHEME);
    if (proxied && !srv->proxy) {
        coap_server_error_(srv, sr->id, COAP_PROXYING_NOT_SUPPORTED, "this server is not a proxy");
        return; /* §5.7.2 */
    }
    char path[1100];
    coap_uri_part_t segs[COAP_URI_MAX_PARTS], query[COAP_URI_MAX_PARTS];
    coap_request_t req = {.id = sr->id,
                          .method = m->code,
                          .msg = m,
                          .peer = &sr->peer,
                          .path = path,
                          .segs = segs,
                          .query = query,
                          .payload = m->payload,
                          .payload_len = m->payload_len};
    if (split_uri(m, path, sizeof path, segs, &req.nsegs, query, &req.nquery)) {
        coap_server_error_(srv, sr->id, COAP_BAD_REQUEST, "URI too long");
        return;
    }
    coap_resource_t *res = proxied ? NULL : find_resource(srv, path, strlen(path));
    if (!res && !proxied) {
        coap_server_error_(srv, sr->id, COAP_NOT_FOUND, "no such resource");
        return;
    }
    if (res && (m->code >= 32 || !(res->methods & COAP_METHOD_BIT(m->code)))) {
        coap_server_error_(srv, sr->id, COAP_METHOD_NOT_ALLOWED, "method not allowed here");
        return;
    }
    sr->res = req.resource = res;
    req.content_format = opt_int(m, COAP_OPT_CONTENT_FORMAT);
    req.accept = opt_int(m, COAP_OPT_ACCEPT);
    req.observe = opt_int(m, COAP_OPT_OBSERVE);
    coap_block_t b;
    int hb = coap_block_get(m, COAP_OPT_BLOCK2, &b);
    if (hb < 0 || coap_block_get(m, COAP_OPT_BLOCK1, &b) < 0) {
        coap_server_error_(srv, sr->id, COAP_BAD_REQUEST, "malformed block option");
        return;
    }
    if (hb == 1) {
        coap_block_get(m, COAP_OPT_BLOCK2, &b);
        sr->has_b2 = 1;
        sr->b2_num = b.num;
        sr->b2_szx = b.szx;
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
    /* RFC 7641 §4.1: GET with Observe 0 registers (when the answer is a
     * success); Observe 1 deregisters. A block request other than the first
     * does not register again (RFC 7959 §2.6). */
    if (res && req.observe == 0 && m->code == COAP_GET && (res->flags & COAP_RES_OBSERVABLE) &&
        sr->b2_num == 0)
        sr->want_observe = 1;
    if (res && req.observe == 1)
        coap_obs_deregister_(srv, res, &sr->peer, m->token, m->token_len, COAP_DEREG_EXPLICIT);
    upload_t *up = NULL;
    if (coap_block_get(m, COAP_OPT_BLOCK1, &b) == 1) {
        sr->has_b1 = 1;
        sr->b1_num = b.num;
        sr->b1_szx = b.szx;
        int rc = coap_srv_block1_receive_(srv, sr, m, &b, &up);
        if (rc < 0) coap_server_error_(srv, sr->id, COAP_INTERNAL_SERVER_ERROR, "out of memory");
        if (rc <= 0) return;
        req.payload = up->body;
        req.payload_len = up->len;
    } else if (m->payload_len > coap_srv_max_upload_(srv, sr)) {
        coap_srv_too_large_(srv, sr); /* the limit holds for a body in one datagram too */
        return;
    }
    if (res)
        res->handler(srv, &req, res->arg);
    else
        srv->proxy(srv, &req, srv->proxy_arg);
    if (up) {
        free(up->key);
        free(up->body);
        free(up);
    }
}

/* --- life cycle --- */

coap_server_t *coap_server_new(coap_ep_t *ep, const coap_server_params_t *params)
{
    coap_server_t *srv = calloc(1, sizeof *srv);
    if (!srv) return NULL;
    srv->ep = ep;
    if (params) srv->p = *params;
    if (!srv->p.max_upload) srv->p.max_upload = coap_ep_params(ep)->max_body;
    if (!srv->p.max_uploads) srv->p.max_uploads = 64;
    if (!srv->p.block_szx || srv->p.block_szx > 6) srv->p.block_szx = 6;
    if (!srv->p.con_every) srv->p.con_every = 20;
    if (!srv->p.max_observers) srv->p.max_observers = 10000;
    coap_link_attrs_t wk = {.ct = 40, .sz = -1};
    srv->wellknown = coap_server_add(srv, "/.well-known/core", 0, COAP_METHODS_READ,
                                     coap_wellknown_handler_, NULL, &wk);
    coap_ep_set_request_handler(ep, on_request, srv);
    return srv;
}

void coap_server_free(coap_server_t *srv)
{
    if (!srv) return;
    coap_ep_set_request_handler(srv->ep, NULL, NULL);
    while (srv->resources) coap_server_remove(srv, srv->resources);
    while (srv->pending) {
        srv_req_t *sr = srv->pending;
        srv->pending = sr->next;
        coap_ep_req_drop(srv->ep, sr->epreq);
        free(sr->store_key);
        free(sr);
    }
    while (srv->uploads) coap_srv_upload_free_(srv, &srv->uploads);
    while (srv->stored) coap_srv_stored_free_(srv, &srv->stored);
    for (sent_ctx_t *c = srv->sending; c; c = c->next) c->srv = NULL; /* freed by the endpoint */
    free(srv);
}

coap_ep_t *coap_server_ep(const coap_server_t *srv)
{
    return srv->ep;
}

void coap_server_on_register(coap_server_t *srv, coap_register_cb cb, void *arg)
{
    srv->on_register = cb;
    srv->on_register_arg = arg;
}

void coap_server_on_deregister(coap_server_t *srv, coap_deregister_cb cb, void *arg)
{
    srv->on_deregister = cb;
    srv->on_deregister_arg = arg;
}

void coap_server_set_proxy(coap_server_t *srv, coap_handler_t handler, void *arg)
{
    srv->proxy = handler;
    srv->proxy_arg = arg;
}

int coap_server_ack(coap_server_t *srv, uint64_t id)
{
    for (srv_req_t *sr = srv->pending; sr; sr = sr->next) {
        if (sr->id == id) {
            coap_ep_req_ack(srv->ep, sr->epreq);
            return COAP_OK;
        }
    }
    return COAP_ERR_INVALID;
}

void coap_server_on_complete(coap_server_t *srv, coap_complete_cb cb, void *arg)
{
    srv->on_complete = cb;
    srv->on_complete_arg = arg;
}
