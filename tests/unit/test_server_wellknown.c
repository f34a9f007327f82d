/*
 * Unit tests for /.well-known/core (RFC 6690 §4) served by our server to
 * our client on a simulated network: the link format and its attributes
 * (§3, RFC 7641 §6 for "obs"), query filtering (§4.1), and a listing
 * larger than a block (RFC 7959 §2.4).
 */
#include "coap_cf.h"
#include "srvnet.h"

#include <check.h>
#include <string.h>

/* --- /.well-known/core, RFC 6690 --- */

static void wk_setup(st_t *t, hrec_t *h)
{
    coap_link_attrs_t temp = {
        .rt = "temperature-c", .if_ = "sensor", .title = "Temperature", .ct = 0, .sz = 12};
    coap_link_attrs_t light = {.rt = "light-lux core.s", .if_ = "sensor", .ct = -1, .sz = -1};
    coap_link_attrs_t led = {.ct = 50, .sz = -1};
    coap_server_add(t->srv, "/sensors/temp", COAP_RES_OBSERVABLE, COAP_METHODS_READ, h_rec, h,
                    &temp);
    coap_server_add(t->srv, "/sensors/light", 0, COAP_METHODS_READ, h_rec, h, &light);
    coap_server_add(t->srv, "/act/led", 0, COAP_METHOD_BIT(COAP_PUT), h_rec, h, &led);
    coap_server_add(t->srv, "/plain", 0, COAP_METHODS_READ, h_rec, h, NULL);
}

#define L_TEMP                                                                                     \
    "</sensors/temp>;rt=\"temperature-c\";if=\"sensor\";ct=0;sz=12;obs;title=\"Temperature\""
#define L_LIGHT "</sensors/light>;rt=\"light-lux core.s\";if=\"sensor\""
#define L_LED   "</act/led>;ct=50"
#define L_PLAIN "</plain>"

static void wk_query(st_t *t, const char *q, const char *want)
{
    coap_req_t *req = st_req(t, COAP_GET, ".well-known/core");
    if (q) coap_req_add_query(req, q);
    sim_rec_t k = {0};
    st_do(t, req, &k);
    ck_assert_int_eq(k.code, COAP_CONTENT);
    ck_assert_int_eq(opt_u(&sim_last(&t->n)->msg, COAP_OPT_CONTENT_FORMAT), COAP_CF_LINK_FORMAT);
    ck_assert_msg(k.body_len == strlen(want) && !memcmp(k.body, want, k.body_len),
                  "?%s: got '%.*s' want '%s'", q ? q : "", (int)k.body_len, k.body, want);
}

START_TEST(wellknown_listing_and_filters)
{
    st_t t;
    st_init(&t, NULL, NULL);
    hrec_t h = {.name = "x"};
    wk_setup(&t, &h);
    wk_query(&t, NULL, L_TEMP "," L_LIGHT "," L_LED "," L_PLAIN);
    wk_query(&t, "rt=temperature-c", L_TEMP);
    wk_query(&t, "rt=core.s", L_LIGHT); /* one of several space-separated values */
    wk_query(&t, "rt=light*", L_LIGHT);
    wk_query(&t, "rt=temp*", L_TEMP);
    wk_query(&t, "rt=*", L_TEMP "," L_LIGHT);
    wk_query(&t, "if=sensor", L_TEMP "," L_LIGHT);
    wk_query(&t, "if=sens", "");
    wk_query(&t, "href=/sensors/*", L_TEMP "," L_LIGHT);
    wk_query(&t, "href=/act/led", L_LED);
    wk_query(&t, "href=/act", "");
    wk_query(&t, "ct=50", L_LED);
    wk_query(&t, "title=Temp*", L_TEMP);
    wk_query(&t, "rt=nothing", ""); /* unicast: an empty 2.05 */
    wk_query(&t, "foo=bar", "");
    ck_assert_int_eq(h.calls, 0);
    st_free(&t);
}
END_TEST

/* A listing larger than a block goes out with Block2 (RFC 7959 §2.4). */
START_TEST(wellknown_in_blocks)
{
    st_t t;
    st_init(&t, NULL, NULL);
    hrec_t h = {.name = "x"};
    char want[8192];
    size_t wl = 0;
    for (int i = 0; i < 60; i++) {
        char path[64], rt[64];
        snprintf(path, sizeof path, "/res/%02d/with-a-longer-name", i);
        snprintf(rt, sizeof rt, "x-resource-type-%d", i);
        coap_link_attrs_t a = {.rt = rt, .ct = i % 2 ? 50 : -1, .sz = -1};
        ck_assert_ptr_nonnull(coap_server_add(t.srv, path, 0, COAP_METHODS_READ, h_rec, &h, &a));
        wl += (size_t)snprintf(want + wl, sizeof want - wl, "%s<%s>;rt=\"%s\"", i ? "," : "", path,
                               rt);
        if (i % 2) wl += (size_t)snprintf(want + wl, sizeof want - wl, ";ct=50");
    }
    ck_assert_uint_gt(wl, 3 * 1024);
    sim_rec_t k;
    st_get(&t, ".well-known/core", &k);
    ck_assert_int_eq(k.err, COAP_OK);
    ck_assert_int_eq(k.code, COAP_CONTENT);
    ck_assert_uint_eq(k.body_len, wl);
    ck_assert_mem_eq(k.body, want, wl);
    ck_assert_uint_eq(sim_count(&t.n, t.cli, t.srvn, COAP_CON, COAP_GET), (wl + 1023) / 1024);
    coap_msg_t first = sim_nth(&t.n, 0, t.srvn, t.cli, COAP_ACK, COAP_CONTENT)->msg;
    ck_assert_uint_eq(opt_u(&first, COAP_OPT_SIZE2), wl);
    ck_assert_uint_eq(opt_u(&first, COAP_OPT_CONTENT_FORMAT), COAP_CF_LINK_FORMAT);
    st_free(&t);
}
END_TEST

/* Attribute values of any length are listed whole. */
START_TEST(wellknown_long_values)
{
    st_t t;
    st_init(&t, NULL, NULL);
    hrec_t h = {.name = "x"};
    char title[701], path[602];
    memset(title, 'T', 700);
    title[700] = '\0';
    path[0] = '/';
    memset(path + 1, 'p', 600);
    path[601] = '\0';
    coap_link_attrs_t a = {.title = title, .ct = -1, .sz = -1};
    coap_server_add(t.srv, path, 0, COAP_METHODS_READ, h_rec, &h, &a);
    coap_link_attrs_t q = {.title = "say \"hi\" \\o/", .rt = "a\"b", .ct = -1, .sz = -1};
    coap_server_add(t.srv, "/q", 0, COAP_METHODS_READ, h_rec, &h, &q);
    char want[1500];
    snprintf(want, sizeof want,
             "<%s>;title=\"%s\",</q>;rt=\"a\\\"b\";title=\"say \\\"hi\\\" \\\\o/\"", path, title);
    sim_rec_t k;
    st_get(&t, ".well-known/core", &k);
    ck_assert_uint_eq(k.body_len, strlen(want));
    ck_assert_mem_eq(k.body, want, k.body_len);
    st_free(&t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("server_wellknown");
    TCase *tc = tcase_create("wellknown");
    tcase_add_test(tc, wellknown_listing_and_filters);
    tcase_add_test(tc, wellknown_in_blocks);
    tcase_add_test(tc, wellknown_long_values);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
