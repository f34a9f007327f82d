/*
 * dtlsfx.h - helpers of the DTLS unit tests: a GnuTLS client session
 * whose datagrams are captured in memory (to make ClientHellos, and to
 * answer HelloVerifyRequests by hand), and raw-public-key files.
 */
#ifndef DTLSFX_H
#define DTLSFX_H

#include "dtls_internal.h"

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a captured session sent last, and what it reads next. */
typedef struct {
    gnutls_session_t g;
    gnutls_psk_client_credentials_t psk;
    uint8_t out[2048];
    size_t out_len;
    const uint8_t *in;
    size_t in_len;
} fx_hello_t;

static ssize_t fx_push(gnutls_transport_ptr_t p, const void *d, size_t n)
{
    fx_hello_t *h = p;
    if (n > sizeof h->out) n = sizeof h->out;
    memcpy(h->out, d, n);
    h->out_len = n;
    return (ssize_t)n;
}

static ssize_t fx_pull(gnutls_transport_ptr_t p, void *d, size_t n)
{
    fx_hello_t *h = p;
    if (!h->in) {
        gnutls_transport_set_errno(h->g, EAGAIN);
        return -1;
    }
    n = n < h->in_len ? n : h->in_len;
    memcpy(d, h->in, n);
    h->in = NULL;
    return (ssize_t)n;
}

static int fx_pull_timeout(gnutls_transport_ptr_t p, unsigned ms)
{
    (void)ms;
    return ((fx_hello_t *)p)->in ? 1 : 0;
}

/* A PSK client whose first flight (a ClientHello without a cookie) is in
 * h->out when this returns. */
static inline void fx_hello_start(fx_hello_t *h)
{
    memset(h, 0, sizeof *h);
    gnutls_datum_t key = {(unsigned char *)"secret", 6};
    ck_assert_int_eq(gnutls_psk_allocate_client_credentials(&h->psk), 0);
    gnutls_psk_set_client_credentials(h->psk, "dev", &key, GNUTLS_PSK_KEY_RAW);
    ck_assert_int_eq(gnutls_init(&h->g, GNUTLS_CLIENT | GNUTLS_DATAGRAM | GNUTLS_NONBLOCK), 0);
    gnutls_priority_set_direct(h->g, "NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+PSK", NULL);
    gnutls_credentials_set(h->g, GNUTLS_CRD_PSK, h->psk);
    gnutls_transport_set_ptr(h->g, h);
    gnutls_transport_set_push_function(h->g, fx_push);
    gnutls_transport_set_pull_function(h->g, fx_pull);
    gnutls_transport_set_pull_timeout_function(h->g, fx_pull_timeout);
    ck_assert_int_eq(gnutls_handshake(h->g), GNUTLS_E_AGAIN);
    ck_assert_uint_gt(h->out_len, 0);
}

/* Feeds a datagram (a HelloVerifyRequest) and lets the client answer. */
static inline void fx_hello_feed(fx_hello_t *h, const uint8_t *buf, size_t len)
{
    h->in = buf;
    h->in_len = len;
    h->out_len = 0;
    gnutls_handshake(h->g);
}

static inline void fx_hello_free(fx_hello_t *h)
{
    gnutls_deinit(h->g);
    gnutls_psk_free_client_credentials(h->psk);
}

/* A fresh P-256 key in PEM at path; its SubjectPublicKeyInfo's SHA-256 in
 * fp (the RPK fingerprint). */
static inline void fx_write_ec_key(const char *path, uint8_t fp[32])
{
    gnutls_privkey_t k;
    gnutls_pubkey_t pub;
    gnutls_x509_privkey_t xk;
    gnutls_datum_t pem, der;
    ck_assert_int_eq(gnutls_privkey_init(&k), 0);
    ck_assert_int_eq(gnutls_privkey_generate(k, GNUTLS_PK_ECDSA,
                                             GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
                     0);
    ck_assert_int_eq(gnutls_privkey_export_x509(k, &xk), 0);
    ck_assert_int_eq(gnutls_x509_privkey_export2(xk, GNUTLS_X509_FMT_PEM, &pem), 0);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fwrite(pem.data, 1, pem.size, f);
    fclose(f);
    gnutls_pubkey_init(&pub);
    gnutls_pubkey_import_privkey(pub, k, 0, 0);
    ck_assert_int_eq(gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &der), 0);
    gnutls_hash_fast(GNUTLS_DIG_SHA256, der.data, der.size, fp);
    gnutls_free(pem.data);
    gnutls_free(der.data);
    gnutls_pubkey_deinit(pub);
    gnutls_x509_privkey_deinit(xk);
    gnutls_privkey_deinit(k);
}

/* --- two transports over loopback, in one loop --- */

#include "coap_client.h"
#include "coap_server.h"
#include "base_loop.h"

/* One side: an endpoint on a DTLS transport, a server role answering
 * GET /who with the identity the transport reported, and what its events
 * said last. */
typedef struct {
    coap_ep_t *ep;
    coap_transport_t *tr;
    coap_server_t *srv;
    coap_addr_t addr;
    int events[8];
    int last_err;          /* of the last failed handshake */
    char last_reason[256]; /* ... and its reason */
    char who[256];
} fx_node_t;

static base_loop_t *fx_loop;

static void fx_event(void *arg, const dtls_event_t *ev)
{
    fx_node_t *n = arg;
    n->events[ev->kind]++;
    if (ev->kind != DTLS_EV_HANDSHAKE_FAILED) return;
    n->last_err = ev->err;
    snprintf(n->last_reason, sizeof n->last_reason, "%s", ev->reason);
}

static void fx_who(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    fx_node_t *n = arg;
    snprintf(n->who, sizeof n->who, "%s", req->identity ? req->identity->name : "");
    coap_server_response_t r = COAP_RESPONSE(COAP_CONTENT);
    r.payload = n->who;
    r.payload_len = strlen(n->who);
    coap_server_respond(srv, req->id, &r);
}

static inline dtls_creds_t *fx_psk(const char *identity, const char *key)
{
    char err[200];
    dtls_creds_conf_t c = {
        .psk_identity = identity, .psk_key = (const uint8_t *)key, .psk_key_len = strlen(key)};
    dtls_creds_t *cr = dtls_creds_new(&c, err, sizeof err);
    ck_assert_msg(cr != NULL, "%s", err);
    return cr;
}

/* A node on 127.0.0.1 (port 0: any; else that one) with cfg's roles and
 * params; cfg->event and arg are the fixture's. The credentials in cfg
 * are released. */
static inline void fx_node(fx_node_t *n, dtls_config_t *cfg, uint16_t port)
{
    memset(n, 0, sizeof *n);
    int err;
    coap_addr_t bind;
    coap_addr_from_host(&bind, "127.0.0.1", port);
    cfg->bind = &bind;
    cfg->event = fx_event;
    cfg->arg = n;
    n->tr = dtls_transport_new(cfg, &err);
    ck_assert_msg(n->tr != NULL, "%s", coap_strerror(err));
    dtls_creds_unref(cfg->server);
    dtls_creds_unref(cfg->client);
    coap_ep_params_t p = {.ack_timeout_ms = 300};
    n->ep = coap_ep_new_on(n->tr, &p, &err);
    ck_assert_ptr_nonnull(n->ep);
    coap_ep_local_addr(n->ep, &n->addr);
    coap_addr_unmap(&n->addr);
    n->srv = coap_server_new(n->ep, NULL);
    coap_server_add(n->srv, "/who", 0, COAP_METHODS_READ, fx_who, n, NULL);
    if (!fx_loop) fx_loop = base_loop_new();
    ck_assert_int_eq(coap_ep_attach(n->ep, fx_loop), 0);
}

static inline void fx_node_free(fx_node_t *n)
{
    coap_ep_detach(n->ep, fx_loop);
    coap_server_free(n->srv);
    coap_ep_free(n->ep);
}

static inline dtls_stats_t fx_stats(const fx_node_t *n)
{
    dtls_stats_t s;
    ck_assert_int_eq(dtls_transport_stats(n->tr, &s), 0);
    return s;
}

static inline void fx_run(unsigned ms)
{
    uint64_t end = base_loop_now(fx_loop) + ms;
    while (base_loop_now(fx_loop) < end) base_loop_run_once(fx_loop, 10);
}

typedef struct {
    int done, err;
    char body[256];
} fx_result_t;

static void fx_on_response(coap_req_t *req, const coap_resp_t *r, void *arg)
{
    fx_result_t *res = arg;
    (void)req;
    res->err = r->err;
    if (!r->err)
        snprintf(res->body, sizeof res->body, "%.*s", (int)r->body_len, (const char *)r->body);
    if (r->last) res->done = 1;
}

/* GET coaps://to/who from `from`: COAP_OK with the body in out, or an
 * error; gives up after 10 s. */
static inline int fx_get(fx_node_t *from, const fx_node_t *to, char *out, size_t cap)
{
    char uri[96], host[COAP_ADDR_STRLEN];
    snprintf(uri, sizeof uri, "coaps://%s/who", coap_addr_str(&to->addr, host, sizeof host));
    int err;
    coap_req_t *req = coap_req_new(from->ep, COAP_GET, uri, NULL, &err);
    ck_assert_ptr_nonnull(req);
    coap_req_set_timeout(req, 10000);
    fx_result_t res = {0};
    int rc = coap_req_send(req, fx_on_response, &res);
    if (rc) return rc; /* refused at once: no callback comes */
    while (!res.done) base_loop_run_once(fx_loop, 10);
    if (out) snprintf(out, cap, "%s", res.body);
    return res.err;
}

#endif
