/* Unit tests for the HTTP <-> CoAP mapping tables (RFC 8075, RFC 7252 §10.2),
 * row by row as listed in shared/rfc8075-tables.md: media types and
 * Content-Format (RFC 8075 §6), Accept, ETag and Max-Age. Methods and
 * status codes are in test_map.c. */
#include "coap_msg.h"
#include "gw_map.h"
#include "testutil.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* --- Media types <-> Content-Format (RFC 8075 §6) --- */

static const struct {
    const char *type;
    unsigned cf;
} media[] = {
    {"text/plain;charset=utf-8", 0},
    {"application/link-format", 40},
    {"application/xml", 41},
    {"application/octet-stream", 42},
    {"application/exi", 47},
    {"application/json", 50},
    {"application/json-patch+json", 51},
    {"application/merge-patch+json", 52},
    {"application/cbor", 60},
    {"application/cwt", 61},
    {"application/multipart-core", 62},
    {"application/cbor-seq", 63},
    {"application/senml+json", 110},
    {"application/sensml+json", 111},
    {"application/senml+cbor", 112},
    {"application/sensml+cbor", 113},
    {"application/senml-exi", 114},
    {"application/sensml-exi", 115},
    {"application/coap-group+json", 256},
    {"application/td+json", 432},
    {"application/vnd.ocf+cbor", 10000},
    {"application/oscore", 10001},
};

START_TEST(media_row)
{
    char buf[64];
    int cf = (int)media[_i].cf;
    ck_assert_str_eq(gw_map_cf_to_type(media[_i].cf, buf, sizeof buf), media[_i].type);
    ck_assert_int_eq(gw_map_content_type(media[_i].type), cf);
    ck_assert_int_eq(gw_map_content_type_exact(media[_i].type), cf);
    ck_assert_int_eq(gw_map_accept(media[_i].type), cf);
}
END_TEST

START_TEST(cf_without_media_type)
{
    char buf[64], small[12];
    ck_assert_str_eq(gw_map_cf_to_type(9999, buf, sizeof buf), "application/coap-payload;cf=9999");
    ck_assert_str_eq(gw_map_cf_to_type(65535, buf, sizeof buf),
                     "application/coap-payload;cf=65535");
    ck_assert_ptr_eq(gw_map_cf_to_type(1, buf, sizeof buf), buf);
    /* a static string for known formats */
    ck_assert_ptr_ne(gw_map_cf_to_type(50, buf, sizeof buf), buf);
    ck_assert_str_eq(gw_map_cf_to_type(9999, small, sizeof small), "application");
    ck_assert_str_eq(gw_map_cf_to_type(9999, NULL, 0), "application/coap-payload");
}
END_TEST

/* Request Content-Type, with the normalization and loose fallbacks;
 * `exact` is what the response-side exact mapping gives. */
static const struct {
    const char *type;
    int cf, exact;
} content_types[] = {
    /* normalization */
    {"text/plain", 0, 0},
    {"Text/Plain; charset=\"UTF-8\"", 0, 0},
    {"text/plain ; charset=utf-8 ", 0, 0},
    {"APPLICATION/JSON", 50, 50},
    {"application/json; charset=utf-8", 50, 50}, /* redundant charset (RFC 8259 §11) */
    {"text/plain; charset=us-ascii", 0, 0},      /* a subset of UTF-8 */
    {"application/cbor;", 60, 60},               /* empty parameter (RFC 9110 §5.6.6) */
    /* registered type with parameters the registry does not know */
    {"application/json;profile=\"http://x\"", 50, -1},
    {"text/plain;format=flowed", 0, -1},
    {"application/senml+json;foo=1", 110, -1},
    /* loose fallbacks, in order */
    {"application/atom+xml", 41, -1},
    {"application/soap+xml; charset=utf-8", 41, -1},
    {"application/ld+json", 50, -1},
    {"application/vnd.api+json;ext=1", 50, -1},
    {"image/x-foo+json", 50, -1}, /* +json on any type */
    {"text/x-foo+json", 50, -1},  /* before the text/... fallback */
    {"application/foo+cbor", 60, -1},
    {"text/foo+cbor", 60, -1},
    {"text/xml", 41, -1},
    {"text/xml; charset=utf-8", 41, -1},
    {"text/html", 0, -1},
    {"TEXT/HTML; Charset=UTF-8", 0, -1},
    {"text/csv;header=present", 0, -1},
    {"text/foo+xml", 0, -1}, /* +xml only for application/ */
    /* unmappable */
    {"image/svg+xml", -1, -1},
    {"application/x-www-form-urlencoded", -1, -1},
    {"application/+json", -1, -1},
    {"application/json+", -1, -1},
    {"image/png", -1, -1},
    {"application/coap-payload;cf=60", -1, -1}, /* RFC 8075 §6.2 */
    {"application/coap-payload", -1, -1},
    {"text/plain;charset=iso-8859-1", -1, -1},
    {"text/html; charset=windows-1252", -1, -1},
    {"text/xml;charset=utf-16", -1, -1},
    {"application/ld+json;charset=latin1", -1, -1},
    {"application/json;charset=iso-8859-1", -1, -1},
    /* malformed */
    {"", -1, -1},
    {"application", -1, -1},
    {"application/", -1, -1},
    {"/json", -1, -1},
    {"application /json", -1, -1},
    {"application/json extra", -1, -1},
    {"application/json, text/plain", -1, -1},
    {"application/json;charset", -1, -1},
    {"application/json;charset=\"utf-8", -1, -1},
    {"text/plain;=utf-8", -1, -1},
};

START_TEST(content_type_row)
{
    ck_assert_msg(gw_map_content_type(content_types[_i].type) == content_types[_i].cf,
                  "'%s': %d, want %d", content_types[_i].type,
                  gw_map_content_type(content_types[_i].type), content_types[_i].cf);
    ck_assert_msg(gw_map_content_type_exact(content_types[_i].type) == content_types[_i].exact,
                  "'%s' exact: %d, want %d", content_types[_i].type,
                  gw_map_content_type_exact(content_types[_i].type), content_types[_i].exact);
}
END_TEST

START_TEST(content_type_null_and_long)
{
    char big[400];
    ck_assert_int_eq(gw_map_content_type(NULL), -1);
    ck_assert_int_eq(gw_map_content_type_exact(NULL), -1);
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    memcpy(big, "text/", 5);
    ck_assert_int_eq(gw_map_content_type(big), -1);
    ck_assert_int_eq(gw_map_accept(big), -1);
}
END_TEST

/* --- Accept (RFC 9110 §12.5.1) --- */

static const struct {
    const char *accept;
    int cf;
} accepts[] = {
    {"application/json", 50},
    {"text/plain", 0},
    {"text/plain;charset=utf-8;q=0.7, application/json;q=0.6", 0},
    {"application/json; charset=utf-8", 50},
    /* q-values */
    {"application/cbor;q=0.5, application/json;q=0.8", 50},
    {"application/cbor;q=0.5, application/json", 50},
    {"application/json;q=0.001, application/cbor;q=0", 50},
    {"application/json;Q=0.3, application/cbor ; q=0.2", 50},
    {"application/cbor;q=1.000, application/json;q=1", 60},
    {"application/json;q=0.5;level=1, application/cbor;q=0.4", 50}, /* accept-ext */
    /* ties: first listed */
    {"application/cbor, application/json", 60},
    {"application/json;q=0.5, application/cbor;q=0.5", 50},
    {"application/json;q=0.50, application/cbor;q=0.5", 50},
    /* q=0: not acceptable */
    {"application/json;q=0", -1},
    {"application/json;q=0.000", -1},
    {"application/json;q=0, application/cbor;q=0.1", 60},
    /* wildcards never map */
    {"*/*", -1},
    {"application/*", -1},
    {"text/*;q=1, text/plain;q=0.2", 0},
    {"*/*, application/cbor;q=0.1", 60},
    {"*/*;q=0.8, application/*;q=0.9", -1},
    /* unmappable types are skipped, no loose mapping */
    {"text/html", -1},
    {"text/html, application/xhtml+xml, application/xml;q=0.9, */*;q=0.8", 41},
    {"text/plain;charset=iso-8859-1", -1},
    {"text/plain;charset=us-ascii", -1},
    {"application/ld+json", -1},
    {"application/coap-payload;cf=60", -1},
    /* malformed elements are skipped */
    {"application/json;q=2, application/cbor;q=0.2", 60},
    {"application/json;q=0.5000, application/cbor;q=0.2", 60},
    {"application/json;q=, application/cbor", 60},
    {"application/json;q=-1, application/cbor", 60},
    {"application/json;q=0.5x, application/cbor", 60},
    {"json, application/cbor", 60},
    {"application/json garbage, application/cbor;q=0.1", 60},
    {"text/plain;foo=\"a,application/json\", application/cbor", 60},
    {"text/plain;foo=\"unterminated, application/cbor", -1},
    /* list syntax */
    {", ,application/json,", 50},
    {"  application/json  ", 50},
    {"", -1},
    {",", -1},
};

START_TEST(accept_row)
{
    int got = gw_map_accept(accepts[_i].accept);
    ck_assert_msg(got == accepts[_i].cf, "'%s': %d, want %d", accepts[_i].accept, got,
                  accepts[_i].cf);
}
END_TEST

START_TEST(accept_null)
{
    ck_assert_int_eq(gw_map_accept(NULL), -1);
}
END_TEST

/* The weight of one type: the most specific range decides (RFC 9110
 * §12.5.1), whatever the order. */
START_TEST(accept_weight)
{
    static const struct {
        const char *accept, *type;
        int q;
    } rows[] = {
        {NULL, "application/cbor", 1000},
        {"*/*", "application/cbor", 1000},
        {"application/json", "application/cbor", 0},
        {"application/json", "application/json", 1000},
        {"application/*;q=0.5", "application/cbor", 500},
        {"*/*;q=0.1, application/cbor;q=0", "application/cbor", 0},
        {"application/cbor;q=0, */*", "application/cbor", 0},
        {"application/cbor;q=0, */*", "application/json", 1000},
        {"text/*, application/json;q=0.8", "application/json", 800},
        {"text/*", "application/json", 0},
        {"application/json;profile=x", "application/json", 0},
        {"APPLICATION/JSON", "application/json", 1000},
        {"garbage, application/json;q=0.3", "application/json", 300},
        {"", "application/json", 0},
    };
    for (size_t i = 0; i < COUNT(rows); i++) {
        int got = gw_map_accept_q(rows[i].accept, rows[i].type);
        ck_assert_msg(got == rows[i].q, "'%s' %s: %d, want %d", rows[i].accept, rows[i].type, got,
                      rows[i].q);
    }
}
END_TEST

/* --- ETag (RFC 9110 §8.8.3 <-> RFC 7252 §5.10.6) --- */

START_TEST(etag_round_trip)
{
    /* every length 1..8, the format is parsed back to the same bytes */
    const uint8_t bytes[8] = {0x00, 0xa1, 0xb2, 0xff, 0x10, 0x7e, 0xc3, 0x09};
    for (size_t len = 1; len <= 8; len++) {
        char s[2 * 8 + 3];
        uint8_t back[8];
        gw_etag_format(bytes, len, s, sizeof s);
        ck_assert_uint_eq(strlen(s), 2 * len + 2);
        ck_assert_int_eq(gw_etag_parse(s, back), (int)len);
        ck_assert_mem_eq(back, bytes, len);
    }
}
END_TEST

START_TEST(etag_forms)
{
    uint8_t out[8];
    char s[32];
    const uint8_t ab[2] = {0xa1, 0xb2};
    gw_etag_format(ab, 2, s, sizeof s);
    ck_assert_str_eq(s, "\"a1b2\"");
    ck_assert_int_eq(gw_etag_parse("\"A1B2\"", out), 2); /* either case */
    ck_assert_mem_eq(out, ab, 2);
    ck_assert_int_eq(gw_etag_parse(" \t\"a1b2\" ", out), 2); /* OWS around */
    ck_assert_mem_eq(out, ab, 2);
    ck_assert_int_eq(gw_etag_parse("\"0123456789abcdef\"", out), 8);
    ck_assert_int_eq(out[7], 0xef);
    /* output buffer too small: empty string, never an overflow */
    memset(s, 'x', sizeof s);
    gw_etag_format(ab, 2, s, 6);
    ck_assert_str_eq(s, "");
    gw_etag_format(ab, 2, s, 7);
    ck_assert_str_eq(s, "\"a1b2\"");
}
END_TEST

static const char *const bad_etags[] = {
    "W/\"a1b2\"",             /* weak */
    "w/\"a1b2\"",             /* weak, lower case */
    "\"a1b\"",                /* odd length */
    "\"a\"",                  /* odd length */
    "\"\"",                   /* empty */
    "\"0123456789abcdef01\"", /* 9 bytes: too long */
    "\"0123456789abcdef0123456789abcdef\"",
    "\"zz\"",             /* not hex */
    "\"a1 b2\"",          /* blank inside */
    "\"0xa1\"",           /* prefix */
    "a1b2",               /* unquoted */
    "\"a1b2",             /* unterminated */
    "a1b2\"",             /* no opening quote */
    "\"a1b2\"x",          /* trailing garbage */
    "\"a1b2\", \"c3d4\"", /* a list */
    "*",                  /* If-Match: * is not a tag */
    "",
};

START_TEST(etag_rejected)
{
    uint8_t out[8] = {0};
    ck_assert_msg(gw_etag_parse(bad_etags[_i], out) == -1, "accepted '%s'", bad_etags[_i]);
}
END_TEST

START_TEST(etag_null)
{
    uint8_t out[8];
    ck_assert_int_eq(gw_etag_parse(NULL, out), -1);
}
END_TEST

/* --- Cache-Control max-age (RFC 9111 §5.2) --- */

static const struct {
    const char *cc;
    long max_age;
} cache_controls[] = {
    {"max-age=60", 60},
    {"no-cache, max-age=30", 30},
    {"MAX-AGE=5", 5},
    {"Max-Age=5", 5},
    {"s-maxage=9", -1},
    {"public, s-maxage=9, max-age=3", 3},
    {"max-age=\"7\"", 7},
    {"max-age=abc", -1},
    {"max-age=0", 0},
    {"max-age=4294967295", 4294967295L},
    {"max-age=4294967296", 4294967295L},
    {"max-age=99999999999999999999999999", 4294967295L},
    {"max-age=00012", 12},
    {"max-age=", -1},
    {"max-age", -1},
    {"max-age=-1", -1},
    {"max-age=5x", -1},
    {"max-age=5 6", -1},
    {"max-age=\"7", -1},
    {"max-age=\"\"", -1},
    {"max-age=5, max-age=9", 5}, /* first occurrence (RFC 9111 §4.2.1) */
    {"max-age=abc, max-age=9", -1},
    {"xmax-age=5", -1},
    {"max-agex=5", -1},
    {"private=\"x, max-age=5\"", -1}, /* inside a quoted value */
    {"no-cache=\"a\\\", max-age=1\", max-age=6", 6},
    {"private=\"x, max-age=5\", max-age=6", 6},
    {" max-age=12 ", 12},
    {"max-age = 5", 5},
    {"no-store,max-age=8,must-revalidate", 8},
    {",,max-age=4,", 4},
    {"no-store", -1},
    {"", -1},
};

START_TEST(max_age_row)
{
    long got = gw_parse_max_age(cache_controls[_i].cc);
    ck_assert_msg(got == cache_controls[_i].max_age, "'%s': %ld, want %ld", cache_controls[_i].cc,
                  got, cache_controls[_i].max_age);
}
END_TEST

START_TEST(max_age_null)
{
    ck_assert_int_eq(gw_parse_max_age(NULL), -1);
}
END_TEST
int main(void)
{
    Suite *s = suite_create("map_media");
    TCase *tc = tcase_create("media");
    tcase_add_loop_test(tc, media_row, 0, COUNT(media));
    tcase_add_test(tc, cf_without_media_type);
    tcase_add_loop_test(tc, content_type_row, 0, COUNT(content_types));
    tcase_add_test(tc, content_type_null_and_long);
    tcase_add_loop_test(tc, accept_row, 0, COUNT(accepts));
    tcase_add_test(tc, accept_null);
    suite_add_tcase(s, tc);

    tc = tcase_create("headers");
    tcase_add_test(tc, etag_round_trip);
    tcase_add_test(tc, etag_forms);
    tcase_add_loop_test(tc, etag_rejected, 0, COUNT(bad_etags));
    tcase_add_test(tc, etag_null);
    tcase_add_test(tc, accept_weight);
    tcase_add_loop_test(tc, max_age_row, 0, COUNT(cache_controls));
    tcase_add_test(tc, max_age_null);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
