/*
 * Two DTLS transports over loopback, as client and server: sessions are
 * reused and resumed, closed when idle, started again when the peer lost
 * its own (the rebooted-peer rule), failures are named, and a server
 * reaches a client over the session the client opened.
 */
#include "dtlsfx.h"
#include "testutil.h"

#include <unistd.h>

static fx_node_t server, client;

/* A server taking "dev"/"secret" and a client with creds. */
static void pair(dtls_creds_t *creds, dtls_params_t cp)
{
    fx_node(&server, &(dtls_config_t){.server = fx_psk("dev", "secret")}, 0);
    fx_node(&client, &(dtls_config_t){.client = creds, .params = cp}, 0);
}

static void unpair(void)
{
    fx_node_free(&client);
    fx_node_free(&server);
}

START_TEST(test_reuse_and_identity)
{
    pair(fx_psk("dev", "secret"), (dtls_params_t){0});
    char body[256];
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(fx_get(&client, &server, body, sizeof body), COAP_OK);
        ck_assert_str_eq(body, "dev"); /* the PSK identity reached the handler */
    }
    ck_assert_uint_eq(fx_stats(&client).handshakes_ok, 1);
    ck_assert_uint_eq(fx_stats(&server).handshakes_ok, 1);
    ck_assert_uint_eq(fx_stats(&server).cookies_sent, 1);
    ck_assert_uint_eq(fx_stats(&server).sessions, 1);
    coap_identity_t id;
    ck_assert(dtls_transport_has_session(server.tr, &client.addr, &id));
    ck_assert_int_eq(id.kind, COAP_IDENTITY_PSK);
    ck_assert_str_eq(id.name, "dev");
    unpair();
}
END_TEST

/* The server answers a Finished it cannot decrypt with decrypt_error at
 * once; an unknown identity with unknown_psk_identity (RFC 4279 §2). */
START_TEST(test_wrong_key_and_identity)
{
    pair(fx_psk("dev", "wrong"), (dtls_params_t){0});
    uint64_t t0 = base_loop_now(fx_loop);
    ck_assert_int_eq(fx_get(&client, &server, NULL, 0), COAP_ERR_DTLS_PSK);
    ck_assert_uint_lt(base_loop_now(fx_loop) - t0, 1000);
    ck_assert_int_eq(server.last_err, COAP_ERR_DTLS_PSK);
    ck_assert_uint_eq(fx_stats(&server).handshakes_failed, 1);
    ck_assert_uint_eq(fx_stats(&server).handshakes, 0);
    unpair();
    pair(fx_psk("nobody", "secret"), (dtls_params_t){0});
    ck_assert_int_eq(fx_get(&client, &server, NULL, 0), COAP_ERR_DTLS_IDENTITY);
    ck_assert_int_eq(server.last_err, COAP_ERR_DTLS_IDENTITY);
    ck_assert_ptr_nonnull(strstr(server.last_reason, "nobody"));
    unpair();
}
END_TEST

static dtls_creds_t *no_creds(void *arg, const coap_addr_t *peer)
{
    (void)arg, (void)peer;
    return NULL;
}

START_TEST(test_no_credentials)
{
    fx_node(&server, &(dtls_config_t){.server = fx_psk("dev", "secret")}, 0);
    fx_node(&client, &(dtls_config_t){.client_creds = no_creds}, 0);
    ck_assert_int_eq(fx_get(&client, &server, NULL, 0), COAP_ERR_DTLS_NO_CREDENTIALS);
    ck_assert_uint_eq(fx_stats(&server).cookies_sent, 0); /* nothing was sent */
    unpair();
}
END_TEST

/* A request from a transport that was idle for longer than its handshake
 * timeout (nothing to process: an idle gateway) starts its handshake with
 * the time of the send, not of the last process(). */
START_TEST(test_handshake_after_idle)
{
    pair(fx_psk("dev", "secret"), (dtls_params_t){.handshake_timeout_ms = 300});
    fx_run(50);
    usleep(500 * 1000); /* the loop sleeps: no process() meanwhile */
    char body[256];
    ck_assert_int_eq(fx_get(&client, &server, body, sizeof body), COAP_OK);
    ck_assert_str_eq(body, "dev");
    ck_assert_uint_eq(fx_stats(&client).handshakes_failed, 0);
    unpair();
}
END_TEST

/* Idle: close_notify, then the next request resumes with the ticket. */
START_TEST(test_idle_close_and_resume)
{
    pair(fx_psk("dev", "secret"), (dtls_params_t){.idle_timeout_ms = 200});
    ck_assert_int_eq(fx_get(&client, &server, NULL, 0), COAP_OK);
    fx_run(500);
    ck_assert_uint_eq(fx_stats(&client).closed_idle, 1);
    ck_assert_uint_eq(fx_stats(&client).sessions, 0);
    ck_assert_uint_eq(fx_stats(&server).closed_by_peer, 1);
    ck_assert_uint_eq(fx_stats(&server).sessions, 0);
    char body[256];
    ck_assert_int_eq(fx_get(&client, &server, body, sizeof body), COAP_OK);
    ck_assert_str_eq(body, "dev"); /* the identity survives resumption */
    ck_assert_uint_eq(fx_stats(&client).handshakes_ok, 2);
    ck_assert_uint_eq(fx_stats(&client).handshakes_resumed, 1);
    ck_assert_uint_eq(fx_stats(&server).handshakes_resumed, 1);
    unpair();
}
END_TEST

/* The server restarts on the same port and knows nothing of the session:
 * the client's retransmitted CON brings a new handshake, and the request
 * succeeds. */
START_TEST(test_rebooted_peer)
{
    pair(fx_psk("dev", "secret"), (dtls_params_t){0});
    ck_assert_int_eq(fx_get(&client, &server, NULL, 0), COAP_OK);
    uint16_t port = coap_addr_port(&server.addr);
    fx_node_t old = server;
    coap_ep_detach(old.ep, fx_loop);
    coap_server_free(old.srv);
    /* Gone without a word, as in a crash: its close_notify goes out on a
     * connected socket, which refuses datagrams addressed elsewhere. */
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    coap_addr_t nowhere;
    coap_addr_from_host(&nowhere, "127.0.0.1", 9);
    ck_assert_int_eq(connect(s, &nowhere.u.sa, nowhere.len), 0);
    dup2(s, coap_ep_fd(old.ep));
    coap_ep_free(old.ep);
    close(s);
    fx_node(&server, &(dtls_config_t){.server = fx_psk("dev", "secret")}, port);
    ck_assert_int_eq(fx_get(&client, &server, NULL, 0), COAP_OK);
    ck_assert_uint_eq(fx_stats(&client).closed_lost, 1);
    ck_assert_uint_eq(fx_stats(&client).handshakes_ok, 2);
    ck_assert_uint_eq(fx_stats(&client).handshakes_failed, 0);
    unpair();
}
END_TEST

/* A server sends to a client through the session the client opened (a
 * device behind NAT is reached this way); without one it cannot. */
START_TEST(test_reach_back)
{
    pair(fx_psk("dev", "secret"), (dtls_params_t){0});
    ck_assert_int_eq(fx_get(&client, &server, NULL, 0), COAP_OK);
    char body[256];
    ck_assert_int_eq(fx_get(&server, &client, body, sizeof body), COAP_OK);
    ck_assert_str_eq(body, "dev"); /* the identity of the session, whoever opened it */
    ck_assert_uint_eq(fx_stats(&server).handshakes_ok, 1);
    dtls_transport_close(server.tr, &client.addr);
    ck_assert_int_eq(fx_get(&server, &client, NULL, 0), COAP_ERR_UNREACHABLE);
    unpair();
}
END_TEST

/* Raw public keys: pinned, the fingerprint is the identity; another key
 * is refused. */
START_TEST(test_rpk)
{
    char skey[] = "/tmp/coapgw-dtls-s-XXXXXX", ckey[] = "/tmp/coapgw-dtls-c-XXXXXX";
    close(mkstemp(skey)), close(mkstemp(ckey));
    uint8_t sfp[32], cfp[32];
    char spin[65], cpin[65], err[256], body[256];
    fx_write_ec_key(skey, sfp);
    fx_write_ec_key(ckey, cfp);
    dtls_fingerprint_hex(sfp, spin, sizeof spin);
    dtls_fingerprint_hex(cfp, cpin, sizeof cpin);
    dtls_creds_t *sc = dtls_creds_new(&(dtls_creds_conf_t){.rpk_file = skey}, err, sizeof err);
    dtls_creds_t *cc =
        dtls_creds_new(&(dtls_creds_conf_t){.rpk_file = ckey, .rpk_pin = spin}, err, sizeof err);
    ck_assert_msg(sc && cc, "%s", err);
    fx_node(&server, &(dtls_config_t){.server = sc}, 0);
    fx_node(&client, &(dtls_config_t){.client = cc}, 0);
    ck_assert_int_eq(fx_get(&client, &server, body, sizeof body), COAP_OK);
    ck_assert_str_eq(body, cpin);
    fx_node_free(&client);
    cc = dtls_creds_new(&(dtls_creds_conf_t){.rpk_file = ckey, .rpk_pin = cpin}, err, sizeof err);
    fx_node(&client, &(dtls_config_t){.client = cc}, 0);
    ck_assert_int_eq(fx_get(&client, &server, NULL, 0), COAP_ERR_DTLS_KEY);
    ck_assert_ptr_nonnull(strstr(client.last_reason, spin));
    unpair();
    unlink(skey), unlink(ckey);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dtls_session");
    TCase *tc = tcase_create("loopback");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_reuse_and_identity);
    tcase_add_test(tc, test_wrong_key_and_identity);
    tcase_add_test(tc, test_no_credentials);
    tcase_add_test(tc, test_handshake_after_idle);
    tcase_add_test(tc, test_idle_close_and_resume);
    tcase_add_test(tc, test_rebooted_peer);
    tcase_add_test(tc, test_reach_back);
    tcase_add_test(tc, test_rpk);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
