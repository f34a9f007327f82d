/* A CoAP client that observes a resource for five notifications, then
 * deregisters. cc observe.c $(pkg-config --cflags --libs coapgw-coap) -o observe */
#include <coap_client.h>
#include <stdio.h>

static int seen;

static void on_notify(coap_req_t *req, const coap_resp_t *r, void *arg)
{
    base_loop_t *loop = arg;
    if (r->err) {
        fprintf(stderr, "error: %s\n", coap_strerror(r->err));
        base_loop_stop(loop);
        return;
    }
    if (r->observing && r->fresh) /* RFC 7641 §3.4: stale ones are skipped */
        printf("%u: %.*s\n", r->seq, (int)r->body_len, (const char *)r->body), fflush(stdout);
    if (r->observing && ++seen == 5) coap_req_observe_stop(req, COAP_OBSERVE_DEREGISTER);
    if (r->last) base_loop_stop(loop); /* the final call: deregistered */
}
int main(int argc, char **argv)
{
    const char *uri = argc > 1 ? argv[1] : "coap://127.0.0.1/counter";
    int err;
    base_loop_t *loop = base_loop_new();
    coap_ep_t *ep = coap_ep_new(NULL, NULL, &err);
    coap_ep_attach(ep, loop);
    coap_req_t *req = coap_req_new(ep, COAP_GET, uri, NULL, &err);
    if (!req) return fprintf(stderr, "%s: %s\n", uri, coap_strerror(err)), 2;
    coap_req_set_observe(req, 0);
    coap_req_send(req, on_notify, loop);
    base_loop_run(loop);
    coap_ep_detach(ep, loop), coap_ep_free(ep), base_loop_free(loop);
    return seen >= 5 ? 0 : 1;
}
