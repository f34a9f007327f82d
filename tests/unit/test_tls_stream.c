/*
 * Unit tests for CoAP over TLS (coaps+tcp://, RFC 8323 §9): the TCP
 * transport's stream filter (coap_stream_ops_t) with GnuTLS
 * (dtls/tls_stream.c), two endpoints over loopback: PSK and X.509
 * handshakes with the identity reaching the handler, wrong keys and names
 * failing with their codes, and Abort on a bad frame inside TLS.
 */
#include "dtlsfx.h"
#include "testutil.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

static fx_node_t server, client;

/* A node on a TLS transport: listening on 127.0.0.1 (listen 1) or
 * connecting out. The credentials in cfg are released. */
static void tls_node(fx_node_t *n, dtls_config_t *cfg, int listen)
{
    memset(n, 0, sizeof *n);
    char why[200];
    int err;
    cfg->event = fx_event;
    cfg->arg = n;
    coap_tcp_params_t p = {.connect_out = !listen, .connect_timeout_ms = 3000};
    p.tls = dtls_tls_ops();
    p.tls_arg = dtls_tls_new(cfg, why, sizeof why);
    ck_assert_msg(p.tls_arg != NULL, "%s", why);
    dtls_creds_unref(cfg->server);
    dtls_creds_unref(cfg->client);
    coap_addr_t bind;
    coap_addr_from_host(&bind, "127.0.0.1", 0);
    n->tr = coap_transport_tcp_new(listen ? &bind : NULL, &p, &err);
    ck_assert_msg(n->tr != NULL, "%s", coap_strerror(err));
    n->ep = coap_ep_new_on(n->tr, NULL, &err);
    ck_assert_ptr_nonnull(n->ep);
    if (listen) {
        coap_ep_local_addr(n->ep, &n->addr);
        coap_addr_unmap(&n->addr);
    }
    n->srv = coap_server_new(n->ep, NULL);
    coap_server_add(n->srv, "/who", 0, COAP_METHODS_READ, fx_who, n, NULL);
    if (!fx_loop) fx_loop = base_loop_new();
    ck_assert_int_eq(coap_ep_attach(n->ep, fx_loop), 0);
}

static void unpair(void)
{
    fx_node_free(&client);
    fx_node_free(&server);
}

/* GET coaps+tcp://HOST/who: COAP_OK with the body in out, or an error. */
static int tls_get(fx_node_t *from, const fx_node_t *to, const char *host, char *out, size_t cap)
{
    char uri[128];
    snprintf(uri, sizeof uri, "coaps+tcp://%s:%u/who", host, coap_addr_port(&to->addr));
    int err;
    coap_req_t *req = coap_req_new(from->ep, COAP_GET, uri, &to->addr, &err);
    ck_assert_ptr_nonnull(req);
    coap_req_set_timeout(req, 8000);
    fx_result_t res = {0};
    int rc = coap_req_send(req, fx_on_response, &res);
    if (rc) return rc;
    while (!res.done) base_loop_run_once(fx_loop, 10);
    if (out) snprintf(out, cap, "%s", res.body);
    return res.err;
}

START_TEST(psk_identity_and_wrong_keys)
{
    char body[256];
    tls_node(&server, &(dtls_config_t){.server = fx_psk("dev", "secret")}, 1);
    tls_node(&client, &(dtls_config_t){.client = fx_psk("dev", "secret")}, 0);
    ck_assert_int_eq(tls_get(&client, &server, "127.0.0.1", body, sizeof body), COAP_OK);
    ck_assert_str_eq(body, "dev"); /* the PSK identity reached the handler */
    ck_assert_int_eq(server.events[DTLS_EV_ESTABLISHED], 1);
    ck_assert_int_eq(client.events[DTLS_EV_ESTABLISHED], 1);
    /* one connection, one handshake, for the next request too */
    ck_assert_int_eq(tls_get(&client, &server, "127.0.0.1", body, sizeof body), COAP_OK);
    ck_assert_int_eq(client.events[DTLS_EV_ESTABLISHED], 1);
    fx_node_free(&client);

    tls_node(&client, &(dtls_config_t){.client = fx_psk("dev", "other")}, 0);
    int wr = tls_get(&client, &server, "127.0.0.1", NULL, 0);
    ck_assert_int_eq(wr, COAP_ERR_DTLS_PSK);
    fx_run(100);
    ck_assert_int_eq(server.last_err, COAP_ERR_DTLS_PSK);
    fx_node_free(&client);

    tls_node(&client, &(dtls_config_t){.client = fx_psk("nobody", "secret")}, 0);
    ck_assert_int_eq(tls_get(&client, &server, "127.0.0.1", NULL, 0), COAP_ERR_DTLS_IDENTITY);
    unpair();
}
END_TEST

/* A CA, a server certificate for 127.0.0.1 and a client one, by openssl. */
static char dir[] = "/tmp/coapgw-tls-XXXXXX";

static void make_certs(void)
{
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "cd %s && for n in ca server client; do openssl genpkey -algorithm EC -pkeyopt "
             "ec_paramgen_curve:P-256 -out $n.key; done && "
             "openssl req -x509 -new -key ca.key -subj /CN=ca -days 2 -out ca.crt && "
             "echo subjectAltName=IP:127.0.0.1 >server.ext && echo basicConstraints=CA:FALSE "
             ">client.ext && for n in server client; do openssl req -new -key $n.key -subj /CN=$n "
             "| openssl x509 -req -CA ca.crt -CAkey ca.key -set_serial 0x$(od -An -N4 -tx4 "
             "/dev/urandom | tr -d ' ') -days 2 -extfile $n.ext -out $n.crt; done 2>/dev/null",
             dir);
    ck_assert_int_eq(system(cmd), 0);
}

static dtls_creds_t *x509(const char *who, const char *peer_name)
{
    char crt[300], key[300], ca[300], err[256];
    snprintf(crt, sizeof crt, "%s/%s.crt", dir, who);
    snprintf(key, sizeof key, "%s/%s.key", dir, who);
    snprintf(ca, sizeof ca, "%s/ca.crt", dir);
    dtls_creds_conf_t c = {
        .cert_file = crt, .key_file = key, .ca_file = ca, .peer_name = peer_name};
    dtls_creds_t *cr = dtls_creds_new(&c, err, sizeof err);
    ck_assert_msg(cr != NULL, "%s", err);
    return cr;
}

START_TEST(x509_identity_and_name)
{
    char body[256];
    make_certs();
    tls_node(&server, &(dtls_config_t){.server = x509("server", NULL)}, 1);
    tls_node(&client, &(dtls_config_t){.client = x509("client", "127.0.0.1")}, 0);
    ck_assert_int_eq(tls_get(&client, &server, "127.0.0.1", body, sizeof body), COAP_OK);
    ck_assert_str_eq(body, "CN=client"); /* the client certificate's subject */
    fx_node_free(&client);
    tls_node(&client, &(dtls_config_t){.client = x509("client", "other.example")}, 0);
    ck_assert_int_eq(tls_get(&client, &server, "127.0.0.1", NULL, 0), COAP_ERR_DTLS_NAME);
    unpair();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -r %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* A GnuTLS client of our own over a plain socket, driven while the loop
 * runs the server. */
static gnutls_session_t raw_client(int *fd, gnutls_psk_client_credentials_t *psk)
{
    *fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_eq(connect(*fd, &server.addr.u.sa, server.addr.len), 0);
    fcntl(*fd, F_SETFL, O_NONBLOCK);
    gnutls_session_t g;
    gnutls_datum_t key = {(unsigned char *)"secret", 6};
    gnutls_psk_allocate_client_credentials(psk);
    gnutls_psk_set_client_credentials(*psk, "dev", &key, GNUTLS_PSK_KEY_RAW);
    ck_assert_int_eq(gnutls_init(&g, GNUTLS_CLIENT | GNUTLS_NONBLOCK), 0);
    gnutls_priority_set_direct(g, "NORMAL:+ECDHE-PSK:+PSK", NULL);
    gnutls_credentials_set(g, GNUTLS_CRD_PSK, *psk);
    gnutls_datum_t alpn[2] = {{(unsigned char *)"h2", 2}, {(unsigned char *)"coap", 4}};
    gnutls_alpn_set_protocols(g, alpn, 2, 0);
    gnutls_transport_set_int(g, *fd);
    int rc = GNUTLS_E_AGAIN;
    for (int i = 0; i < 500 && rc == GNUTLS_E_AGAIN; i++) {
        rc = gnutls_handshake(g);
        fx_run(5);
    }
    ck_assert_int_eq(rc, 0);
    gnutls_datum_t chosen = {0}; /* RFC 8323 §4.2: the server picks "coap" */
    ck_assert_int_eq(gnutls_alpn_get_selected_protocol(g, &chosen), 0);
    ck_assert_uint_eq(chosen.size, 4);
    ck_assert_mem_eq(chosen.data, "coap", 4);
    return g;
}

START_TEST(abort_inside_tls)
{
    tls_node(&server, &(dtls_config_t){.server = fx_psk("dev", "secret")}, 1);
    int fd;
    gnutls_psk_client_credentials_t psk;
    gnutls_session_t g = raw_client(&fd, &psk);
    /* a CSM, then a frame with TKL 9 (RFC 8323 §3.2: 9-15 are reserved) */
    static const uint8_t bad[] = {0x30, 0xE1, 0x22, 0x04, 0x80, 0x09, 0x01};
    ck_assert_int_eq(gnutls_record_send(g, bad, sizeof bad), (ssize_t)sizeof bad);
    uint8_t buf[1024];
    size_t len = 0;
    for (int i = 0; i < 300; i++) {
        fx_run(5);
        ssize_t n = gnutls_record_recv(g, buf + len, sizeof buf - len);
        if (n > 0) len += (size_t)n;
        if (n == 0 || (n < 0 && n != GNUTLS_E_AGAIN)) break; /* closed */
    }
    /* the server's CSM, then Abort (7.05 = 0xE5) with a diagnostic */
    ck_assert_ptr_nonnull(memchr(buf, 0xE5, len));
    ck_assert_uint_eq(coap_transport_tcp_stats(server.tr)->aborts_tx, 1);
    gnutls_deinit(g);
    gnutls_psk_free_client_credentials(psk);
    close(fd);
    fx_node_free(&server);
}
END_TEST

/* Bytes that are no TLS record of the session, after the handshake:
 * the connection is closed, nothing reaches the endpoint. */
START_TEST(garbage_record_closes)
{
    tls_node(&server, &(dtls_config_t){.server = fx_psk("dev", "secret")}, 1);
    int fd;
    gnutls_psk_client_credentials_t psk;
    gnutls_session_t g = raw_client(&fd, &psk);
    fx_run(50);
    ck_assert_uint_eq(coap_transport_tcp_stats(server.tr)->conns_open, 1);
    static const uint8_t junk[] = {0x17, 0x03, 0x03, 0x00, 0x08, 1, 2, 3, 4, 5, 6, 7, 8};
    ck_assert_int_eq(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
    fx_run(200);
    ck_assert_uint_eq(coap_transport_tcp_stats(server.tr)->conns_open, 0);
    gnutls_deinit(g);
    gnutls_psk_free_client_credentials(psk);
    close(fd);
    fx_node_free(&server);
}
END_TEST

/* A client that connects and never says a word: closed after
 * connect_timeout_ms (the handshake's limit). */
START_TEST(silent_handshake_times_out)
{
    tls_node(&server, &(dtls_config_t){.server = fx_psk("dev", "secret")}, 1);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_eq(connect(fd, &server.addr.u.sa, server.addr.len), 0);
    fx_run(200);
    ck_assert_uint_eq(coap_transport_tcp_stats(server.tr)->conns_open, 1);
    fx_run(3300);
    ck_assert_uint_eq(coap_transport_tcp_stats(server.tr)->conns_open, 0);
    close(fd);
    fx_node_free(&server);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("tls_stream");
    TCase *tc = tcase_create("loopback");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, psk_identity_and_wrong_keys);
    tcase_add_test(tc, x509_identity_and_name);
    tcase_add_test(tc, abort_inside_tls);
    tcase_add_test(tc, silent_handshake_times_out);
    tcase_add_test(tc, garbage_record_closes);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
