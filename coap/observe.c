/*
 * observe.c - the Observe server (RFC 7641 §4): registrations keyed by peer
 * and token, notifications with increasing 24-bit sequence numbers, the
 * CON/NON policy of §4.5 and removal of observers that went away.
 */
#include "server_internal.h"
#include "ep_internal.h"

#include <stdlib.h>
#include <string.h>

/* A notification kept for later: the newest state while a CON is in
 * flight and could not take its place (§4.5.2). */
typedef struct obs_notif {
    uint8_t code;
    int cf;
    long max_age;
    uint8_t etag[8];
    size_t etag_len;
    uint32_t seq;
    size_t len;
    uint8_t payload[];
} obs_notif_t;

#define DAY_MS (24u * 3600u * 1000u)

static coap_observer_t **find(coap_server_resource_t *res, const coap_addr_t *peer,
                              const uint8_t *tok, size_t len)
{
    for (coap_observer_t **pp = &res->observers; *pp; pp = &(*pp)->next) {
        coap_observer_t *o = *pp;
        if (o->token_len == len && !memcmp(o->token, tok, len) && coap_addr_equal(&o->peer, peer))
            return pp;
    }
    return NULL;
}

static void obs_unlink(coap_server_t *srv, coap_observer_t **pp, int reason)
{
    coap_observer_t *o = *pp;
    *pp = o->next;
    o->res->nobservers--;
    srv->nobservers--;
    if (o->tx) coap_ep_tx_cancel(srv->ep, o->tx);
    coap_server_resource_t *res = o->res;
    coap_addr_t peer = o->peer;
    free(o->queued);
    free(o->query);
    free(o);
    if (srv->on_deregister) srv->on_deregister(srv, res, &peer, reason, srv->on_deregister_arg);
}

void coap_obs_deregister_(coap_server_t *srv, coap_server_resource_t *res, const coap_addr_t *peer,
                          const uint8_t *tok, size_t len, int reason)
{
    coap_observer_t **pp = find(res, peer, tok, len);
    if (pp) obs_unlink(srv, pp, reason);
}

void coap_obs_remove_all_(coap_server_t *srv, coap_server_resource_t *res, int reason)
{
    while (res->observers) obs_unlink(srv, &res->observers, reason);
}

static uint32_t observers_from(const coap_server_t *srv, const coap_addr_t *peer)
{
    uint32_t n = 0;
    for (const coap_server_resource_t *r = srv->resources; r; r = r->next)
        for (const coap_observer_t *o = r->observers; o; o = o->next)
            n += (uint32_t)coap_addr_same_host(&o->peer, peer);
    return n;
}

void coap_obs_register_(coap_server_t *srv, srv_req_t *sr, coap_msg_t *resp, uint64_t word)
{
    coap_server_resource_t *res = sr->res;
    coap_observer_t **pp = find(res, &sr->peer, sr->token, sr->token_len);
    if (!pp) {
        /* Refused for lack of room before the application is asked: it
         * would otherwise hear of an observer it never gets to deregister. */
        if (srv->nobservers >= srv->p.max_observers ||
            observers_from(srv, &sr->peer) >= srv->p.max_observers_per_host)
            return;
        if (srv->on_register && !srv->on_register(srv, res, &sr->peer, srv->on_register_arg))
            return; /* refused: a plain response without Observe */
        coap_observer_t *o = calloc(1, sizeof *o);
        if (!o) return;
        o->srv = srv;
        o->res = res;
        o->peer = sr->peer;
        o->token_len = sr->token_len;
        memcpy(o->token, sr->token, sr->token_len);
        o->last_con_ms = coap_ep_now(srv->ep);
        /* RFC 7959 §2.4: a smaller block size the client asked for in its
         * registration holds for the notifications too. */
        o->szx = sr->has_b2 && sr->b2_szx < srv->p.block_szx ? sr->b2_szx : srv->p.block_szx;
        unsigned fit = coap_ep_fit_szx_(srv->ep, &sr->peer, SRV_BLOCK_OVERHEAD); /* RFC 8323 */
        if (fit < o->szx) o->szx = (uint8_t)fit;
        o->query = sr->obs_query;
        sr->obs_query = NULL;
        o->word = word;
        o->next = res->observers;
        res->observers = o;
        res->nobservers++;
        srv->nobservers++;
    }
    if (pp) (*pp)->word = word;
    if (pp && sr->obs_query) { /* a re-registration asks anew */
        free((*pp)->query);
        (*pp)->query = sr->obs_query;
        sr->obs_query = NULL;
    }
    /* §4.1: a registration from the same peer with the same token
     * replaces the existing one; either way the answer carries Observe.
     * §4.4: the answer is a notification too, so it takes the next number:
     * the client compares it with the notifications it had before. */
    res->seq = (res->seq + 1) & 0xFFFFFF;
    coap_msg_add_uint(resp, COAP_OPT_OBSERVE, res->seq);
}

static void on_notif_sent(coap_ep_t *ep, int result, const coap_msg_t *ack, void *arg);

/* The notification n for o, of type `con` or NON, in m (which points into n). */
static void build_notif(const coap_observer_t *o, const obs_notif_t *n, int con, coap_msg_t *m)
{
    coap_msg_init(m, con ? COAP_CON : COAP_NON, n->code, 0);
    coap_msg_set_token(m, o->token, o->token_len);
    coap_server_response_t r = {.code = n->code,
                                .payload = n->payload,
                                .payload_len = n->len,
                                .content_format = n->cf,
                                .etag = n->etag_len ? n->etag : NULL,
                                .etag_len = n->etag_len,
                                .max_age = n->max_age};
    coap_server_fill_(m, &r);
    if (COAP_CODE_CLASS(n->code) == 2) coap_msg_add_uint(m, COAP_OPT_OBSERVE, n->seq);
    size_t bs = coap_block_size(o->szx);
    if (n->len > bs) { /* RFC 7959 §2.6: the first block; the client asks for the rest */
        m->payload_len = bs;
        coap_block_add(m, COAP_OPT_BLOCK2, 0, 1, o->szx);
        coap_msg_add_uint(m, COAP_OPT_SIZE2, (uint32_t)n->len);
    }
}

/* Sends n to o. The last word of an observation (`final`, an error) goes
 * as a CON the endpoint retransmits on its own: the observer is removed
 * right after. Returns COAP_OK or what coap_ep_send() said. */
static int send_notif(coap_observer_t *o, const obs_notif_t *n, int final)
{
    coap_server_t *srv = o->srv;
    uint64_t now = coap_ep_now(srv->ep);
    /* §4.5: a CON at least every con_every notifications and every 24 h,
     * so an observer that went away is noticed. */
    int con = final || o->since_con + 1 >= srv->p.con_every || now - o->last_con_ms >= DAY_MS;
    coap_msg_t m;
    build_notif(o, n, con, &m);
    if (o->tx) coap_ep_tx_cancel(srv->ep, o->tx); /* an older NON's RST window */
    o->tx = NULL;
    o->con_inflight = 0;
    int rc = final ? coap_ep_send(srv->ep, &o->peer, &m, NULL, NULL, NULL)
                   : coap_ep_send(srv->ep, &o->peer, &m, on_notif_sent, o, &o->tx);
    if (rc) return rc; /* nothing went out: the counters stay as they were */
    o->con_inflight = (uint8_t)(con && !final);
    o->since_con = con ? 0 : o->since_con + 1;
    if (con) o->last_con_ms = now;
    return COAP_OK;
}

/* §4.5.2: a newer state while a CON notification is still being
 * retransmitted takes its place at once, as a CON with the retransmission
 * counter and timeout of the old one, rather than wait for its ACK: under
 * loss that wait lasts up to MAX_TRANSMIT_WAIT, and the observer would
 * hear nothing newer all that time. */
static int replace_notif(coap_observer_t *o, const obs_notif_t *n)
{
    coap_msg_t m;
    build_notif(o, n, 1, &m);
    int rc = coap_ep_tx_replace(o->srv->ep, &o->tx, &m);
    if (rc == COAP_OK) o->since_con = 0;
    return rc;
}

static obs_notif_t *notif_new(const coap_server_response_t *rep, uint32_t seq)
{
    obs_notif_t *n = malloc(sizeof *n + rep->payload_len);
    if (!n) return NULL;
    n->code = rep->code;
    n->cf = rep->content_format;
    n->max_age = rep->max_age;
    n->etag_len = rep->etag && rep->etag_len <= 8 ? rep->etag_len : 0;
    if (n->etag_len) memcpy(n->etag, rep->etag, n->etag_len);
    n->seq = seq;
    n->len = rep->payload_len;
    if (n->len) memcpy(n->payload, rep->payload, n->len);
    return n;
}

/* No route to the observer (the send failed at once, or ICMP said so), or
 * a secured transport that cannot deliver to it (its session is gone and
 * a new one could not be made: COAP_ERR_DTLS_*), or its TCP connection
 * ended (RFC 8323: COAP_ERR_CONN_CLOSED, COAP_ERR_ABORTED): treated like
 * a CON that was never acknowledged (§4.5.2). */
static int unreachable(int result)
{
    return result == COAP_ERR_TIMEOUT || result == COAP_ERR_UNREACHABLE ||
           COAP_ERR_IS_DTLS(result) || result == COAP_ERR_CONN_CLOSED || result == COAP_ERR_ABORTED;
}

static void on_notif_sent(coap_ep_t *ep, int result, const coap_msg_t *ack, void *arg)
{
    (void)ep;
    (void)ack;
    coap_observer_t *o = arg;
    coap_server_t *srv = o->srv;
    o->tx = NULL;
    if (result == COAP_ERR_RESET || unreachable(result)) {
        coap_observer_t **pp = find(o->res, &o->peer, o->token, o->token_len);
        if (pp) obs_unlink(srv, pp, result == COAP_ERR_RESET ? COAP_DEREG_RST : COAP_DEREG_TIMEOUT);
        return;
    }
    if (result != COAP_OK) return;
    o->con_inflight = 0;
    if (o->queued) {
        obs_notif_t *n = o->queued;
        o->queued = NULL;
        int rc = send_notif(o, n, 0);
        free(n);
        coap_observer_t **pp = find(o->res, &o->peer, o->token, o->token_len);
        if (unreachable(rc) && pp) obs_unlink(srv, pp, COAP_DEREG_TIMEOUT);
    }
}

/* Sends n (made of rep) to o, or puts it in place of the CON in flight.
 * Returns 1 when o turned out unreachable (removed after the walk). */
static int deliver(coap_observer_t *o, const obs_notif_t *n, const coap_server_response_t *rep,
                   int error)
{
    if (o->con_inflight && !error && o->tx && replace_notif(o, n) == COAP_OK) return 0;
    if (o->con_inflight && !error) { /* no memory to replace it: the newest waits */
        obs_notif_t *q = notif_new(rep, n->seq);
        free(o->queued);
        o->queued = q;
        return 0;
    }
    return unreachable(send_notif(o, n, error)) && !error;
}

/* Removes the observers the walk found unreachable. */
static void unlink_gone(coap_server_t *srv, coap_server_resource_t *res)
{
    for (coap_observer_t **pp = &res->observers; *pp;) {
        if ((*pp)->gone)
            obs_unlink(srv, pp, COAP_DEREG_TIMEOUT);
        else
            pp = &(*pp)->next;
    }
}

int coap_server_notify(coap_server_t *srv, coap_server_resource_t *res,
                       const coap_server_response_t *rep)
{
    int error = COAP_CODE_CLASS(rep->code) != 2;
    /* §4.4: the sequence number increases with every notification. */
    res->seq = (res->seq + 1) & 0xFFFFFF;
    obs_notif_t *n = notif_new(rep, res->seq);
    if (!n) return COAP_ERR_NOMEM;
    int count = 0, gone = 0;
    for (coap_observer_t *o = res->observers; o; o = o->next, count++)
        if (deliver(o, n, rep, error)) o->gone = gone = 1; /* removed after the walk */
    free(n);
    /* §3.2/§4.2: an error response ends every observation of the resource. */
    if (error) coap_obs_remove_all_(srv, res, COAP_DEREG_ERROR);
    if (gone) unlink_gone(srv, res);
    return count;
}

int coap_server_notify_each(coap_server_t *srv, coap_server_resource_t *res,
                            coap_notify_build_cb build, void *arg)
{
    res->seq = (res->seq + 1) & 0xFFFFFF; /* §4.4 */
    int count = 0, gone = 0;
    for (coap_observer_t *o = res->observers; o; o = o->next) {
        coap_server_response_t rep = COAP_RESPONSE(COAP_CONTENT);
        if (!build(o->query ? o->query : "", &o->word, &rep, arg)) continue;
        if (COAP_CODE_CLASS(rep.code) != 2) continue; /* only notify() ends observations */
        obs_notif_t *n = notif_new(&rep, res->seq);
        if (!n) continue; /* no memory: this observer hears the next change */
        if (deliver(o, n, &rep, 0)) o->gone = gone = 1;
        free(n);
        count++;
    }
    if (gone) unlink_gone(srv, res);
    return count;
}

size_t coap_server_observers(const coap_server_resource_t *res)
{
    return res->nobservers;
}
