/*
 * client_blocks.c - the rest of a Block2 body fetched several blocks at a
 * time. RFC 7959 §2.4: every later block is a request of its own for a
 * block number, which the server answers from the representation in any
 * order. When block 0 of a GET announces the whole size (Size2, §4) and
 * NSTART (RFC 7252 §4.7) allows more than one request in flight, up to
 * NSTART blocks are asked for at once, each by a request of its own (a
 * fetcher, in the NSTART queue like any request), and land at their
 * offsets. On a lossy link each block waits out its own retransmissions
 * while the others go on: the transfer takes about 1/NSTART of the time.
 */
#include "client_internal.h"
#include "coap_block.h"

#include <stdlib.h>
#include <string.h>

enum { B2_NONE, B2_ASKED, B2_HAVE };

struct b2win {
    ep_timer_t tick; /* every ACK_TIMEOUT: asks again for stragglers */
    coap_req_t *owner;
    uint8_t *data;     /* size2 bytes */
    uint8_t *state;    /* B2_* per block */
    uint64_t *asked;   /* per block: when it was last asked for */
    coap_req_t **kids; /* fetchers in flight: `window` slots */
    uint64_t *since;   /* per slot: when its fetcher was started */
    uint32_t size2, bs, nblocks, next, have, window;
    size_t got; /* bytes in place, for the owner's progress */
    uint8_t szx;
};

static void on_block(coap_req_t *kid, const coap_resp_t *r, void *arg);

/* Starts a fetcher for block num in a free slot. */
static int ask(struct b2win *w, uint32_t num)
{
    uint32_t slot = 0;
    while (slot < w->window && w->kids[slot]) slot++;
    if (slot == w->window) return COAP_ERR_INVALID;
    coap_req_t *kid = coap_req_clone_(w->owner);
    if (!kid) return COAP_ERR_NOMEM;
    kid->fetcher = 1;
    kid->no_bert = 1; /* blocks of the window's size, numbered as block 0's */
    kid->szx = w->szx;
    kid->b2_num = num;
    int rc = coap_req_send(kid, on_block, w); /* on failure kid is freed */
    if (rc) return rc;
    w->kids[slot] = kid;
    w->state[num] = B2_ASKED;
    w->asked[num] = w->since[slot] = coap_ep_now(kid->ep);
    return COAP_OK;
}

static uint32_t fetching(const struct b2win *w, uint32_t num)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < w->window; i++) n += w->kids[i] && w->kids[i]->b2_num == num;
    return n;
}

/* Cancels the longest-waiting fetcher of block num. */
static void retire_oldest(struct b2win *w, uint32_t num)
{
    uint32_t old = w->window;
    for (uint32_t i = 0; i < w->window; i++)
        if (w->kids[i] && w->kids[i]->b2_num == num &&
            (old == w->window || w->since[i] < w->since[old]))
            old = i;
    coap_req_t *kid = w->kids[old];
    w->kids[old] = NULL;
    coap_req_cancel(kid);
}

/* Fills the free slots with the next blocks not asked for yet. Once all
 * are asked, a slot left free asks again for a block still missing whose
 * latest fetcher has waited ACK_TIMEOUT or more (its CON or the answer
 * lost, and maybe deep in its back-off: up to 93 s before it is given
 * up); a block has two fetchers at most, the older of two giving way
 * after 4 x ACK_TIMEOUT. Never more than NSTART in flight. */
static int fill(struct b2win *w)
{
    uint64_t now = coap_ep_now(w->owner->ep);
    uint64_t patience = coap_ep_params(w->owner->ep)->ack_timeout_ms;
    uint32_t busy = 0;
    for (uint32_t i = 0; i < w->window; i++) busy += w->kids[i] != NULL;
    for (; busy < w->window && w->next < w->nblocks; w->next++) {
        if (w->state[w->next] != B2_NONE) continue;
        int rc = ask(w, w->next);
        if (rc) return rc;
        busy++;
    }
    for (uint32_t num = 1; busy < w->window && num < w->nblocks; num++) {
        uint32_t f = w->state[num] == B2_HAVE ? 0 : fetching(w, num);
        if (w->state[num] == B2_HAVE || (f && now - w->asked[num] < patience)) continue;
        if (f > 1) { /* two in back-off: the older makes room after 4 x ACK_TIMEOUT */
            if (now - w->asked[num] < 4 * patience) continue;
            retire_oldest(w, num);
            busy--;
        }
        int rc = ask(w, num);
        if (rc) return rc;
        busy++;
    }
    return COAP_OK;
}

/* Stragglers are not noticed by completions alone: when every fetcher
 * left is deep in its back-off, none completes for a long time. */
static void on_tick(coap_ep_t *ep, ep_timer_t *t)
{
    struct b2win *w = (struct b2win *)t; /* the first member */
    coap_ep_timer_arm_(ep, &w->tick, coap_ep_now(ep) + coap_ep_params(ep)->ack_timeout_ms);
    int rc = fill(w);
    if (rc) coap_req_finish_(w->owner, rc, NULL);
}

/* Block num is in: a second fetcher for it is no longer needed. */
static void drop_fetchers(struct b2win *w, uint32_t num)
{
    for (uint32_t i = 0; i < w->window; i++) {
        coap_req_t *kid = w->kids[i];
        if (!kid || kid->b2_num != num) continue;
        w->kids[i] = NULL;
        coap_req_cancel(kid);
    }
}

/* Block num's answer: the same representation (ETag, size), in place. */
static int take(struct b2win *w, uint32_t num, const coap_resp_t *r)
{
    const coap_msg_t *m = r->msg;
    coap_block_info_t b;
    if (COAP_CODE_CLASS(m->code) != 2 || coap_block_get(m, COAP_OPT_BLOCK2, &b) != 1 ||
        b.num != num || b.szx != w->szx)
        return COAP_ERR_BLOCK;
    const coap_msg_opt_t *etag = coap_msg_find_opt(m, COAP_OPT_ETAG);
    const coap_req_t *o = w->owner;
    if ((etag ? etag->len : 0) != o->etag_len ||
        (etag && memcmp(coap_msg_opt_value(etag), o->etag, o->etag_len)))
        return COAP_ERR_BLOCK; /* §2.4: the representation changed meanwhile */
    size_t off = (size_t)num * w->bs;
    size_t len = w->size2 - off < w->bs ? w->size2 - off : w->bs;
    if (m->payload_len != len || b.more != (num + 1 < w->nblocks)) return COAP_ERR_BLOCK;
    memcpy(w->data + off, m->payload, len);
    w->state[num] = B2_HAVE;
    w->have++;
    w->got += len;
    coap_req_progress_(w->owner, 0, w->got, w->size2);
    return COAP_OK;
}

static void on_block(coap_req_t *kid, const coap_resp_t *r, void *arg)
{
    struct b2win *w = arg;
    coap_req_t *owner = w->owner;
    uint32_t num = kid->b2_num;
    if (!r->last) return;
    for (uint32_t i = 0; i < w->window; i++)
        if (w->kids[i] == kid) w->kids[i] = NULL;
    if (r->err == COAP_ERR_CANCELLED) return; /* stopped: not needed any more */
    if (w->state[num] == B2_HAVE) return;     /* the other fetcher's copy came first */
    int rc = r->err ? r->err : take(w, num, r);
    if (rc == COAP_OK) drop_fetchers(w, num);
    if (rc == COAP_ERR_TIMEOUT && owner->timeout_ms) {
        /* given up by the message layer: asked again (by fill) while the
         * owner's own timeout runs (it ends everything when it fires) */
        rc = COAP_OK;
    }
    if (rc == COAP_OK && w->have == w->nblocks) {
        base_buf_reset(&owner->body);
        rc = base_buf_append(&owner->body, w->data, w->size2) ? COAP_ERR_NOMEM : COAP_OK;
        if (rc == COAP_OK) {
            coap_req_finish_(owner, COAP_OK, r->msg); /* its options are the same */
            return;
        }
    }
    if (rc == COAP_OK) rc = fill(w);
    if (rc) coap_req_finish_(owner, rc, NULL);
}

int coap_b2win_start_(coap_req_t *req, const coap_msg_t *block0, uint32_t size2)
{
    coap_block_info_t b;
    uint32_t window = coap_ep_params(req->ep)->nstart;
    if (window < 2 || req->method != COAP_GET || req->observe || req->fetcher ||
        coap_block_get(block0, COAP_OPT_BLOCK2, &b) != 1 || b.num != 0 || !b.more)
        return 0;
    uint32_t bs = (uint32_t)coap_block_size(b.szx);
    uint32_t nblocks = size2 / bs + (size2 % bs != 0);
    if (block0->payload_len != bs || nblocks < 3) return 0; /* one by one will do */
    struct b2win *w = calloc(1, sizeof *w);
    if (!w) return 0;
    w->data = malloc(size2);
    w->state = calloc(nblocks, 1);
    w->kids = calloc(window, sizeof *w->kids);
    w->asked = calloc(nblocks, sizeof *w->asked);
    w->since = calloc(window, sizeof *w->since);
    req->win = w; /* freed with req from now on */
    if (!w->data || !w->state || !w->kids || !w->asked || !w->since) return COAP_ERR_NOMEM;
    *w = (struct b2win){.owner = req,
                        .data = w->data,
                        .state = w->state,
                        .kids = w->kids,
                        .asked = w->asked,
                        .since = w->since,
                        .size2 = size2,
                        .bs = bs,
                        .nblocks = nblocks,
                        .next = 1,
                        .have = 1,
                        .got = bs,
                        .window = window,
                        .szx = b.szx};
    memcpy(w->data, block0->payload, bs);
    w->state[0] = B2_HAVE;
    w->tick.fire = on_tick;
    coap_ep_timer_arm_(req->ep, &w->tick,
                       coap_ep_now(req->ep) + coap_ep_params(req->ep)->ack_timeout_ms);
    req->state = REQ_WAIT_RESP; /* for the fetchers; its own token is idle */
    int rc = fill(w);
    return rc ? rc : 1;
}

void coap_b2win_stop_(coap_req_t *req)
{
    struct b2win *w = req->win;
    if (!w) return;
    coap_ep_timer_disarm_(req->ep, &w->tick);
    for (uint32_t i = 0; w->kids && i < w->window; i++) {
        coap_req_t *kid = w->kids[i];
        w->kids[i] = NULL;
        if (kid) coap_req_cancel(kid);
    }
}

void coap_b2win_free_(coap_req_t *req)
{
    struct b2win *w = req->win;
    if (!w) return;
    coap_ep_timer_disarm_(req->ep, &w->tick);
    free(w->data);
    free(w->state);
    free(w->kids);
    free(w->asked);
    free(w->since);
    free(w);
    req->win = NULL;
}
