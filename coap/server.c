/*
 * server.c - the server role: resources, answers (now or deferred), ETag
 * validation (RFC 7252 §5.10.6), Block2 slicing (RFC 7959 §2.4) and the
 * server's life cycle. Requests come in through server_req.c.
 */
#include "server_internal.h"
#include "ep_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- resources --- */

coap_server_resource_t *coap_server_add(coap_server_t *srv, const char *path, unsigned flags,
                                        unsigned methods, coap_handler_t handler, void *arg,
                                        const coap_link_attrs_t *attrs)
{
    if (!path || path[0] != '/' || !handler) return NULL;
    coap_server_resource_t *r = calloc(1, sizeof *r);
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
    coap_server_resource_t **pp = &srv->resources; /* keep registration order */
    while (*pp) pp = &(*pp)->next;
    *pp = r;
    return r;
}

void coap_server_remove(coap_server_t *srv, coap_server_resource_t *res)
{
    coap_obs_remove_all_(srv, res, COAP_DEREG_SHUTDOWN);
    base_list_t *it, *next;
    BASE_LIST_FOREACH(it, next, &srv->pending) {
        srv_req_t *sr = base_list_entry(it, srv_req_t, link);
        if (sr->res == res) sr->res = NULL;
    }
    for (coap_server_resource_t **pp = &srv->resources; *pp; pp = &(*pp)->next) {
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

const char *coap_resource_path(const coap_server_resource_t *res)
{
    return res->path;
}

void coap_resource_set_max_upload(coap_server_resource_t *res, uint32_t max)
{
    res->max_upload = max;
}

/* --- answering --- */

/* The pending request with this id: the endpoint's hash table finds its
 * half, which points to ours. */
static srv_req_t *pending_find(coap_server_t *srv, uint64_t id)
{
    coap_ep_req_t *er = coap_ep_req_find(srv->ep, id);
    return er ? coap_ep_req_owner(er) : NULL;
}

static srv_req_t *pending_take(coap_server_t *srv, uint64_t id)
{
    srv_req_t *sr = pending_find(srv, id);
    if (sr) base_list_remove(&sr->link);
    return sr;
}

int coap_server_fill_(coap_msg_t *m, const coap_server_response_t *resp)
{
    int rc = COAP_OK;
    if (resp->etag && resp->etag_len)
        rc = coap_msg_add_opt(m, COAP_OPT_ETAG, resp->etag, resp->etag_len);
    if (!rc && resp->content_format >= 0)
        rc = coap_msg_add_uint(m, COAP_OPT_CONTENT_FORMAT, (uint32_t)resp->content_format);
    if (!rc && resp->max_age >= 0)
        rc = coap_msg_add_uint(m, COAP_OPT_MAX_AGE, (uint32_t)resp->max_age);
    for (size_t i = 0; !rc && i < resp->nopts; i++)
        rc = coap_msg_add_opt(m, resp->opts[i].num, coap_msg_opt_value(&resp->opts[i]),
                              resp->opts[i].len);
    m->payload = resp->payload;
    m->payload_len = resp->payload_len;
    return rc;
}

/* §5.10.6.2: a GET carrying the current ETag is answered 2.03 Valid. */
static int etag_matches(const srv_req_t *sr, const coap_server_response_t *resp)
{
    if (!resp->etag || sr->method != COAP_GET || resp->code != COAP_CONTENT) return 0;
    for (unsigned i = 0; i < sr->netags; i++)
        if (sr->etag_lens[i] == resp->etag_len && !memcmp(sr->etags[i], resp->etag, resp->etag_len))
            return 1;
    return 0;
}

/* RFC 8323 §6: the 1024-byte units of a BERT block for this response, 0
 * for none. BERT where both sides announced it, the client asked for no
 * smaller block (no Block2, or Block2 with BERT), the server's own block
 * size is 1024 and the amplification bound caps nothing. */
static unsigned bert_units(const coap_server_t *srv, const srv_req_t *sr)
{
    if (srv->p.block_szx < 6 || (sr->has_b2 && sr->b2_szx != COAP_BLOCK_BERT)) return 0;
    if (sr->cap_szx && sr->cap_szx <= COAP_BLOCK_BERT) return 0;
    return coap_ep_bert_units_(srv->ep, &sr->peer, SRV_BLOCK_OVERHEAD);
}

/* The block size of this response: BERT, or the server's, or the smaller
 * one the client asked for (RFC 7959 §2.4, early negotiation), or the
 * smaller one the amplification bound allows (server_echo.c). */
static unsigned block_szx(const coap_server_t *srv, const srv_req_t *sr)
{
    if (bert_units(srv, sr)) return COAP_BLOCK_BERT;
    unsigned szx = sr->has_b2 && sr->b2_szx < srv->p.block_szx ? sr->b2_szx : srv->p.block_szx;
    unsigned cap = sr->cap_szx ? sr->cap_szx - 1u : 6u;
    /* RFC 8323 §5.3.1: blocks that fit the peer's Max-Message-Size */
    unsigned fit = coap_ep_fit_szx_(srv->ep, &sr->peer, SRV_BLOCK_OVERHEAD);
    if (fit < cap) cap = fit;
    return szx < cap ? szx : cap;
}

/* The payload bytes of one block of size szx: several units for BERT. */
static size_t block_bytes(const coap_server_t *srv, const srv_req_t *sr, unsigned szx)
{
    size_t unit = coap_block_size(szx);
    return szx == COAP_BLOCK_BERT ? unit * bert_units(srv, sr) : unit;
}

/* RFC 7959 §2.4: serves the requested block of a representation larger
 * than one block (handlers always produce the whole representation). The
 * block number counts units of the requested size (1024 bytes for BERT,
 * RFC 8323 §6); a BERT block carries as many units as fit. */
static int slice_block2(coap_server_t *srv, const srv_req_t *sr, coap_msg_t *m)
{
    unsigned szx = block_szx(srv, sr);
    size_t unit = coap_block_size(szx), bs = block_bytes(srv, sr, szx);
    if (!sr->has_b2 && m->payload_len <= bs) return COAP_OK;
    size_t total = m->payload_len;
    uint32_t num = sr->has_b2 ? sr->b2_num : 0;
    if (sr->has_b2 && coap_block_size(sr->b2_szx) > unit)
        num = (uint32_t)((size_t)num * coap_block_size(sr->b2_szx) / unit);
    size_t off = (size_t)num * unit;
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

int coap_server_respond(coap_server_t *srv, uint64_t id, const coap_server_response_t *resp)
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
    if (!rc && COAP_CODE_CLASS(m.code) == 2 && m.payload_len) /* RFC 7252 §11.3 */
        sr->cap_szx = (uint8_t)(1 + coap_srv_echo_cap_szx_(srv, sr, &m, block_szx(srv, sr)));
    /* RFC 7959 §2.7: the whole answer to an unsafe request is kept when the
     * client is to fetch it in blocks (at the size it negotiated). */
    if (!rc && sr->store_key)
        coap_srv_store_response_(srv, sr, resp,
                                 COAP_CODE_CLASS(m.code) == 2 &&
                                     m.payload_len > block_bytes(srv, sr, block_szx(srv, sr)));
    if (!rc && COAP_CODE_CLASS(m.code) == 2 && m.payload_len) rc = slice_block2(srv, sr, &m);
    if (rc == COAP_ERR_BLOCK) { /* a block beyond the end (RFC 7959 §2.4) */
        coap_msg_init(&m, COAP_CON, COAP_BAD_OPTION, 0);
        rc = COAP_OK;
    }
    uint8_t echo[ECHO_VALUE_MAX]; /* RFC 9175 §2.4: an unverified peer's large answer */
    int challenged = !rc && coap_srv_echo_challenge_(srv, sr, &m, echo);
    /* RFC 7641 §4.1: a success registers (or renews); §4.2: an error ends
     * the observation a re-registration was renewing. A challenge does
     * neither: the request comes again with the Echo. */
    if (!rc && !challenged && sr->want_observe && sr->res && COAP_CODE_CLASS(resp->code) == 2)
        coap_obs_register_(srv, sr, &m, resp->observe_word);
    else if (!rc && !challenged && sr->want_observe && sr->res)
        coap_obs_deregister_(srv, sr->res, &sr->peer, sr->token, sr->token_len, COAP_DEREG_ERROR);
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
    free(sr->obs_query);
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
/* The server's own refusals carry a diagnostic payload only when the
 * answer stays no larger than the request: a forged source must not get
 * more bytes than it sent (RFC 7252 §11.3, amplification). */
void coap_server_error_(coap_server_t *srv, uint64_t id, uint8_t code, const char *diag)
{
    coap_server_response_t r = COAP_RESPONSE(code);
    const srv_req_t *sr = pending_find(srv, id);
    size_t len = diag ? strlen(diag) : 0;
    /* header, token, Content-Format (1 byte for 0), payload marker */
    size_t size = 4 + (sr ? sr->token_len : 0) + 1 + 1 + len;
    if (diag && sr && size <= sr->request_size) {
        r.payload = diag;
        r.payload_len = len;
        r.content_format = 0;
    }
    coap_server_respond(srv, id, &r);
}

/* --- life cycle --- */

coap_server_t *coap_server_new(coap_ep_t *ep, const coap_server_params_t *params)
{
    coap_server_t *srv = calloc(1, sizeof *srv);
    if (!srv) return NULL;
    srv->ep = ep;
    base_list_init(&srv->pending);
    if (params) srv->p = *params;
    if (!srv->p.max_upload) srv->p.max_upload = coap_ep_params(ep)->max_body;
    if (!srv->p.max_uploads) srv->p.max_uploads = 64;
    if (!srv->p.max_uploads_per_peer) srv->p.max_uploads_per_peer = 4;
    if (!srv->p.block_szx || srv->p.block_szx > 6) srv->p.block_szx = 6;
    if (!srv->p.con_every) srv->p.con_every = 20;
    if (!srv->p.max_observers) srv->p.max_observers = 10000;
    if (!srv->p.max_observers_per_host) srv->p.max_observers_per_host = 64;
    coap_srv_echo_init_(srv);
    coap_link_attrs_t wk = {.ct = 40, .sz = -1};
    srv->wellknown = coap_server_add(srv, "/.well-known/core", 0, COAP_METHODS_READ,
                                     coap_wellknown_handler_, NULL, &wk);
    coap_ep_set_request_handler(ep, coap_srv_on_request_, srv);
    return srv;
}

void coap_server_free(coap_server_t *srv)
{
    if (!srv) return;
    coap_ep_set_request_handler(srv->ep, NULL, NULL);
    while (srv->resources) coap_server_remove(srv, srv->resources);
    base_list_t *first;
    while ((first = base_list_first(&srv->pending))) {
        srv_req_t *sr = base_list_entry(first, srv_req_t, link);
        base_list_remove(first);
        coap_ep_req_drop(srv->ep, sr->epreq);
        free(sr->store_key);
        free(sr->obs_query);
        free(sr);
    }
    while (srv->uploads) coap_srv_upload_free_(srv, &srv->uploads);
    while (srv->stored) coap_srv_stored_free_(srv, &srv->stored);
    for (sent_ctx_t *c = srv->sending; c; c = c->next) c->srv = NULL; /* freed by the endpoint */
    coap_srv_echo_free_(srv);
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

void coap_server_set_proxy_admit(coap_server_t *srv, coap_admit_cb cb, void *arg)
{
    srv->proxy_admit = cb;
    srv->proxy_admit_arg = arg;
}

void coap_resource_set_admit(coap_server_resource_t *res, coap_admit_cb cb, void *arg)
{
    res->admit = cb;
    res->admit_arg = arg;
}

void coap_server_set_upload_limits(coap_server_t *srv, uint32_t max_uploads, uint32_t per_peer)
{
    if (max_uploads) srv->p.max_uploads = max_uploads;
    if (per_peer) srv->p.max_uploads_per_peer = per_peer;
}

int coap_server_ack(coap_server_t *srv, uint64_t id)
{
    srv_req_t *sr = pending_find(srv, id);
    if (!sr) return COAP_ERR_INVALID;
    coap_ep_req_ack(srv->ep, sr->epreq);
    return COAP_OK;
}

void coap_server_on_complete(coap_server_t *srv, coap_complete_cb cb, void *arg)
{
    srv->on_complete = cb;
    srv->on_complete_arg = arg;
}
