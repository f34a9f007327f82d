/*
 * Unit tests for the HTTP client's checks (http_client.h): the address
 * check on new and reused connections, URL splitting and IPv6 zones,
 * against an origin in this process (origin.h).
 */
#include "origin.h"

#include "http_client_internal.h"

#include <net/if.h>

static int checked;

/* Counts the checks; arg set: refuses 127/8. */
static int check_addr(const struct sockaddr *a, socklen_t len, void *arg)
{
    checked++;
    ck_assert_int_eq(a->sa_family, AF_INET);
    ck_assert_uint_ge(len, sizeof(struct sockaddr_in));
    const struct sockaddr_in *v4 = (const struct sockaddr_in *)(const void *)a;
    return !arg || ntohl(v4->sin_addr.s_addr) >> 24 != 127;
}

START_TEST(addr_check)
{
    http_call_t *call = mk("GET", "/ok");
    http_call_set_addr_check(call, check_addr, &checked);
    rec_t k;
    run_call(call, &k);
    ck_assert_int_eq(k.result, HTTP_CALL_REFUSED);
    ck_assert_int_eq(checked, 1);
    ck_assert_int_eq(conns(), 0);
    free(k.body);
    /* a check that allows: the call goes through on the socket we opened,
     * checked before connecting and again before the request */
    call = mk("GET", "/ok");
    http_call_set_addr_check(call, check_addr, NULL);
    run_call(call, &k);
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_int_eq(checked, 3);
    free(k.body);
    /* a kept connection: checked before the request only */
    call = mk("GET", "/ok");
    http_call_set_addr_check(call, check_addr, NULL);
    run_call(call, &k);
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_int_eq(checked, 4);
    free(k.body);
    /* a call without a check on the handle kept from one with: not
     * checked (the handle went on without a reset, issue #19) */
    run_call(mk("GET", "/ok"), &k);
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_int_eq(checked, 4);
    free(k.body);
}
END_TEST

static struct sockaddr_in seen; /* what check_unless_narrowed saw last */

/* Allows until *narrowed is set, as after a reload that took the origin
 * off the allowlist. */
static int check_unless_narrowed(const struct sockaddr *a, socklen_t len, void *narrowed)
{
    ck_assert_int_eq(a->sa_family, AF_INET);
    ck_assert_uint_eq(len, sizeof seen);
    memcpy(&seen, a, sizeof seen);
    return !*(const int *)narrowed;
}

static void call_checked(int *narrowed, rec_t *k)
{
    http_call_t *call = mk("GET", "/ok");
    http_call_set_addr_check(call, check_unless_narrowed, narrowed);
    run_call(call, k);
    free(k->body);
}

/* A request on a kept-alive connection opens no socket: the check must
 * still run on it, with the connection's address and port. */
START_TEST(addr_check_reused_connection)
{
    int narrowed = 0;
    rec_t k;
    call_checked(&narrowed, &k);
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_int_eq(reqs(), 1);
    narrowed = 1;
    memset(&seen, 0, sizeof seen);
    call_checked(&narrowed, &k);
    ck_assert_int_eq(k.result, HTTP_CALL_REFUSED);
    ck_assert_str_eq(k.error, "address refused by the address check");
    ck_assert_uint_eq(ntohl(seen.sin_addr.s_addr), INADDR_LOOPBACK);
    ck_assert_uint_eq(ntohs(seen.sin_port), origin_port);
    ck_assert_int_eq(conns(), 1); /* the first call's connection, reused */
    ck_assert_int_eq(reqs(), 1);  /* and nothing of the second call on it */
    /* allowed again: the client goes on */
    narrowed = 0;
    call_checked(&narrowed, &k);
    ck_assert_int_eq(k.result, HTTP_CALL_OK);
    ck_assert_int_eq(reqs(), 2);
}
END_TEST
static char sp_scheme[16], sp_host[64];
static unsigned sp_port;

static int split(const char *u, size_t host_cap)
{
    return http_url_split(u, sp_scheme, sizeof sp_scheme, sp_host, host_cap, &sp_port);
}

START_TEST(url_split)
{
    ck_assert_int_eq(split("http://h:8080/x", 64), 0);
    ck_assert_str_eq(sp_scheme, "http");
    ck_assert_str_eq(sp_host, "h");
    ck_assert_uint_eq(sp_port, 8080);
    ck_assert_int_eq(split("https://[::1]/y", 64), 0);
    ck_assert_str_eq(sp_scheme, "https");
    ck_assert_str_eq(sp_host, "::1");
    ck_assert_uint_eq(sp_port, 443);
    ck_assert_int_eq(split("not a url", 64), -1);
    ck_assert_int_eq(split("HTTP://EXAMPLE.com", 64), 0);
    ck_assert_str_eq(sp_scheme, "http");
    ck_assert_uint_eq(sp_port, 80);
    /* other schemes parse, so the caller can say which one it refuses */
    ck_assert_int_eq(split("gopher://g.example/1", 64), 0);
    ck_assert_str_eq(sp_scheme, "gopher");
    ck_assert_int_eq(split("http://a-very-long-host-name.example/", 8), -1);
}
END_TEST

static unsigned zone(const char *url)
{
    http_url_t u;
    ck_assert_int_eq(http_url_parse(url, &u), 0);
    unsigned scope = http_url_zone_scope_(&u);
    http_url_release(&u);
    ck_assert_ptr_null(u.curlu);
    return scope;
}

/* The zone a call's address check applies to IPv6 addresses: from the
 * URL's IPv6 literal only (a '%' elsewhere is no zone). */
START_TEST(url_zone_scope)
{
    ck_assert_uint_eq(zone("http://[fe80::1%2542]:8080/x"), 42);
    ck_assert_uint_eq(zone("http://[fe80::1%25lo]/"), if_nametoindex("lo"));
    ck_assert_uint_eq(zone("http://[::1]/"), 0);
    ck_assert_uint_eq(zone("http://h.example/a%2542?b=%25lo"), 0);
    ck_assert_uint_eq(zone("http://127.0.0.1:80/"), 0);
}
END_TEST

/* A parse handed to a call is the call's (freed with it, under ASan); a
 * refused one is released. */
START_TEST(url_parse_taken_by_call)
{
    http_url_t u;
    ck_assert_int_eq(http_url_parse("HTTP://127.0.0.1:1/x", &u), 0);
    ck_assert_str_eq(u.scheme, "http");
    ck_assert_str_eq(u.host, "127.0.0.1");
    ck_assert_uint_eq(u.port, 1);
    http_call_t *call = http_call_new_parsed(cli, "GET", &u);
    ck_assert_ptr_nonnull(call);
    ck_assert_ptr_null(u.curlu);
    http_call_cancel(call);
    ck_assert_int_eq(http_url_parse("gopher://g.example/1", &u), 0);
    ck_assert_ptr_null(http_call_new_parsed(cli, "GET", &u));
    ck_assert_ptr_null(u.curlu);
    ck_assert_int_eq(http_url_parse("http://[::1", &u), -1);
    ck_assert_ptr_null(u.curlu);
}
END_TEST

/* A memo's parse is a copy, the same as a fresh parse of the same text,
 * for as many URLs as it keeps and beyond (issue #19). */
START_TEST(url_parse_memo)
{
    http_url_memo_t m = {0};
    http_url_t u, fresh;
    char url[64];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < HTTP_URL_MEMO + 2; i++) {
            snprintf(url, sizeof url, "HTTP://127.0.0.%d:%d/p?q=%d", i + 1, 8000 + i, round);
            ck_assert_int_eq(http_url_parse_memo(&m, url, &u), 0);
            ck_assert_int_eq(http_url_parse(url, &fresh), 0);
            ck_assert_str_eq(u.scheme, fresh.scheme);
            ck_assert_str_eq(u.host, fresh.host);
            ck_assert_uint_eq(u.port, fresh.port);
            ck_assert_ptr_nonnull(u.curlu);
            char *a = NULL, *b = NULL;
            ck_assert_int_eq(curl_url_get(u.curlu, CURLUPART_URL, &a, 0), CURLUE_OK);
            ck_assert_int_eq(curl_url_get(fresh.curlu, CURLUPART_URL, &b, 0), CURLUE_OK);
            ck_assert_str_eq(a, b);
            curl_free(a);
            curl_free(b);
            /* the same text again: the memo's copy, its own parse */
            http_url_t again;
            ck_assert_int_eq(http_url_parse_memo(&m, url, &again), 0);
            ck_assert_ptr_ne(again.curlu, u.curlu);
            ck_assert_uint_eq(again.port, fresh.port);
            http_url_release(&again);
            http_url_release(&u);
            http_url_release(&fresh);
        }
    }
    ck_assert_int_eq(http_url_parse_memo(&m, "http://[::1", &u), -1);
    ck_assert_ptr_null(u.curlu);
    ck_assert_int_eq(http_url_parse_memo(&m, NULL, &u), -1);
    http_url_memo_free(&m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("http_client_checks");
    TCase *tc = tcase_create("http_client_checks");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, addr_check);
    tcase_add_test(tc, addr_check_reused_connection);
    tcase_add_test(tc, url_split);
    tcase_add_test(tc, url_zone_scope);
    tcase_add_test(tc, url_parse_taken_by_call);
    tcase_add_test(tc, url_parse_memo);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
