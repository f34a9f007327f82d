/*
 * server_block.c - the block-wise server (RFC 7959): Block1 uploads
 * reassembled per peer, URI and Request-Tag, and whole responses to unsafe
 * requests kept for the Block2 requests that follow.
 */
#include "server_internal.h"
#include "base_buf.h"
#include "base_htab.h"

#include <stdlib.h>
#include <string.h>

/* --- stored responses for Block2 after unsafe requests (RFC 7959 §2.7) --- */

/* The entry of `head` for peer and key, or NULL; expired entries met on
 * the way are dropped. */
typedef void (*kept_drop_fn)(coap_server_t *srv, srv_kept_t **pp);
static srv_kept_t **kept_find(coap_server_t *srv, srv_kept_t **head, const coap_addr_t *peer,
                              const char *key, kept_drop_fn drop)
{
    uint64_t now = coap_ep_now(srv->ep);
    for (srv_kept_t **pp = head; *pp;) {
        if ((*pp)->expires <= now) {
            drop(srv, pp);
            continue;
        }
        if (coap_addr_equal(&(*pp)->peer, peer) && !strcmp((*pp)->key, key)) return pp;
        pp = &(*pp)->next;
    }
    return NULL;
}

static void kept_push(srv_kept_t **head, srv_kept_t *k, const coap_addr_t *peer, char *key)
{
    k->peer = *peer;
    k->key = key;
    k->next = *head; /* newest first */
    *head = k;
}

static stored_resp_t *stored_of(srv_kept_t *k)
{
    return base_container_of(k, stored_resp_t, kept);
}

static upload_t *upload_of(srv_kept_t *k)
{
    return base_container_of(k, upload_t, kept);
}

/* --- stored responses for Block2 after unsafe requests (RFC 7959 §2.7) --- */

void coap_srv_stored_free_(coap_server_t *srv, srv_kept_t **pp)
{
    srv_kept_t *k = *pp;
    *pp = k->next;
    free(k->key);
    free(stored_of(k));
    srv->nstored--;
}

/* Called for every answer to an unsafe request (other than one served
 * from a copy): a copy kept from an earlier request with the same key is
 * out of date either way; the new answer is kept when the client will
 * fetch it in blocks (`keep`). */
void coap_srv_store_response_(coap_server_t *srv, srv_req_t *sr, const coap_server_response_t *r,
                              int keep)
{
    srv_kept_t **old =
        kept_find(srv, &srv->stored, &sr->peer, sr->store_key, coap_srv_stored_free_);
    if (old) coap_srv_stored_free_(srv, old);
    if (!keep) return;
    while (srv->nstored >= srv->p.max_uploads) { /* bounded: the oldest goes */
        srv_kept_t **pp = &srv->stored;
        while ((*pp)->next) pp = &(*pp)->next;
        coap_srv_stored_free_(srv, pp);
    }
    stored_resp_t *s = malloc(sizeof *s + r->payload_len);
    if (!s) return;
    s->kept.expires = coap_ep_now(srv->ep) + coap_ep_params(srv->ep)->exchange_lifetime_ms;
    s->code = r->code;
    s->cf = r->content_format;
    s->max_age = r->max_age;
    s->etag_len = r->etag && r->etag_len <= 8 ? r->etag_len : 0;
    if (s->etag_len) memcpy(s->etag, r->etag, s->etag_len);
    s->len = r->payload_len;
    if (r->payload_len) memcpy(s->body, r->payload, r->payload_len); /* payload may be NULL */
    kept_push(&srv->stored, &s->kept, &sr->peer, sr->store_key);
    sr->store_key = NULL;
    srv->nstored++;
}

/* A later Block2 request of an unsafe method: served from the copy. */
int coap_srv_respond_stored_(coap_server_t *srv, srv_req_t *sr)
{
    srv_kept_t **pp = kept_find(srv, &srv->stored, &sr->peer, sr->store_key, coap_srv_stored_free_);
    if (!pp) return 0;
    stored_resp_t *s = stored_of(*pp);
    coap_server_response_t r = {.code = s->code,
                                .payload = s->body,
                                .payload_len = s->len,
                                .content_format = s->cf,
                                .max_age = s->max_age,
                                .etag = s->etag_len ? s->etag : NULL,
                                .etag_len = s->etag_len};
    free(sr->store_key);
    sr->store_key = NULL; /* do not store it again */
    coap_server_respond(srv, sr->id, &r);
    return 1;
}

/* --- Block1 uploads (RFC 7959 §2.5) --- */

/* Blocks of one body are tied together by peer, URI and Request-Tag
 * (RFC 9175 §3), not by token: libcoap changes the token on every block.
 * Values are opaque (a Request-Tag may hold any byte, 0 too): they go into
 * the key in hex, so different options always give different keys. */
char *coap_srv_request_key_(const coap_msg_t *m, int with_tag)
{
    static const char hex[] = "0123456789abcdef";
    size_t cap = 16;
    for (unsigned i = 0; i < m->opt_count; i++) cap += 8 + 2 * (size_t)m->opts[i].len;
    char *key = malloc(cap);
    if (!key) return NULL;
    size_t n = base_fmt_u32(key, m->code);
    key[n++] = '|';
    for (unsigned i = 0; i < m->opt_count; i++) {
        const coap_msg_opt_t *o = &m->opts[i];
        int uri = o->num == COAP_OPT_URI_PATH || o->num == COAP_OPT_URI_QUERY ||
                  o->num == COAP_OPT_URI_HOST || o->num == COAP_OPT_URI_PORT ||
                  o->num == COAP_OPT_PROXY_URI || o->num == COAP_OPT_PROXY_SCHEME;
        if (!uri && (o->num != COAP_OPT_REQUEST_TAG || !with_tag)) continue;
        n += base_fmt_u32(key + n, o->num);
        key[n++] = ':';
        const uint8_t *v = coap_msg_opt_value(o);
        for (size_t j = 0; j < o->len; j++) {
            key[n++] = hex[v[j] >> 4];
            key[n++] = hex[v[j] & 15];
        }
        key[n++] = ';';
    }
    key[n] = '\0';
    return key;
}

void coap_srv_upload_free_(coap_server_t *srv, srv_kept_t **pp)
{
    srv_kept_t *k = *pp;
    *pp = k->next;
    free(k->key);
    base_buf_free(&upload_of(k)->body);
    free(upload_of(k));
    srv->nuploads--;
}

/* The largest body the request's resource takes: the server's limit, or
 * the resource's own when it set a lower one. */
uint32_t coap_srv_max_upload_(const coap_server_t *srv, const srv_req_t *sr)
{
    uint32_t lim = srv->p.max_upload;
    if (sr->res && sr->res->max_upload && sr->res->max_upload < lim) lim = sr->res->max_upload;
    return lim;
}

/* §2.9.3: 4.13 with Size1, the largest body this resource takes. */
void coap_srv_too_large_(coap_server_t *srv, srv_req_t *sr)
{
    uint8_t s1[4];
    coap_msg_opt_t o = {.num = COAP_OPT_SIZE1, .is_inline = 1};
    o.len = (uint16_t)coap_uint_encode(coap_srv_max_upload_(srv, sr), s1);
    memcpy(o.v.bytes, s1, o.len);
    coap_server_response_t r = COAP_RESPONSE(COAP_REQUEST_ENTITY_TOO_LARGE);
    r.opts = &o;
    r.nopts = 1;
    sr->has_b1 = 0;
    coap_server_respond(srv, sr->id, &r);
}

#define RETRY_MAX_S 10 /* the longest Max-Age a 5.03 suggests */

/* 5.03 with Max-Age = the seconds until the first of `blocking` expires
 * (RFC 7252 §5.9.3.4: Max-Age says when to try again), at most
 * RETRY_MAX_S, at least 1. */
static void busy(coap_server_t *srv, srv_req_t *sr, uint64_t first_expiry, const char *diag)
{
    uint64_t now = coap_ep_now(srv->ep);
    uint64_t s = first_expiry > now ? (first_expiry - now + 999) / 1000 : 1;
    coap_server_response_t r = COAP_RESPONSE(COAP_SERVICE_UNAVAILABLE);
    r.max_age = (long)(s > RETRY_MAX_S ? RETRY_MAX_S : s);
    r.payload = diag;
    r.payload_len = strlen(diag);
    r.content_format = 0;
    coap_server_respond(srv, sr->id, &r);
}

/* Whether a new upload from sr->peer would pass max_uploads_per_peer or
 * max_uploads: one source must not take every slot (a few datagrams
 * would lock out everyone's uploads for EXCHANGE_LIFETIME). Uploads past
 * their lifetime are dropped on the way. Answers 5.03 and returns 1 when
 * it would. */
static int no_upload_slot(coap_server_t *srv, srv_req_t *sr)
{
    uint64_t now = coap_ep_now(srv->ep), first_mine = UINT64_MAX, first_any = UINT64_MAX;
    size_t mine = 0;
    for (srv_kept_t **pp = &srv->uploads; *pp;) {
        srv_kept_t *u = *pp;
        if (u->expires <= now) {
            coap_srv_upload_free_(srv, pp);
            continue;
        }
        if (u->expires < first_any) first_any = u->expires;
        if (coap_addr_same_host(&u->peer, &sr->peer)) {
            mine++;
            if (u->expires < first_mine) first_mine = u->expires;
        }
        pp = &u->next;
    }
    if (mine >= srv->p.max_uploads_per_peer) {
        busy(srv, sr, first_mine, "too many uploads from this address");
        return 1;
    }
    if (srv->nuploads >= srv->p.max_uploads) {
        busy(srv, sr, first_any, "too many uploads in progress");
        return 1;
    }
    return 0;
}

/* How long an upload waits for its next block. A client sends the next
 * block as soon as the previous one is acknowledged, and gives a block up
 * after MAX_TRANSMIT_WAIT (RFC 7252 §4.8.2: ACK_TIMEOUT * (2 **
 * (MAX_RETRANSMIT + 1) - 1) * ACK_RANDOM_FACTOR, 93 s by default): an
 * upload silent for longer is abandoned, and holding its slot for the
 * whole EXCHANGE_LIFETIME (247 s) only helps whoever fills the slots. */
static uint64_t upload_idle_ms(const coap_server_t *srv)
{
    const coap_ep_params_t *p = coap_ep_params(srv->ep);
    unsigned retransmit = p->max_retransmit < 20 ? p->max_retransmit : 20; /* no overflow */
    uint64_t span = (uint64_t)p->ack_timeout_ms * ((2ull << retransmit) - 1);
    return (uint64_t)((double)span * p->ack_random_factor);
}

/* Adds a block's payload to the body. An empty block (a whole empty body
 * sent as Block1 num 0) adds nothing: body and payload may both be NULL. */
static int append_block(upload_t *u, const uint8_t *p, size_t n)
{
    return base_buf_append(&u->body, p, n);
}

/* Returns 1 when the body is complete (*body, *len), 0 when the block was
 * answered (2.31, 4.08, 4.13), < 0 on no memory. */
int coap_srv_block1_receive_(coap_server_t *srv, srv_req_t *sr, const coap_msg_t *m,
                             const coap_block_info_t *b, upload_t **done)
{
    char *key = coap_srv_request_key_(m, 1);
    if (!key) return COAP_ERR_NOMEM;
    srv_kept_t **pp = kept_find(srv, &srv->uploads, &sr->peer, key, coap_srv_upload_free_);
    uint32_t size1;
    size_t off = coap_block_offset(b);
    uint32_t max = coap_srv_max_upload_(srv, sr);
    int too_big = off + m->payload_len > max ||
                  (!coap_msg_get_uint(m, COAP_OPT_SIZE1, &size1) && size1 > max);
    if (too_big) {
        free(key);
        if (pp) coap_srv_upload_free_(srv, pp);
        coap_srv_too_large_(srv, sr);
        return 0;
    }
    if (b->num == 0) {
        if (pp) coap_srv_upload_free_(srv, pp);
        if (no_upload_slot(srv, sr)) {
            free(key);
            return 0;
        }
        upload_t *u = calloc(1, sizeof *u);
        if (!u) {
            free(key);
            return COAP_ERR_NOMEM;
        }
        kept_push(&srv->uploads, &u->kept, &sr->peer, key);
        srv->nuploads++;
        pp = &srv->uploads;
        key = NULL;
    }
    free(key);
    upload_t *u = pp ? upload_of(*pp) : NULL;
    if (!u || off != u->body.len) { /* a missing or out-of-order block: §2.9.2 */
        coap_server_error_(srv, sr->id, COAP_REQUEST_ENTITY_INCOMPLETE, "block out of sequence");
        return 0;
    }
    if (append_block(u, m->payload, m->payload_len)) return COAP_ERR_NOMEM;
    u->kept.expires = coap_ep_now(srv->ep) + upload_idle_ms(srv);
    if (b->more) {
        coap_server_response_t r = COAP_RESPONSE(COAP_CONTINUE);
        coap_server_respond(srv, sr->id, &r); /* the block is acknowledged */
        return 0;
    }
    *pp = u->kept.next; /* detach: the caller frees it after the handler */
    srv->nuploads--;
    *done = u;
    return 1;
}
