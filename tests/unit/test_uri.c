/* Unit tests for coap:// URIs <-> options (RFC 7252 §6.4, §6.5). */
#include "coap_addr.h"
#include "coap_uri.h"
#include "testutil.h"

#include <check.h>
#include <string.h>

/* Decomposes uri into options of a GET, then composes it back against the
 * destination 192.0.2.1 (a documentation address; nothing is sent). */
static int round_trip(const char *uri, char *out, size_t cap)
{
    static coap_parsed_uri_t u;
    coap_msg_t m;
    int rc = coap_uri_parse(&u, uri);
    if (rc) return rc;
    coap_msg_init(&m, COAP_CON, COAP_GET, 1);
    ck_assert_int_eq(coap_uri_to_options(&u, &m, COAP_URI_OPT_HOST | COAP_URI_OPT_PORT), COAP_OK);
    rc = coap_uri_compose(&m, u.secure, u.host_is_literal ? u.host : "192.0.2.1",
                          u.secure ? COAPS_DEFAULT_PORT : COAP_DEFAULT_PORT, out, cap);
    return rc < 0 ? rc : 0;
}

/* §6.3: "the following three URIs are equivalent and cause the same options
 * and option values to appear in the CoAP messages". */
START_TEST(rfc_6_3_equivalent_uris)
{
    static const char *uris[] = {
        "coap://example.com:5683/~sensors/temp.xml",
        "coap://EXAMPLE.com/%7Esensors/temp.xml",
        "coap://EXAMPLE.com:/%7esensors/temp.xml",
    };
    char out[256];
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(round_trip(uris[i], out, sizeof out), 0);
        ck_assert_str_eq(out, "coap://example.com/~sensors/temp.xml");
    }
}
END_TEST

START_TEST(decompose_options)
{
    static coap_parsed_uri_t u;
    coap_msg_t m;
    ck_assert_int_eq(coap_uri_parse(&u, "coap://Dev.Example:61616/a%20b/c?x=1&y=%26"), COAP_OK);
    coap_msg_init(&m, COAP_CON, COAP_GET, 1);
    coap_uri_to_options(&u, &m, COAP_URI_OPT_HOST | COAP_URI_OPT_PORT);
    ck_assert_int_eq(m.opt_count, 6);
    ck_assert_uint_eq(m.opts[0].num, COAP_OPT_URI_HOST);
    ck_assert_mem_eq(coap_msg_opt_value(&m.opts[0]), "dev.example", 11);
    ck_assert_uint_eq(m.opts[1].num, COAP_OPT_URI_PORT);
    uint32_t port;
    coap_opt_uint(&m.opts[1], &port);
    ck_assert_uint_eq(port, 61616);
    ck_assert_uint_eq(m.opts[2].len, 3);
    ck_assert_mem_eq(coap_msg_opt_value(&m.opts[2]), "a b", 3);
    ck_assert_mem_eq(coap_msg_opt_value(&m.opts[3]), "c", 1);
    ck_assert_uint_eq(m.opts[4].num, COAP_OPT_URI_QUERY);
    ck_assert_mem_eq(coap_msg_opt_value(&m.opts[4]), "x=1", 3);
    ck_assert_mem_eq(coap_msg_opt_value(&m.opts[5]), "y=&", 3);
}
END_TEST

START_TEST(literal_hosts_need_no_uri_host)
{
    static coap_parsed_uri_t u;
    coap_msg_t m;
    ck_assert_int_eq(coap_uri_parse(&u, "coap://[2001:db8::1]:5683/x"), COAP_OK);
    ck_assert_int_eq(u.host_is_literal, 1);
    ck_assert_str_eq(u.host, "2001:db8::1");
    ck_assert_uint_eq(u.port, 5683);
    coap_msg_init(&m, COAP_CON, COAP_GET, 1);
    coap_uri_to_options(&u, &m, COAP_URI_OPT_HOST | COAP_URI_OPT_PORT);
    ck_assert_int_eq(m.opt_count, 1); /* Uri-Path only */
    ck_assert_int_eq(coap_uri_parse(&u, "coap://127.0.0.1:5783"), COAP_OK);
    ck_assert_int_eq(u.host_is_literal, 1);
    ck_assert_uint_eq(u.port, 5783);
    ck_assert_int_eq(u.path_count, 0);
}
END_TEST

static const struct {
    const char *in, *out;
} cases[] = {
    {"coap://h", "coap://h/"},
    {"coap://h/", "coap://h/"},
    {"coap://h/a/", "coap://h/a/"},
    {"coap://h/a/./b", "coap://h/a/b"},
    {"coap://h/a/../b", "coap://h/b"},
    {"coap://h/a/b/..", "coap://h/a/"},
    {"coap://h/a/b/.", "coap://h/a/b/"},
    {"coap://h/../../a", "coap://h/a"},
    {"coap://h/%2E", "coap://h/%2E"}, /* an encoded dot is a real segment */
    {"coaps://h:5684/x", "coaps://h/x"},
    {"coaps://h:5683/x", "coaps://h:5683/x"},
    {"coap://h:5684/x", "coap://h:5684/x"},
    {"COAP://h/x", "coap://h/x"},
    {"coap://[::1]/.well-known/core?rt=temp*", "coap://[::1]/.well-known/core?rt=temp*"},
    {"coap://[FE80::1%25eth0]/", "coap://[fe80::1%25eth0]/"},
    {"coap://h/a%2Fb", "coap://h/a%2Fb"}, /* a slash inside one segment */
    {"coap://h/x?a&b=c%3Dd&", "coap://h/x?a&b=c=d&"},
    {"coap://h/x?q=%26", "coap://h/x?q=%26"},
    {"coap://h/%C3%A9", "coap://h/%C3%A9"},
    {"coap://h/x?", "coap://h/x"},
};

START_TEST(compose_cases)
{
    char out[256];
    int rc = round_trip(cases[_i].in, out, sizeof out);
    ck_assert_msg(rc == 0, "%s: %s", cases[_i].in, coap_strerror(rc));
    ck_assert_str_eq(out, cases[_i].out);
}
END_TEST

static const struct {
    const char *in;
    int rc;
} bad[] = {
    {"http://h/x", COAP_ERR_URI_SCHEME},
    {"coap+tcp://h/x", COAP_ERR_URI_SCHEME},
    {"coap://h/x#frag", COAP_ERR_URI_FRAGMENT},
    {"/relative/path", COAP_ERR_URI},
    {"coap:/h/x", COAP_ERR_URI},
    {"coap://", COAP_ERR_URI},
    {"coap:///x", COAP_ERR_URI},
    {"coap://h:99999/", COAP_ERR_URI},
    {"coap://h:0/", COAP_ERR_URI},
    {"coap://h:12a/", COAP_ERR_URI},
    {"coap://[::1/x", COAP_ERR_URI},
    {"coap://[::1]x/", COAP_ERR_URI},
    {"coap://[zz::1]/", COAP_ERR_URI},
    {"coap://user@h/", COAP_ERR_URI},
    {"coap://h/a b", COAP_ERR_URI},
    {"coap://h/%zz", COAP_ERR_URI},
    {"coap://h/%4", COAP_ERR_URI},
    {"coap://h/\x7f", COAP_ERR_URI},
    {"", COAP_ERR_URI},
};

START_TEST(rejects_bad_uris)
{
    static coap_parsed_uri_t u;
    int rc = coap_uri_parse(&u, bad[_i].in);
    ck_assert_msg(rc == bad[_i].rc, "%s: got %d want %d", bad[_i].in, rc, bad[_i].rc);
}
END_TEST

START_TEST(tcp_schemes_when_asked)
{
    /* RFC 8323 §8: coap+tcp and coaps+tcp, with the same default ports */
    static coap_parsed_uri_t u;
    ck_assert_int_eq(coap_uri_parse_ex(&u, "coap+tcp://h/x", COAP_URI_TCP), COAP_OK);
    ck_assert_int_eq(u.tcp, 1);
    ck_assert_int_eq(u.secure, 0);
    ck_assert_int_eq(u.port, 5683);
    ck_assert_int_eq(coap_uri_parse_ex(&u, "COAPS+TCP://h:99/x", COAP_URI_TCP), COAP_OK);
    ck_assert_int_eq(u.tcp, 1);
    ck_assert_int_eq(u.secure, 1);
    ck_assert_int_eq(u.port, 99);
    ck_assert_int_eq(coap_uri_parse_ex(&u, "coap://h/x", COAP_URI_TCP), COAP_OK);
    ck_assert_int_eq(u.tcp, 0);
    ck_assert_int_eq(coap_uri_parse(&u, "coaps+tcp://h/x"), COAP_ERR_URI_SCHEME);
}
END_TEST

/* The TCP schemes compose back to themselves (RFC 8323 §8.1, §8.2), with
 * coaps+tcp's default port 5684: a coap+tcp:// target once came back as
 * coap:// (tests/fuzz/corpus-map/tcp-target, found by fuzz_map). */
START_TEST(compose_tcp_schemes)
{
    static const char *const uris[] = {"coap+tcp://127.0.0.1:5783/", "coaps+tcp://[::1]/a?b",
                                       "coaps+tcp://127.0.0.1:5683/x", "coap+tcp://10.0.0.1/"};
    static coap_parsed_uri_t u;
    for (size_t i = 0; i < sizeof uris / sizeof *uris; i++) {
        ck_assert_int_eq(coap_uri_parse_ex(&u, uris[i], COAP_URI_TCP), COAP_OK);
        coap_msg_t m;
        coap_msg_init(&m, COAP_CON, COAP_GET, 1);
        ck_assert_int_eq(coap_uri_to_options(&u, &m, COAP_URI_OPT_HOST | COAP_URI_OPT_PORT),
                         COAP_OK);
        char out[128];
        ck_assert_int_gt(coap_uri_compose(&m, coap_uri_scheme(&u), u.host, u.port, out, sizeof out),
                         0);
        ck_assert_str_eq(out, uris[i]);
    }
}
END_TEST

START_TEST(too_many_segments)
{
    char uri[512] = "coap://h";
    for (int i = 0; i < COAP_URI_MAX_PARTS + 1; i++) strcat(uri, "/s");
    static coap_parsed_uri_t u;
    ck_assert_int_eq(coap_uri_parse(&u, uri), COAP_ERR_URI);
}
END_TEST

START_TEST(compose_from_destination)
{
    coap_msg_t m;
    coap_msg_init(&m, COAP_CON, COAP_GET, 1);
    coap_msg_add_str(&m, COAP_OPT_URI_PATH, "sensors");
    coap_msg_add_str(&m, COAP_OPT_URI_PATH, "..");
    char out[128];
    ck_assert_int_gt(coap_uri_compose(&m, 0, "::1", 5783, out, sizeof out), 0);
    ck_assert_str_eq(out, "coap://[::1]:5783/sensors/%2E%2E");
    ck_assert_int_eq(coap_uri_compose(&m, 0, "::1", 5783, out, 10), COAP_ERR_NOSPACE);
}
END_TEST

/* A Uri-Port the codec let through at 4 bytes is written whole (it was
 * read past an 8-byte buffer), and the encoding of a path keeps runs of
 * unreserved bytes as they are around an escaped one. */
START_TEST(compose_wide_port_and_runs)
{
    coap_msg_t m;
    coap_msg_init(&m, COAP_CON, COAP_GET, 1);
    coap_msg_add_uint(&m, COAP_OPT_URI_PORT, 4294967295u);
    coap_msg_add_str(&m, COAP_OPT_URI_PATH, "a b~c\x7f");
    coap_msg_add_str(&m, COAP_OPT_URI_QUERY, "k=v/w?#");
    char out[128];
    ck_assert_int_gt(coap_uri_compose(&m, 0, "192.0.2.1", 5683, out, sizeof out), 0);
    ck_assert_str_eq(out, "coap://192.0.2.1:4294967295/a%20b~c%7F?k=v/w?%23");
    coap_msg_init(&m, COAP_CON, COAP_GET, 1);
    coap_msg_add_uint(&m, COAP_OPT_URI_PORT, 1);
    ck_assert_int_gt(coap_uri_compose(&m, 1, "192.0.2.1", 5684, out, sizeof out), 0);
    ck_assert_str_eq(out, "coaps://192.0.2.1:1/");
}
END_TEST

START_TEST(pct_decode)
{
    char out[16];
    ck_assert_int_eq(coap_pct_decode("a%41%4a", 7, out, sizeof out), 3);
    ck_assert_mem_eq(out, "aAJ", 3);
    ck_assert_int_eq(coap_pct_decode("%4", 2, out, sizeof out), -1);
    ck_assert_int_eq(coap_pct_decode("%", 1, out, sizeof out), -1);
    ck_assert_int_eq(coap_pct_decode("abcd", 4, out, 3), -1);
}
END_TEST

/* Shared by the allowlist and the configuration checks. */
START_TEST(host_names)
{
    static const char *const good_names[] = {"localhost", "sensor-1.lan", "a_b.example", "x1"};
    static const char *const bad_names[] = {"",      ".lan", "a..b",     "10.0.0.256",
                                            "1.2.3", "a b",  "h\xc3\xa9"};
    for (size_t i = 0; i < sizeof good_names / sizeof *good_names; i++)
        ck_assert_msg(coap_host_name_valid(good_names[i], strlen(good_names[i])), "%s",
                      good_names[i]);
    for (size_t i = 0; i < sizeof bad_names / sizeof *bad_names; i++)
        ck_assert_msg(!coap_host_name_valid(bad_names[i], strlen(bad_names[i])), "%s",
                      bad_names[i]);
    char label[65];
    memset(label, 'a', 64);
    label[64] = '\0';
    ck_assert(!coap_host_name_valid(label, 64));
    ck_assert(coap_host_name_valid(label, 63));
}
END_TEST

int main(void)
{

    Suite *s = suite_create("uri");
    TCase *tc = tcase_create("uri");
    tcase_add_test(tc, rfc_6_3_equivalent_uris);
    tcase_add_test(tc, decompose_options);
    tcase_add_test(tc, literal_hosts_need_no_uri_host);
    tcase_add_loop_test(tc, compose_cases, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_loop_test(tc, rejects_bad_uris, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(tc, too_many_segments);
    tcase_add_test(tc, tcp_schemes_when_asked);
    tcase_add_test(tc, compose_tcp_schemes);
    tcase_add_test(tc, compose_from_destination);
    tcase_add_test(tc, compose_wide_port_and_runs);
    tcase_add_test(tc, pct_decode);
    tcase_add_test(tc, host_names);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
