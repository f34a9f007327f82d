/*
 * Unit tests for the Resource Directory's lookup (RFC 9176 §6,
 * gateway/rd_lookup.c): filters on endpoint and link attributes, '*'
 * prefixes, space-separated lists, several filters ANDed (§6.1), paging
 * (§6.2) and links resolved against each endpoint's base (§6.3).
 */
#include "gw_rdlookup.h"
#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#define L(s) s, sizeof s - 1

static const rd_lookup_ep_t eps[] = {
    {"node1", "aa000001", "coap://10.0.0.1:5683", 300,
     L("</sensors/temp>;rt=\"temperature-c\";if=\"sensor\";ct=0;obs,</sensors/"
       "light>;rt=\"light-lux "
       "core.s\";if=\"sensor\"")},
    {"node2", "aa000002", "coap://[fd00::2]:61616", 90000,
     L("</act/led>;rt=\"light-ctl\";if=\"core.a\"")},
    {"lamp3", "aa000003", "coap://10.0.0.3:5683/dev", 60,
     L("<led>;rt=\"light-ctl\",<coap://10.0.0.9/x>;rt=\"far\",</t>;anchor=\"/other\";rt=\"t\"")},
    {"empty", "aa000004", "coap://10.0.0.4:5683", 60, NULL, 0},
};
#define NEPS (sizeof eps / sizeof eps[0])

/* The lookup as link format, for one comparison. */
static const char *look(rd_lookup_kind_t kind, const char *query)
{
    static char out[4096];
    rd_query_t q;
    rd_query_init(&q);
    ck_assert_ptr_null(rd_query_parse(&q, query));
    base_buf_t b = {0};
    ck_assert_int_eq(rd_lookup_links(kind, &q, eps, NEPS, &b), 0);
    snprintf(out, sizeof out, "%.*s", (int)b.len, b.data ? (char *)b.data : "");
    base_buf_free(&b);
    return out;
}

START_TEST(endpoint_filters)
{
    ck_assert_str_eq(look(RD_LOOKUP_EP, "ep=node1"),
                     "</rd/aa000001>;ep=\"node1\";base=\"coap://10.0.0.1:5683\";lt=300");
    ck_assert_str_eq(look(RD_LOOKUP_EP, "ep=node*&count=9"),
                     "</rd/aa000001>;ep=\"node1\";base=\"coap://10.0.0.1:5683\";lt=300,"
                     "</rd/aa000002>;ep=\"node2\";base=\"coap://[fd00::2]:61616\";lt=90000");
    ck_assert_str_eq(look(RD_LOOKUP_EP, "lt=60"),
                     "</rd/aa000003>;ep=\"lamp3\";base=\"coap://10.0.0.3:5683/dev\";lt=60,"
                     "</rd/aa000004>;ep=\"empty\";base=\"coap://10.0.0.4:5683\";lt=60");
    ck_assert_str_eq(look(RD_LOOKUP_EP, "base=coap://[fd00*"),
                     "</rd/aa000002>;ep=\"node2\";base=\"coap://[fd00::2]:61616\";lt=90000");
    /* a link attribute: the endpoints with a link that has it */
    ck_assert_str_eq(look(RD_LOOKUP_EP, "rt=light-ctl"),
                     "</rd/aa000002>;ep=\"node2\";base=\"coap://[fd00::2]:61616\";lt=90000,"
                     "</rd/aa000003>;ep=\"lamp3\";base=\"coap://10.0.0.3:5683/dev\";lt=60");
    /* AND: both must match */
    ck_assert_str_eq(look(RD_LOOKUP_EP, "rt=light-ctl&ep=lamp*"),
                     "</rd/aa000003>;ep=\"lamp3\";base=\"coap://10.0.0.3:5683/dev\";lt=60");
    ck_assert_str_eq(look(RD_LOOKUP_EP, "rt=light-ctl&ep=node1"), "");
    /* d and et are not kept: nothing matches them */
    ck_assert_str_eq(look(RD_LOOKUP_EP, "d=sector1"), "");
    ck_assert_str_eq(look(RD_LOOKUP_EP, "ep=nothing"), "");
}
END_TEST

START_TEST(resource_filters)
{
    ck_assert_str_eq(look(RD_LOOKUP_RES, "rt=temperature-c"),
                     "<coap://10.0.0.1:5683/sensors/temp>;rt=\"temperature-c\";if=\"sensor\";ct=0;"
                     "obs;anchor=\"coap://10.0.0.1:5683\"");
    /* a word of a space-separated list, a prefix, a bare name */
    ck_assert_str_eq(look(RD_LOOKUP_RES, "rt=core.s"),
                     "<coap://10.0.0.1:5683/sensors/light>;rt=\"light-lux core.s\";if=\"sensor\";"
                     "anchor=\"coap://10.0.0.1:5683\"");
    ck_assert_str_eq(look(RD_LOOKUP_RES, "rt=light*&ep=node2"),
                     "<coap://[fd00::2]:61616/act/led>;rt=\"light-ctl\";if=\"core.a\";"
                     "anchor=\"coap://[fd00::2]:61616\"");
    ck_assert_str_eq(look(RD_LOOKUP_RES, "obs"),
                     "<coap://10.0.0.1:5683/sensors/temp>;rt=\"temperature-c\";if=\"sensor\";ct=0;"
                     "obs;anchor=\"coap://10.0.0.1:5683\"");
    ck_assert_str_eq(look(RD_LOOKUP_RES, "href=/act/*"),
                     "<coap://[fd00::2]:61616/act/led>;rt=\"light-ctl\";if=\"core.a\";"
                     "anchor=\"coap://[fd00::2]:61616\"");
    ck_assert_str_eq(look(RD_LOOKUP_RES, "href=coap://10.0.0.1:5683/sensors/l*"),
                     "<coap://10.0.0.1:5683/sensors/light>;rt=\"light-lux core.s\";if=\"sensor\";"
                     "anchor=\"coap://10.0.0.1:5683\"");
    ck_assert_str_eq(look(RD_LOOKUP_RES, "if=sensor&rt=temperature-c&ct=1"), "");
}
END_TEST

START_TEST(resolution)
{
    /* §6.3: relative to the base's path, absolute kept, anchors resolved */
    ck_assert_str_eq(
        look(RD_LOOKUP_RES, "ep=lamp3"),
        "<coap://10.0.0.3:5683/led>;rt=\"light-ctl\";anchor=\"coap://10.0.0.3:5683/dev\","
        "<coap://10.0.0.9/x>;rt=\"far\";anchor=\"coap://10.0.0.3:5683/dev\","
        "<coap://10.0.0.3:5683/t>;anchor=\"coap://10.0.0.3:5683/other\";rt=\"t\"");
    char out[100];
    rd_resolve("coap://h:1", L("a/b"), out, sizeof out);
    ck_assert_str_eq(out, "coap://h:1/a/b");
    rd_resolve("coap://h:1/p/q", L("r"), out, sizeof out);
    ck_assert_str_eq(out, "coap://h:1/p/r");
    rd_resolve("coap://h:1/p/q", L("/r"), out, sizeof out);
    ck_assert_str_eq(out, "coap://h:1/r");
    rd_resolve("coap://h:1/p", L("//g:2/s"), out, sizeof out);
    ck_assert_str_eq(out, "coap://g:2/s");
    rd_resolve("coap://h:1", L("coaps://x/y"), out, sizeof out);
    ck_assert_str_eq(out, "coaps://x/y");
}
END_TEST

static void count_one(const rd_result_t *r, void *arg)
{
    (void)r;
    (*(int *)arg)++;
}

START_TEST(paging)
{
    ck_assert_str_eq(look(RD_LOOKUP_EP, "count=1"),
                     "</rd/aa000001>;ep=\"node1\";base=\"coap://10.0.0.1:5683\";lt=300");
    ck_assert_str_eq(look(RD_LOOKUP_EP, "page=2&count=1"),
                     "</rd/aa000003>;ep=\"lamp3\";base=\"coap://10.0.0.3:5683/dev\";lt=60");
    ck_assert_str_eq(look(RD_LOOKUP_EP, "page=1&count=3"),
                     "</rd/aa000004>;ep=\"empty\";base=\"coap://10.0.0.4:5683\";lt=60");
    ck_assert_str_eq(look(RD_LOOKUP_EP, "page=2&count=3"), "");
    ck_assert_str_eq(
        look(RD_LOOKUP_RES, "page=1&count=2&rt=light*"),
        "<coap://10.0.0.3:5683/led>;rt=\"light-ctl\";anchor=\"coap://10.0.0.3:5683/dev\"");
    /* the total counts every page */
    rd_query_t q;
    rd_query_init(&q);
    ck_assert_ptr_null(rd_query_parse(&q, "count=1"));
    int seen = 0;
    ck_assert_uint_eq(rd_lookup_run(RD_LOOKUP_RES, &q, eps, NEPS, count_one, &seen), 6);
    ck_assert_int_eq(seen, 1);
}
END_TEST

START_TEST(bad_queries)
{
    rd_query_t q;
    rd_query_init(&q);
    ck_assert_ptr_nonnull(rd_query_parse(&q, "page=x"));
    rd_query_init(&q);
    ck_assert_ptr_nonnull(rd_query_parse(&q, "count=-1"));
    rd_query_init(&q);
    ck_assert_ptr_nonnull(rd_query_parse(&q, "=x"));
    rd_query_init(&q);
    ck_assert_ptr_nonnull(
        rd_query_parse(&q, "a=1&a=1&a=1&a=1&a=1&a=1&a=1&a=1&a=1&a=1&a=1&a=1&a=1&a=1&a=1&a=1&a=1"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rd_lookup");
    TCase *tc = tcase_create("rfc9176_6");
    tcase_add_test(tc, endpoint_filters);
    tcase_add_test(tc, resource_filters);
    tcase_add_test(tc, resolution);
    tcase_add_test(tc, paging);
    tcase_add_test(tc, bad_queries);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
