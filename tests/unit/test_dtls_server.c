/*
 * The DTLS server role's defences, over loopback: no state before the
 * cookie, bounded tables, a per-source rate, garbage and forged records
 * dropped and counted while the session goes on, renegotiation refused,
 * and a client that restarted on the same port (RFC 6347 §4.2.8).
 */
#include "dtlsfx.h"
#include "testutil.h"

#include <fcntl.h>
#include <unistd.h>

static fx_node_t server;

static void start_server(dtls_params_t p)
{
    fx_node(&server, &(dtls_config_t){.server = fx_psk("dev", "secret"), .params = p}, 0);
}

/* A GnuTLS client of our own on a connected UDP socket, driven by hand
 * while the loop runs the server. */
typedef struct {
    int fd;
    gnutls_session_t g;
    gnutls_psk_client_credentials_t psk;
} raw_t;

static void raw_session(raw_t *r)
{
    gnutls_datum_t key = {(unsigned char *)"secret", 6};
    gnutls_psk_allocate_client_credentials(&r->psk);
    gnutls_psk_set_client_credentials(r->psk, "dev", &key, GNUTLS_PSK_KEY_RAW);
    ck_assert_int_eq(gnutls_init(&r->g, GNUTLS_CLIENT | GNUTLS_DATAGRAM | GNUTLS_NONBLOCK), 0);
    gnutls_priority_set_direct(r->g, "NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+PSK", NULL);
    gnutls_credentials_set(r->g, GNUTLS_CRD_PSK, r->psk);
    gnutls_transport_set_int(r->g, r->fd);
}

static void raw_open(raw_t *r)
{
    r->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    ck_assert_int_eq(connect(r->fd, &server.addr.u.sa, server.addr.len), 0);
    raw_session(r);
}

static void raw_free_session(raw_t *r)
{
    gnutls_deinit(r->g);
    gnutls_psk_free_client_credentials(r->psk);
}

static void raw_close(raw_t *r)
{
    raw_free_session(r);
    close(r->fd);
}

/* Runs fn until it stops saying "again", with the loop turning. */
static int raw_drive(raw_t *r, int (*fn)(gnutls_session_t))
{
    for (int i = 0; i < 500; i++) {
        int rc = fn(r->g);
        if (rc != GNUTLS_E_AGAIN) return rc;
        base_loop_run_once(fx_loop, 10);
    }
    return GNUTLS_E_AGAIN;
}

/* GET /who over the raw session: the payload, or "" on no answer. */
static const char *raw_get(raw_t *r)
{
    static char out[256];
    uint8_t get[] = {0x40, 0x01, 0x77, 0x01, 0xb3, 'w', 'h', 'o'}, buf[512];
    ck_assert_int_eq(gnutls_record_send(r->g, get, sizeof get), sizeof get);
    out[0] = '\0';
    for (int i = 0; i < 200; i++) {
        base_loop_run_once(fx_loop, 10);
        ssize_t n = gnutls_record_recv(r->g, buf, sizeof buf);
        if (n > 5 && buf[4] == 0xff) {
            snprintf(out, sizeof out, "%.*s", (int)n - 5, (const char *)buf + 5);
            break;
        }
    }
    return out;
}

START_TEST(test_cookie_before_state)
{
    start_server((dtls_params_t){0});
    fx_hello_t h;
    fx_hello_start(&h);
    int first = -1;
    for (int i = 0; i < 101; i++) { /* one, then a flood from 100 other ports */
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        ck_assert_int_eq((int)sendto(s, h.out, h.out_len, 0, &server.addr.u.sa, server.addr.len),
                         (int)h.out_len);
        if (i == 0)
            first = s;
        else
            close(s);
        fx_run(i == 0 ? 50 : 0);
    }
    fx_run(100);
    dtls_stats_t st = fx_stats(&server);
    ck_assert_uint_eq(st.cookies_sent, 101);
    ck_assert_uint_eq(st.handshakes, 0);
    ck_assert_uint_eq(st.sessions, 0);
    uint8_t hvr[512];
    ssize_t n = recv(first, hvr, sizeof hvr, 0);
    ck_assert_int_gt(n, DTLS_REC_HEADER);
    ck_assert_uint_eq(hvr[0], 22);              /* a handshake record */
    ck_assert_uint_eq(hvr[DTLS_REC_HEADER], 3); /* HelloVerifyRequest */
    ck_assert_int_lt(n, (ssize_t)h.out_len);    /* smaller than what asked */
    /* the cookie proves the address: the server role asks for no Echo
     * (RFC 9175 §2.4) */
    ck_assert_int_eq(server.tr->ops->verifies_peers, 1);
    close(first);
    fx_hello_free(&h);
    fx_node_free(&server);
}
END_TEST

/* Garbage, a truncated record and a forged one from the session's own
 * address and port: each dropped and counted, the session goes on. */
START_TEST(test_bad_records)
{
    start_server((dtls_params_t){0});
    raw_t r;
    raw_open(&r);
    ck_assert_int_eq(raw_drive(&r, gnutls_handshake), 0);
    ck_assert_str_eq(raw_get(&r), "dev");
    uint8_t garbage[] = "GET / HTTP/1.0\r\n\r\n";
    uint8_t truncated[] = {23, 254, 253, 0, 1, 0, 0, 0, 0, 0, 9, 0, 200, 1, 2, 3};
    uint8_t forged[13 + 40] = {23, 254, 253, 0, 1, 0, 0, 0, 0, 0x7f, 0, 0, 40};
    for (size_t i = 13; i < sizeof forged; i++) forged[i] = (uint8_t)(i * 37);
    ck_assert_int_gt(send(r.fd, garbage, sizeof garbage - 1, 0), 0);
    ck_assert_int_gt(send(r.fd, truncated, sizeof truncated, 0), 0);
    ck_assert_int_gt(send(r.fd, forged, sizeof forged, 0), 0);
    fx_run(100);
    dtls_stats_t st = fx_stats(&server);
    ck_assert_uint_eq(st.dropped_malformed, 2);
    ck_assert_uint_ge(st.dropped_bad_record, 1);
    ck_assert_uint_eq(st.sessions, 1);
    ck_assert_str_eq(raw_get(&r), "dev");
    /* an application record from a port with no session */
    int other = socket(AF_INET, SOCK_DGRAM, 0);
    sendto(other, forged, sizeof forged, 0, &server.addr.u.sa, server.addr.len);
    close(other);
    fx_run(50);
    ck_assert_uint_eq(fx_stats(&server).dropped_no_session, 1);
    raw_close(&r);
    fx_node_free(&server);
}
END_TEST

START_TEST(test_renegotiation_refused)
{
    start_server((dtls_params_t){0});
    raw_t r;
    raw_open(&r);
    ck_assert_int_eq(raw_drive(&r, gnutls_handshake), 0);
    int rc = raw_drive(&r, gnutls_handshake); /* asks for a new handshake */
    ck_assert_int_eq(rc, GNUTLS_E_WARNING_ALERT_RECEIVED);
    ck_assert_int_eq(gnutls_alert_get(r.g), GNUTLS_A_NO_RENEGOTIATION);
    ck_assert_uint_eq(fx_stats(&server).renegotiations_refused, 1);
    ck_assert_uint_eq(fx_stats(&server).sessions, 1);
    ck_assert_str_eq(raw_get(&r), "dev");
    raw_close(&r);
    fx_node_free(&server);
}
END_TEST

/* §4.2.8: a new ClientHello at epoch 0 from a session's address, with a
 * good cookie, replaces the session. */
START_TEST(test_client_restarted)
{
    start_server((dtls_params_t){0});
    raw_t r;
    raw_open(&r);
    ck_assert_int_eq(raw_drive(&r, gnutls_handshake), 0);
    raw_free_session(&r); /* the same port, a fresh client */
    raw_session(&r);
    ck_assert_int_eq(raw_drive(&r, gnutls_handshake), 0);
    ck_assert_str_eq(raw_get(&r), "dev");
    dtls_stats_t st = fx_stats(&server);
    ck_assert_uint_eq(st.handshakes_ok, 2);
    ck_assert_uint_eq(st.sessions, 1);
    ck_assert_int_eq(server.events[DTLS_EV_CLOSED], 1);
    raw_close(&r);
    fx_node_free(&server);
}
END_TEST

/* A ClientHello, then the one with the cookie: the client has done what
 * it can to be let in (its handshake is then left hanging). */
static void knock(raw_t *r)
{
    gnutls_handshake(r->g);
    fx_run(30);
    gnutls_handshake(r->g);
    fx_run(30);
}

/* One handshake in progress at a time, one a second from one address
 * (bursts of 2): what is beyond is refused and counted; a handshake left
 * hanging frees its slot when it times out. */
START_TEST(test_handshake_limits)
{
    start_server(
        (dtls_params_t){.max_handshakes = 1, .handshake_timeout_ms = 1000, .handshakes_per_s = 1});
    raw_t a, b, c;
    raw_open(&a), raw_open(&b), raw_open(&c);
    knock(&a);
    ck_assert_uint_eq(fx_stats(&server).handshakes, 1);
    knock(&b); /* the only slot is a's */
    ck_assert_uint_eq(fx_stats(&server).refused_full, 1);
    knock(&c); /* a and b took the burst */
    ck_assert_uint_eq(fx_stats(&server).refused_rate, 1);
    ck_assert_uint_eq(fx_stats(&server).handshakes, 1);
    fx_run(1300); /* a times out */
    ck_assert_uint_eq(fx_stats(&server).handshakes, 0);
    ck_assert_uint_eq(fx_stats(&server).handshakes_failed, 1);
    raw_close(&a), raw_close(&b), raw_close(&c);
    fx_node_free(&server);
}
END_TEST

/* A full session table refuses newcomers and serves who is in. */
START_TEST(test_session_limit)
{
    start_server((dtls_params_t){.max_sessions = 1});
    raw_t a, b;
    raw_open(&a), raw_open(&b);
    ck_assert_int_eq(raw_drive(&a, gnutls_handshake), 0);
    knock(&b);
    dtls_stats_t st = fx_stats(&server);
    ck_assert_uint_eq(st.refused_full, 1);
    ck_assert_uint_eq(st.sessions, 1);
    ck_assert_uint_eq(st.handshakes, 0);
    ck_assert_str_eq(raw_get(&a), "dev");
    raw_close(&a), raw_close(&b);
    fx_node_free(&server);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dtls_server");
    TCase *tc = tcase_create("loopback");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_cookie_before_state);
    tcase_add_test(tc, test_bad_records);
    tcase_add_test(tc, test_renegotiation_refused);
    tcase_add_test(tc, test_client_restarted);
    tcase_add_test(tc, test_handshake_limits);
    tcase_add_test(tc, test_session_limit);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
