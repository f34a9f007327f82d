/*
 * ep_rx.c - one incoming datagram through the message layer: size limit,
 * parse, then by type (RFC 7252 §4): ACK and RST end our transmissions;
 * CON and NON pass duplicate detection and go to the server role (a
 * request) or the client role (a separate response or a notification).
 */
#include "ep_internal.h"

/* A response that is not piggybacked: to the exchange waiting for it. */
static void response_input(coap_ep_t *ep, coap_peer_t *peer, ep_dedup_t *dd, const coap_msg_t *m)
{
    void *exchange = ep->responses ? ep->responses->match(ep, peer, m) : NULL;
    if (!exchange) {
        /* §4.2, RFC 7641 §3.6: a response nobody waits for is rejected,
         * which also ends an observation the client forgot. */
        ep->stats.unexpected++;
        coap_ep_send_empty_(ep, peer, COAP_RST, m->mid, dd);
        return;
    }
    /* §5.2.2: ACK a separate response before the client acts on it, so the
     * ACK precedes whatever its callback sends. */
    if (m->type == COAP_CON) coap_ep_send_empty_(ep, peer, COAP_ACK, m->mid, dd);
    ep->responses->deliver(exchange, m);
}

static void con_non_input(coap_ep_t *ep, coap_peer_t *peer, const coap_msg_t *m, uint64_t digest)
{
    unsigned cls = COAP_CODE_CLASS(m->code);
    if (m->code == COAP_EMPTY || cls == 1 || cls > 5) {
        /* An empty CON is a "ping" (§4.3): answered with RST, like any CON
         * with a reserved code class. */
        if (!ep->rx_multicast) coap_ep_reject_(ep, peer, m, NULL); /* §8.2: no RST */
        return;
    }
    int dup;
    ep_dedup_t *dd = coap_ep_dedup_check_(ep, peer, m, digest, &dup);
    if (dup) {
        coap_ep_dedup_replay_(ep, dd);
        return;
    }
    if (cls == 0)
        coap_ep_request_input_(ep, peer, dd, m);
    else
        response_input(ep, peer, dd, m);
}

/* RFC 8323 §2-§3: one frame from a reliable transport. No ACK, RST or
 * duplicate exists; the transport kept signals (7.xx) to itself, and an
 * empty message (0.00) is ignored (§3.4). A frame that does not parse is
 * the transport's to catch (it aborts the connection); here it is
 * dropped. */
static void reliable_input(coap_ep_t *ep, coap_peer_t *peer, const uint8_t *buf, size_t len)
{
    coap_msg_t m;
    if (coap_msg_parse_tcp(&m, buf, len)) {
        ep->stats.malformed++;
        return;
    }
    unsigned cls = COAP_CODE_CLASS(m.code);
    if (m.code == COAP_EMPTY || cls == 1 || cls > 5) return;
    if (cls == 0)
        coap_ep_request_input_(ep, peer, NULL, &m);
    else
        response_input(ep, peer, NULL, &m);
}

static void udp_input(coap_ep_t *ep, const coap_addr_t *from, const coap_addr_t *local,
                      const coap_identity_t *id, const uint8_t *buf, size_t len);

void coap_ep_datagram_(coap_ep_t *ep, const coap_addr_t *from, const coap_addr_t *local,
                       const coap_identity_t *id, const uint8_t *buf, size_t len)
{
    if (!coap_ep_reliable_(ep)) {
        udp_input(ep, from, local, id, buf, len);
        return;
    }
    ep->stats.rx++;
    if (!buf) { /* the transport bounds frames (Max-Message-Size) itself */
        ep->stats.oversized++;
        return;
    }
    coap_peer_t *peer = coap_ep_peer_get_(ep, from);
    if (!peer) return;
    coap_ep_peer_ref_(peer);
    ep->rx_identity = id;
    reliable_input(ep, peer, buf, len);
    ep->rx_identity = NULL;
    coap_ep_peer_unref_(ep, peer);
}

static void udp_input(coap_ep_t *ep, const coap_addr_t *from, const coap_addr_t *local,
                      const coap_identity_t *id, const uint8_t *buf, size_t len)
{
    ep->stats.rx++;
    if (!buf || len > ep->p.max_datagram) {
        ep->stats.oversized++;
        return;
    }
    coap_msg_t m;
    int rc = coap_msg_parse(&m, buf, len);
    if (rc) {
        ep->stats.malformed++;
        /* The header is readable unless the datagram is shorter than 4
         * bytes or of another version: then nothing may be answered. */
        if (rc != COAP_ERR_VERSION && len >= 4 && !(local && coap_addr_is_multicast(local)))
            coap_ep_reject_unknown_(ep, from, local, &m); /* §8.2: never to a group's */
        return;
    }
    coap_peer_t *peer = coap_ep_peer_get_(ep, from);
    if (!peer) return;
    /* Answers leave from where it sent to (RFC 7252 §5.3.2), unless that
     * is a group: then from a unicast address the route picks (§8.1). */
    int multicast = local && coap_addr_is_multicast(local);
    if (local && !multicast) {
        peer->local = *local;
        peer->has_local = 1;
    }
    coap_ep_peer_ref_(peer); /* callbacks below may otherwise let it go */
    ep->rx_identity = id;    /* the server role reads it for the handler */
    ep->rx_multicast = (uint8_t)multicast;
    if (m.type == COAP_ACK || m.type == COAP_RST)
        coap_ep_ack_or_rst_input_(ep, peer, &m);
    else
        con_non_input(ep, peer, &m, coap_ep_dedup_digest_(buf, len));
    ep->rx_identity = NULL;
    ep->rx_multicast = 0;
    coap_ep_peer_unref_(ep, peer);
}
