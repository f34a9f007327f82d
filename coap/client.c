/*
 * client.c - requests: building, tokens, NSTART queueing (RFC 7252 §4.7),
 * transmission, timeouts and the end of an exchange.
 */
#include "client_internal.h"
#include "coap_block.h"
#include "coap_uri.h"

#include <stdlib.h>
#include <string.h>

/* --- tokens --- */

static uint64_t token_hash(const uint8_t *t, size_t n)
{
    return base_hash_bytes(1469598103934665603ull, t, n);
}

coap_req_t *coap_req_by_token_(coap_ep_t *ep, const uint8_t *tok, size_t len)
{
    for (base_hnode_t *n = base_htab_first(&ep->exchanges, token_hash(tok, len)); n;
         n = base_htab_next(n)) {
        coap_req_t *r = base_container_of(n, coap_req_t, hn);
        if (r->token_len == len && memcmp(r->token, tok, len) == 0) return r;
    }
    return NULL;
}

/* §5.3.1: tokens are random so an off-path attacker cannot guess them;
 * 4 bytes, unique among this endpoint's exchanges. Adding the attempt count
 * ends the search even with a degenerate random hook. */
static int assign_token(coap_req_t *req)
{
    uint32_t attempt = 0;
    do {
        uint32_t r = coap_ep_random_(req->ep) + attempt++;
        memcpy(req->token, &r, 4);
        req->token_len = 4;
    } while (coap_req_by_token_(req->ep, req->token, 4));
    return base_htab_insert(&req->ep->exchanges, &req->hn, token_hash(req->token, 4))
               ? COAP_ERR_NOMEM
               : COAP_OK;
}

/* --- building --- */

static coap_req_t *req_alloc(coap_ep_t *ep, uint8_t method, const coap_addr_t *dest, int *err)
{
    coap_req_t *req = calloc(1, sizeof *req);
    coap_peer_t *peer = req ? coap_ep_peer_get_(ep, dest) : NULL;
    if (!peer) {
        free(req);
        *err = COAP_ERR_NOMEM;
        return NULL;
    }
    req->ep = ep;
    req->peer = peer;
    coap_ep_peer_ref_(peer);
    req->method = method;
    req->con = 1;
    req->szx = 6;
    req->rereg_margin_ms = 5000;
    req->max_body = coap_ep_params(ep)->max_body;
    req->tmr.fire = coap_req_timer_;
    coap_client_attach_(ep);
    return req;
}

static void req_free(coap_req_t *req);

coap_req_t *coap_req_clone_(const coap_req_t *from)
{
    int err;
    coap_req_t *req = req_alloc(from->ep, from->method, &from->peer->addr, &err);
    if (!req) return NULL;
    req->con = from->con;
    req->max_body = from->max_body;
    for (size_t i = 0; i < from->nopts; i++) {
        const req_opt_t *o = &from->opts[i];
        if (coap_req_add_option(req, o->num, from->arena.data + o->off, o->len)) {
            req_free(req);
            return NULL;
        }
    }
    return req;
}

static void req_free(coap_req_t *req)
{
    coap_b2win_free_(req);
    coap_group_free_(req);
    coap_ep_peer_unref_(req->ep, req->peer);
    free(req->opts);
    base_buf_free(&req->arena);
    free(req->payload);
    base_buf_free(&req->body);
    free(req);
}

int coap_req_add_option(coap_req_t *req, uint16_t num, const void *val, size_t len)
{
    if (len > 65535 - 269) return COAP_ERR_OPT_VALUE;
    if (req->nopts == req->cap_opts) {
        size_t cap = req->cap_opts ? req->cap_opts * 2 : 8;
        req_opt_t *v = realloc(req->opts, cap * sizeof *v);
        if (!v) return COAP_ERR_NOMEM;
        req->opts = v;
        req->cap_opts = cap;
    }
    uint32_t off = (uint32_t)req->arena.len;
    if (base_buf_append(&req->arena, val, len)) return COAP_ERR_NOMEM;
    req->opts[req->nopts++] = (req_opt_t){num, (uint16_t)len, off};
    return COAP_OK;
}

coap_req_t *coap_req_new_parsed(coap_ep_t *ep, uint8_t method, const coap_parsed_uri_t *u,
                                const coap_addr_t *dest, int *err)
{
    int dummy;
    if (!err) err = &dummy;
    /* the scheme says the transport: coap+tcp:// on a reliable one
     * (RFC 8323 §8), coap:// and coaps:// on the others */
    *err = coap_ep_reliable_(ep) != u->tcp ? COAP_ERR_URI_SCHEME : COAP_OK;
    coap_addr_t literal;
    if (!*err && !dest) {
        if (coap_addr_from_host(&literal, u->host, u->port) == 0)
            dest = &literal;
        else
            *err = COAP_ERR_UNREACHABLE; /* a name: the caller resolves it */
    }
    coap_req_t *req = *err ? NULL : req_alloc(ep, method, dest, err);
    if (req) {
        /* §6.4: Uri-Host for a name; Uri-Port when it differs from the
         * destination's port. */
        coap_msg_t m;
        coap_msg_init(&m, COAP_CON, method, 0);
        int flags = COAP_URI_OPT_HOST;
        if (u->port != coap_addr_port(dest)) flags |= COAP_URI_OPT_PORT;
        if (u->port != coap_addr_port(dest) &&
            u->port == (u->secure ? COAPS_DEFAULT_PORT : COAP_DEFAULT_PORT))
            coap_msg_add_uint(&m, COAP_OPT_URI_PORT, u->port);
        *err = coap_uri_to_options(u, &m, flags);
        for (unsigned i = 0; !*err && i < m.opt_count; i++)
            *err = coap_req_add_option(req, m.opts[i].num, coap_msg_opt_value(&m.opts[i]),
                                       m.opts[i].len);
        if (*err) {
            req_free(req);
            req = NULL;
        }
    }
    return req;
}

coap_req_t *coap_req_new(coap_ep_t *ep, uint8_t method, const char *uri, const coap_addr_t *dest,
                         int *err)
{
    int dummy;
    if (!err) err = &dummy;
    coap_parsed_uri_t u; /* about 2.4 KB: a malloc this size cost as much as the parse */
    *err = coap_uri_parse_ex(&u, uri, coap_ep_reliable_(ep) ? COAP_URI_TCP : 0);
    return *err ? NULL : coap_req_new_parsed(ep, method, &u, dest, err);
}

coap_req_t *coap_req_new_proxy(coap_ep_t *ep, uint8_t method, const char *uri,
                               const coap_addr_t *proxy, int *err)
{
    int dummy;
    if (!err) err = &dummy;
    size_t len = strlen(uri);
    if (len == 0 || len > COAP_PROXY_URI_MAX) {
        *err = COAP_ERR_URI;
        return NULL;
    }
    coap_req_t *req = req_alloc(ep, method, proxy, err);
    if (req && (*err = coap_req_add_option(req, COAP_OPT_PROXY_URI, uri, len)) != COAP_OK) {
        req_free(req);
        return NULL;
    }
    if (req) *err = COAP_OK;
    return req;
}

/* --- sending --- */

void coap_req_arm_(coap_req_t *req, uint64_t delay_ms)
{
    coap_ep_timer_arm_(req->ep, &req->tmr, coap_ep_now(req->ep) + delay_ms);
}

void coap_req_release_slot_(coap_req_t *req)
{
    if (!req->holds_slot) return;
    req->holds_slot = 0;
    req->peer->outstanding--;
}

static void on_sent(coap_ep_t *ep, int result, const coap_msg_t *ack, void *arg);
static void detach(coap_req_t *req);

static size_t request_overhead(const coap_req_t *req);

/* RFC 8323 §6: the bytes of the next Block1 block. BERT (several 1024-byte
 * units, as many as the peer's Max-Message-Size takes) where the peer
 * announced it and 1024-byte blocks were due. Chosen at the first block
 * only: RFC 7959 §2.3 lets a client's blocks shrink at the server's word,
 * never grow (libcoap 4.3.1 drops its answer to an upload that grows to
 * BERT), so an upload whose first block went before the peer's CSM was in
 * (held no longer than the transport's bound: client_hold.c) stays at
 * 1024 bytes. */
static size_t b1_block_bytes(coap_req_t *req)
{
    unsigned units = 0;
    int may = req->b1_off == 0 ? req->b1_szx >= 6 : req->b1_szx == COAP_BLOCK_BERT;
    if (!req->no_bert && may)
        units = coap_ep_bert_units_(req->ep, &req->peer->addr, request_overhead(req));
    /* a peer whose Max-Message-Size leaves one unit (1152: the base
     * value) gains nothing from BERT, and libcoap 4.3.1 answers the first
     * one-unit BERT block of an upload 2.01 as if it were the whole body:
     * SZX 6 carries the same 1024 bytes */
    if (units < 2 && req->b1_off == 0) units = 0;
    if (units) {
        req->b1_szx = COAP_BLOCK_BERT;
        return (size_t)units * COAP_BERT_UNIT;
    }
    if (req->b1_szx > 6) req->b1_szx = 6;
    return coap_block_size(req->b1_szx);
}

/* Builds the message for the current step: the request itself, the next
 * Block1 block, the next Block2 request, or a (de)registration. */
static int build(coap_req_t *req, coap_msg_t *m)
{
    coap_msg_init(m, req->con ? COAP_CON : COAP_NON, req->method, 0);
    coap_msg_set_token(m, req->token, req->token_len);
    int rc = COAP_OK;
    for (size_t i = 0; !rc && i < req->nopts; i++)
        rc = coap_msg_add_opt(m, req->opts[i].num, req->arena.data + req->opts[i].off,
                              req->opts[i].len);
    if (!rc && req->echo_len) rc = coap_msg_add_opt(m, COAP_OPT_ECHO, req->echo, req->echo_len);
    if (!rc && req->observe && (req->b2_num == 0 || req->dereg))
        rc = coap_msg_add_uint(m, COAP_OPT_OBSERVE, req->dereg ? 1 : 0);
    if (!rc && req->b1_active) {
        size_t bs = b1_block_bytes(req), unit = coap_block_size(req->b1_szx);
        size_t left = req->payload_len - req->b1_off;
        req->b1_sent = left > bs ? bs : left;
        rc = coap_block_add(m, COAP_OPT_BLOCK1, (uint32_t)(req->b1_off / unit), left > bs,
                            req->b1_szx);
        /* RFC 7959 §4: Size1 tells the server the whole size up front. */
        if (!rc && req->b1_off == 0)
            rc = coap_msg_add_uint(m, COAP_OPT_SIZE1, (uint32_t)req->payload_len);
        m->payload = req->payload + req->b1_off;
        m->payload_len = req->b1_sent;
    } else if (!req->b2_num) {
        m->payload = req->payload;
        m->payload_len = req->payload_len;
    }
    if (!rc && (req->b2_num || (req->early_b2 && !req->b1_active)))
        rc = coap_block_add(m, COAP_OPT_BLOCK2, req->b2_num, 0, req->b2_szx);
    return rc;
}

/* §4.7 NSTART: wait for a free slot, in order of arrival. */
static void enqueue(coap_req_t *req)
{
    coap_peer_t *peer = req->peer;
    req->state = REQ_QUEUED;
    peer->nwaiting++;
    req->wait_next = NULL;
    if (peer->wait_tail)
        peer->wait_tail->wait_next = req;
    else
        peer->wait_head = req;
    peer->wait_tail = req;
}

int coap_req_transmit_(coap_req_t *req)
{
    coap_peer_t *peer = req->peer;
    if (!req->holds_slot && peer->outstanding >= coap_ep_params(req->ep)->nstart) {
        enqueue(req);
        return COAP_OK;
    }
    if (!req->holds_slot) {
        req->holds_slot = 1;
        peer->outstanding++;
    }
    coap_msg_t m;
    int rc = build(req, &m);
    req->state = req->con ? REQ_WAIT_ACK : REQ_WAIT_RESP;
    /* A NON is tracked too: RST comes back to on_sent, and the NSTART slot
     * frees after ACK_TIMEOUT even if no response arrives. */
    if (!rc) rc = coap_ep_send(req->ep, &peer->addr, &m, on_sent, req, &req->tx);
    return rc;
}

/* A step given up that need not end the exchange: 1 when it goes on. */
static int step_survives(coap_req_t *req, int result)
{
    if (result != COAP_ERR_TIMEOUT) return 0;
    if (req->rereg == REREG_HEARD) {
        /* RFC 7641 §3.3.1: the re-registration was never acknowledged,
         * but notifications kept coming: the observation is alive. */
        req->rereg = REREG_NONE;
        req->state = REQ_OBSERVING;
        coap_peer_t *peer = req->peer;
        coap_req_release_slot_(req);
        coap_client_pump_(req->ep, peer);
        return 1;
    }
    /* A GET or FETCH is safe to ask again (a new CON) while the exchange's
     * own timeout allows (RFC 7252 §5.1: safe and idempotent): one CON
     * lost five times ends nothing, and a later block of a block-wise
     * transfer (RFC 7959 §2.4) keeps the blocks before it. */
    if (req->timeout_ms && (req->method == COAP_GET || req->method == COAP_FETCH) && !req->observe)
        return coap_req_transmit_(req) == COAP_OK;
    return 0;
}

/* ACK, RST or give-up of our CON (or the RST window of a NON). */
static void on_sent(coap_ep_t *ep, int result, const coap_msg_t *ack, void *arg)
{
    coap_req_t *req = arg;
    req->tx = NULL;
    if (result == COAP_OK && ack) {
        /* §5.3.2: a piggybacked response matches by token too. */
        if (ack->token_len == req->token_len && !memcmp(ack->token, req->token, req->token_len)) {
            coap_req_on_response_(req, ack);
            return;
        }
        /* A response for another token in our ACK: the ACK still ends
         * the retransmission; the response is ignored. */
        ep->stats.unexpected++;
    }
    if (result != COAP_OK) {
        if (!step_survives(req, result)) coap_req_finish_(req, result, NULL);
        return;
    }
    /* Empty ACK (§5.2.2): the response will come separately. The slot is
     * free again: the interaction is no longer outstanding (§4.7). A
     * group request's NON ends its RST window here; its own timer runs. */
    req->state = REQ_WAIT_RESP;
    coap_peer_t *peer = req->peer;
    coap_req_release_slot_(req);
    if (!req->timeout_ms && !req->group)
        coap_req_arm_(req, coap_ep_params(req->ep)->exchange_lifetime_ms);
    coap_client_pump_(req->ep, peer);
}

void coap_client_set_limits(coap_ep_t *ep, coap_req_budget_t *budget, uint32_t max_queued)
{
    ep->req_budget = budget;
    ep->max_waiting = max_queued;
}

/* Whether req may start: COAP_OK, or the limit it would pass. */
static int admit(const coap_req_t *req)
{
    const coap_ep_t *ep = req->ep;
    const coap_req_budget_t *b = ep->req_budget;
    if (b && b->max && b->used >= b->max) return COAP_ERR_BUSY;
    const coap_peer_t *p = req->peer;
    int would_wait = p->wait_head || p->outstanding >= ep->p.nstart;
    if (would_wait && ep->max_waiting && p->nwaiting >= ep->max_waiting) return COAP_ERR_PEER_BUSY;
    return COAP_OK;
}

/* The bytes of a request besides its payload: header, token, options,
 * and room for Block1, Block2 and Size1. */
static size_t request_overhead(const coap_req_t *req)
{
    size_t n = COAP_TCP_HEADER_MAX + req->token_len + 16;
    for (size_t i = 0; i < req->nopts; i++) n += 3u + req->opts[i].len;
    return n;
}

int coap_req_start_(coap_req_t *req)
{
    /* RFC 8323 §5.3.1: blocks that fit the peer's Max-Message-Size, so a
     * body too large for one message goes block-wise */
    unsigned fit = coap_ep_fit_szx_(req->ep, &req->peer->addr, request_overhead(req));
    if (fit < req->szx) req->szx = (uint8_t)fit;
    if (req->payload_len > coap_block_size(req->szx)) {
        req->b1_active = 1;
        req->b1_szx = req->szx;
    }
    req->b2_szx = req->szx;
    coap_msg_t m;
    int rc = build(req, &m);
    /* A new request does not overtake those already waiting for a slot
     * (e.g. one started from a callback just as a slot came free). */
    if (!rc && req->peer->wait_head)
        enqueue(req);
    else if (!rc)
        rc = coap_req_transmit_(req);
    return rc;
}

int coap_req_send(coap_req_t *req, coap_resp_cb cb, void *arg)
{
    req->cb = cb;
    req->arg = arg;
    if (req->observe && req->method != COAP_GET && req->method != COAP_FETCH) req->observe = 0;
    int rc = req->ep->closing ? COAP_ERR_CANCELLED : admit(req);
    if (!rc) rc = assign_token(req);
    if (rc) {
        req_free(req);
        return rc;
    }
    /* The header promises: a request that cannot start is freed without a
     * callback. So the first step is built here, where failing is cheap
     * (for one held for the peer's CSM: when it is released). */
    if (!coap_req_hold_(req)) rc = coap_req_start_(req);
    if (rc) {
        detach(req);
        req_free(req);
        return rc;
    }
    if (req->timeout_ms) coap_req_arm_(req, req->timeout_ms);
    if (req->group && req->observe) coap_group_arm_rereg_(req);
    if ((req->budget = req->ep->req_budget)) req->budget->used++;
    return COAP_OK;
}

/* --- the end of an exchange --- */

static void unqueue(coap_req_t *req)
{
    coap_peer_t *p = req->peer;
    coap_req_t **pp = &p->wait_head;
    coap_req_t *prev = NULL;
    while (*pp && *pp != req) {
        prev = *pp;
        pp = &(*pp)->wait_next;
    }
    if (!*pp) return;
    *pp = req->wait_next;
    if (p->wait_tail == req) p->wait_tail = prev;
    p->nwaiting--;
}

/* Takes req out of every table; it can no longer be found or fire. */
static void detach(coap_req_t *req)
{
    coap_ep_t *ep = req->ep;
    coap_b2win_stop_(req);
    coap_notif_stop_(req);
    if (req->state == REQ_QUEUED) unqueue(req);
    if (req->state == REQ_HELD) coap_req_unhold_(req);
    if (req->tx) coap_ep_tx_cancel(ep, req->tx);
    req->tx = NULL;
    coap_ep_timer_disarm_(ep, &req->tmr);
    if (!req->forgotten) base_htab_remove(&ep->exchanges, &req->hn);
    req->forgotten = 1;
    coap_req_release_slot_(req);
    if (req->budget) req->budget->used--;
    req->budget = NULL;
    req->state = REQ_DONE;
}

/* RFC 8323 has no RST to end an observation the client forgot (RFC 7641
 * §3.6): on a reliable transport it is deregistered on the way out. */
static void forget_reliably(coap_req_t *req)
{
    coap_msg_t m;
    if (!coap_ep_reliable_(req->ep) || req->state != REQ_OBSERVING || req->group) return;
    req->dereg = 1;
    if (build(req, &m) == COAP_OK) coap_ep_send(req->ep, &req->peer->addr, &m, NULL, NULL, NULL);
}

void coap_req_finish_(coap_req_t *req, int err, const coap_msg_t *msg)
{
    coap_ep_t *ep = req->ep;
    coap_peer_t *peer = req->peer;
    coap_ep_peer_ref_(peer);
    if (err == COAP_ERR_CANCELLED) forget_reliably(req);
    detach(req);
    coap_resp_t r = {.err = err, .msg = err ? NULL : msg, .peer = &peer->addr, .last = 1};
    if (msg && !err) {
        r.body = req->body.len ? req->body.data : msg->payload;
        r.body_len = req->body.len ? req->body.len : msg->payload_len;
    }
    req->in_callback = 1;
    if (req->cb) req->cb(req, &r, req->arg);
    req_free(req);
    coap_client_pump_(ep, peer);
    coap_ep_peer_unref_(ep, peer);
}

void coap_req_cancel(coap_req_t *req)
{
    if (req->in_callback) { /* the callback is running: end it after */
        req->stop_how = COAP_OBSERVE_FORGET;
        return;
    }
    coap_req_finish_(req, COAP_ERR_CANCELLED, NULL);
}

/* --- the role, as the endpoint sees it --- */

/* The NSTART queue of a peer (§4.7): a slot came free, start what waits. */
void coap_client_pump_(coap_ep_t *ep, coap_peer_t *peer)
{
    /* While coap_ep_free() cancels everything, queued requests stay put
     * rather than go out only to be cancelled. */
    while (!ep->closing && peer->wait_head && peer->outstanding < coap_ep_params(ep)->nstart) {
        coap_req_t *req = peer->wait_head;
        peer->wait_head = req->wait_next;
        if (!peer->wait_head) peer->wait_tail = NULL;
        peer->nwaiting--;
        req->state = REQ_NEW;
        int rc = coap_req_transmit_(req);
        if (rc) coap_req_finish_(req, rc, NULL);
    }
}

/* The transport says the peer cannot be reached (ICMP, a failed
 * handshake): its queued requests fail too. */
static void client_unreachable(coap_ep_t *ep, coap_peer_t *peer, int err)
{
    while (peer->wait_head) coap_req_finish_(peer->wait_head, err, NULL);
    /* RFC 8323: on a reliable transport this is the end of the connection,
     * and with it of every exchange it carried (separate responses and
     * observations included). The callbacks may start or end others, so
     * each search starts again, at most as often as there were exchanges
     * (one started by a callback must not keep this going). */
    for (size_t budget = coap_ep_reliable_(ep) ? ep->exchanges.n : 0; budget > 0; budget--) {
        coap_req_t *victim = NULL;
        for (size_t b = 0; b < ep->exchanges.nb && !victim; b++)
            for (base_hnode_t *h = ep->exchanges.b[b]; h && !victim; h = h->next) {
                coap_req_t *req = base_container_of(h, coap_req_t, hn);
                if (req->peer == peer) victim = req;
            }
        if (!victim) break;
        coap_req_finish_(victim, err, NULL);
    }
}

static void client_shutdown(coap_ep_t *ep)
{
    while (ep->exchanges.n) {
        for (size_t b = 0; b < ep->exchanges.nb; b++) {
            if (!ep->exchanges.b[b]) continue;
            coap_req_finish_(base_container_of(ep->exchanges.b[b], coap_req_t, hn),
                             COAP_ERR_CANCELLED, NULL);
            break;
        }
    }
}

void coap_client_attach_(coap_ep_t *ep)
{
    static const ep_response_role_t role = {
        .match = coap_client_match_,
        .deliver = coap_client_deliver_,
        .unreachable = client_unreachable,
        .ready = coap_client_ready_,
        .shutdown = client_shutdown,
    };
    coap_ep_set_response_role_(ep, &role);
}
