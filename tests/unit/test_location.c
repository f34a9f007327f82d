/* Unit tests for gw_location_map (gateway/location.c): a device's
 * Location-Path / Location-Query become a Location under the gateway's own
 * URL forms, never another host (RFC 8075 §7, RFC 3986 §3.3). */
#include "coap_msg.h"
#include "gw_location.h"
#include "testutil.h"

#include <check.h>
#include <string.h>

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define SIM      "coap://127.0.0.1:5783"

static const struct {
    const char *target, *device, *device_uri;
    const char *path[6], *query[3]; /* NULL-terminated; "" is an empty segment */
    int rc;                         /* > 0: the length of want */
    const char *want;
} rows[] = {
    /* the report of #13: "", "evil.example", "x" was //evil.example/x */
    {SIM "/things",
     NULL,
     NULL,
     {"", "evil.example", "x", NULL},
     {NULL},
     1,
     "/hc/coap://127.0.0.1:5783//evil.example/x"},
    {SIM "/things",
     "demo",
     SIM,
     {"", "evil.example", "x", NULL},
     {NULL},
     1,
     "/devices/demo//evil.example/x"},
    /* under the device's base path: the rest, each part encoded */
    {SIM "/sensors/t",
     "sens",
     SIM "/sensors",
     {"sensors", "new item", "a/b", NULL},
     {"x=1&2", "y", NULL},
     1,
     "/devices/sens/new%20item/a%2Fb?x=1%262&y"},
    /* outside it, or the base itself: the /hc/ form */
    {SIM "/sensors/t",
     "sens",
     SIM "/sensors",
     {"other", "x", NULL},
     {NULL},
     1,
     "/hc/coap://127.0.0.1:5783/other/x"},
    {SIM "/sensors/t",
     "sens",
     SIM "/sensors",
     {"sensors", NULL},
     {NULL},
     1,
     "/hc/coap://127.0.0.1:5783/sensors"},
    {SIM "/sensors/t",
     "sens",
     SIM "/sensors",
     {"", "sensors", "x", NULL},
     {NULL},
     1,
     "/hc/coap://127.0.0.1:5783//sensors/x"},
    /* a base path written with an escape matches the decoded option */
    {SIM "/my%20dir/t", "d", SIM "/my%20dir", {"my dir", "x", NULL}, {NULL}, 1, "/devices/d/x"},
    /* IPv6: brackets are not allowed in a path */
    {"coap://[::1]/x", NULL, NULL, {"a", NULL}, {NULL}, 1, "/hc/coap://%5B::1%5D/a"},
    {"coap://[fd00::1]:5684/x",
     NULL,
     NULL,
     {"a", NULL},
     {NULL},
     1,
     "/hc/coap://%5Bfd00::1%5D:5684/a"},
    /* coap+tcp:// (RFC 8323 §8.1): a device's, and /hc/ */
    {"coap+tcp://127.0.0.1:9/x",
     "t",
     "coap+tcp://127.0.0.1:9/base",
     {"base", "a", NULL},
     {NULL},
     1,
     "/devices/t/a"},
    {"coap+tcp://127.0.0.1:9/x",
     NULL,
     NULL,
     {"a", NULL},
     {NULL},
     1,
     "/hc/coap+tcp://127.0.0.1:9/a"},
    /* only a query: the root's */
    {SIM "/x", NULL, NULL, {NULL}, {"a=b", NULL}, 1, "/hc/coap://127.0.0.1:5783/?a=b"},
    {SIM "/x", "demo", SIM, {NULL}, {"a=b", NULL}, 1, "/hc/coap://127.0.0.1:5783/?a=b"},
    /* pchar keeps sub-delims, ':' and '@'; the rest is escaped */
    {SIM "/x",
     "demo",
     SIM,
     {"a:b@c!$&'()*+,;=", "%?#[] \xc3\xa9", NULL},
     {"q/?:@#", NULL},
     1,
     "/devices/demo/a:b@c!$&'()*+,;=/%25%3F%23%5B%5D%20%C3%A9?q/?:@%23"},
    /* dot segments would be resolved away by the browser: no Location */
    {SIM "/x", "demo", SIM, {"a", "..", "b", NULL}, {NULL}, -1, ""},
    {SIM "/x", NULL, NULL, {".", NULL}, {NULL}, -1, ""},
    /* no options: no Location */
    {SIM "/x", "demo", SIM, {NULL}, {NULL}, 0, ""},
    /* not a coap URI to take the authority from */
    {"http://127.0.0.1/x", NULL, NULL, {"a", NULL}, {NULL}, -1, ""},
};

static void build(coap_msg_t *m, int i)
{
    coap_msg_init(m, COAP_ACK, COAP_CREATED, 1);
    for (int k = 0; rows[i].path[k]; k++)
        ck_assert_int_eq(coap_msg_add_str(m, COAP_OPT_LOCATION_PATH, rows[i].path[k]), 0);
    for (int k = 0; rows[i].query[k]; k++)
        ck_assert_int_eq(coap_msg_add_str(m, COAP_OPT_LOCATION_QUERY, rows[i].query[k]), 0);
}

START_TEST(location_row)
{
    coap_msg_t m;
    char out[512];
    build(&m, _i);
    int rc =
        gw_location_map(&m, rows[_i].target, rows[_i].device, rows[_i].device_uri, out, sizeof out);
    if (rows[_i].rc > 0)
        ck_assert_int_eq(rc, (int)strlen(rows[_i].want));
    else
        ck_assert_int_eq(rc, rows[_i].rc);
    ck_assert_str_eq(out, rows[_i].want);
    ck_assert(strncmp(out, "//", 2) != 0);
}
END_TEST

START_TEST(location_too_long)
{
    coap_msg_t m;
    char out[64];
    size_t need = strlen(rows[0].want) + 1; /* with the NUL */
    build(&m, 0);
    ck_assert_int_eq(gw_location_map(&m, rows[0].target, NULL, NULL, out, need - 1), -1);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(gw_location_map(&m, rows[0].target, NULL, NULL, out, need), (int)need - 1);
    ck_assert_str_eq(out, rows[0].want);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("location");
    TCase *tc = tcase_create("map");
    tcase_add_loop_test(tc, location_row, 0, COUNT(rows));
    tcase_add_test(tc, location_too_long);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
