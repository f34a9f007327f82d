/*
 * Unit tests for the message-layer half of the server role on a simulated
 * network: deferred empty ACKs and separate responses (RFC 7252 §5.2.2),
 * NON responses (§5.2.3), pending requests and coap_ep_free().
 */
#include "coap_client.h"
#include "coap_ep.h"
#include "simnet.h"
#include "simsrv.h"

#include <check.h>
#include <string.h>

/* --- separate responses, server side (§5.2.2) --- */

typedef struct {
    int calls, err, last, code;
} got_t;

static void on_resp(coap_req_t *req, const coap_resp_t *r, void *arg)
{
    (void)req;
    got_t *g = arg;
    g->calls++;
    g->err = r->err;
    g->last = r->last;
    g->code = r->msg ? r->msg->code : -1;
}

START_TEST(separate_response_acked)
{
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL);
    sim_srv_t srv;
    sim_srv_init(&srv, &n, NULL, NULL, NULL);
    int err;
    coap_req_t *req = coap_req_new(sim_ep(&n, a), COAP_GET, "coap://10.0.0.2/x", NULL, &err);
    ck_assert_ptr_nonnull(req);
    got_t g = {0};
    uint64_t t0 = n.now;
    ck_assert_int_eq(coap_req_send(req, on_resp, &g), COAP_OK);
    sim_run_until(&n, t0 + 5000);
    ck_assert_ptr_nonnull(srv.held);
    ck_assert_uint_eq(coap_ep_pending_requests(srv.ep), 1);
    /* defer_ack_ms (500) after the request arrived, the empty ACK left */
    const sim_dgram_t *ack = sim_nth(&n, 0, srv.node, a, COAP_ACK, 0);
    ck_assert_ptr_nonnull(ack);
    ck_assert_uint_eq(ack->t, t0 + n.latency_ms + 500);
    ck_assert_uint_eq(sim_count(&n, a, srv.node, COAP_CON, COAP_GET), 1); /* so no retransmission */
    coap_msg_t resp;
    sim_resp(&resp, COAP_CONTENT, "v", 1);
    sim_sent_t done = {0};
    ck_assert_int_eq(coap_ep_respond(srv.ep, srv.held, &resp, sim_on_sent, &done), COAP_OK);
    sim_run_for(&n, 1000);
    const sim_dgram_t *sep = sim_nth(&n, 0, srv.node, a, COAP_CON, COAP_CONTENT);
    ck_assert_ptr_nonnull(sep);
    const sim_dgram_t *cack = sim_nth(&n, 0, a, srv.node, COAP_ACK, 0);
    ck_assert_ptr_nonnull(cack);
    ck_assert_uint_eq(cack->msg.mid, sep->msg.mid);
    ck_assert_int_eq(done.calls, 1);
    ck_assert_int_eq(done.result, COAP_OK);
    ck_assert_int_eq(g.calls, 1);
    ck_assert_int_eq(g.code, COAP_CONTENT);
    ck_assert_int_eq(g.last, 1);
    ck_assert_ptr_null(coap_ep_req_find(srv.ep, 1));
    ck_assert_uint_eq(coap_ep_pending_requests(srv.ep), 0);
    sim_free(&n);
}
END_TEST

START_TEST(separate_response_never_acked)
{
    simnet_t n;
    sim_init(&n);
    int r = sim_add_raw(&n, NULL, NULL); /* a client that never ACKs */
    sim_srv_t srv;
    sim_srv_init(&srv, &n, NULL, NULL, NULL);
    sim_send_hex(&n, r, srv.node, "4401 0001 0A0B0C0D B178");
    sim_run_for(&n, 1000);
    ck_assert_ptr_nonnull(srv.held);
    uint64_t id = coap_ep_req_id(srv.held);
    ck_assert_ptr_eq(coap_ep_req_find(srv.ep, id), srv.held);
    coap_msg_t resp;
    sim_resp(&resp, COAP_CONTENT, "v", 1);
    sim_sent_t done = {0};
    ck_assert_int_eq(coap_ep_respond(srv.ep, srv.held, &resp, sim_on_sent, &done), COAP_OK);
    ck_assert_ptr_null(coap_ep_req_find(srv.ep, id));
    sim_run_for(&n, 200000);
    ck_assert_uint_eq(sim_count(&n, srv.node, r, COAP_CON, COAP_CONTENT), 5);
    ck_assert_int_eq(done.calls, 1);
    ck_assert_int_eq(done.result, COAP_ERR_TIMEOUT);
    sim_free(&n);
}
END_TEST

/* A NON response's `done` runs at once (coap_ep_respond's contract). */
START_TEST(non_response_done_at_once)
{
    simnet_t n;
    sim_init(&n);
    int r = sim_add_raw(&n, NULL, NULL);
    sim_srv_t srv;
    sim_srv_init(&srv, &n, NULL, NULL, NULL);
    sim_send_hex(&n, r, srv.node, "5401 0001 0A0B0C0D B178");
    sim_run_for(&n, 1000);
    ck_assert_uint_eq(sim_count(&n, srv.node, r, SIM_ANY, SIM_ANY), 0); /* no ACK to a NON */
    coap_msg_t resp;
    sim_resp(&resp, COAP_CONTENT, "v", 1);
    sim_sent_t done = {0};
    ck_assert_int_eq(coap_ep_respond(srv.ep, srv.held, &resp, sim_on_sent, &done), COAP_OK);
    ck_assert_int_eq(done.calls, 1);
    ck_assert_int_eq(done.result, COAP_OK);
    ck_assert_uint_eq(sim_count(&n, srv.node, r, COAP_NON, COAP_CONTENT), 1);
    sim_free(&n);
}
END_TEST

/* coap_ep_free ends a pending separate response with COAP_ERR_CANCELLED. */
START_TEST(free_cancels_server_tx)
{
    simnet_t n;
    sim_init(&n);
    int r = sim_add_raw(&n, NULL, NULL);
    sim_srv_t srv;
    sim_srv_init(&srv, &n, NULL, NULL, NULL);
    sim_send_hex(&n, r, srv.node, "4401 0001 0A0B0C0D B178");
    sim_send_hex(&n, r, srv.node, "4401 0002 0A0B0C0E B178");
    sim_run_for(&n, 1000);
    coap_msg_t resp;
    sim_resp(&resp, COAP_CONTENT, "v", 1);
    sim_sent_t done = {0};
    ck_assert_int_eq(coap_ep_respond(srv.ep, srv.held, &resp, sim_on_sent, &done), COAP_OK);
    /* the other request is still pending; both go with the endpoint */
    coap_ep_free(srv.ep);
    n.nodes[srv.node].ep = NULL;
    ck_assert_int_eq(done.calls, 1);
    ck_assert_int_eq(done.result, COAP_ERR_CANCELLED);
    sim_free(&n);
}
END_TEST

/* coap_ep_req_ack() sends the empty ACK at once; coap_ep_req_drop() of an
 * un-ACKed CON still ACKs it (and nothing else); a NON is dropped quietly. */
START_TEST(ack_now_and_drop)
{
    simnet_t n;
    sim_init(&n);
    int r = sim_add_raw(&n, NULL, NULL);
    sim_srv_t srv;
    sim_srv_init(&srv, &n, NULL, NULL, NULL);
    uint64_t t0 = n.now;
    sim_send_hex(&n, r, srv.node, "4401 0001 0A0B0C0D B178");
    sim_run_until(&n, t0 + 100);
    coap_ep_req_ack(srv.ep, srv.held);
    ck_assert_uint_eq(sim_count(&n, srv.node, r, COAP_ACK, 0), 1);
    ck_assert_uint_eq(sim_last(&n)->t, t0 + 100);
    coap_ep_req_ack(srv.ep, srv.held); /* once only */
    coap_ep_req_drop(srv.ep, srv.held);
    sim_run_until(&n, t0 + 5000);
    ck_assert_uint_eq(sim_count(&n, srv.node, r, SIM_ANY, SIM_ANY), 1);

    sim_send_hex(&n, r, srv.node, "4401 0002 0A0B0C0E B178");
    sim_run_for(&n, 100);
    coap_ep_req_drop(srv.ep, srv.held);
    ck_assert_uint_eq(sim_count(&n, srv.node, r, COAP_ACK, 0), 2);
    ck_assert_uint_eq(sim_last(&n)->msg.mid, 2);
    sim_send_hex(&n, r, srv.node, "5401 0003 0A0B0C0F B178");
    sim_run_for(&n, 100);
    coap_ep_req_drop(srv.ep, srv.held);
    sim_run_for(&n, 5000);
    ck_assert_uint_eq(sim_count(&n, srv.node, r, SIM_ANY, SIM_ANY), 2);
    ck_assert_int_eq(srv.calls, 3);
    sim_free(&n);
}
END_TEST

/* A response that cannot be serialized: an error, the request is freed
 * all the same and still ACKed, `done` does not run. */
START_TEST(respond_failure)
{
    simnet_t n;
    sim_init(&n);
    int r = sim_add_raw(&n, NULL, NULL);
    sim_srv_t srv;
    sim_srv_init(&srv, &n, NULL, NULL, NULL);
    sim_send_hex(&n, r, srv.node, "4401 0001 0A0B0C0D B178");
    sim_run_for(&n, 100);
    uint64_t id = coap_ep_req_id(srv.held);
    coap_msg_t resp;
    sim_resp(&resp, COAP_CONTENT, NULL, 0);
    coap_msg_add_uint(&resp, COAP_OPT_URI_PATH, 1);
    coap_msg_add_uint(&resp, COAP_OPT_ETAG, 2);
    resp.opts[0].num = COAP_OPT_MAX_AGE; /* now out of order */
    sim_sent_t done = {0};
    ck_assert_int_eq(coap_ep_respond(srv.ep, srv.held, &resp, sim_on_sent, &done),
                     COAP_ERR_OPT_ORDER);
    ck_assert_int_eq(done.calls, 0);
    ck_assert_ptr_null(coap_ep_req_find(srv.ep, id));
    sim_run_for(&n, 5000);
    ck_assert_uint_eq(sim_count(&n, srv.node, r, SIM_ANY, SIM_ANY), 1);
    ck_assert_int_eq(sim_last(&n)->msg.type, COAP_ACK);
    ck_assert_int_eq(sim_last(&n)->msg.code, 0);
    sim_free(&n);
}
END_TEST

/* The same Message ID with another token is a new message: the peer's
 * 16-bit IDs wrapped within EXCHANGE_LIFETIME. A true retransmission (same
 * ID, same token) is still a duplicate. */
static void answer_now(sim_srv_t *s, coap_ep_req_t *req, const coap_msg_t *m)
{
    (void)m;
    coap_msg_t resp;
    sim_resp(&resp, COAP_CONTENT, "v", 1);
    coap_ep_respond(s->ep, req, &resp, NULL, NULL);
}

START_TEST(wrapped_mid_is_new)
{
    simnet_t n;
    sim_init(&n);
    int r = sim_add_raw(&n, NULL, NULL);
    sim_srv_t srv;
    sim_srv_init(&srv, &n, NULL, answer_now, NULL);
    sim_send_hex(&n, r, srv.node, "4401 0001 0A0B0C0D B178");
    sim_run_for(&n, 100);
    sim_send_hex(&n, r, srv.node, "4401 0001 0A0B0C0D B178"); /* retransmission */
    sim_run_for(&n, 100);
    ck_assert_int_eq(srv.calls, 1);
    sim_send_hex(&n, r, srv.node, "4401 0001 01020304 B178"); /* same ID, new token */
    sim_run_for(&n, 100);
    ck_assert_int_eq(srv.calls, 2);
    ck_assert_mem_eq(srv.last_token, "\x01\x02\x03\x04", 4);
    const sim_dgram_t *ack = sim_nth(&n, 2, srv.node, r, COAP_ACK, COAP_CONTENT);
    ck_assert_ptr_nonnull(ack);
    ck_assert_mem_eq(ack->msg.token, "\x01\x02\x03\x04", 4);  /* not the old answer */
    sim_send_hex(&n, r, srv.node, "4401 0001 01020304 B178"); /* its retransmission */
    sim_run_for(&n, 100);
    ck_assert_int_eq(srv.calls, 2);
    sim_free(&n);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ep_request");
    TCase *tc = tcase_create("server");
    tcase_add_test(tc, separate_response_acked);
    tcase_add_test(tc, separate_response_never_acked);
    tcase_add_test(tc, non_response_done_at_once);
    tcase_add_test(tc, free_cancels_server_tx);
    tcase_add_test(tc, ack_now_and_drop);
    tcase_add_test(tc, respond_failure);
    tcase_add_test(tc, wrapped_mid_is_new);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
