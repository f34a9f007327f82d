/*
 * Unit tests for the answers to requests that arrived on a multicast
 * address (RFC 7252 §8.2, §8.2.1; coap/ep_mcast.c), on the simulated
 * network with the whole server role: a random leisure before the answer,
 * errors suppressed, no ACK or RST, a unicast source, the first Block2
 * block only and no Echo challenge, a bound on the answer's size; and the
 * UDP transport's multicast calls (coap_transport_udp_join, _multicast_if).
 */
#include "srvnet.h"
#include "testutil.h"

#include <check.h>
#include <string.h>

static char big[3000];

typedef struct {
    st_t t;
    hrec_t hbig, hsmall;
    coap_addr_t group;
    int locals_given; /* sends the server made from a chosen local address */
} mx_t;

static mx_t *current;
static int (*sim_send_orig)(coap_transport_t *, const coap_addr_t *, const coap_addr_t *,
                            const uint8_t *, size_t);
static coap_transport_ops_t recording_ops;

/* The server's transport, recording whether a reply names its source. */
static int recording_send(coap_transport_t *tr, const coap_addr_t *to, const coap_addr_t *local,
                          const uint8_t *buf, size_t len)
{
    if (local) current->locals_given++;
    return sim_send_orig(tr, to, local, buf, len);
}

static void mx_init(mx_t *x, uint32_t leisure_ms)
{
    memset(x, 0, sizeof *x);
    current = x;
    memset(big, 'x', sizeof big - 1);
    coap_ep_params_t p = {.mcast_leisure_ms = leisure_ms};
    st_init(&x->t, &p, NULL);
    sim_verify_peers(&x->t.n, x->t.srvn, 0); /* plain UDP: Echo would apply */
    x->hbig.name = big;
    x->hsmall.name = "ok";
    coap_server_add(x->t.srv, "/big", 0, COAP_METHODS_READ, h_rec, &x->hbig, NULL);
    coap_server_add(x->t.srv, "/small", 0, COAP_METHODS_READ, h_rec, &x->hsmall, NULL);
    coap_addr_from_host(&x->group, "224.0.1.187", 5683);
    sim_node_t *node = &x->t.n.nodes[x->t.srvn];
    recording_ops = *node->tr->ops;
    sim_send_orig = recording_ops.send;
    recording_ops.send = recording_send;
    node->tr->ops = &recording_ops;
    node->rand_fixed = 1;
    node->rand_value = 700; /* the leisure drawn: 700 % (leisure + 1) */
}

/* The raw node sends m to the group; the server's transport says so. */
static void to_group(mx_t *x, const coap_msg_t *m)
{
    uint8_t buf[512];
    int len = coap_msg_serialize(m, buf, sizeof buf);
    ck_assert_int_gt(len, 0);
    sim_node_t *node = &x->t.n.nodes[x->t.srvn];
    node->tr->up->datagram(node->tr->up_arg, sim_addr(&x->t.n, x->t.raw), &x->group, NULL, buf,
                           (size_t)len);
    coap_ep_process(node->ep);
}

static size_t from_server(mx_t *x)
{
    return sim_count(&x->t.n, x->t.srvn, x->t.raw, SIM_ANY, SIM_ANY);
}

START_TEST(group_answer_waits_a_random_leisure_and_leaves_from_unicast)
{
    mx_t x;
    mx_init(&x, 1000);
    coap_msg_t m;
    raw_init(&m, COAP_NON, COAP_GET, 0x100, 1);
    raw_path(&m, "small");
    uint64_t t0 = x.t.n.now;
    to_group(&x, &m);
    ck_assert_int_eq(x.hsmall.calls, 1);
    sim_run_until(&x.t.n, t0 + 699);
    ck_assert_uint_eq(from_server(&x), 0); /* §8.2: not at once */
    sim_run_until(&x.t.n, t0 + 2000);
    const sim_dgram_t *a = sim_nth(&x.t.n, 0, x.t.srvn, x.t.raw, COAP_NON, COAP_CONTENT);
    ck_assert_ptr_nonnull(a);
    ck_assert_uint_eq(a->t, t0 + 700);
    ck_assert_int_eq(a->msg.payload_len, 2);
    ck_assert_int_eq(x.locals_given, 0); /* §8.1: never the group's address */
    /* a unicast request afterwards is answered at once, piggybacked */
    raw_init(&m, COAP_CON, COAP_GET, 0x101, 2);
    raw_path(&m, "small");
    coap_msg_t r = raw_ask(&x.t, &m);
    ck_assert_int_eq(r.code, COAP_CONTENT);
    st_free(&x.t);
}
END_TEST

START_TEST(group_errors_are_suppressed)
{
    mx_t x;
    mx_init(&x, 100);
    coap_msg_t m;
    raw_init(&m, COAP_NON, COAP_GET, 0x200, 1);
    raw_path(&m, "nothing-here"); /* 4.04 by unicast */
    to_group(&x, &m);
    raw_init(&m, COAP_NON, COAP_DELETE, 0x201, 2);
    raw_path(&m, "small"); /* 4.05 by unicast */
    to_group(&x, &m);
    sim_run_for(&x.t.n, 2000);
    ck_assert_uint_eq(from_server(&x), 0);
    ck_assert_uint_eq(coap_ep_stats(x.t.sep)->mcast_suppressed, 2);
    st_free(&x.t);
}
END_TEST

START_TEST(group_con_gets_no_ack_and_a_non_answer)
{
    mx_t x;
    mx_init(&x, 100);
    coap_msg_t m;
    raw_init(&m, COAP_CON, COAP_GET, 0x300, 1);
    raw_path(&m, "small");
    to_group(&x, &m);
    coap_msg_init(&m, COAP_CON, COAP_EMPTY, 0x301); /* a ping: no RST from a member */
    to_group(&x, &m);
    sim_run_for(&x.t.n, 2000);
    ck_assert_uint_eq(sim_count(&x.t.n, x.t.srvn, x.t.raw, COAP_ACK, SIM_ANY), 0);
    ck_assert_uint_eq(sim_count(&x.t.n, x.t.srvn, x.t.raw, COAP_RST, SIM_ANY), 0);
    ck_assert_uint_eq(sim_count(&x.t.n, x.t.srvn, x.t.raw, COAP_NON, COAP_CONTENT), 1);
    st_free(&x.t);
}
END_TEST

START_TEST(group_block2_is_the_first_block_without_echo)
{
    mx_t x;
    mx_init(&x, 100);
    coap_msg_t m;
    raw_init(&m, COAP_NON, COAP_GET, 0x400, 1);
    raw_path(&m, "big");
    to_group(&x, &m);
    sim_run_for(&x.t.n, 2000);
    ck_assert_uint_eq(from_server(&x), 1);
    const sim_dgram_t *a = sim_nth(&x.t.n, 0, x.t.srvn, x.t.raw, COAP_NON, COAP_CONTENT);
    ck_assert_ptr_nonnull(a); /* not 4.01 with Echo (RFC 9175 §2.4) */
    ck_assert_uint_le(a->len, COAP_MCAST_REPLY_MAX);
    ck_assert_int_eq(a->msg.payload_len, 1024);
    ck_assert(has_opt(&a->msg, COAP_OPT_BLOCK2)); /* RFC 7959 §2.8: the rest by unicast */
    st_free(&x.t);
}
END_TEST

/* The message layer's own bound, whatever the server role does: an
 * answer above COAP_MCAST_REPLY_MAX is not sent. */
static void answer_huge(sim_srv_t *s, coap_ep_req_t *req, const coap_msg_t *m)
{
    (void)m;
    coap_msg_t r;
    sim_resp(&r, COAP_CONTENT, big, 1500);
    ck_assert_int_eq(coap_ep_respond(s->ep, req, &r, NULL, NULL), COAP_OK);
}

START_TEST(group_answer_above_the_bound_is_dropped)
{
    simnet_t n;
    sim_init(&n);
    int raw = sim_add_raw(&n, NULL, NULL);
    sim_srv_t s;
    sim_srv_init(&s, &n, NULL, answer_huge, NULL);
    coap_msg_t m;
    coap_msg_init(&m, COAP_NON, COAP_GET, 0x500);
    uint8_t buf[64];
    int len = coap_msg_serialize(&m, buf, sizeof buf);
    coap_addr_t group;
    coap_addr_from_host(&group, "ff02::fd", 5683);
    sim_node_t *node = &n.nodes[s.node];
    node->tr->up->datagram(node->tr->up_arg, sim_addr(&n, raw), &group, NULL, buf, (size_t)len);
    coap_ep_process(node->ep);
    sim_run_for(&n, 3000);
    ck_assert_int_eq(s.calls, 1);
    ck_assert_uint_eq(sim_count(&n, s.node, raw, SIM_ANY, SIM_ANY), 0);
    ck_assert_uint_eq(coap_ep_stats(s.ep)->mcast_suppressed, 1);
    sim_free(&n);
}
END_TEST

/* The UDP transport's multicast calls refuse what they cannot do. */
START_TEST(udp_join_and_interface_refuse_misuse)
{
    coap_addr_t lo, unicast, group;
    coap_addr_from_host(&lo, "127.0.0.1", 0);
    coap_addr_from_host(&unicast, "10.77.0.11", 5683);
    coap_addr_from_host(&group, "ff02::fd", 5683);
    int err;
    coap_transport_t *t = coap_transport_udp_new(&lo, &err);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(coap_transport_udp_join(t, &unicast, 0), COAP_ERR_INVALID);
    ck_assert_int_eq(coap_transport_udp_join(t, &group, 0), COAP_ERR_INVALID); /* IPv4 socket */
    ck_assert_int_eq(coap_transport_udp_multicast_if(t, 0), COAP_OK);
    t->ops->free(t);
    simnet_t n;
    sim_init(&n);
    int a = sim_add_ep(&n, NULL); /* another kind of transport */
    ck_assert_int_eq(coap_transport_udp_multicast_if(n.nodes[a].tr, 0), COAP_ERR_INVALID);
    sim_free(&n);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("server_mcast");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, group_answer_waits_a_random_leisure_and_leaves_from_unicast);
    tcase_add_test(tc, group_errors_are_suppressed);
    tcase_add_test(tc, group_con_gets_no_ack_and_a_non_answer);
    tcase_add_test(tc, group_block2_is_the_first_block_without_echo);
    tcase_add_test(tc, group_answer_above_the_bound_is_dropped);
    tcase_add_test(tc, udp_join_and_interface_refuse_misuse);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(suite());
}
