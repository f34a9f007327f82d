/*
 * reverse.c - the reverse direction: CoAP clients send requests with
 * Proxy-Uri (or Proxy-Scheme + Uri-*) to the gateway's CoAP port or its
 * DTLS listener, which forwards http(s):// to HTTP origins
 * (reverse_http.c, within the origin policy of origin_policy.c) and
 * coap[s]:// with its CoAP client (reverse_coap.c), and answers on the
 * server the request came in on (RFC 7252 §5.7.2, §10.1; RFC 8075 tables
 * in reverse).
 * Here: the proxy handler, who may use it, and the life cycle.
 */
#include "gw_clients.h"
#include "gw_ids.h"
#include "reverse_internal.h"

#include "coap_uri.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Who gets the empty ACK at once. libcoap 4.3.1's client cannot follow
 * Block2 when block 0 comes as a separate response ("large body receive
 * internal issue"), nor a 4.01 with Echo that comes separately, so for it
 * the endpoint waits defer_ack_ms (500 ms) and an origin answering within
 * that is piggybacked. That wait delays every slow answer by 500 ms for
 * the clients that do cope, and they retransmit meanwhile when their
 * ACK_TIMEOUT is shorter. The signal, per request: Size2 in the request
 * (RFC 7959 §4: the client asks for the size of the representation, so it
 * expects to fetch it block-wise itself). libcoap 4.3.1 never sends it
 * (with -b it sends Block2, so Block2 alone is no signal); coapgw-client
 * sends Size2 0 with every proxied request. */
void rv_ack_early(coap_server_t *srv, const coap_server_request_t *req)
{
    if (coap_msg_find_opt(req->msg, COAP_OPT_SIZE2)) coap_server_ack(srv, req->id);
}

void rv_answer(coap_server_t *srv, uint64_t id, uint8_t code, const char *diag)
{
    coap_server_response_t r = COAP_RESPONSE(code);
    r.payload = diag;
    r.payload_len = diag ? strlen(diag) : 0;
    coap_server_respond(srv, id, &r);
}

/* Proxy-Uri, or Proxy-Scheme with the Uri-* options (§5.10.2). */
static int target_uri(const coap_msg_t *m, const coap_addr_t *self, char *out, size_t cap)
{
    const coap_msg_opt_t *pu = coap_msg_find_opt(m, COAP_OPT_PROXY_URI);
    if (pu) {
        if (pu->len >= cap) return -1;
        memcpy(out, coap_msg_opt_value(pu), pu->len);
        out[pu->len] = '\0';
        return 0;
    }
    const coap_msg_opt_t *ps = coap_msg_find_opt(m, COAP_OPT_PROXY_SCHEME);
    char host[COAP_ADDR_STRLEN], tmp[COAP_URI_BUF];
    coap_addr_host(self, host, sizeof host);
    if (!ps || coap_uri_compose(m, 0, host, 0, tmp, sizeof tmp) < 0) return -1;
    /* compose wrote "coap://..."; put the requested scheme in its place */
    int n =
        snprintf(out, cap, "%.*s%s", (int)ps->len, (const char *)coap_msg_opt_value(ps), tmp + 4);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static void on_proxy(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    gw_reverse_t *rv = arg;
    uint32_t hop = 16; /* RFC 8768 §3: the default when absent */
    coap_msg_get_uint(req->msg, COAP_OPT_HOP_LIMIT, &hop);
    if (hop <= 1) {
        rv_answer(srv, req->id, COAP_HOP_LIMIT_REACHED, "Hop-Limit reached");
        return;
    }
    char uri[COAP_URI_BUF];
    gw_t *gw = rv->gw; /* the addresses are read once at start */
    const coap_addr_t *self = srv == gw->dtls_srv  ? &gw->dtls_addr
                              : srv == gw->tcp_srv ? &gw->tcp_addr
                              : srv == gw->tls_srv ? &gw->tls_addr
                                                   : &gw->srv_addr;
    if (target_uri(req->msg, self, uri, sizeof uri)) {
        rv_answer(srv, req->id, COAP_BAD_REQUEST, "malformed Proxy-Uri or Proxy-Scheme");
        return;
    }
    size_t sl = strcspn(uri, ":");
    if ((sl == 4 && !strncasecmp(uri, "coap", 4)) || (sl == 5 && !strncasecmp(uri, "coaps", 5)) ||
        (sl == 8 && !strncasecmp(uri, "coap+tcp", 8)) ||
        (sl == 9 && !strncasecmp(uri, "coaps+tcp", 9))) /* RFC 8323 §8.1, §8.2 */
        rv_forward_coap(rv, srv, req, uri, hop);
    else if ((sl == 4 && !strncasecmp(uri, "http", 4)) ||
             (sl == 5 && !strncasecmp(uri, "https", 5)))
        rv_forward_http(rv, srv, req, uri);
    else
        rv_answer(srv, req->id, COAP_PROXYING_NOT_SUPPORTED, "unsupported scheme in Proxy-Uri");
}

/* An authenticated DTLS client (RFC 7252 §9) is judged by its identity's
 * scope in dtls.identities: read (GET, FETCH) or read-write; none by
 * default. Logged at info: an identity cannot be forged. */
static uint8_t admit_identity(gw_reverse_t *rv, const coap_server_request_t *req)
{
    const gw_id_t *e = gw_ids_find(rv->gw->ids, req->identity);
    if (gw_id_may_proxy(e, req->method)) return 0;
    char from[COAP_ADDR_STRLEN], who[1050] = "nobody (no client certificate, key or PSK)";
    if (req->identity) gw_identity_label(req->identity, who, sizeof who);
    gw_log(CFG_LOG_INFO, "coap proxy: 4.03 to %s as %s: %s",
           coap_addr_str(req->peer, from, sizeof from), who,
           !e                           ? "not in dtls.identities"
           : e->proxy == CFG_PROXY_NONE ? "no proxy scope in dtls.identities"
                                        : "read scope: GET and FETCH only");
    return COAP_FORBIDDEN;
}

/* RFC 7252 §11.2, §11.3: the forward proxy serves proxy.coap_clients
 * alone (the CoAP side takes no tokens, and a source address is easily
 * spoofed) and DTLS identities with a proxy scope; anyone else gets a
 * bare 4.03, before any Block1 body is reassembled or any origin asked.
 * A plaintext refusal is logged at debug only: the sender may be forged,
 * and a log line per datagram would be a flood of its own. */
static uint8_t admit_client(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    gw_reverse_t *rv = arg;
    /* over DTLS and TLS the identity decides, also when the client
     * authenticated none (no dtls.client_ca): no rights, whatever its
     * address, as in the Resource Directory */
    if (req->identity || srv == rv->gw->dtls_srv || srv == rv->gw->tls_srv)
        return admit_identity(rv, req);
    if (gw_clients_allow(rv->gw->coap_clients, req->peer)) return 0;
    char from[COAP_ADDR_STRLEN];
    gw_log(CFG_LOG_DEBUG, "coap proxy: 4.03 to %s: not in proxy.coap_clients",
           coap_addr_str(req->peer, from, sizeof from));
    return COAP_FORBIDDEN;
}

int gw_reverse_set_origins(gw_reverse_t *rv, char *const *origins, size_t n, char *err,
                           size_t errlen)
{
    /* built aside and swapped in whole: a bad entry changes nothing, and
     * calls in flight check the policy in force when they connect */
    rv_origins_t next;
    if (rv_origins_build(&next, origins, n, err, errlen)) return -1;
    rv_origins_free(&rv->origins);
    rv->origins = next;
    return 0;
}

gw_reverse_t *gw_reverse_new(gw_t *gw, char *err, size_t errlen)
{
    gw_reverse_t *rv = calloc(1, sizeof *rv);
    if (!rv) return NULL;
    rv->gw = gw;
    rv->http = http_client_new(gw->loop);
    if (!rv->http) {
        snprintf(err, errlen, "out of memory");
        gw_reverse_free(rv);
        return NULL;
    }
    if (gw_reverse_set_origins(rv, gw->cfg.allow_origins.v, gw->cfg.allow_origins.n, err, errlen)) {
        gw_reverse_free(rv);
        return NULL;
    }
    return rv;
}

int gw_reverse_serve(gw_reverse_t *rv, coap_server_t *srv)
{
    if (rv->nsrv == RV_SERVERS) return -1;
    rv->srv[rv->nsrv++] = srv;
    coap_server_set_proxy(srv, on_proxy, rv);
    coap_server_set_proxy_admit(srv, admit_client, rv);
    return 0;
}

void gw_reverse_free(gw_reverse_t *rv)
{
    if (!rv) return;
    for (size_t i = 0; i < rv->nsrv; i++) {
        coap_server_set_proxy(rv->srv[i], NULL, NULL);
        coap_server_set_proxy_admit(rv->srv[i], NULL, NULL);
    }
    http_client_free(rv->http); /* cancels calls in flight */
    rv_http_free_spares(rv);    /* after: cancelled calls give theirs back */
    http_url_memo_free(&rv->urls);
    rv_origins_free(&rv->origins);
    free(rv);
}
