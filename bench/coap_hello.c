/*
 * coap_hello - a minimal CoAP server for the benchmarks, on the engine's
 * public API, nothing logged:
 *   GET /hello  answers "hello" (Content-Format text/plain, Max-Age 60);
 *   GET /time   answers the time as libcoap's coap-server does ("%b %d
 *               %H:%M:%S", UTC, Max-Age 1, no Content-Format), so that
 *               bench/run-dtls.sh compares both servers on the same answer.
 * usage: coap_hello ADDR:PORT [--dtls ADDR:PORT --psk IDENTITY:KEY] [--tcp ADDR:PORT]
 * With --dtls it also listens for coaps:// (DTLS 1.2 with that one PSK
 * pair, the key's bytes as typed, as libcoap's -k takes them), like
 * coap-server-gnutls beside its plain port. With --tcp it also serves
 * coap+tcp:// (RFC 8323, the engine's TCP transport with its defaults),
 * as coap-server-notls does on its TCP port (bench/run-tcp.sh).
 */
#include "coap_server.h"
#include "coap_transport.h"
#include "dtls.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t stop;
static void on_signal(int s)
{
    (void)s;
    stop = 1;
}

static void hello(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    (void)arg;
    coap_server_response_t r = COAP_RESPONSE(COAP_CONTENT);
    r.payload = "hello";
    r.payload_len = 5;
    r.content_format = 0;
    r.max_age = 60;
    coap_server_respond(srv, req->id, &r);
}

static void get_time(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    (void)arg;
    char buf[40];
    time_t now = time(NULL);
    struct tm tm;
    coap_server_response_t r = COAP_RESPONSE(COAP_CONTENT);
    r.payload = buf;
    r.payload_len = strftime(buf, sizeof buf, "%b %d %H:%M:%S", gmtime_r(&now, &tm));
    r.max_age = 1;
    coap_server_respond(srv, req->id, &r);
}

/* The DTLS transport: one PSK pair. The limits that would throttle a
 * benchmark are lifted, as libcoap's server has none: every client of
 * bench/dtls_load comes from 127.0.0.1, so the per-source handshake rate
 * (10/s by default) is set out of reach, and the session table holds the
 * 10,000 sessions of the hold test with room for the handshake test's. */
static coap_transport_t *dtls_listener(const char *where, const char *psk)
{
    coap_addr_t addr;
    const char *colon = strchr(psk, ':');
    if (coap_addr_parse(&addr, where, 5684) || !colon || colon == psk || !colon[1]) return NULL;
    char identity[128];
    snprintf(identity, sizeof identity, "%.*s", (int)(colon - psk), psk);
    dtls_creds_conf_t cc = {.psk_identity = identity,
                            .psk_key = (const uint8_t *)colon + 1,
                            .psk_key_len = strlen(colon + 1)};
    char why[160];
    dtls_creds_t *c = dtls_creds_new(&cc, why, sizeof why);
    if (!c) {
        fprintf(stderr, "coap_hello: %s\n", why);
        return NULL;
    }
    dtls_config_t cfg = {.bind = &addr, .server = c};
    cfg.params.handshakes_per_s = 1000000;
    cfg.params.max_sessions = 30000;
    int err;
    coap_transport_t *tr = dtls_transport_new(&cfg, &err);
    dtls_creds_unref(c);
    return tr;
}

/* An endpoint and its server, GET /hello and /time, on the loop. */
static coap_server_t *serve(coap_ep_t *ep, base_loop_t *loop)
{
    coap_server_t *srv = coap_server_new(ep, NULL);
    coap_server_add(srv, "/hello", 0, COAP_METHODS_READ, hello, NULL, NULL);
    coap_server_add(srv, "/time", 0, COAP_METHODS_READ, get_time, NULL, NULL);
    coap_ep_attach(ep, loop);
    return srv;
}

/* The TCP listener (RFC 8323): the transport's defaults, never connecting
 * out, as a server. */
static coap_transport_t *tcp_listener(const char *where)
{
    coap_addr_t addr;
    if (coap_addr_parse(&addr, where, 5683)) return NULL;
    coap_tcp_params_t tp = {0};
    int err;
    return coap_transport_tcp_new(&addr, &tp, &err);
}

int main(int argc, char **argv)
{
    const char *dtls_addr = NULL, *psk = NULL, *tcp_addr = NULL;
    coap_addr_t addr;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--dtls"))
            dtls_addr = argv[i + 1];
        else if (!strcmp(argv[i], "--psk"))
            psk = argv[i + 1];
        else if (!strcmp(argv[i], "--tcp"))
            tcp_addr = argv[i + 1];
    }
    if (argc < 2 || argc % 2 || coap_addr_parse(&addr, argv[1], 5683) || !dtls_addr != !psk) {
        fprintf(stderr, "usage: coap_hello ADDR:PORT [--dtls ADDR:PORT --psk IDENTITY:KEY] "
                        "[--tcp ADDR:PORT]\n");
        return 2;
    }
    /* A large dedup table: at benchmark rates 4096 remembered IDs would be
     * recycled within milliseconds (harmless, but this is a server). */
    coap_ep_params_t p = {.max_dedup = 65536};
    int err;
    coap_ep_t *eps[3] = {coap_ep_new(&addr, &p, &err)};
    if (!eps[0]) {
        fprintf(stderr, "coap_hello: cannot bind %s\n", argv[1]);
        return 1;
    }
    const char *extra[3] = {NULL, dtls_addr, tcp_addr};
    for (int i = 1; i < 3; i++) {
        if (!extra[i]) continue;
        coap_transport_t *tr = i == 1 ? dtls_listener(dtls_addr, psk) : tcp_listener(tcp_addr);
        if (!tr || !(eps[i] = coap_ep_new_on(tr, &p, &err))) {
            fprintf(stderr, "coap_hello: cannot listen for %s on %s\n", i == 1 ? "DTLS" : "TCP",
                    extra[i]);
            return 1;
        }
    }
    base_loop_t *loop = base_loop_new();
    coap_server_t *srv[3] = {NULL};
    for (int i = 0; i < 3; i++)
        if (eps[i]) srv[i] = serve(eps[i], loop);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    while (!stop) base_loop_run_once(loop, 200);
    for (int i = 0; i < 3; i++) {
        if (!eps[i]) continue;
        coap_ep_detach(eps[i], loop);
        coap_server_free(srv[i]);
        coap_ep_free(eps[i]);
    }
    base_loop_free(loop);
    return 0;
}
