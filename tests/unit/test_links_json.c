/*
 * Unit tests for the discovery API's JSON resource objects built from a
 * link-format document (gateway/links.c): list attributes split (RFC 6690
 * §3.1-3.2), ct as Content-Format objects (RFC 7252 §7.2.1), obs, sz,
 * repeated and unknown attributes, escapes, bad UTF-8, malformed input.
 */
#include "gw_links.h"
#include "testutil.h"

#include <check.h>
#include <string.h>

/* The JSON of a document, compact with sorted keys, for comparison. */
static void converts(const char *doc, const char *want)
{
    char err[128] = "";
    json_t *v = gw_links_to_json(doc, strlen(doc), err, sizeof err);
    ck_assert_msg(v != NULL, "'%s': %s", doc, err);
    char *got = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_msg(!strcmp(got, want), "'%s':\n got  %s\n want %s", doc, got, want);
    free(got);
    json_decref(v);
}

START_TEST(sim_and_libcoap)
{
    converts("</sensors/temperature>;rt=\"temperature-c\";if=\"sensor\";ct=0;obs;"
             "title=\"Temperature\",</firmware>;rt=\"firmware\";ct=42;sz=65536",
             "[{\"ct\":[{\"format\":0,\"type\":\"text/plain;charset=utf-8\"}],\"href\":\"/sensors/"
             "temperature\",\"if\":[\"sensor\"],\"obs\":true,\"rt\":[\"temperature-c\"],\"title\":"
             "\"Temperature\"},{\"ct\":[{\"format\":42,\"type\":\"application/octet-stream\"}],"
             "\"href\":\"/firmware\",\"rt\":[\"firmware\"],\"sz\":65536}]");
    converts("</time>;if=\"clock\";rt=\"ticks\";title=\"Internal Clock\";ct=0;obs",
             "[{\"ct\":[{\"format\":0,\"type\":\"text/plain;charset=utf-8\"}],\"href\":\"/time\","
             "\"if\":[\"clock\"],\"obs\":true,\"rt\":[\"ticks\"],\"title\":\"Internal Clock\"}]");
}
END_TEST

START_TEST(lists_and_content_formats)
{
    converts("</s>;rt=\"light-lux  core.s\";if=\"sensor core.a\";rt=extra",
             "[{\"href\":\"/s\",\"if\":[\"sensor\",\"core.a\"],\"rt\":[\"light-lux\",\"core.s\","
             "\"extra\"]}]");
    converts("</s>;ct=\"0 50 11543\"", "[{\"ct\":[{\"format\":0,\"type\":\"text/plain;charset=utf-"
                                       "8\"},{\"format\":50,\"type\":\"application/json\"},{"
                                       "\"format\":11543,\"type\":null}],\"href\":\"/s\"}]");
    converts("</s>;ct=abc;ct=70000",
             "[{\"ct\":[{\"format\":\"abc\",\"type\":null},{\"format\":\"70000\",\"type\":null}],"
             "\"href\":\"/s\"}]");
    converts("<http://example.com/t>;anchor=\"/sensors/temp\";rel=\"describedby alternate\"",
             "[{\"anchor\":\"/sensors/temp\",\"href\":\"http://example.com/t\",\"rel\":["
             "\"describedby\",\"alternate\"]}]");
}
END_TEST

START_TEST(other_attributes)
{
    /* repeated -> array; no value -> true; names lower-cased; sz not a number stays text */
    converts("</a>;foo=1;FOO=\"two\";foo;bar;sz=big;Title=\"a \\\"b\\\", c\";href=x;obs=1",
             "[{\"bar\":true,\"foo\":[\"1\",\"two\",true],\"href\":\"/a\",\"obs\":true,"
             "\"sz\":\"big\",\"title\":\"a \\\"b\\\", c\"}]");
    converts("</a>;title=\"caf\xe9\"", "[{\"href\":\"/a\",\"title\":\"caf?\"}]"); /* Latin-1 */
    converts("</a>;title=\"caf\xc3\xa9\"", "[{\"href\":\"/a\",\"title\":\"caf\xc3\xa9\"}]");
    converts("", "[]");
    /* a value longer than the parser's stack buffer */
    char doc[1200], want[1300];
    memset(want, 0, sizeof want);
    strcpy(doc, "</a>;title=\"");
    for (int i = 0; i < 1000; i++) strcat(doc, "x");
    strcat(doc, "\"");
    strcpy(want, "[{\"href\":\"/a\",\"title\":\"");
    for (int i = 0; i < 1000; i++) strcat(want, "x");
    strcat(want, "\"}]");
    converts(doc, want);
}
END_TEST

START_TEST(malformed)
{
    char err[128];
    ck_assert_ptr_null(gw_links_to_json("</a>;rt=\"x", 10, err, sizeof err));
    ck_assert_str_eq(err, "malformed link-format at byte 8: unterminated quoted string");
    ck_assert_ptr_null(gw_links_to_json("hello", 5, err, sizeof err));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("links_json");
    TCase *tc = tcase_create("api");
    tcase_add_test(tc, sim_and_libcoap);
    tcase_add_test(tc, lists_and_content_formats);
    tcase_add_test(tc, other_attributes);
    tcase_add_test(tc, malformed);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
