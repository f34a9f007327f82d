/* Unit tests for the CoAP-over-TCP framing (RFC 8323 §3.2, coap/msg_tcp.c). */
#include "coap_msg.h"
#include "testutil.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(parse_csm_and_get)
{
    /* §5.3 CSM: Len 3, TKL 0, Code 7.01, Max-Message-Size 1152 (0x0480) */
    uint8_t buf[64];
    size_t n = hex_decode("30 E1 22 0480", buf, sizeof buf);
    coap_msg_t m;
    ck_assert_int_eq(coap_msg_parse_tcp(&m, buf, n), COAP_OK);
    ck_assert_int_eq(m.code, COAP_SIG_CSM);
    ck_assert_int_eq(m.token_len, 0);
    uint32_t v;
    ck_assert_int_eq(coap_msg_get_uint(&m, COAP_SIGOPT_MAX_MESSAGE_SIZE, &v), 0);
    ck_assert_uint_eq(v, 1152);
    /* GET /a with a 2-byte token: Len 2 (B1 61), TKL 2 */
    n = hex_decode("22 01 CAFE B1 61", buf, sizeof buf);
    ck_assert_int_eq(coap_msg_parse_tcp(&m, buf, n), COAP_OK);
    ck_assert_int_eq(m.code, COAP_GET);
    ck_assert_int_eq(m.type, COAP_NON); /* no type on TCP */
    ck_assert_int_eq(m.mid, 0);
    ck_assert_int_eq(m.token_len, 2);
    ck_assert_int_eq(m.token[1], 0xFE);
    ck_assert_int_eq(m.opt_count, 1);
    ck_assert_int_eq(m.opts[0].num, COAP_OPT_URI_PATH);
    uint64_t flen;
    ck_assert_int_eq(coap_msg_tcp_frame_len(buf, 1, &flen), COAP_OK);
    ck_assert_uint_eq(flen, n);
}
END_TEST

/* A body of `body` bytes (one payload) must use the Len nibble and the
 * extended length bytes of §3.2. */
static void check_len(size_t body, const char *head_hex)
{
    coap_msg_t m;
    coap_msg_init(&m, COAP_NON, COAP_CONTENT, 0);
    static uint8_t payload[70000];
    m.payload = payload;
    m.payload_len = body - 1; /* plus the 0xFF marker */
    size_t need = coap_msg_size_tcp(&m);
    uint8_t *out = malloc(need);
    ck_assert_int_eq(coap_msg_serialize_tcp(&m, out, need), (int)need);
    uint8_t head[8];
    size_t hn = hex_decode(head_hex, head, sizeof head);
    ck_assert_mem_eq(out, head, hn);
    ck_assert_uint_eq(need, hn + body);
    uint64_t flen;
    ck_assert_int_eq(coap_msg_tcp_frame_len(out, hn - 1, &flen), COAP_OK);
    ck_assert_uint_eq(flen, need);
    coap_msg_t back;
    ck_assert_int_eq(coap_msg_parse_tcp(&back, out, need), COAP_OK);
    ck_assert_uint_eq(back.payload_len, body - 1);
    ck_assert_int_eq(coap_msg_serialize_tcp(&m, out, need - 1), COAP_ERR_NOSPACE);
    free(out);
}

START_TEST(extended_lengths)
{
    check_len(12, "C0 45");
    check_len(13, "D0 00 45");
    check_len(268, "D0 FF 45");
    check_len(269, "E0 0000 45");
    check_len(65804, "E0 FFFF 45");
    check_len(65805, "F0 00000000 45");
}
END_TEST

START_TEST(hostile_frames)
{
    uint8_t buf[64];
    coap_msg_t m;
    uint64_t flen;
    /* extended length announced but not there yet: read more */
    size_t n = hex_decode("E0 00", buf, sizeof buf);
    ck_assert_int_eq(coap_msg_tcp_frame_len(buf, n, &flen), COAP_ERR_TRUNCATED);
    ck_assert_int_eq(coap_msg_tcp_frame_len(buf, 0, &flen), COAP_ERR_TRUNCATED);
    /* 4 GiB announced: the length is known, the caller compares it with
     * its Max-Message-Size before reading on */
    n = hex_decode("F0 FFFFFFFF 45", buf, sizeof buf);
    ck_assert_int_eq(coap_msg_tcp_frame_len(buf, n, &flen), COAP_OK);
    ck_assert(flen > 0xFFFFFFFFull);
    ck_assert_int_eq(coap_msg_parse_tcp(&m, buf, n), COAP_ERR_TRUNCATED);
    /* TKL 9..15 */
    n = hex_decode("09 01 0102030405060708 09", buf, sizeof buf);
    ck_assert_int_eq(coap_msg_tcp_frame_len(buf, n, &flen), COAP_ERR_TOKEN_LEN);
    ck_assert_int_eq(coap_msg_parse_tcp(&m, buf, n), COAP_ERR_TOKEN_LEN);
    /* a frame longer or shorter than its header says */
    n = hex_decode("22 01 CAFE B1 61 00", buf, sizeof buf);
    ck_assert_int_eq(coap_msg_parse_tcp(&m, buf, n), COAP_ERR_TRUNCATED);
    ck_assert_int_eq(coap_msg_parse_tcp(&m, buf, n - 2), COAP_ERR_TRUNCATED);
    /* options as on UDP: an option running past the end, a bare marker */
    n = hex_decode("20 01 B5 61", buf, sizeof buf);
    ck_assert_int_eq(coap_msg_parse_tcp(&m, buf, n), COAP_ERR_OPT_TRUNCATED);
    n = hex_decode("10 45 FF", buf, sizeof buf);
    ck_assert_int_eq(coap_msg_parse_tcp(&m, buf, n), COAP_ERR_EMPTY_PAYLOAD);
}
END_TEST

START_TEST(round_trip_like_udp)
{
    /* the same message under both framings carries the same options */
    coap_msg_t m, back;
    coap_msg_init(&m, COAP_CON, COAP_PUT, 0x1234);
    coap_msg_set_token(&m, (const uint8_t *)"tok", 3);
    coap_msg_add_str(&m, COAP_OPT_URI_PATH, "a-rather-long-segment-name");
    coap_msg_add_uint(&m, COAP_OPT_CONTENT_FORMAT, 50);
    coap_msg_add_uint(&m, COAP_OPT_SIZE1, 70000);
    m.payload = (const uint8_t *)"{}";
    m.payload_len = 2;
    uint8_t tcp[128], udp[128];
    int tn = coap_msg_serialize_tcp(&m, tcp, sizeof tcp);
    int un = coap_msg_serialize(&m, udp, sizeof udp);
    ck_assert_int_gt(tn, 0);
    /* options and payload are byte for byte the same after the headers */
    ck_assert_mem_eq(tcp + 1 + 1 + 1 + 3, udp + 4 + 3, (size_t)un - 7);
    ck_assert_int_eq(coap_msg_parse_tcp(&back, tcp, (size_t)tn), COAP_OK);
    ck_assert_int_eq(back.opt_count, 3);
    ck_assert_int_eq(back.payload_len, 2);
    ck_assert_mem_eq(back.token, "tok", 3);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("msg_tcp");
    TCase *tc = tcase_create("framing");
    tcase_add_test(tc, parse_csm_and_get);
    tcase_add_test(tc, extended_lengths);
    tcase_add_test(tc, hostile_frames);
    tcase_add_test(tc, round_trip_like_udp);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return run_suite(suite());
}
