/*
 * client_notif.c - notifications larger than one block. RFC 7959 §2.6:
 * the server sends the first block with Block2 (and Size2, §4); the
 * client asks for the rest with GETs carrying Block2 NUM = 1, 2, ... and
 * the registration's options, but not Observe (RFC 7959 §3.4: the later
 * blocks are plain requests). They go out under a token of their own, so
 * the observation's token keeps meaning notifications. The blocks must
 * carry the first block's ETag; a change means the representation moved
 * on (§2.4): the fetch starts again from block 0 once, then gives up. The
 * callback gets the whole body, as for a registration answered in blocks.
 * A newer notification that comes meanwhile (RFC 7641 §3.4) supersedes the
 * fetch; an older one is stale and dropped.
 */
#include "client_internal.h"

#include <string.h>

void coap_notif_stop_(coap_req_t *req)
{
    coap_req_t *kid = req->nfetch;
    if (!kid) return;
    req->nfetch = NULL; /* its callback no longer concerns req */
    coap_req_cancel(kid);
}

static void on_rest(coap_req_t *kid, const coap_resp_t *r, void *arg)
{
    coap_req_t *req = arg;
    if (!r->last || req->nfetch != kid) return;
    req->nfetch = NULL;
    /* A failed fetch (the server gone, the body changed twice, too large):
     * the part cannot be shown as the state; the next notification or the
     * re-registration after Max-Age brings a whole one. */
    if (r->err) return;
    base_buf_reset(&req->body);
    if (base_buf_append(&req->body, r->body, r->body_len)) return;
    coap_req_notify_(req, r->msg, req->nfetch_seq);
}

/* Starts the fetch of the blocks after block 0 (m, described by b). */
static void fetch_rest(coap_req_t *req, const coap_msg_t *m, const coap_block_info_t *b,
                       uint32_t seq, uint64_t now)
{
    uint32_t size2 = 0;
    size_t unit = coap_block_size(b->szx);
    /* §2.2: only the last may be short; RFC 8323 §6: a BERT block is
     * whole 1024-byte units, as many as the server put in */
    int bert = b->szx == COAP_BLOCK_BERT;
    if (bert ? !m->payload_len || m->payload_len % unit : m->payload_len != unit) return;
    if (coap_msg_get_uint(m, COAP_OPT_SIZE2, &size2) == 0 && size2 > req->max_body) return;
    coap_req_t *kid = coap_req_clone_(req);
    if (!kid) return;
    kid->szx = bert ? 6 : b->szx; /* the server's block size (coap_req_send makes it b2_szx) */
    kid->b2_num = (uint32_t)(m->payload_len / unit);
    kid->b2_size2 = size2;
    kid->timeout_ms = req->timeout_ms;
    const coap_msg_opt_t *etag = coap_msg_find_opt(m, COAP_OPT_ETAG);
    kid->etag_len = etag ? (uint8_t)(etag->len > 8 ? 8 : etag->len) : 0;
    if (kid->etag_len) memcpy(kid->etag, coap_msg_opt_value(etag), kid->etag_len);
    if (coap_req_send(kid, on_rest, req)) return; /* one that cannot start is freed */
    /* block 0 in place before any answer can come (they come from the loop) */
    if (base_buf_append(&kid->body, m->payload, m->payload_len)) {
        coap_req_cancel(kid);
        return;
    }
    req->nfetch = kid;
    req->nfetch_seq = seq;
    req->nfetch_t = now;
}

int coap_notif_step_(coap_req_t *req, const coap_msg_t *m, const coap_block_info_t *b)
{
    uint32_t seq;
    if (COAP_CODE_CLASS(m->code) != 2 || coap_msg_get_uint(m, COAP_OPT_OBSERVE, &seq)) {
        coap_notif_stop_(req); /* the end of the observation (RFC 7641 §3.2) */
        return 0;
    }
    uint64_t now = coap_ep_now(req->ep);
    if (req->nfetch) {
        if (!coap_observe_is_fresh(req->nfetch_seq, req->nfetch_t, seq, now)) {
            req->ep->stats.stale++; /* older than the one being fetched */
            return 1;
        }
        coap_notif_stop_(req); /* superseded */
    }
    if (!b || b->num != 0 || !b->more) return 0; /* in one piece */
    if (req->have_seq && !coap_observe_is_fresh(req->last_seq, req->last_t, seq, now)) {
        req->ep->stats.stale++; /* not worth fetching */
        return 1;
    }
    /* RFC 7641 §3.3.1: the observation is alive; its silence counts from
     * here, not from when the whole body is in. */
    coap_req_arm_(req, (uint64_t)coap_msg_max_age(m) * 1000 + req->rereg_margin_ms);
    fetch_rest(req, m, b, seq, now);
    return 1;
}
