/* Unit tests of gateway/cbor_json.c and json_cbor.c: CBOR -> JSON (RFC
 * 8949 §6.1, vectors from its Appendix A), JSON -> CBOR, SenML labels (RFC
 * 8428 §6), and what has no JSON form or is malformed. */
#include "gw_cbor.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* "1903e8" -> bytes; returns the length. */
static size_t unhex(const char *hex, uint8_t *out)
{
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

static gw_cbor_rc_t to_json(const char *hex, int senml, char **text)
{
    uint8_t buf[512];
    size_t n = unhex(hex, buf), len;
    char why[128];
    return gw_cbor_to_json_text(buf, n, senml, text, &len, why, sizeof why);
}

static void check_json(const char *hex, int senml, const char *want)
{
    char *text = NULL;
    gw_cbor_rc_t rc = to_json(hex, senml, &text);
    ck_assert_msg(rc == GW_CBOR_OK, "%s: rc %d", hex, rc);
    ck_assert_msg(!strcmp(text, want), "%s: got %s, want %s", hex, text, want);
    free(text);
}

static void check_rc(const char *hex, int senml, gw_cbor_rc_t want)
{
    char *text = NULL;
    gw_cbor_rc_t rc = to_json(hex, senml, &text);
    ck_assert_msg(rc == want, "%s: rc %d, want %d", hex, rc, want);
    ck_assert_ptr_null(text);
}

/* JSON text -> CBOR as hex ("" on failure, why in *why). */
static char *to_cbor_hex(const char *json, int senml, char *why, size_t cap)
{
    uint8_t *out;
    size_t n;
    static char hex[1024];
    hex[0] = '\0';
    if (gw_json_to_cbor(json, strlen(json), senml, &out, &n, why, cap)) return hex;
    for (size_t i = 0; i < n && 2 * i + 2 < sizeof hex; i++) sprintf(hex + 2 * i, "%02x", out[i]);
    free(out);
    return hex;
}

static void check_cbor(const char *json, int senml, const char *want)
{
    char why[128] = "";
    const char *got = to_cbor_hex(json, senml, why, sizeof why);
    ck_assert_msg(!strcmp(got, want), "%s: got %s, want %s (%s)", json, got, want, why);
}

START_TEST(integers_and_simple)
{
    check_json("00", 0, "0");
    check_json("1903e8", 0, "1000");
    check_json("3903e7", 0, "-1000");
    check_json("1b7fffffffffffffff", 0, "9223372036854775807");
    check_json("3b7fffffffffffffff", 0, "-9223372036854775808");
    check_rc("1bffffffffffffffff", 0, GW_CBOR_NO_JSON); /* beyond jansson's integers */
    check_rc("3b8000000000000000", 0, GW_CBOR_NO_JSON);
    check_json("f4", 0, "false");
    check_json("f5", 0, "true");
    check_json("f6", 0, "null");
    check_json("f7", 0, "null"); /* undefined: the substitute value */
}
END_TEST

START_TEST(floats)
{
    check_json("f93c00", 0, "1.0");
    check_json("f9c400", 0, "-4.0");
    check_json("fa47c35000", 0, "100000.0");
    check_json("fb3ff199999999999a", 0, "1.1");
    check_json("fa41aa6666", 0, "21.3"); /* a single 21.3: its shortest decimal */
    check_json("fb3fd3333333333334", 0, "0.30000000000000004"); /* 15 digits would lose it */
    check_json("f90001", 0, "5.9604645e-8"); /* the shortest decimal of the half */
    check_json("f97c00", 0, "null");         /* Infinity */
    check_json("f9fc00", 0, "null");
    check_json("f97e00", 0, "null"); /* NaN */
    check_json("fb7ff8000000000000", 0, "null");
}
END_TEST

START_TEST(strings)
{
    check_json("40", 0, "\"\"");
    check_json("4401020304", 0, "\"AQIDBA\"");          /* base64url, no padding */
    check_json("42fbff", 0, "\"-_8\"");                 /* the URL alphabet */
    check_json("5f42010243030405ff", 0, "\"AQIDBAU\""); /* indefinite: joined */
    check_json("6449455446", 0, "\"IETF\"");
    check_json("62c3bc", 0, "\"\xc3\xbc\"");
    check_json("7f657374726561646d696e67ff", 0, "\"streaming\"");
    check_rc("62c328", 0, GW_CBOR_MALFORMED); /* not UTF-8 */
}
END_TEST

START_TEST(containers)
{
    check_json("80", 0, "[]");
    check_json("8301820203820405", 0, "[1,[2,3],[4,5]]");
    check_json("9f018202039f0405ffff", 0, "[1,[2,3],[4,5]]");
    check_json("a0", 0, "{}");
    check_json("a26161016162820203", 0, "{\"a\":1,\"b\":[2,3]}");
    check_json("bf61610161629f0203ffff", 0, "{\"a\":1,\"b\":[2,3]}");
    check_rc("a201020304", 0, GW_CBOR_NO_JSON);       /* integer keys */
    check_rc("a1f400", 0, GW_CBOR_NO_JSON);           /* a false key */
    check_rc("a1420102f6", 0, GW_CBOR_NO_JSON);       /* a byte string key */
    check_rc("a2616101616102", 0, GW_CBOR_MALFORMED); /* duplicate key (§5.6) */
}
END_TEST

START_TEST(tags)
{
    check_json("c074323031332d30332d32315432303a30343a30305a", 0, "\"2013-03-21T20:04:00Z\"");
    check_json("c11a514b67b0", 0, "1363896240"); /* epoch time: the number */
    check_json("c1fb41d452d9ec200000", 0, "1363896240.5");
    check_json("c249010000000000000000", 0, "\"AQAAAAAAAAAA\"");  /* bignum */
    check_json("c349010000000000000000", 0, "\"~AQAAAAAAAAAA\""); /* negative bignum */
    check_json("d54401020304", 0, "\"AQIDBA\"");                  /* tag 21: base64url */
    check_json("d74401020304", 0, "\"01020304\"");                /* tag 23: base16 */
    check_json("d64401020304", 0, "\"AQIDBA==\"");                /* tag 22: base64 */
    check_json("d78241ab41cd", 0, "[\"ab\",\"cd\"]");             /* hints reach inside */
    check_json("d8184401020304", 0, "\"AQIDBA\"");                /* tag 24: its content */
    check_json("d82076687474703a2f2f7777772e6578616d706c652e636f6d", 0,
               "\"http://www.example.com\"");
    check_json("d9d9f700", 0, "0"); /* self-described CBOR */
}
END_TEST

START_TEST(malformed)
{
    static const char *const bad[] = {
        "",
        "1c",
        "1903",
        "8201",
        "ff",
        "0000",
        "8201ff",
        "5f01ff",
        "7f4101ff",
        "a16161",
        "9bffffffffffffffff",
        "bf6161ff",
        "f0",
        "f820",
        "f818",
        "fc",
        "3c",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) check_rc(bad[i], 0, GW_CBOR_MALFORMED);
}
END_TEST

START_TEST(depth_bound)
{
    char hex[2 * 200 + 3];
    for (int levels = 1; levels <= 70; levels++) {
        for (int i = 0; i < levels; i++) memcpy(hex + 2 * i, "81", 2);
        strcpy(hex + 2 * levels, "00");
        char *text = NULL;
        gw_cbor_rc_t rc = to_json(hex, 0, &text);
        ck_assert_int_eq(rc, levels <= GW_CBOR_MAX_DEPTH ? GW_CBOR_OK : GW_CBOR_TOO_DEEP);
        free(text);
    }
    /* deeply nested indefinite arrays and tags, never closed */
    for (int i = 0; i < 200; i++) memcpy(hex + 2 * i, i % 2 ? "9f" : "c1", 2);
    hex[400] = '\0';
    check_rc(hex, 0, GW_CBOR_TOO_DEEP);
    /* 100 000 levels: refused without recursion */
    size_t n = 100000;
    uint8_t *deep = malloc(n + 1);
    memset(deep, 0x81, n);
    deep[n] = 0;
    json_t *v;
    ck_assert_int_eq(gw_cbor_to_json(deep, n + 1, 0, &v, NULL, 0), GW_CBOR_TOO_DEEP);
    free(deep);
    char why[64];
    char json[2 * 70 + 1];
    memset(json, '[', 70);
    memset(json + 70, ']', 70);
    json[140] = '\0';
    check_cbor(json, 0, "");
    to_cbor_hex(json, 0, why, sizeof why);
    ck_assert_str_eq(why, "JSON nested deeper than 64 levels");
}
END_TEST

START_TEST(senml_to_json)
{
    /* [{-2: 10, -1: "urn:d:", 0: "temp", 1: "Cel", 2: 21.5, 6: 1}] */
    check_json("81a6210a206675726e3a643a006474656d700163436"
               "56c02f94d600601",
               1,
               "[{\"bver\":10,\"bn\":\"urn:d:\",\"n\":\"temp\",\"u\":\"Cel\",\"v\":21.5,\"t\":1}]");
    /* a text label (an extension, RFC 8428 §4.4) stays as it is */
    check_json("81a2006161646"
               "66f6f5ff5",
               1, "[{\"n\":\"a\",\"foo_\":true}]");
}
END_TEST

START_TEST(json_to_cbor)
{
    check_cbor("0", 0, "00");
    check_cbor("1000", 0, "1903e8");
    check_cbor("-1000", 0, "3903e7");
    check_cbor("4294967296", 0, "1b0000000100000000");
    check_cbor("-9223372036854775808", 0, "3b7fffffffffffffff");
    check_cbor("1.0", 0, "f93c00");
    check_cbor("-0.0", 0, "f98000");
    check_cbor("65504.0", 0, "f97bff");
    /* exact as a half or single, but not read back as the same double */
    check_cbor("5.960464477539063e-08", 0, "fb3e70000000000000");
    check_cbor("21.299999237060547", 0, "fb40354cccc0000000");
    check_cbor("0.25", 0, "f93400");
    check_cbor("6.103515625e-05", 0, "fb3f10000000000000"); /* a half, read as 6.1035156e-05 */
    check_cbor("100000.0", 0, "fa47c35000");
    check_cbor("3.4028234663852886e+38", 0, "fb47efffffe0000000");
    check_cbor("16777216.0", 0, "fa4b800000");
    check_cbor("1.1", 0, "fb3ff199999999999a");
    check_cbor("1e300", 0, "fb7e37e43c8800759c");
    check_cbor("\"IETF\"", 0, "6449455446");
    check_cbor("\"\\u00fc\"", 0, "62c3bc");
    check_cbor("[1,[2,3],[4,5]]", 0, "8301820203820405");
    check_cbor("{\"a\":1,\"b\":[2,3]}", 0, "a26161016162820203");
    check_cbor("[true,false,null]", 0, "83f5f4f6");
    char why[128];
    ck_assert_str_eq(to_cbor_hex("{\"a\": }", 0, why, sizeof why), "");
    ck_assert_str_eq(why, "invalid JSON at offset 7: unexpected token near '}'");
    ck_assert_str_eq(to_cbor_hex("{\"a\":1,\"a\":2}", 0, why, sizeof why), "");
    /* what jansson cannot hold has no CBOR form here: 400 with its reason */
    ck_assert_str_eq(to_cbor_hex("9223372036854775808", 0, why, sizeof why), "");
    ck_assert_str_eq(why, "invalid JSON at offset 19: too big integer near '9223372036854775808'");
    ck_assert_str_eq(to_cbor_hex("1e400", 0, why, sizeof why), "");
    ck_assert_str_eq(why, "invalid JSON at offset 5: real number overflow near '1e400'");
    ck_assert_str_eq(to_cbor_hex("{\"a\\u0000\":1}", 0, why, sizeof why), "");
    ck_assert(strstr(why, "NUL byte in object key"));
}
END_TEST

START_TEST(senml_both_ways)
{
    const char *pack =
        "[{\"bver\":10,\"bn\":\"urn:d:\",\"bt\":1.5,\"bu\":\"Cel\",\"bv\":1,\"bs\":2,"
        "\"n\":\"t\",\"u\":\"Cel\",\"v\":21.5,\"s\":3,\"t\":-1,\"ut\":10},"
        "{\"n\":\"b\",\"vb\":true},{\"n\":\"s\",\"vs\":\"on\"},"
        "{\"n\":\"d\",\"vd\":\"AQID\"},{\"n\":\"x\",\"foo_\":1}]";
    char why[128] = "";
    const char *hex = to_cbor_hex(pack, 1, why, sizeof why);
    ck_assert_msg(*hex, "%s", why);
    /* the first record starts with the integer labels -2 (bver) and -1 (bn) */
    ck_assert(!strncmp(hex, "85ac210a20", 10));
    char *text = NULL;
    ck_assert_int_eq(to_json(hex, 1, &text), GW_CBOR_OK);
    ck_assert_str_eq(text, pack);
    free(text);
    check_cbor("[{\"n\":\"a\",\"v\":1}]", 1,
               "81a200616102"
               "01");
    check_cbor("[{\"n\":\"a\",\"vd\":\"AQID\"}]", 1, "81a20061610843010203");
    check_cbor("{\"n\":\"a\"}", 1, "");         /* not a pack */
    check_cbor("[1]", 1, "");                   /* a record not an object */
    check_cbor("[{\"vd\":\"AQ=\"}]", 1, "");    /* vd not base64url */
    check_rc("81a11863f6", 1, GW_CBOR_NO_JSON); /* label 99: none in Table 4 */
    check_rc("a1006161", 1, GW_CBOR_MALFORMED);
    check_rc("8101", 1, GW_CBOR_MALFORMED);
}
END_TEST

/* Every JSON kind, nested, survives JSON -> CBOR -> JSON. */
START_TEST(round_trip)
{
    const char *doc = "{\"i\":[0,1,-1,23,24,255,256,65535,65536,4294967295,4294967296,"
                      "-9223372036854775808,9223372036854775807],"
                      "\"r\":[0.5,-2.25,21.3,1.1,1e300,5e-324,-0.0],\"s\":[\"\",\"a\\u0000b\","
                      "\"\\u00fc\\u20ac\\ud83d\\ude00\"],\"o\":{\"\":{\"x\":[[[]]]}},"
                      "\"k\":[true,false,null]}";
    uint8_t *cbor;
    size_t n, len;
    char why[128] = "", *text;
    ck_assert_msg(!gw_json_to_cbor(doc, strlen(doc), 0, &cbor, &n, why, sizeof why), "%s", why);
    ck_assert_int_eq(gw_cbor_to_json_text(cbor, n, 0, &text, &len, why, sizeof why), GW_CBOR_OK);
    json_t *a = json_loads(doc, JSON_ALLOW_NUL, NULL), *b = json_loads(text, JSON_ALLOW_NUL, NULL);
    ck_assert_msg(json_equal(a, b), "%s", text);
    json_decref(a);
    json_decref(b);
    free(text);
    free(cbor);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cbor");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, integers_and_simple);
    tcase_add_test(tc, floats);
    tcase_add_test(tc, strings);
    tcase_add_test(tc, containers);
    tcase_add_test(tc, tags);
    tcase_add_test(tc, malformed);
    tcase_add_test(tc, depth_bound);
    tcase_add_test(tc, senml_to_json);
    tcase_add_test(tc, json_to_cbor);
    tcase_add_test(tc, senml_both_ways);
    tcase_add_test(tc, round_trip);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
