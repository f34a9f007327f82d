/*
 * fuzz_tcp_stream.c - libFuzzer target for the CoAP-over-TCP transport
 * (coap/transport_tcp.c, tcp_signal.c) and the reliable message layer
 * above it: each input is the byte stream one client sends to a server
 * endpoint on a real loopback TCP connection (a CSM is put first unless
 * the input's first byte is odd, so most inputs reach the requests and
 * signals behind it). The server has an echo resource and an observable
 * one.
 *
 * Checks beyond "no crash, no leak, no UB": the connection always ends
 * (the input is followed by end-of-stream, and whatever the frames said,
 * the server closes or stays open without busy-looping: bounded rounds),
 * and afterwards the transport holds no connection.
 */
#include "coap_server.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static coap_ep_t *ep;
static coap_server_t *srv;
static coap_addr_t addr;

static void handler(coap_server_t *s, const coap_server_request_t *req, void *arg)
{
    (void)arg;
    coap_server_response_t r = COAP_RESPONSE(COAP_CONTENT);
    r.payload = req->payload;
    r.payload_len = req->payload_len;
    coap_server_respond(s, req->id, &r);
}

static void setup(void)
{
    coap_addr_t any;
    coap_addr_parse(&any, "127.0.0.1:0", 0);
    int err;
    coap_tcp_params_t p = {.max_message = 2048, .max_queued = 65536};
    coap_transport_t *tr = coap_transport_tcp_new(&any, &p, &err);
    if (!tr || !(ep = coap_ep_new_on(tr, NULL, &err)) || coap_ep_local_addr(ep, &addr)) abort();
    srv = coap_server_new(ep, NULL);
    unsigned all = COAP_METHODS_READ | COAP_METHOD_BIT(COAP_PUT) | COAP_METHOD_BIT(COAP_POST);
    coap_server_add(srv, "/echo", 0, all, handler, NULL, NULL);
    coap_server_add(srv, "/obs", COAP_RES_OBSERVABLE, all, handler, NULL, NULL);
}

static void pump(int ms)
{
    struct pollfd pfd = {coap_ep_fd(ep), POLLIN, 0};
    poll(&pfd, 1, ms);
    coap_ep_process(ep);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t csm[] = {0x30, 0xE1, 0x22, 0x04, 0x80};
    if (!ep) setup();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, &addr.u.sa, addr.len) < 0) abort();
    if (!(size && (data[0] & 1))) send(fd, csm, sizeof csm, MSG_NOSIGNAL);
    if (size) send(fd, data, size, MSG_NOSIGNAL);
    shutdown(fd, SHUT_WR);
    const coap_tcp_stats_t *st = coap_transport_tcp_stats(coap_ep_transport(ep));
    char sink[4096];
    for (int round = 0; round < 200; round++) {
        pump(round < 2 ? 5 : 1);
        while (recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0) {
        }
        if (round > 2 && st->conns_open == 0) break;
    }
    close(fd);
    for (int round = 0; round < 50 && st->conns_open; round++) pump(1);
    if (st->conns_open) {
        fprintf(stderr, "fuzz_tcp_stream: a connection outlived its peer\n");
        abort();
    }
    return 0;
}
