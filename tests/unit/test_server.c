/*
 * Unit tests for the server role (coap_server.h) against our client and
 * hand-built messages on a simulated network: resource lookup, method and
 * option checks (RFC 7252 §5.4.1, §5.7.2), what a handler is given,
 * deferred (separate) responses (§5.2.2), duplicates (§4.5), ETag
 * validation (§5.10.6). /.well-known/core is in test_server_wellknown.c, a
 * lossy mixed workload in test_server_lossy.c.
 */
#include "coap_cf.h"
#include "server_internal.h"
#include "srvnet.h"

#include <check.h>
#include <string.h>

/* --- resources --- */

START_TEST(exact_prefix_and_root)
{
    st_t t;
    st_init(&t, NULL, NULL);
    hrec_t a = {.name = "a"}, b = {.name = "b"}, d = {.name = "d"}, root = {.name = "root"},
           x = {.name = "x"};
    coap_server_add(t.srv, "/a", 0, COAP_METHODS_READ, h_rec, &a, NULL);
    coap_server_resource_t *rb =
        coap_server_add(t.srv, "/a/b/", COAP_RES_PREFIX, COAP_METHODS_READ, h_rec, &b, NULL);
    coap_server_add(t.srv, "/a/b/c/d", COAP_RES_PREFIX, COAP_METHODS_READ, h_rec, &d, NULL);
    coap_server_add(t.srv, "/", COAP_RES_PREFIX, COAP_METHODS_READ, h_rec, &root, NULL);
    coap_server_add(t.srv, "/x", 0, COAP_METHODS_READ, h_rec, &x, NULL);
    ck_assert_str_eq(coap_resource_path(rb), "/a/b"); /* the trailing '/' goes */
    static const struct {
        const char *path, *who;
    } cases[] = {
        {"a", "a"},       {"a/b", "b"},         {"a/b/z", "b"},   {"a/b/c", "b"},
        {"a/b/c/d", "d"}, {"a/b/c/d/e/f", "d"}, {"a/bc", "root"}, {"a/x", "root"},
        {"x", "x"},       {"x/y", "root"},      {"zzz", "root"},  {"", "root"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        sim_rec_t k;
        st_get(&t, cases[i].path, &k);
        ck_assert_int_eq(k.code, COAP_CONTENT);
        ck_assert_uint_eq(k.body_len, strlen(cases[i].who));
        ck_assert_msg(!memcmp(k.body, cases[i].who, k.body_len), "%s went to %.*s", cases[i].path,
                      (int)k.body_len, k.body);
    }
    ck_assert_str_eq(b.path, "/a/b/c");
    ck_assert_str_eq(d.path, "/a/b/c/d/e/f");
    ck_assert_uint_eq(d.nsegs, 6);
    ck_assert_ptr_eq(b.res, rb);
    ck_assert_str_eq(root.path, "/");
    ck_assert_uint_eq(root.nsegs, 0);
    /* the root prefix does not hide /.well-known/core */
    sim_rec_t k;
    st_get(&t, ".well-known/core", &k);
    ck_assert_int_eq(k.code, COAP_CONTENT);
    ck_assert_int_eq(opt_u(&sim_last(&t.n)->msg, COAP_OPT_CONTENT_FORMAT), COAP_CF_LINK_FORMAT);
    st_free(&t);
}
END_TEST

START_TEST(not_found_and_method_not_allowed)
{
    st_t t;
    st_init(&t, NULL, NULL);
    hrec_t h = {.name = "ok"};
    coap_server_add(t.srv, "/r", 0, COAP_METHODS_READ | COAP_METHOD_BIT(COAP_PUT), h_rec, &h, NULL);
    sim_rec_t k;
    st_get(&t, "nope", &k);
    ck_assert_int_eq(k.code, COAP_NOT_FOUND);
    /* §5.5.2's diagnostic payload only where it does not make the answer
     * larger than the request (§11.3): not for this short one */
    ck_assert_uint_eq(k.body_len, 0);
    st_get(&t, "nope?a-query-long-enough-for-the-diagnostic-to-fit", &k);
    ck_assert_int_eq(k.code, COAP_NOT_FOUND);
    ck_assert_uint_gt(k.body_len, 0);
    uint32_t cf = opt_u(&sim_last(&t.n)->msg, COAP_OPT_CONTENT_FORMAT);
    ck_assert_uint_eq(cf, COAP_CF_TEXT_PLAIN);
    st_get(&t, "r/below", &k); /* not a prefix resource */
    ck_assert_int_eq(k.code, COAP_NOT_FOUND);
    static const uint8_t methods[] = {COAP_POST, COAP_DELETE, COAP_FETCH, COAP_PATCH};
    for (size_t i = 0; i < sizeof methods; i++) {
        memset(&k, 0, sizeof k);
        st_do(&t, st_req(&t, methods[i], "r"), &k);
        ck_assert_int_eq(k.code, COAP_METHOD_NOT_ALLOWED);
    }
    memset(&k, 0, sizeof k);
    st_do(&t, st_req(&t, COAP_PUT, "r"), &k);
    ck_assert_int_eq(k.code, COAP_CONTENT);
    ck_assert_int_eq(h.calls, 1);
    st_free(&t);
}
END_TEST

/* RFC 7252 §11.3: the server's own refusals (4.04, 4.05, 4.02, 5.05...)
 * are never larger than the request that caused them, so a forged source
 * gains nothing by asking; the diagnostic goes along where it fits. */
START_TEST(own_errors_never_amplify)
{
    st_t t;
    st_init(&t, NULL, NULL);
    hrec_t h = {.name = "ok"};
    coap_server_add(t.srv, "/r", 0, COAP_METHODS_READ, h_rec, &h, NULL);
    static const char *const paths[] = {"x", "nope", "r/below", "a/b/c/d/e/f/g/h/i/j/k/l",
                                        "nope?q=0123456789012345678901234567890123456789"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        sim_rec_t k = {0};
        for (int post = 0; post < 2; post++) { /* 4.04, then 4.05 or 4.04 */
            memset(&k, 0, sizeof k);
            st_do(&t, st_req(&t, post ? COAP_POST : COAP_GET, paths[i]), &k);
            const sim_dgram_t *answer = sim_last(&t.n);
            const sim_dgram_t *request = answer - 1;
            ck_assert_int_eq(COAP_CODE_CLASS(k.code), 4);
            ck_assert_msg(answer->len <= request->len, "%s: %zu bytes for %zu", paths[i],
                          answer->len, request->len);
        }
    }
    st_free(&t);
}
END_TEST

/* §5.4.1: an unrecognized critical option (or a critical one of a bad
 * length, §5.4.3) is 4.02; an unknown elective one is ignored. */
START_TEST(critical_options)
{
    st_t t;
    st_init(&t, NULL, NULL);
    hrec_t h = {.name = "ok"};
    coap_server_add(t.srv, "/r", 0, COAP_METHODS_READ, h_rec, &h, NULL);
    sim_rec_t k = {0};
    coap_req_t *req = st_req(&t, COAP_GET, "r");
    coap_req_add_option(req, 2049, "x", 1); /* odd: critical */
    st_do(&t, req, &k);
    ck_assert_int_eq(k.code, COAP_BAD_OPTION);
    memset(&k, 0, sizeof k);
    req = st_req(&t, COAP_GET, "r");
    coap_req_add_option(req, COAP_OPT_IF_MATCH, "123456789", 9); /* If-Match is 0..8 */
    st_do(&t, req, &k);
    ck_assert_int_eq(k.code, COAP_BAD_OPTION);
    memset(&k, 0, sizeof k);
    req = st_req(&t, COAP_GET, "r");
    coap_req_add_option(req, 9, "\x01", 1); /* OSCORE: not supported here */
    st_do(&t, req, &k);
    ck_assert_int_eq(k.code, COAP_BAD_OPTION);
    ck_assert_int_eq(h.calls, 0);
    memset(&k, 0, sizeof k);
    req = st_req(&t, COAP_GET, "r");
    coap_req_add_option(req, 2048, "x", 1); /* even: elective */
    st_do(&t, req, &k);
    ck_assert_int_eq(k.code, COAP_CONTENT);
    ck_assert_int_eq(h.calls, 1);
    st_free(&t);
}
END_TEST

/* §5.7.2: Proxy-Uri / Proxy-Scheme to an endpoint that is no proxy: 5.05
 * (not 4.02: the options are known, the service is not offered). */
START_TEST(proxy_uri_refused)
{
    st_t t;
    st_init(&t, NULL, NULL);
    hrec_t h = {.name = "ok"};
    coap_server_add(t.srv, "/", COAP_RES_PREFIX, COAP_METHODS_READ, h_rec, &h, NULL);
    int err = 0;
    coap_req_t *req = coap_req_new_proxy(sim_ep(&t.n, t.cli), COAP_GET, "http://example.org/x",
                                         sim_addr(&t.n, t.srvn), &err);
    ck_assert_ptr_nonnull(req);
    sim_rec_t k = {0};
    st_do(&t, req, &k);
    ck_assert_int_eq(k.code, COAP_PROXYING_NOT_SUPPORTED);
    memset(&k, 0, sizeof k);
    req = st_req(&t, COAP_GET, "x");
    coap_req_add_option(req, COAP_OPT_PROXY_SCHEME, "http", 4);
    st_do(&t, req, &k);
    ck_assert_int_eq(k.code, COAP_PROXYING_NOT_SUPPORTED);
    ck_assert_int_eq(h.calls, 0);
    st_free(&t);
}
END_TEST

START_TEST(request_fields)
{
    st_t t;
    st_init(&t, NULL, NULL);
    hrec_t h = {.name = "ok"};
    coap_server_resource_t *r =
        coap_server_add(t.srv, "/f", COAP_RES_PREFIX,
                        COAP_METHODS_READ | COAP_METHOD_BIT(COAP_POST), h_rec, &h, NULL);
    coap_req_t *req = st_req(&t, COAP_POST, "f/one/t%20wo?x=1&y=z%26z");
    coap_req_set_payload(req, "hello", 5);
    coap_req_set_content_format(req, COAP_CF_JSON);
    coap_req_set_accept(req, COAP_CF_CBOR);
    sim_rec_t k = {0};
    st_do(&t, req, &k);
    ck_assert_int_eq(k.code, COAP_CONTENT);
    ck_assert_int_eq(h.calls, 1);
    ck_assert_uint_ne(h.id, 0);
    ck_assert_int_eq(h.method, COAP_POST);
    ck_assert_str_eq(h.path, "/f/one/t wo");
    ck_assert_uint_eq(h.nsegs, 3);
    ck_assert_str_eq(h.seg[0], "f");
    ck_assert_str_eq(h.seg[1], "one");
    ck_assert_str_eq(h.seg[2], "t wo");
    ck_assert_uint_eq(h.nquery, 2);
    ck_assert_str_eq(h.query[0], "x=1");
    ck_assert_str_eq(h.query[1], "y=z&z");
    ck_assert_uint_eq(h.payload_len, 5);
    ck_assert_mem_eq(h.payload, "hello", 5);
    ck_assert_int_eq(h.cf, COAP_CF_JSON);
    ck_assert_int_eq(h.accept, COAP_CF_CBOR);
    ck_assert_int_eq(h.observe, -1);
    ck_assert(coap_addr_equal(&h.peer, sim_addr(&t.n, t.cli)));
    ck_assert_ptr_eq(h.res, r);
    uint64_t first = h.id;

    /* a NON request: NON answer; defaults for absent options */
    req = st_req(&t, COAP_GET, "f");
    coap_req_set_confirmable(req, 0);
    memset(&k, 0, sizeof k);
    st_do(&t, req, &k);
    ck_assert_int_eq(k.code, COAP_CONTENT);
    ck_assert_int_eq(sim_last(&t.n)->msg.type, COAP_NON);
    ck_assert_uint_ne(h.id, first);
    ck_assert_str_eq(h.path, "/f");
    ck_assert_uint_eq(h.nsegs, 1);
    ck_assert_uint_eq(h.nquery, 0);
    ck_assert_uint_eq(h.payload_len, 0);
    ck_assert_int_eq(h.cf, -1);
    ck_assert_int_eq(h.accept, -1);

    /* Observe is handed over; the resource is not observable: no Observe back */
    req = st_req(&t, COAP_GET, "f");
    coap_req_set_observe(req, 0);
    memset(&k, 0, sizeof k);
    st_do(&t, req, &k);
    ck_assert_int_eq(h.observe, 0);
    ck_assert(k.last && !k.observing);
    ck_assert(!has_opt(&sim_last(&t.n)->msg, COAP_OPT_OBSERVE));
    ck_assert_uint_eq(coap_server_observers(r), 0);
    st_free(&t);
}
END_TEST

/* A secured transport's identity reaches the handler (coap_transport.h),
 * also for a body reassembled from Block1; plain datagrams carry none. */
START_TEST(identity_reaches_handler)
{
    st_t t;
    st_init(&t, NULL, NULL);
    hrec_t h = {.name = "ok"};
    coap_server_add(t.srv, "/who", 0, COAP_METHODS_READ | COAP_METHOD_BIT(COAP_PUT), h_rec, &h,
                    NULL);
    sim_rec_t k = {0};
    st_do(&t, st_req(&t, COAP_GET, "who"), &k);
    ck_assert_int_eq(h.calls, 1);
    ck_assert_int_eq(h.identity_kind, 0);
    static const coap_identity_t id = {COAP_IDENTITY_PSK, "sensor-17"};
    t.n.nodes[t.cli].identity = &id;
    memset(&k, 0, sizeof k);
    st_do(&t, st_req(&t, COAP_GET, "who"), &k);
    ck_assert_int_eq(h.identity_kind, COAP_IDENTITY_PSK);
    ck_assert_str_eq(h.identity, "sensor-17");
    static uint8_t body[3000];
    coap_req_t *req = st_req(&t, COAP_PUT, "who");
    coap_req_set_payload(req, body, sizeof body);
    memset(&k, 0, sizeof k);
    st_do(&t, req, &k);
    ck_assert_uint_eq(h.payload_len, sizeof body);
    ck_assert_str_eq(h.identity, "sensor-17");
    st_free(&t);
}
END_TEST

/* --- deferred (separate) responses, §5.2.2 --- */

START_TEST(deferred_response)
{
    st_t t;
    st_init(&t, NULL, NULL);
    cbrec_t c = {0};
    st_callbacks(&t, &c);
    hrec_t h = {.defer = 1};
    coap_server_add(t.srv, "/slow", 0, COAP_METHODS_READ, h_rec, &h, NULL);
    sim_rec_t k = {0};
    uint64_t t0 = t.n.now;
    ck_assert_int_eq(coap_req_send(st_req(&t, COAP_GET, "slow"), sim_on_resp, &k), COAP_OK);
    uint64_t at = t0 + t.n.latency_ms + coap_ep_params(t.sep)->defer_ack_ms;
    sim_run_until(&t.n, at - 1);
    ck_assert_int_eq(h.calls, 1);
    ck_assert_uint_eq(sim_count(&t.n, t.srvn, t.cli, SIM_ANY, SIM_ANY), 0);
    sim_run_until(&t.n, at);
    ck_assert_uint_eq(sim_count(&t.n, t.srvn, t.cli, COAP_ACK, COAP_EMPTY), 1);
    ck_assert_uint_eq(sim_last(&t.n)->t, at);
    sim_run_until(&t.n, t0 + 1500);
    ck_assert_int_eq(k.calls, 0);
    coap_server_response_t r = COAP_RESPONSE(COAP_CONTENT);
    r.payload = "late";
    r.payload_len = 4;
    ck_assert_int_eq(coap_server_respond(t.srv, h.id, &r), COAP_OK);
    ck_assert_int_eq(coap_server_respond(t.srv, h.id, &r), COAP_ERR_INVALID); /* answered */
    ck_assert_int_eq(coap_server_respond(t.srv, 424242, &r), COAP_ERR_INVALID);
    sim_run_idle(&t.n);
    const sim_dgram_t *sep = sim_nth(&t.n, 0, t.srvn, t.cli, COAP_CON, COAP_CONTENT);
    ck_assert_ptr_nonnull(sep);
    const sim_dgram_t *ack = sim_nth(&t.n, 0, t.cli, t.srvn, COAP_ACK, COAP_EMPTY);
    ck_assert_ptr_nonnull(ack);
    ck_assert_uint_eq(ack->msg.mid, sep->msg.mid);
    ck_assert_int_eq(k.calls, 1);
    ck_assert_int_eq(k.code, COAP_CONTENT);
    ck_assert_mem_eq(k.body, "late", 4);
    ck_assert_int_eq(c.completes, 1);
    ck_assert_uint_eq(c.complete_id, h.id);
    ck_assert_int_eq(c.complete_result, COAP_OK);
    ck_assert_uint_eq(sim_count(&t.n, t.cli, t.srvn, COAP_CON, COAP_GET), 1);
    st_free(&t);
}
END_TEST

/* The separate response is never ACKed: on_complete hears of the timeout
 * (the client still got the answer: only its ACKs are lost). */
START_TEST(deferred_never_acked)
{
    st_t t;
    st_init(&t, NULL, NULL);
    cbrec_t c = {0};
    st_callbacks(&t, &c);
    hrec_t h = {.defer = 1};
    coap_server_add(t.srv, "/slow", 0, COAP_METHODS_READ, h_rec, &h, NULL);
    sim_rec_t k = {0};
    ck_assert_int_eq(coap_req_send(st_req(&t, COAP_GET, "slow"), sim_on_resp, &k), COAP_OK);
    sim_run_for(&t.n, 1000);
    ck_assert_int_eq(h.calls, 1);
    sim_rule(&t.n, t.cli, t.srvn, SIM_ANY, SIM_ANY, SIM_DROP, 0, -1);
    coap_server_response_t r = COAP_RESPONSE(COAP_CONTENT);
    ck_assert_int_eq(coap_server_respond(t.srv, h.id, &r), COAP_OK);
    sim_run_for(&t.n, 100000);
    ck_assert_uint_eq(sim_count(&t.n, t.srvn, t.cli, COAP_CON, COAP_CONTENT), 5);
    ck_assert_int_eq(c.completes, 1);
    ck_assert_uint_eq(c.complete_id, h.id);
    ck_assert_int_eq(c.complete_result, COAP_ERR_TIMEOUT);
    ck_assert_int_eq(k.finals, 1);
    st_free(&t);
}
END_TEST

/* The server goes away while a separate response is still being
 * retransmitted: the endpoint's callback must not reach the freed server. */
START_TEST(server_freed_with_response_in_flight)
{
    st_t t;
    st_init(&t, NULL, NULL);
    cbrec_t c = {0};
    st_callbacks(&t, &c);
    hrec_t h = {.defer = 1};
    coap_server_add(t.srv, "/slow", 0, COAP_METHODS_READ, h_rec, &h, NULL);
    sim_rec_t k = {0};
    ck_assert_int_eq(coap_req_send(st_req(&t, COAP_GET, "slow"), sim_on_resp, &k), COAP_OK);
    sim_run_for(&t.n, 1000);
    sim_rule(&t.n, t.cli, t.srvn, SIM_ANY, SIM_ANY, SIM_DROP, 0, -1);
    coap_server_response_t r = COAP_RESPONSE(COAP_CONTENT);
    ck_assert_int_eq(coap_server_respond(t.srv, h.id, &r), COAP_OK);
    sim_run_for(&t.n, 3000);
    coap_server_free(t.srv);
    t.srv = NULL;
    sim_run_for(&t.n, 100000); /* the CON times out */
    ck_assert_uint_eq(sim_count(&t.n, t.srvn, t.cli, COAP_CON, COAP_CONTENT), 5);
    ck_assert_int_eq(c.completes, 0);
    sim_free(&t.n);
    /* and a response still in flight when the endpoint goes */
    st_init(&t, NULL, NULL);
    st_callbacks(&t, &c);
    coap_server_add(t.srv, "/slow", 0, COAP_METHODS_READ, h_rec, &h, NULL);
    sim_rec_t k2 = {0};
    ck_assert_int_eq(coap_req_send(st_req(&t, COAP_GET, "slow"), sim_on_resp, &k2), COAP_OK);
    sim_run_for(&t.n, 1000);
    ck_assert_int_eq(coap_server_respond(t.srv, h.id, &r), COAP_OK);
    st_free(&t);
    ck_assert_int_eq(c.completes, 0);
}
END_TEST

/* --- duplicates, §4.5 --- */

START_TEST(duplicate_post_runs_once)
{
    st_t t;
    st_init(&t, NULL, NULL);
    hrec_t h = {.resp = {.code = COAP_CHANGED, .content_format = -1, .max_age = -1}};
    coap_server_add(t.srv, "/act", 0, COAP_METHOD_BIT(COAP_POST), h_rec, &h, NULL);
    /* the piggybacked 2.04 is lost once: the client retransmits */
    sim_rule(&t.n, t.srvn, t.cli, COAP_ACK, COAP_CHANGED, SIM_DROP, 0, 1);
    coap_req_t *req = st_req(&t, COAP_POST, "act");
    coap_req_set_payload(req, "go", 2);
    sim_rec_t k = {0};
    ck_assert_int_eq(coap_req_send(req, sim_on_resp, &k), COAP_OK);
    sim_run_for(&t.n, 10000);
    ck_assert_int_eq(h.calls, 1);
    ck_assert_int_eq(k.calls, 1);
    ck_assert_int_eq(k.code, COAP_CHANGED);
    ck_assert_uint_eq(sim_count(&t.n, t.cli, t.srvn, COAP_CON, COAP_POST), 2);
    ck_assert_uint_eq(sim_count(&t.n, t.srvn, t.cli, COAP_ACK, COAP_CHANGED), 2);
    ck_assert_uint_eq(coap_ep_stats(t.sep)->duplicates, 1);

    /* a retransmission while a deferred answer is pending: ACKed, not run */
    hrec_t d = {.defer = 1};
    coap_server_add(t.srv, "/slow", 0, COAP_METHOD_BIT(COAP_POST), h_rec, &d, NULL);
    sim_rule(&t.n, t.srvn, t.cli, COAP_ACK, COAP_EMPTY, SIM_DROP, 0, 1);
    memset(&k, 0, sizeof k);
    ck_assert_int_eq(coap_req_send(st_req(&t, COAP_POST, "slow"), sim_on_resp, &k), COAP_OK);
    sim_run_for(&t.n, 10000);
    ck_assert_int_eq(d.calls, 1);
    ck_assert_uint_eq(sim_count(&t.n, t.cli, t.srvn, COAP_CON, COAP_POST), 4);
    ck_assert_uint_eq(sim_count(&t.n, t.srvn, t.cli, COAP_ACK, COAP_EMPTY), 2);
    coap_server_response_t r = COAP_RESPONSE(COAP_CHANGED);
    ck_assert_int_eq(coap_server_respond(t.srv, d.id, &r), COAP_OK);
    sim_run_idle(&t.n);
    ck_assert_int_eq(k.calls, 1);
    ck_assert_int_eq(k.code, COAP_CHANGED);
    ck_assert_int_eq(d.calls, 1);
    st_free(&t);
}
END_TEST

/* --- ETag validation, §5.10.6.2 --- */

START_TEST(etag_validation)
{
    st_t t;
    st_init(&t, NULL, NULL);
    static const uint8_t tag[] = {0x01, 0x02};
    hrec_t h = {.resp = {.code = COAP_CONTENT,
                         .payload = "data",
                         .payload_len = 4,
                         .content_format = 0,
                         .etag = tag,
                         .etag_len = 2,
                         .max_age = 30}};
    coap_server_add(t.srv, "/e", 0, COAP_METHODS_READ, h_rec, &h, NULL);
    sim_rec_t k = {0};
    coap_req_t *req = st_req(&t, COAP_GET, "e");
    coap_req_add_etag(req, "\x09", 1);
    coap_req_add_etag(req, tag, 2);
    st_do(&t, req, &k);
    ck_assert_int_eq(k.code, COAP_VALID);
    ck_assert_uint_eq(k.body_len, 0);
    coap_msg_t m = sim_last(&t.n)->msg;
    ck_assert_uint_eq(m.payload_len, 0);
    const coap_msg_opt_t *o = coap_msg_find_opt(&m, COAP_OPT_ETAG);
    ck_assert_ptr_nonnull(o);
    ck_assert_uint_eq(o->len, 2);
    ck_assert_mem_eq(coap_msg_opt_value(o), tag, 2);
    ck_assert_uint_eq(opt_u(&m, COAP_OPT_MAX_AGE), 30);

    memset(&k, 0, sizeof k);
    req = st_req(&t, COAP_GET, "e");
    coap_req_add_etag(req, "\x01\x03", 2);
    st_do(&t, req, &k);
    ck_assert_int_eq(k.code, COAP_CONTENT);
    ck_assert_uint_eq(k.body_len, 4);
    ck_assert_mem_eq(k.body, "data", 4);
    st_get(&t, "e", &k);
    ck_assert_int_eq(k.code, COAP_CONTENT);
    ck_assert_int_eq(h.calls, 3);
    st_free(&t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("server");
    TCase *tc = tcase_create("server");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, exact_prefix_and_root);
    tcase_add_test(tc, not_found_and_method_not_allowed);
    tcase_add_test(tc, critical_options);
    tcase_add_test(tc, proxy_uri_refused);
    tcase_add_test(tc, request_fields);
    tcase_add_test(tc, own_errors_never_amplify);
    tcase_add_test(tc, identity_reaches_handler);
    tcase_add_test(tc, deferred_response);
    tcase_add_test(tc, deferred_never_acked);
    tcase_add_test(tc, server_freed_with_response_in_flight);
    tcase_add_test(tc, duplicate_post_runs_once);
    tcase_add_test(tc, etag_validation);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
