/*
 * tcp_signal.c - signalling on a CoAP-over-TCP connection (RFC 8323 §5):
 * the Capabilities and Settings Message, Ping and Pong, Release and
 * Abort, the dispatch of every frame received (signals here, the rest up
 * to the endpoint), and what the peer's CSM says, for the roles.
 */
#include "tcp_internal.h"

#include <string.h>

/* Frames a signal (or any message) and queues it on c. */
static int queue_msg(tcp_t *t, tcp_conn_t *c, const coap_msg_t *m)
{
    uint8_t buf[COAP_TCP_HEADER_MAX + COAP_TOKEN_MAX + 256];
    int n = coap_msg_serialize_tcp(m, buf, sizeof buf);
    return n < 0 ? n : coap_tcp_queue_(t, c, buf, (size_t)n);
}

int coap_tcp_send_signal_(tcp_t *t, tcp_conn_t *c, uint8_t code, uint16_t opt, const void *val,
                          size_t vlen, const char *diag)
{
    coap_msg_t m;
    coap_msg_init(&m, COAP_NON, code, 0);
    if (opt) coap_msg_add_opt(&m, opt, val, vlen);
    if (diag) {
        m.payload = (const uint8_t *)diag;
        m.payload_len = strlen(diag) < 200 ? strlen(diag) : 200;
    }
    return queue_msg(t, c, &m);
}

int coap_tcp_send_csm_(tcp_t *t, tcp_conn_t *c)
{
    /* §5.3.1 Max-Message-Size; §5.3.2 Block-Wise-Transfer (empty): we
     * take BERT blocks (§6), and send them where the peer announces it */
    coap_msg_t m;
    coap_msg_init(&m, COAP_NON, COAP_SIG_CSM, 0);
    coap_msg_add_uint(&m, COAP_SIGOPT_MAX_MESSAGE_SIZE, t->p.max_message);
    if (!t->p.no_bert) coap_msg_add_opt(&m, COAP_SIGOPT_BLOCK_WISE_TRANSFER, "", 0);
    return queue_msg(t, c, &m);
}

void coap_tcp_abort_(tcp_t *t, tcp_conn_t *c, const char *diag)
{
    /* §5.6: Abort, with a diagnostic payload, then the connection is
     * closed; written at once if the socket takes it, never waited for */
    t->stats.aborts_tx++;
    coap_tcp_send_signal_(t, c, COAP_SIG_ABORT, 0, NULL, 0, diag);
    coap_tcp_kill_(t, c, COAP_ERR_ABORTED);
}

/* §5.3: the peer's CSM. Max-Message-Size bounds what we send it; an
 * unknown critical option is a reason to abort (§5.3, §5.6.1). */
static void csm_in(tcp_t *t, tcp_conn_t *c, const coap_msg_t *m)
{
    for (unsigned i = 0; i < m->opt_count; i++) {
        const coap_msg_opt_t *o = &m->opts[i];
        uint32_t v;
        if (o->num == COAP_SIGOPT_MAX_MESSAGE_SIZE && !coap_opt_uint(o, &v))
            c->peer_max = v < COAP_TCP_HEADER_MAX + 16 ? COAP_TCP_HEADER_MAX + 16 : v;
        else if (o->num == COAP_SIGOPT_BLOCK_WISE_TRANSFER)
            c->peer_bwt = 1;
        else if (coap_opt_is_critical(o->num)) {
            uint8_t b[4];
            size_t n = coap_uint_encode(o->num, b);
            t->stats.aborts_tx++;
            coap_tcp_send_signal_(t, c, COAP_SIG_ABORT, COAP_SIGOPT_BAD_CSM_OPTION, b, n,
                                  "unknown critical CSM option");
            coap_tcp_kill_(t, c, COAP_ERR_ABORTED);
            return;
        }
    }
    if (c->csm_rx) return; /* a later CSM (§5.3) updates what it names */
    c->csm_rx = 1;
    /* requests held for it (coap_tcp_csm_wait_) may go */
    if (t->base.up->ready) t->base.up->ready(t->base.up_arg, &c->peer);
    if (t->p.event) t->p.event(t->p.event_arg, &c->peer, 1, COAP_OK);
}

/* §5.4: a Pong echoes the Ping's token, and its Custody option when the
 * Ping had one (our responses are sent in order, so they are all out). */
static void ping_in(tcp_t *t, tcp_conn_t *c, const coap_msg_t *m)
{
    coap_msg_t pong;
    coap_msg_init(&pong, COAP_NON, COAP_SIG_PONG, 0);
    coap_msg_set_token(&pong, m->token, m->token_len);
    if (coap_msg_find_opt(m, COAP_SIGOPT_CUSTODY))
        coap_msg_add_opt(&pong, COAP_SIGOPT_CUSTODY, "", 0);
    t->stats.pings_rx++;
    queue_msg(t, c, &pong);
}

static void signal_in(tcp_t *t, tcp_conn_t *c, const coap_msg_t *m)
{
    switch (m->code) {
    case COAP_SIG_CSM:
        csm_in(t, c, m);
        break;
    case COAP_SIG_PING:
        ping_in(t, c, m);
        break;
    case COAP_SIG_PONG:
        t->stats.pongs_rx++;
        c->ping_out = 0;
        break;
    case COAP_SIG_RELEASE:
        /* §5.5: the peer wants the connection gone. Alternative-Address
         * (where to reconnect) is recognized but not followed: a later
         * request connects to the same address again. */
        t->stats.releases_rx++;
        coap_tcp_kill_(t, c, COAP_ERR_CONN_CLOSED);
        break;
    case COAP_SIG_ABORT:
        t->stats.aborts_rx++;
        coap_tcp_kill_(t, c, COAP_ERR_ABORTED);
        break;
    default: /* a code §5 does not define: ignored */
        break;
    }
}

void coap_tcp_frame_in_(tcp_t *t, tcp_conn_t *c, const uint8_t *buf, size_t len)
{
    coap_msg_t m;
    if (coap_msg_parse_tcp(&m, buf, len)) {
        coap_tcp_abort_(t, c, "malformed message");
        return;
    }
    int is_signal = COAP_CODE_CLASS(m.code) == 7;
    /* §3.3: a missing CSM is a connection error */
    if (!c->csm_rx && m.code != COAP_SIG_CSM) {
        coap_tcp_abort_(t, c, "CSM expected first");
        return;
    }
    if (is_signal) {
        signal_in(t, c, &m);
        return;
    }
    c->last_used = t->now;
    const coap_identity_t *id = c->tls ? t->p.tls->identity(c->tls) : NULL;
    t->base.up->datagram(t->base.up_arg, &c->peer, NULL, id, buf, len);
}

void coap_tcp_oversized_(tcp_t *t, tcp_conn_t *c, const uint8_t *buf, size_t avail)
{
    (void)avail;
    size_t tkl = buf[0] & 0x0F, code_at = coap_tcp_head_len_(buf) - 1 - tkl;
    uint8_t code = buf[code_at];
    if (COAP_CODE_CLASS(code) != 0 || code == COAP_EMPTY || !c->csm_rx) {
        coap_tcp_abort_(t, c, "message over Max-Message-Size");
        return;
    }
    /* §5.3.1: "a 4.13 ... response ... MAY include a Size1 option" */
    coap_msg_t r;
    coap_msg_init(&r, COAP_NON, COAP_REQUEST_ENTITY_TOO_LARGE, 0);
    coap_msg_set_token(&r, buf + code_at + 1, tkl);
    coap_msg_add_uint(&r, COAP_OPT_SIZE1, t->p.max_message);
    t->stats.too_large++;
    queue_msg(t, c, &r);
}

/* --- what the peer's CSM says (§5.3), for the roles --- */

/* §5.3.1: a peer with no connection yet gets one whose CSM is not in:
 * the base value until it comes. */
uint32_t coap_tcp_peer_max_(const coap_transport_t *tr, const coap_addr_t *peer)
{
    tcp_conn_t *c = coap_tcp_find_((tcp_t *)(uintptr_t)tr, peer);
    return c ? c->peer_max : COAP_TCP_DEFAULT_MAX_MESSAGE;
}

/* §6: BERT where both CSMs announced Block-Wise-Transfer; its blocks fill
 * the peer's Max-Message-Size, at most our own. */
uint32_t coap_tcp_bert_message_(const coap_transport_t *tr, const coap_addr_t *peer)
{
    const tcp_t *t = (const tcp_t *)(uintptr_t)tr;
    tcp_conn_t *c = coap_tcp_find_((tcp_t *)(uintptr_t)tr, peer);
    if (!c || !c->csm_rx || !c->peer_bwt || t->p.no_bert) return 0;
    return c->peer_max < t->p.max_message ? c->peer_max : t->p.max_message;
}

/* §3.3: the initiator may send more after its own CSM without waiting for
 * the acceptor's; it need not, so an upload whose block size hangs on
 * that CSM (Block-Wise-Transfer: BERT, §6) waits for it, at most a
 * quarter of connect_timeout_ms from the connection's start (2.5 s by
 * default: a live peer's CSM follows its accept, or the TLS handshake,
 * within a few round trips); the rest of connect_timeout_ms is left to a
 * slower peer before the connection is given up. */
uint32_t coap_tcp_csm_wait_(coap_transport_t *tr, const coap_addr_t *peer)
{
    tcp_t *t = (tcp_t *)tr;
    int err;
    tcp_conn_t *c = coap_tcp_conn_for_(t, peer, &err);
    uint32_t bound = t->p.connect_timeout_ms / 4;
    if (!c || c->csm_rx || c->state == CONN_DEAD || !bound) return 0;
    if (c->fresh) return bound; /* made just now: process() stamps its start */
    uint64_t until = c->since + bound;
    return until > t->now ? (uint32_t)(until - t->now) : 0;
}
