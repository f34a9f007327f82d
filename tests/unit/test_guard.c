/* Unit tests for the front end's guards (gateway/guard.c): the Host check
 * against DNS rebinding, the cross-site check against CSRF, origins
 * normalized as browsers compare them, and the active media types. */
#include "gw_guard.h"
#include "testutil.h"

#include <check.h>
#include <string.h>

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static char *names[] = {"gateway.lan", "*.example.com"};
static const cfg_list_t allowed = {names, 2};
static char *star[] = {"*"};
static const cfg_list_t any = {star, 1};
static const cfg_list_t none = {NULL, 0};

static const struct {
    const char *host;
    int by_default, with_names;
} hosts[] = {
    {NULL, 1, 1}, /* HTTP/1.0: no name to rebind */
    {"", 1, 1},
    {"127.0.0.1", 1, 1},
    {"127.0.0.1:8080", 1, 1},
    {"10.1.2.3:80", 1, 1},
    {"[::1]:8080", 1, 1},
    {"[fe80::1]", 1, 1},
    {"localhost", 1, 1},
    {"LOCALHOST:8080", 1, 1},
    {"localhost.:8080", 1, 1},
    {"app.localhost:8080", 1, 1},
    {"attacker.example", 0, 0},
    {"attacker.example:8080", 0, 0},
    {"localhost.attacker.example", 0, 0},
    {"evillocalhost", 0, 0},
    {".localhost", 0, 0},
    {"gateway.lan", 0, 1},
    {"Gateway.LAN:8080", 0, 1},
    {"gateway.lan.", 0, 1},
    {"gateway.lan.evil", 0, 0},
    {"a.example.com", 0, 1},
    {"a.b.example.com:1", 0, 1},
    {"example.com", 0, 0}, /* "*.example.com" is strictly below it */
    {"badexample.com", 0, 0},
    {"127.0.0.1.nip.io", 0, 0}, /* a name, whatever it looks like */
    {"2130706433", 0, 0},       /* browsers send the dotted form */
    {"::1", 0, 0},              /* IPv6 needs its brackets */
    {"[::1", 0, 0},
    {"[zz::1]", 0, 0},
    {"gateway.lan:80x", 0, 0},
    {"gateway.lan:123456", 0, 0},
    {":8080", 0, 0},
};

START_TEST(host_row)
{
    ck_assert_msg(gw_host_ok(hosts[_i].host, &none) == hosts[_i].by_default, "%s", hosts[_i].host);
    ck_assert_msg(gw_host_ok(hosts[_i].host, NULL) == hosts[_i].by_default, "%s NULL",
                  hosts[_i].host);
    ck_assert_msg(gw_host_ok(hosts[_i].host, &allowed) == hosts[_i].with_names, "%s names",
                  hosts[_i].host);
    ck_assert_msg(gw_host_ok(hosts[_i].host, &any), "%s with \"*\"", hosts[_i].host);
}
END_TEST

static const struct {
    const char *in, *out; /* out NULL: refused */
} origins[] = {
    {"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
    {"HTTP://Example.COM", "http://example.com"},
    {"http://example.com:80", "http://example.com"},
    {"https://example.com:443", "https://example.com"},
    {"https://example.com:80", "https://example.com:80"},
    {"http://example.com:0080", "http://example.com"},
    {"http://[::1]:8080", "http://[::1]:8080"},
    {"http://[FE80::1]", "http://[fe80::1]"},
    {"null", NULL},
    {"", NULL},
    {"file://x", NULL},
    {"http://", NULL},
    {"http://example.com/", NULL},
    {"http://example.com/path", NULL},
    {"http://user@example.com", NULL},
    {"http://example.com:", NULL},
    {"http://example.com:0", NULL},
    {"http://example.com:65536", NULL},
    {"http://exa mple.com", NULL},
    {"http://[::1", NULL},
};

START_TEST(origin_row)
{
    char out[300];
    int rc = gw_origin_normalize(origins[_i].in, out, sizeof out);
    if (!origins[_i].out) {
        ck_assert_msg(rc == -1, "%s", origins[_i].in);
        return;
    }
    ck_assert_msg(rc == 0, "%s", origins[_i].in);
    ck_assert_str_eq(out, origins[_i].out);
    ck_assert_int_eq(gw_origin_normalize(origins[_i].in, out, strlen(origins[_i].out)), -1);
}
END_TEST

static char *trusted_v[] = {"https://Dash.Example:8443", "http://127.0.0.1:9000"};
static const cfg_list_t trusted = {trusted_v, 2};

static const struct {
    const char *method, *scheme, *host, *origin, *fetch_site;
    int refused, refused_when_trusted;
} requests[] = {
    /* safe methods always pass */
    {"GET", "http", "127.0.0.1:8080", "http://evil.example", "cross-site", 0, 0},
    {"HEAD", "http", "127.0.0.1:8080", "null", "cross-site", 0, 0},
    {"OPTIONS", "http", "127.0.0.1:8080", "http://evil.example", NULL, 0, 0},
    /* not from a browser page */
    {"POST", "http", "127.0.0.1:8080", NULL, NULL, 0, 0},
    {"DELETE", "http", NULL, NULL, NULL, 0, 0},
    /* Fetch Metadata decides when present */
    {"POST", "http", "127.0.0.1:8080", "http://127.0.0.1:8080", "same-origin", 0, 0},
    {"PUT", "http", "127.0.0.1:8080", NULL, "none", 0, 0},
    {"POST", "http", "127.0.0.1:8080", "http://evil.example", "cross-site", 1, 1},
    {"POST", "http", "127.0.0.1:8080", "http://127.0.0.1:9000", "same-site", 1, 0},
    {"PATCH", "http", "127.0.0.1:8080", "https://dash.example:8443", "cross-site", 1, 0},
    {"POST", "http", "127.0.0.1:8080", NULL, "cross-site", 1, 1},
    {"POST", "http", "127.0.0.1:8080", "null", "cross-site", 1, 1},
    /* without it, Origin against the listener's scheme + :// + Host */
    {"POST", "http", "127.0.0.1:8080", "http://127.0.0.1:8080", NULL, 0, 0},
    {"POST", "http", "LocalHost:80", "http://localhost", NULL, 0, 0},
    {"POST", "http", "[::1]:8080", "http://[::1]:8080", NULL, 0, 0},
    {"POST", "http", "127.0.0.1:8080", "http://evil.example", NULL, 1, 1},
    {"POST", "http", "127.0.0.1:8080", "http://127.0.0.1:8081", NULL, 1, 1},
    {"POST", "http", "127.0.0.1:8080", "https://127.0.0.1:8080", NULL, 1, 1},
    {"POST", "http", "127.0.0.1:8080", "null", NULL, 1, 1},
    {"DELETE", "http", "127.0.0.1:8080", "http://127.0.0.1:9000", NULL, 1, 0},
    {"POST", "http", NULL, "http://127.0.0.1:8080", NULL, 1, 1}, /* no Host to compare with */
    {"BREW", "http", "127.0.0.1:8080", "http://evil.example", NULL, 1, 1},
    /* on the HTTPS listener, the own origin is https:// + Host */
    {"POST", "https", "127.0.0.1:8443", "https://127.0.0.1:8443", NULL, 0, 0},
    {"POST", "https", "localhost:443", "https://localhost", NULL, 0, 0},
    {"POST", "https", "127.0.0.1:8443", "http://127.0.0.1:8443", NULL, 1, 1},
    {"POST", "https", "127.0.0.1:8443", "https://evil.example", NULL, 1, 1},
    {"PUT", "https", "127.0.0.1:8443", "https://dash.example:8443", NULL, 1, 0},
};

START_TEST(cross_site_row)
{
    ck_assert_msg(gw_cross_site_refused(requests[_i].method, requests[_i].scheme, requests[_i].host,
                                        requests[_i].origin, requests[_i].fetch_site,
                                        &none) == requests[_i].refused,
                  "row %d", _i);
    ck_assert_msg(gw_cross_site_refused(requests[_i].method, requests[_i].scheme, requests[_i].host,
                                        requests[_i].origin, requests[_i].fetch_site,
                                        &trusted) == requests[_i].refused_when_trusted,
                  "row %d trusted", _i);
}
END_TEST

static const struct {
    const char *type;
    int active;
} types[] = {
    {"text/html", 1},
    {"text/html; charset=utf-8", 1},
    {"TEXT/HTML", 1},
    {"application/xhtml+xml", 1},
    {"application/xml", 1},
    {"text/xml", 1},
    {"image/svg+xml", 1},
    {"application/senml+xml", 1},
    {" application/xml;x=1", 1},
    {"text/plain", 0},
    {"application/json", 0},
    {"application/octet-stream", 0},
    {"application/link-format", 0},
    {"application/coap-payload;cf=41", 0},
    {"application/xml-dtd", 0},
    {"+xml", 0},
    {"", 0},
    {NULL, 0},
};

START_TEST(active_row)
{
    ck_assert_msg(gw_type_is_active(types[_i].type) == types[_i].active, "%s",
                  types[_i].type ? types[_i].type : "NULL");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("guard");
    TCase *tc = tcase_create("guard");
    tcase_add_loop_test(tc, host_row, 0, COUNT(hosts));
    tcase_add_loop_test(tc, origin_row, 0, COUNT(origins));
    tcase_add_loop_test(tc, cross_site_row, 0, COUNT(requests));
    tcase_add_loop_test(tc, active_row, 0, COUNT(types));
    suite_add_tcase(s, tc);
    return run_suite(s);
}
