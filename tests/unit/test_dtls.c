/*
 * Unit tests of dtls/ without a network: record framing, the cookie rule
 * and its secret rotation, the per-source rate, fingerprints, and the
 * credentials' checks.
 */
#include "dtlsfx.h"
#include "testutil.h"

#include <unistd.h>

/* --- record framing (RFC 6347 §4.1) --- */

START_TEST(test_record_framing)
{
    uint8_t rec[32] = {23, 254, 253, 0, 1, 0, 0, 0, 0, 0, 7, 0, 3, 'a', 'b', 'c'};
    ck_assert_int_eq(dtls_record_check_(rec, 16), DTLS_REC_OK);
    /* two records in one datagram (§4.1.1) */
    memcpy(rec + 16, rec, 16);
    ck_assert_int_eq(dtls_record_check_(rec, 32), DTLS_REC_OK);
    ck_assert_int_eq(dtls_record_check_(rec, 31), DTLS_REC_TRUNCATED); /* body cut */
    ck_assert_int_eq(dtls_record_check_(rec, 20), DTLS_REC_TRUNCATED); /* header cut */
    ck_assert_int_eq(dtls_record_check_(rec, 0), DTLS_REC_TRUNCATED);
    uint8_t coap[] = {0x40, 0x01, 0x12, 0x34}; /* a CoAP GET, not DTLS */
    ck_assert_int_eq(dtls_record_check_(coap, 4), DTLS_REC_NOT_DTLS);
    rec[1] = 3; /* TLS, not DTLS */
    ck_assert_int_eq(dtls_record_check_(rec, 16), DTLS_REC_NOT_DTLS);
    ck_assert(!dtls_is_client_hello_(rec, 16));
    /* a plaintext close_notify (level warning, description 0) */
    uint8_t alert[15] = {21, 254, 253, 0, 0, 0, 0, 0, 0, 0, 4, 0, 2, 1, 0};
    ck_assert(dtls_is_plain_close_notify_(alert, 15));
    alert[14] = 40; /* handshake_failure */
    ck_assert(!dtls_is_plain_close_notify_(alert, 15));
    alert[14] = 0;
    alert[4] = 1; /* epoch 1: encrypted, someone's session */
    ck_assert(!dtls_is_plain_close_notify_(alert, 15));
    alert[4] = 0;
    ck_assert(!dtls_is_plain_close_notify_(alert, 14));
}
END_TEST

START_TEST(test_coap_con_mid)
{
    uint16_t mid = 0;
    uint8_t con[] = {0x44, 0x01, 0xbe, 0xef}, non[] = {0x54, 0x01, 0, 1}, ack[] = {0x60, 0, 0, 2};
    ck_assert(dtls_coap_con_mid_(con, 4, &mid));
    ck_assert_uint_eq(mid, 0xbeef);
    ck_assert(!dtls_coap_con_mid_(non, 4, &mid));
    ck_assert(!dtls_coap_con_mid_(ack, 4, &mid));
    ck_assert(!dtls_coap_con_mid_(con, 3, &mid));
}
END_TEST

/* --- the cookie rule (§4.2.1) --- */

static coap_addr_t addr(const char *s)
{
    coap_addr_t a;
    ck_assert_int_eq(coap_addr_parse(&a, s, 0), 0);
    return a;
}

/* A ClientHello without a cookie fails verification; the one that answers
 * our HelloVerifyRequest passes from the same address and port only. */
START_TEST(test_cookie_rule)
{
    dtls_guard_t g;
    gnutls_dtls_prestate_st pre;
    ck_assert_int_eq(dtls_guard_init_(&g, 1000, 10, 5000), 0);
    fx_hello_t h;
    fx_hello_start(&h);
    coap_addr_t from = addr("192.0.2.1:40000"), other = addr("192.0.2.1:40001");
    ck_assert(dtls_is_client_hello_(h.out, h.out_len));
    ck_assert_int_lt(dtls_guard_verify_(&g, &from, h.out, h.out_len, &pre), 0);

    uint8_t cd[20], hvr[256];
    size_t n = dtls_guard_client_data_(&from, cd);
    fx_hello_t sink = {0};
    ck_assert_int_ge(gnutls_dtls_cookie_send(&g.key[0], cd, n, &pre, &sink, fx_push), 0);
    ck_assert_uint_lt(sink.out_len, h.out_len); /* no amplification */
    memcpy(hvr, sink.out, sink.out_len);
    fx_hello_feed(&h, hvr, sink.out_len);
    ck_assert(dtls_is_client_hello_(h.out, h.out_len));
    ck_assert_int_eq(dtls_guard_verify_(&g, &from, h.out, h.out_len, &pre), 0);
    ck_assert_int_lt(dtls_guard_verify_(&g, &other, h.out, h.out_len, &pre), 0);

    /* one rotation: the previous secret still works; two: it is gone */
    dtls_guard_tick_(&g, 5999);
    ck_assert_int_eq(dtls_guard_verify_(&g, &from, h.out, h.out_len, &pre), 0);
    dtls_guard_tick_(&g, 6000);
    ck_assert_uint_eq(dtls_guard_next_(&g), 7000);
    ck_assert_int_eq(dtls_guard_verify_(&g, &from, h.out, h.out_len, &pre), 0);
    dtls_guard_tick_(&g, 7000);
    ck_assert_int_lt(dtls_guard_verify_(&g, &from, h.out, h.out_len, &pre), 0);
    fx_hello_free(&h);
    dtls_guard_free_(&g);
}
END_TEST

/* 2 a second per source address, bursts of 4; ports do not count. */
START_TEST(test_rate_per_source)
{
    dtls_guard_t g;
    ck_assert_int_eq(dtls_guard_init_(&g, 1000, 2, 0), 0);
    coap_addr_t a1 = addr("198.51.100.7:1000"), a2 = addr("198.51.100.7:2000"),
                b = addr("[2001:db8::1]:1000");
    for (int i = 0; i < 4; i++) ck_assert(dtls_guard_rate_ok_(&g, i % 2 ? &a1 : &a2, 100));
    ck_assert(!dtls_guard_rate_ok_(&g, &a1, 100));
    ck_assert(dtls_guard_rate_ok_(&g, &b, 100));  /* another host: its own bucket */
    ck_assert(dtls_guard_rate_ok_(&g, &a1, 600)); /* one token back after 500 ms */
    ck_assert(!dtls_guard_rate_ok_(&g, &a1, 600));
    ck_assert(dtls_guard_rate_ok_(&g, &a1, 100000));
    dtls_guard_free_(&g);
}
END_TEST

/* --- fingerprints and credentials --- */

START_TEST(test_fingerprints)
{
    uint8_t fp[32], back[32];
    char hex[65], colons[100] = "";
    for (int i = 0; i < 32; i++) fp[i] = (uint8_t)(i * 7 + 1);
    dtls_fingerprint_hex(fp, hex, sizeof hex);
    ck_assert_uint_eq(strlen(hex), 64);
    ck_assert_int_eq(dtls_fingerprint_parse(hex, back), 0);
    ck_assert_mem_eq(fp, back, 32);
    for (int i = 0; i < 32; i++) sprintf(colons + strlen(colons), "%s%02X", i ? ":" : "", fp[i]);
    ck_assert_int_eq(dtls_fingerprint_parse(colons, back), 0);
    ck_assert_mem_eq(fp, back, 32);
    hex[63] = '\0'; /* odd length */
    ck_assert_int_eq(dtls_fingerprint_parse(hex, back), -1);
    hex[62] = '\0'; /* 31 bytes */
    ck_assert_int_eq(dtls_fingerprint_parse(hex, back), -1);
    ck_assert_int_eq(dtls_fingerprint_parse("zz", back), -1);
    char longer[70];
    memset(longer, 'a', 66), longer[66] = '\0';
    ck_assert_int_eq(dtls_fingerprint_parse(longer, back), -1);
}
END_TEST

static void creds_refused(const dtls_creds_conf_t *c, const char *why)
{
    char err[256] = "";
    ck_assert_ptr_null(dtls_creds_new(c, err, sizeof err));
    ck_assert_msg(strstr(err, why), "\"%s\" does not say \"%s\"", err, why);
}

START_TEST(test_creds_refused)
{
    uint8_t key[65] = {0};
    creds_refused(&(dtls_creds_conf_t){0}, "no credentials");
    creds_refused(&(dtls_creds_conf_t){.psk_key = key, .psk_key_len = 6}, "identity");
    creds_refused(&(dtls_creds_conf_t){.psk_identity = "dev", .psk_key = key, .psk_key_len = 65},
                  "1-64 bytes");
    creds_refused(&(dtls_creds_conf_t){.cert_file = "/nonexistent.pem"}, "both");
    creds_refused(&(dtls_creds_conf_t){.cert_file = "/nonexistent.pem", .key_file = "/x.pem"},
                  "cannot read /nonexistent.pem");
    creds_refused(&(dtls_creds_conf_t){.ca_file = "/nonexistent-ca.pem"}, "nonexistent-ca.pem");
    creds_refused(&(dtls_creds_conf_t){.rpk_file = "/nonexistent.key"}, "cannot read");
    creds_refused(
        &(dtls_creds_conf_t){
            .psk_identity = "d", .psk_key = key, .psk_key_len = 1, .rpk_pin = "ab"},
        "not a SHA-256");
    char path[] = "/tmp/coapgw-dtls-unit-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "not a key\n", 10), 10);
    close(fd);
    creds_refused(&(dtls_creds_conf_t){.rpk_file = path}, "raw public key");
    creds_refused(&(dtls_creds_conf_t){.ca_file = path}, "no certificate");
    unlink(path);
}
END_TEST

/* The RPK's fingerprint is the SHA-256 of its SubjectPublicKeyInfo. */
START_TEST(test_creds_rpk)
{
    char path[] = "/tmp/coapgw-dtls-unit-XXXXXX", hex[65], want[65];
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    uint8_t fp[32];
    fx_write_ec_key(path, fp);
    char err[256];
    dtls_creds_t *c = dtls_creds_new(&(dtls_creds_conf_t){.rpk_file = path}, err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_int_eq(dtls_creds_rpk_fingerprint(c, hex, sizeof hex), 0);
    dtls_fingerprint_hex(fp, want, sizeof want);
    ck_assert_str_eq(hex, want);
    ck_assert_ptr_eq(dtls_creds_ref(c), c);
    dtls_creds_unref(c);
    dtls_creds_unref(c);
    dtls_creds_t *psk = dtls_creds_new(&(dtls_creds_conf_t){.psk_identity = "dev",
                                                            .psk_key = (const uint8_t *)"k",
                                                            .psk_key_len = 1},
                                       err, sizeof err);
    ck_assert_ptr_nonnull(psk);
    ck_assert_int_eq(dtls_creds_rpk_fingerprint(psk, hex, sizeof hex), -1);
    dtls_creds_unref(psk);
    unlink(path);
}
END_TEST

START_TEST(test_error_texts)
{
    for (int e = COAP_ERR_DTLS_FAILED; e >= COAP_ERR_DTLS_NO_CREDENTIALS; e--) {
        ck_assert(COAP_ERR_IS_DTLS(e));
        ck_assert_str_ne(coap_strerror(e), "unknown error");
    }
    ck_assert(!COAP_ERR_IS_DTLS(COAP_ERR_TIMEOUT));
    ck_assert(!COAP_ERR_IS_DTLS(COAP_ERR_SYS(5)));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dtls");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_record_framing);
    tcase_add_test(tc, test_coap_con_mid);
    tcase_add_test(tc, test_cookie_rule);
    tcase_add_test(tc, test_rate_per_source);
    tcase_add_test(tc, test_fingerprints);
    tcase_add_test(tc, test_creds_refused);
    tcase_add_test(tc, test_creds_rpk);
    tcase_add_test(tc, test_error_texts);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
