/*
 * coap_hello - a minimal CoAP server for bench/run-http.sh, on the engine's
 * public API: GET /hello answers "hello" (Max-Age 60), nothing logged.
 * usage: coap_hello ADDR:PORT
 */
#include "coap_server.h"

#include <signal.h>
#include <stdio.h>

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

int main(int argc, char **argv)
{
    coap_addr_t addr;
    if (argc < 2 || coap_addr_parse(&addr, argv[1], 5683)) {
        fprintf(stderr, "usage: coap_hello ADDR:PORT\n");
        return 2;
    }
    /* A large dedup table: at benchmark rates 4096 remembered IDs would be
     * recycled within milliseconds (harmless, but this is a server). */
    coap_ep_params_t p = {.max_dedup = 65536};
    int err;
    coap_ep_t *ep = coap_ep_new(&addr, &p, &err);
    if (!ep) {
        fprintf(stderr, "coap_hello: cannot bind %s\n", argv[1]);
        return 1;
    }
    base_loop_t *loop = base_loop_new();
    coap_server_t *srv = coap_server_new(ep, NULL);
    coap_server_add(srv, "/hello", 0, COAP_METHODS_READ, hello, NULL, NULL);
    coap_ep_attach(ep, loop);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    while (!stop) base_loop_run_once(loop, 200);
    coap_ep_detach(ep, loop);
    coap_server_free(srv);
    coap_ep_free(ep);
    base_loop_free(loop);
    return 0;
}
