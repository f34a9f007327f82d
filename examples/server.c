/* A CoAP server: a deferred (separate) response and an observable counter.
 * cc server.c $(pkg-config --cflags --libs coapgw-coap) -o server */
#include <coap_server.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
    coap_server_t *srv;
    uint64_t id;
} pending_t;
static base_loop_t *loop;
static coap_server_resource_t *counter;
static int count;

static void answer_later(base_loop_t *l, base_loop_timer_t *t, void *arg)
{
    pending_t *p = arg;
    coap_server_response_t r = COAP_RESPONSE(COAP_CONTENT);
    r.payload = "done", r.payload_len = 4, r.content_format = 0;
    coap_server_respond(p->srv, p->id, &r); /* goes out as a separate response */
    free(p), base_loop_timer_free(t), (void)l;
}
static void slow(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    pending_t *p = malloc(sizeof *p); /* keep the request id, answer in 700 ms */
    *p = (pending_t){srv, req->id}, (void)arg;
    base_loop_timer_arm_in(base_loop_timer_new(loop, answer_later, p), 700);
}
static void send_count(coap_server_t *srv, uint64_t id)
{
    char b[16];
    coap_server_response_t r = COAP_RESPONSE(COAP_CONTENT);
    r.payload = b, r.payload_len = (size_t)snprintf(b, sizeof b, "%d", count);
    if (id)
        coap_server_respond(srv, id, &r);
    else
        coap_server_notify(srv, counter, &r);
}
static void get_counter(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    send_count(srv, req->id), (void)arg;
}
static void tick(base_loop_t *l, base_loop_timer_t *t, void *srv)
{
    count++, send_count(srv, 0), base_loop_timer_arm_in(t, 200), (void)l; /* notify */
}
int main(int argc, char **argv)
{
    coap_addr_t addr;
    coap_addr_parse(&addr, argc > 1 ? argv[1] : "127.0.0.1:5683", 5683);
    coap_ep_t *ep = coap_ep_new(&addr, NULL, NULL);
    coap_server_t *srv = coap_server_new(ep, NULL);
    coap_ep_attach(ep, loop = base_loop_new());
    coap_server_add(srv, "/slow", 0, COAP_METHODS_READ, slow, NULL, NULL);
    counter = coap_server_add(srv, "/counter", COAP_RES_OBSERVABLE, COAP_METHODS_READ, get_counter,
                              NULL, NULL);
    base_loop_timer_arm_in(base_loop_timer_new(loop, tick, srv), 200);
    base_loop_run(loop);
}
