/*
 * client_rx.c - what comes back to a request: piggybacked and separate
 * responses, Block1 and Block2 steps (RFC 7959), Observe notifications and
 * their freshness (RFC 7641 §3.4), re-registration and deregistration.
 */
#include "client_internal.h"
#include "coap_block.h"

#include <stdlib.h>
#include <string.h>

/* RFC 7641 §3.4: (V1 < V2 and V2 - V1 < 2^23) or (V1 > V2 and
 * V1 - V2 > 2^23) or T2 > T1 + 128 seconds. */
int coap_observe_is_fresh(uint32_t v1, uint64_t t1, uint32_t v2, uint64_t t2)
{
    const uint32_t half = 1u << 23;
    v1 &= 0xFFFFFF;
    v2 &= 0xFFFFFF;
    return (v1 < v2 && v2 - v1 < half) || (v1 > v2 && v1 - v2 > half) || t2 > t1 + 128000;
}

static int body_append(coap_req_t *req, const uint8_t *p, size_t n)
{
    if (req->body.len + n > req->max_body) return COAP_ERR_TOO_LARGE;
    return base_buf_append(&req->body, p, n) ? COAP_ERR_NOMEM : COAP_OK;
}

void coap_req_progress_(coap_req_t *req, int upload, size_t bytes, size_t total)
{
    if (!req->progress) return;
    coap_progress_t p = {.upload = (uint8_t)upload,
                         .blocks = ++req->progress_blocks,
                         .bytes = bytes,
                         .total = total};
    req->progress(req, &p, req->progress_arg);
}

/* Sends the next step: 1 when it went out (or was queued), < 0 on failure. */
static int next_step(coap_req_t *req)
{
    int rc = coap_req_transmit_(req);
    return rc ? rc : 1;
}

/* RFC 8323 §6: SZX 7 (BERT) is valid from this peer. */
static int peer_bert(const coap_req_t *req)
{
    return coap_ep_bert_(req->ep, &req->peer->addr);
}

/* Block1 (RFC 7959 §2.5): returns 1 when the next step was sent, 0 when
 * this response is the final one, < 0 on failure. */
static int block1_step(coap_req_t *req, const coap_msg_t *m)
{
    coap_block_info_t b;
    int has = coap_block_get_bert(m, COAP_OPT_BLOCK1, &b, peer_bert(req)) == 1;
    if (m->code == COAP_REQUEST_ENTITY_TOO_LARGE && !req->b1_active && !req->b1_retried) {
        /* §2.9.3: 4.13 to a whole body: retry block-wise, at the size the
         * server names, unless Size1 says the body can never fit. */
        uint32_t size1;
        if (coap_msg_get_uint(m, COAP_OPT_SIZE1, &size1) == 0 && size1 < req->payload_len) return 0;
        req->b1_retried = 1;
        req->b1_active = 1;
        req->b1_szx = has && b.szx < req->szx ? b.szx : req->szx;
        req->b1_off = 0;
        return next_step(req);
    }
    if (!req->b1_active) return 0;
    if (m->code != COAP_CONTINUE) { /* the final answer: to the last block if 2.xx */
        if (COAP_CODE_CLASS(m->code) == 2)
            coap_req_progress_(req, 1, req->b1_off + req->b1_sent, req->payload_len);
        return 0;
    }
    req->b1_off += req->b1_sent;
    coap_req_progress_(req, 1, req->b1_off, req->payload_len);
    /* §2.3: the server may ask for smaller blocks in its 2.31; the next
     * block number is then the offset divided by the new size (build()). */
    if (has && b.szx < req->b1_szx) { /* no BERT after a request for smaller */
        req->b1_szx = b.szx;
        req->no_bert = 1;
    }
    if (req->b1_off >= req->payload_len) return 0; /* 2.31 on the last block: odd, take it */
    return next_step(req);
}

/* Block2 (RFC 7959 §2.4): collects the body; returns 1 when the next block
 * was requested, 0 when the body is complete, < 0 on failure. */
static int block2_step(coap_req_t *req, const coap_msg_t *m)
{
    coap_block_info_t b;
    int has = coap_block_get_bert(m, COAP_OPT_BLOCK2, &b, peer_bert(req));
    if (has < 0) return COAP_ERR_BLOCK;
    uint32_t seq;
    /* RFC 7959 §3.4: a notification (it carries Observe) overtaking the
     * fetch of the registration's later blocks is a newer state: the
     * fetch is dropped and the notification taken instead. */
    if (req->b2_num > 0 && req->observe && COAP_CODE_CLASS(m->code) == 2 &&
        coap_msg_get_uint(m, COAP_OPT_OBSERVE, &seq) == 0) {
        req->b2_num = 0;
        base_buf_reset(&req->body);
        req->b2_observe = 0;
    }
    /* A later block request answered without Block2 (or with an error)
     * would leave the body cut short: fail rather than deliver part. */
    if (req->b2_num > 0 && (!has || COAP_CODE_CLASS(m->code) != 2)) return COAP_ERR_BLOCK;
    /* A running observation's notifications (client_notif.c). */
    if (req->observe && req->state == REQ_OBSERVING)
        return coap_notif_step_(req, m, has ? &b : NULL);
    if (!has || COAP_CODE_CLASS(m->code) != 2) return 0;
    const coap_msg_opt_t *etag = coap_msg_find_opt(m, COAP_OPT_ETAG);
    if (b.num == 0) {
        uint32_t size2;
        /* §4: Size2 announces the whole size; no need to fetch it all first. */
        if (coap_msg_get_uint(m, COAP_OPT_SIZE2, &size2) == 0 && size2 > req->max_body)
            return COAP_ERR_TOO_LARGE;
        base_buf_reset(&req->body);
        req->progress_blocks = 0;
        if (coap_msg_get_uint(m, COAP_OPT_SIZE2, &req->b2_size2)) req->b2_size2 = 0;
        req->etag_len = etag ? (uint8_t)(etag->len > 8 ? 8 : etag->len) : 0;
        if (req->etag_len) memcpy(req->etag, coap_msg_opt_value(etag), req->etag_len);
        /* RFC 7959 §3.4: the registration's Observe is on the first block;
         * the later blocks are plain GETs. */
        req->b2_observe = req->observe && coap_msg_get_uint(m, COAP_OPT_OBSERVE, &req->b2_seq) == 0;
    } else if ((etag ? etag->len : 0) != req->etag_len ||
               (etag && memcmp(coap_msg_opt_value(etag), req->etag, req->etag_len))) {
        /* §2.4: the representation changed under us: start again, once. */
        if (req->b2_restarts++) return COAP_ERR_BLOCK;
        req->b2_num = 0;
        base_buf_reset(&req->body);
        return next_step(req);
    }
    if (coap_block_offset(&b) != req->body.len) return COAP_ERR_BLOCK;
    /* RFC 8323 §6: a BERT block but the last is whole 1024-byte units */
    if (b.szx == COAP_BLOCK_BERT && b.more && (!m->payload_len || m->payload_len % COAP_BERT_UNIT))
        return COAP_ERR_BLOCK;
    int rc = body_append(req, m->payload, m->payload_len);
    if (rc) return rc;
    coap_req_progress_(req, 0, req->body.len, req->b2_size2);
    if (!b.more) return 0;
    uint32_t size2;
    if (b.num == 0 && coap_msg_get_uint(m, COAP_OPT_SIZE2, &size2) == 0) {
        rc = coap_b2win_start_(req, m, size2); /* several blocks at a time */
        if (rc) return rc;
    }
    /* later blocks are asked for at the server's size, SZX 7 after a BERT
     * block (RFC 8323 §6); never larger (libcoap 4.3.1 starts the body
     * over when asked for BERT after a block of 1024) */
    req->b2_szx = b.szx;
    req->b2_num = (uint32_t)(req->body.len / coap_block_size(b.szx));
    req->b1_active = 0; /* Block1 is done; later blocks carry no payload */
    return next_step(req);
}

/* RFC 9175 §2.3: a 4.01 with an Echo option means the server could not
 * verify our address (RFC 9175 §2.4): the same step goes again, with a
 * new message ID, carrying the value. A second 4.01 with another value is
 * followed too (ECHO_FOLLOWS in all): under loss the first follow-up can
 * arrive after the server's freshness window (its retransmissions span
 * up to 45 s, RFC 7252 §4.8.2), and the server then asks again with a
 * fresh value. The same value again, or more rounds, ends the exchange
 * with the 4.01. Returns 1 when the step went again, 0 otherwise, < 0 on
 * failure. */
#define ECHO_FOLLOWS 3
static int echo_step(coap_req_t *req, const coap_msg_t *m)
{
    const coap_msg_opt_t *o = m->code == COAP_UNAUTHORIZED && req->state != REQ_OBSERVING
                                  ? coap_msg_find_opt(m, COAP_OPT_ECHO)
                                  : NULL;
    int again = o && req->echo_followed && o->len == req->echo_len &&
                !memcmp(coap_msg_opt_value(o), req->echo, o->len);
    if (!o || !o->len || o->len > sizeof req->echo || again || req->echo_followed >= ECHO_FOLLOWS) {
        req->echo_followed = 0;
        return 0;
    }
    memcpy(req->echo, coap_msg_opt_value(o), o->len);
    req->echo_len = (uint8_t)o->len;
    req->echo_followed++;
    req->ep->stats.echo_followed++;
    return next_step(req);
}

/* Calls the callback for a notification (or the first response of an
 * observation) and carries out a stop requested from inside it. */
void coap_req_notify_(coap_req_t *req, const coap_msg_t *m, uint32_t seq)
{
    uint64_t now = coap_ep_now(req->ep);
    int fresh = !req->have_seq || coap_observe_is_fresh(req->last_seq, req->last_t, seq, now);
    if (fresh) {
        req->have_seq = 1;
        req->last_seq = seq;
        req->last_t = now;
    } else {
        req->ep->stats.stale++;
    }
    /* RFC 7641 §3.3.1: re-register when Max-Age plus a margin passes in
     * silence. */
    coap_req_arm_(req, (uint64_t)coap_msg_max_age(m) * 1000 + req->rereg_margin_ms);
    coap_resp_t r = {.msg = m,
                     .peer = &req->peer->addr,
                     .observing = 1,
                     .fresh = (uint8_t)fresh,
                     .seq = seq,
                     .body = req->body.len ? req->body.data : m->payload,
                     .body_len = req->body.len ? req->body.len : m->payload_len};
    req->in_callback = 1;
    if (req->cb) req->cb(req, &r, req->arg);
    req->in_callback = 0;
    base_buf_reset(&req->body);
    req->b2_num = 0;
    req->b2_observe = 0;
    if (req->stop_how == COAP_OBSERVE_FORGET) {
        coap_req_finish_(req, COAP_ERR_CANCELLED, NULL);
    } else if (req->stop_how == COAP_OBSERVE_DEREGISTER && !req->dereg) {
        if (req->tx) coap_ep_tx_cancel(req->ep, req->tx); /* a re-registration's */
        req->tx = NULL;
        req->rereg = REREG_NONE;
        req->dereg = 1;
        int rc = coap_req_transmit_(req);
        if (rc) coap_req_finish_(req, rc, NULL);
    }
}

void coap_req_on_response_(coap_req_t *req, const coap_msg_t *m)
{
    if (req->tx) coap_ep_tx_cancel(req->ep, req->tx); /* §5.2.2: the response ACKs our CON */
    req->tx = NULL;
    coap_req_release_slot_(req);
    /* The timer watched this step (EXCHANGE_LIFETIME after an empty ACK)
     * or re-registration; a whole-exchange timeout keeps running. */
    if (!req->timeout_ms || req->state == REQ_OBSERVING) coap_ep_timer_disarm_(req->ep, &req->tmr);
    coap_peer_t *peer = req->peer;
    coap_ep_t *ep = req->ep;
    coap_ep_peer_ref_(peer);
    int rc = echo_step(req, m); /* a 4.01 with Echo: sent again, not an answer yet */
    if (!rc && req->rereg) {
        /* The answer to a re-registration starts the numbering again: a
         * device that restarted counts from anew (RFC 7641 §3.4 would
         * otherwise call its notifications stale for 128 s). Not when a
         * fresh notification came while it waited (REREG_HEARD): the running
         * observation is the device's, and this answer may be its copy of
         * an earlier one, sent again for our retransmitted CON (RFC 7252
         * §4.5), older than what we delivered since. */
        if (req->rereg == REREG_WAITING) req->have_seq = 0;
        req->rereg = REREG_NONE;
        coap_notif_stop_(req); /* the answer is the newer state */
    }
    /* a fetcher's block is the whole answer: its owner puts it in place */
    int steps = !req->dereg && !req->fetcher;
    if (!rc && steps) rc = block1_step(req, m);
    if (!rc && steps) rc = block2_step(req, m);
    /* The limit holds for a body in one datagram too (reassembled ones
     * were checked block by block). */
    if (rc == 0 && !req->body.len && m->payload_len > req->max_body) rc = COAP_ERR_TOO_LARGE;
    if (rc < 0) {
        coap_req_finish_(req, rc, NULL);
    } else if (rc == 0) {
        uint32_t seq;
        int observed = 0;
        if (req->observe && !req->dereg && COAP_CODE_CLASS(m->code) == 2) {
            observed = coap_msg_get_uint(m, COAP_OPT_OBSERVE, &seq) == 0;
            if (!observed && req->b2_observe) { /* a reassembled registration */
                observed = 1;
                seq = req->b2_seq;
            }
        }
        if (observed) {
            req->state = REQ_OBSERVING;
            coap_req_notify_(req, m, seq);
        } else {
            /* A plain response, the end of an observation (an error, or a
             * response without Observe: RFC 7641 §3.2), or the answer to
             * the deregistration (§3.6). */
            coap_req_finish_(req, COAP_OK, m);
        }
    }
    coap_client_pump_(ep, peer);
    coap_ep_peer_unref_(ep, peer);
}

/* §5.3.2: a response matches by token and by the endpoint it came from;
 * §8.2: to a group request, by token alone (members answer from their
 * own unicast addresses). */
void *coap_client_match_(coap_ep_t *ep, coap_peer_t *peer, const coap_msg_t *m)
{
    coap_req_t *req = coap_req_by_token_(ep, m->token, m->token_len);
    if (!req || (req->peer != peer && !req->group)) return NULL;
    if (req->state == REQ_QUEUED || req->state == REQ_NEW || req->state == REQ_HELD) return NULL;
    req->rx_peer = peer; /* valid while the datagram is processed */
    return req;
}

void coap_client_deliver_(void *exchange, const coap_msg_t *m)
{
    coap_req_t *req = exchange;
    uint32_t seq;
    if (req->group) {
        coap_group_deliver_(req, m);
        return;
    }
    if (req->win) return; /* its fetchers carry the rest: a late copy of block 0 */
    /* A notification that crossed our deregistration (RFC 7641 §3.6): the
     * answer to the deregistering GET carries no Observe. ACKed, dropped. */
    int notification =
        COAP_CODE_CLASS(m->code) == 2 && !coap_msg_get_uint(m, COAP_OPT_OBSERVE, &seq);
    if (req->dereg && notification) return;
    /* RFC 7641 §3.3.1, §3.4: a notification that comes while our
     * re-registration waits for its ACK is judged against the ones before,
     * and the re-registration goes on; only its own answer may restart the
     * numbering. A fresh one shows the running observation is alive
     * (REREG_HEARD: the answer will not restart it). A stale one does not:
     * it may be a restarted device's first notification overtaking the
     * answer on the way, and keeping the old numbering then would call
     * everything the device sends stale for up to 128 s. */
    if (req->rereg && req->state == REQ_WAIT_ACK && notification &&
        !coap_msg_find_opt(m, COAP_OPT_BLOCK2)) {
        if (!req->have_seq ||
            coap_observe_is_fresh(req->last_seq, req->last_t, seq, coap_ep_now(req->ep)))
            req->rereg = REREG_HEARD;
        coap_notif_stop_(req); /* a newer state than a notification in blocks */
        coap_req_notify_(req, m, seq);
        return;
    }
    coap_req_on_response_(req, m);
}

void coap_req_timer_(coap_ep_t *ep, ep_timer_t *t)
{
    coap_req_t *req = base_container_of(t, coap_req_t, tmr);
    if (req->group) {
        coap_group_timer_(req);
        return;
    }
    if (req->state == REQ_OBSERVING && !req->dereg) {
        /* Silence past Max-Age (RFC 7641 §3.3.1): register again with the
         * same token. The answer continues the observation, or ends it. */
        req->rereg = REREG_WAITING;
        ep->stats.reregistrations++;
        if (req->timeout_ms) coap_req_arm_(req, req->timeout_ms);
        int rc = coap_req_transmit_(req);
        if (rc) coap_req_finish_(req, rc, NULL);
        return;
    }
    coap_req_finish_(req, COAP_ERR_TIMEOUT, NULL);
}

void coap_req_observe_stop(coap_req_t *req, int how)
{
    if (req->group) how = COAP_OBSERVE_FORGET; /* no group deregistration */
    if (req->in_callback) {
        req->stop_how = (uint8_t)how;
        return;
    }
    if (how == COAP_OBSERVE_FORGET || req->state != REQ_OBSERVING) {
        coap_req_finish_(req, COAP_ERR_CANCELLED, NULL);
        return;
    }
    /* RFC 7641 §3.6: a GET with Observe 1 and the observation's token. */
    req->dereg = 1;
    int rc = coap_req_transmit_(req);
    if (rc) coap_req_finish_(req, rc, NULL);
}
