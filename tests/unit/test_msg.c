/* Unit tests for the CoAP message codec (RFC 7252 §3). */
#include "coap_msg.h"
#include "testutil.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* Parses hex, expecting rc. */
static int parse_hex(coap_msg_t *m, const char *hex, uint8_t *buf)
{
    size_t n = hex_decode(hex, buf, 2048);
    return coap_msg_parse(m, buf, n);
}

START_TEST(parse_get_request)
{
    /* CON GET mid 0x1234, token 0xAABBCCDD, Uri-Path "a", Uri-Path "bc" */
    uint8_t buf[64];
    coap_msg_t m;
    ck_assert_int_eq(parse_hex(&m,
                               "44011234AABBCCDD"
                               "B161"
                               "026263",
                               buf),
                     COAP_OK);
    ck_assert_int_eq(m.version, 1);
    ck_assert_int_eq(m.type, COAP_CON);
    ck_assert_int_eq(m.code, COAP_GET);
    ck_assert_int_eq(m.mid, 0x1234);
    ck_assert_int_eq(m.token_len, 4);
    ck_assert_int_eq(m.token[3], 0xDD);
    ck_assert_int_eq(m.opt_count, 2);
    ck_assert_int_eq(m.opts[0].num, COAP_OPT_URI_PATH);
    ck_assert_int_eq(m.opts[1].num, COAP_OPT_URI_PATH);
    ck_assert_int_eq(m.opts[1].len, 2);
    ck_assert_mem_eq(coap_msg_opt_value(&m.opts[1]), "bc", 2);
    ck_assert_ptr_null(m.payload);
    /* options point into the datagram: no copy */
    ck_assert_ptr_eq(coap_msg_opt_value(&m.opts[0]), buf + 9);
}
END_TEST

START_TEST(parse_payload)
{
    uint8_t buf[64];
    coap_msg_t m;
    ck_assert_int_eq(parse_hex(&m,
                               "6445ABCD01020304"
                               "C100"
                               "FF"
                               "32312E35",
                               buf),
                     COAP_OK);
    ck_assert_int_eq(m.type, COAP_ACK);
    ck_assert_int_eq(m.code, COAP_CONTENT);
    ck_assert_int_eq(m.opt_count, 1);
    ck_assert_int_eq(m.opts[0].num, COAP_OPT_CONTENT_FORMAT);
    ck_assert_uint_eq(m.payload_len, 4);
    ck_assert_mem_eq(m.payload, "21.5", 4);
}
END_TEST

/* Each malformed case of §3 is rejected with its own reason. */
static const struct {
    const char *hex;
    int rc;
} malformed[] = {
    {"", COAP_ERR_TRUNCATED},
    {"400100", COAP_ERR_TRUNCATED},
    {"80011234", COAP_ERR_VERSION}, /* version 2 */
    {"00011234", COAP_ERR_VERSION}, /* version 0 */
    {"49011234"
     "0102030405060708 09",
     COAP_ERR_TOKEN_LEN},                 /* TKL 9 */
    {"4F011234", COAP_ERR_TOKEN_LEN},     /* TKL 15 */
    {"44011234AABB", COAP_ERR_TRUNCATED}, /* token cut short */
    {"40011234"
     "F0",
     COAP_ERR_OPT_DELTA_15}, /* delta 15, length 0 (not 0xFF) */
    {"40011234"
     "F1",
     COAP_ERR_OPT_DELTA_15},
    {"40011234"
     "1F",
     COAP_ERR_OPT_LEN_15},
    {"40011234"
     "FF",
     COAP_ERR_EMPTY_PAYLOAD}, /* marker, then nothing */
    {"40011234"
     "D1",
     COAP_ERR_OPT_TRUNCATED}, /* 13: extended delta byte missing */
    {"40011234"
     "E1"
     "01",
     COAP_ERR_OPT_TRUNCATED},
    {"40011234"
     "1D",
     COAP_ERR_OPT_TRUNCATED},
    {"40011234"
     "13"
     "6162",
     COAP_ERR_OPT_TRUNCATED}, /* value runs past the end */
    {"40011234"
     "E0FFFF"
     "E0FFFF",
     COAP_ERR_OPT_NUMBER}, /* 65804 + 65804 */
    {"40001234"
     "FF00",
     COAP_ERR_EMPTY_NOT_EMPTY}, /* 0.00 with payload */
    {"41001234"
     "AA",
     COAP_ERR_EMPTY_NOT_EMPTY}, /* 0.00 with token */
};

START_TEST(parse_malformed)
{
    uint8_t buf[64];
    coap_msg_t m;
    int rc = parse_hex(&m, malformed[_i].hex, buf);
    ck_assert_msg(rc == malformed[_i].rc, "case %d (%s): got %d (%s), want %d", _i,
                  malformed[_i].hex, rc, coap_strerror(rc), malformed[_i].rc);
    ck_assert_str_ne(coap_strerror(rc), "unknown error");
}
END_TEST

START_TEST(parse_too_many_options)
{
    uint8_t buf[4 + COAP_MSG_MAX_OPTS + 1];
    memcpy(buf, "\x40\x01\x00\x01", 4);
    memset(buf + 4, 0x00, sizeof buf - 4); /* delta 0 length 0: option 0 repeated */
    coap_msg_t m;
    ck_assert_int_eq(coap_msg_parse(&m, buf, 4 + COAP_MSG_MAX_OPTS), COAP_OK);
    ck_assert_int_eq(coap_msg_parse(&m, buf, sizeof buf), COAP_ERR_TOO_MANY_OPTS);
}
END_TEST

START_TEST(empty_message_and_ping)
{
    uint8_t buf[8];
    coap_msg_t m;
    ck_assert_int_eq(parse_hex(&m, "60001234", buf), COAP_OK); /* empty ACK */
    ck_assert_int_eq(m.code, COAP_EMPTY);
    ck_assert_int_eq(parse_hex(&m, "40001234", buf), COAP_OK); /* CoAP ping */
}
END_TEST

/* Round trip one option with a given number delta and length: exercises
 * the nibble, 13 and 14 forms and their boundaries. */
static void round_trip_opt(uint16_t num, size_t len)
{
    static uint8_t val[65535];
    for (size_t i = 0; i < len; i++) val[i] = (uint8_t)(i * 7 + 1);
    coap_msg_t m, back;
    coap_msg_init(&m, COAP_CON, COAP_PUT, 0xBEEF);
    ck_assert_int_eq(coap_msg_add_opt(&m, num, val, len), COAP_OK);
    static uint8_t wire[70000];
    int n = coap_msg_serialize(&m, wire, sizeof wire);
    ck_assert_int_gt(n, 0);
    ck_assert_uint_eq((size_t)n, coap_msg_size(&m));
    /* header byte of the option: expected nibbles */
    unsigned dn = num < 13 ? num : num < 269 ? 13 : 14;
    unsigned ln = len < 13 ? (unsigned)len : len < 269 ? 13 : 14;
    ck_assert_uint_eq(wire[4], dn << 4 | ln);
    ck_assert_int_eq(coap_msg_parse(&back, wire, (size_t)n), COAP_OK);
    ck_assert_int_eq(back.opt_count, 1);
    ck_assert_uint_eq(back.opts[0].num, num);
    ck_assert_uint_eq(back.opts[0].len, len);
    if (len) ck_assert_mem_eq(coap_msg_opt_value(&back.opts[0]), val, len);
}

START_TEST(encoding_boundaries)
{
    static const uint16_t nums[] = {0, 1, 12, 13, 14, 268, 269, 270, 65535};
    static const size_t lens[] = {0, 1, 12, 13, 14, 268, 269, 270, 1034, 65535 - 269, 65535};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
        for (size_t j = 0; j < sizeof lens / sizeof lens[0]; j++) round_trip_opt(nums[i], lens[j]);
}
END_TEST

START_TEST(extended_forms_exact_bytes)
{
    /* Option 269 with a 13-byte value: delta 14 (0x0000), length 13 (0x00). */
    uint8_t v[13] = {0};
    coap_msg_t m;
    coap_msg_init(&m, COAP_NON, COAP_GET, 1);
    coap_msg_add_opt(&m, 269, v, 13);
    uint8_t w[64];
    int n = coap_msg_serialize(&m, w, sizeof w);
    ck_assert_int_eq(n, 4 + 1 + 2 + 1 + 13);
    ck_assert_uint_eq(w[4], 0xED);
    ck_assert_uint_eq(w[5], 0x00);
    ck_assert_uint_eq(w[6], 0x00);
    ck_assert_uint_eq(w[7], 0x00);
}
END_TEST

START_TEST(option_value_too_long)
{
    coap_msg_t m;
    coap_msg_init(&m, COAP_CON, COAP_PUT, 1);
    static uint8_t big[65537];
    ck_assert_int_eq(coap_msg_add_opt(&m, 35, big, 65536), COAP_ERR_OPT_VALUE);
    /* a parsed length above 65535 (nibble 14 reaches 65804) is refused */
    static uint8_t wire[4 + 3 + 65536];
    memcpy(wire, "\x40\x01\x00\x01\xBE\xFE\xF3", 7);
    ck_assert_int_eq(coap_msg_parse(&m, wire, sizeof wire), COAP_ERR_OPT_VALUE);
}
END_TEST

START_TEST(serialize_nospace)
{
    coap_msg_t m;
    coap_msg_init(&m, COAP_CON, COAP_GET, 7);
    coap_msg_set_token(&m, (const uint8_t *)"\x01\x02\x03\x04", 4);
    coap_msg_add_str(&m, COAP_OPT_URI_PATH, "temperature");
    m.payload = (const uint8_t *)"x";
    m.payload_len = 1;
    size_t need = coap_msg_size(&m);
    uint8_t w[64];
    for (size_t cap = 0; cap < need; cap++)
        ck_assert_int_eq(coap_msg_serialize(&m, w, cap), COAP_ERR_NOSPACE);
    ck_assert_int_eq(coap_msg_serialize(&m, w, need), (int)need);
}
END_TEST

START_TEST(options_kept_in_order)
{
    coap_msg_t m;
    coap_msg_init(&m, COAP_CON, COAP_GET, 7);
    coap_msg_add_uint(&m, COAP_OPT_ACCEPT, 50);
    coap_msg_add_str(&m, COAP_OPT_URI_PATH, "a");
    coap_msg_add_uint(&m, COAP_OPT_OBSERVE, 0);
    coap_msg_add_str(&m, COAP_OPT_URI_PATH, "b");
    coap_msg_add_str(&m, COAP_OPT_URI_HOST, "h");
    coap_msg_add_str(&m, COAP_OPT_URI_PATH, "c");
    static const uint16_t want[] = {3, 6, 11, 11, 11, 17};
    ck_assert_int_eq(m.opt_count, 6);
    for (int i = 0; i < 6; i++) ck_assert_uint_eq(m.opts[i].num, want[i]);
    /* repeated options keep their insertion order */
    const coap_msg_opt_t *o = coap_msg_find_opt(&m, COAP_OPT_URI_PATH);
    ck_assert_mem_eq(coap_msg_opt_value(o), "a", 1);
    o = coap_msg_next_opt(&m, o);
    ck_assert_mem_eq(coap_msg_opt_value(o), "b", 1);
    o = coap_msg_next_opt(&m, o);
    ck_assert_mem_eq(coap_msg_opt_value(o), "c", 1);
    ck_assert_ptr_null(coap_msg_next_opt(&m, o));
    ck_assert_int_eq(coap_msg_count_opt(&m, COAP_OPT_URI_PATH), 3);
    ck_assert_int_eq(coap_msg_del_opt(&m, COAP_OPT_URI_PATH), 3);
    ck_assert_int_eq(m.opt_count, 3);
    ck_assert_ptr_null(coap_msg_find_opt(&m, COAP_OPT_URI_PATH));
    /* an out-of-order table is refused by the serializer */
    m.opts[0].num = 20;
    uint8_t w[64];
    ck_assert_int_eq(coap_msg_serialize(&m, w, sizeof w), COAP_ERR_OPT_ORDER);
}
END_TEST

START_TEST(uint_minimal_length)
{
    static const struct {
        uint32_t v;
        size_t len;
    } cases[] = {{0, 0},     {1, 1},        {255, 1},       {256, 2},       {65535, 2},
                 {65536, 3}, {0xFFFFFF, 3}, {0x1000000, 4}, {0xFFFFFFFF, 4}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        coap_msg_t m;
        coap_msg_init(&m, COAP_CON, COAP_GET, 1);
        coap_msg_add_uint(&m, COAP_OPT_MAX_AGE, cases[i].v);
        ck_assert_uint_eq(m.opts[0].len, cases[i].len);
        uint32_t back = 12345;
        ck_assert_int_eq(coap_msg_get_uint(&m, COAP_OPT_MAX_AGE, &back), 0);
        ck_assert_uint_eq(back, cases[i].v);
    }
    /* leading zeros are accepted on input */
    coap_msg_opt_t o = {.num = 14, .len = 3, .is_inline = 1, .v.bytes = {0, 0, 7}};
    uint32_t v;
    ck_assert_int_eq(coap_opt_uint(&o, &v), 0);
    ck_assert_uint_eq(v, 7);
    o.len = 5;
    ck_assert_int_eq(coap_opt_uint(&o, &v), -1);
}
END_TEST

/* §5.10.5: Max-Age is 60 s when the option is absent, 0 is a value. */
START_TEST(max_age_default)
{
    coap_msg_t m;
    coap_msg_init(&m, COAP_ACK, COAP_CONTENT, 1);
    ck_assert_uint_eq(coap_msg_max_age(&m), 60);
    coap_msg_add_uint(&m, COAP_OPT_MAX_AGE, 0);
    ck_assert_uint_eq(coap_msg_max_age(&m), 0);
    coap_msg_init(&m, COAP_ACK, COAP_CONTENT, 1);
    coap_msg_add_uint(&m, COAP_OPT_MAX_AGE, 0xFFFFFFFF);
    ck_assert_uint_eq(coap_msg_max_age(&m), 0xFFFFFFFF);
}
END_TEST

START_TEST(round_trip_full_message)
{
    uint8_t pay[300];
    for (int i = 0; i < 300; i++) pay[i] = (uint8_t)i;
    coap_msg_t m, back;
    coap_msg_init(&m, COAP_NON, COAP_CONTENT, 0xFFFF);
    coap_msg_set_token(&m, (const uint8_t *)"\1\2\3\4\5\6\7\x08", 8);
    coap_msg_add_opt(&m, COAP_OPT_ETAG, "\xA1\xB2", 2);
    coap_msg_add_uint(&m, COAP_OPT_OBSERVE, 0x123456);
    coap_msg_add_uint(&m, COAP_OPT_CONTENT_FORMAT, 50);
    coap_msg_add_uint(&m, COAP_OPT_MAX_AGE, 60);
    coap_msg_add_uint(&m, COAP_OPT_SIZE2, 300);
    coap_msg_add_opt(&m, COAP_OPT_REQUEST_TAG, "\x09", 1);
    m.payload = pay;
    m.payload_len = sizeof pay;
    uint8_t w[512], w2[512];
    int n = coap_msg_serialize(&m, w, sizeof w);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(coap_msg_parse(&back, w, (size_t)n), COAP_OK);
    ck_assert_int_eq(back.type, COAP_NON);
    ck_assert_int_eq(back.mid, 0xFFFF);
    ck_assert_int_eq(back.token_len, 8);
    ck_assert_mem_eq(back.token, m.token, 8);
    ck_assert_int_eq(back.opt_count, m.opt_count);
    for (unsigned i = 0; i < m.opt_count; i++) {
        ck_assert_uint_eq(back.opts[i].num, m.opts[i].num);
        ck_assert_uint_eq(back.opts[i].len, m.opts[i].len);
        ck_assert_mem_eq(coap_msg_opt_value(&back.opts[i]), coap_msg_opt_value(&m.opts[i]),
                         m.opts[i].len);
    }
    ck_assert_uint_eq(back.payload_len, 300);
    ck_assert_mem_eq(back.payload, pay, 300);
    ck_assert_int_eq(coap_msg_serialize(&back, w2, sizeof w2), n);
    ck_assert_mem_eq(w, w2, (size_t)n);
}
END_TEST

START_TEST(copy_keeps_inline_values)
{
    coap_msg_t a, b;
    coap_msg_init(&a, COAP_CON, COAP_GET, 1);
    {
        char tmp[8] = "abc";
        coap_msg_add_opt(&a, COAP_OPT_URI_PATH, tmp, 3);
        memset(tmp, 'X', sizeof tmp); /* the value was copied inline */
    }
    b = a;
    ck_assert_mem_eq(coap_msg_opt_value(&b.opts[0]), "abc", 3);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("msg");
    TCase *tc = tcase_create("codec");
    tcase_add_test(tc, parse_get_request);
    tcase_add_test(tc, parse_payload);
    tcase_add_loop_test(tc, parse_malformed, 0, (int)(sizeof malformed / sizeof malformed[0]));
    tcase_add_test(tc, parse_too_many_options);
    tcase_add_test(tc, empty_message_and_ping);
    tcase_add_test(tc, encoding_boundaries);
    tcase_add_test(tc, extended_forms_exact_bytes);
    tcase_add_test(tc, option_value_too_long);
    tcase_add_test(tc, serialize_nospace);
    tcase_add_test(tc, options_kept_in_order);
    tcase_add_test(tc, uint_minimal_length);
    tcase_add_test(tc, max_age_default);
    tcase_add_test(tc, round_trip_full_message);
    tcase_add_test(tc, copy_keeps_inline_values);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
