/* Unit tests for the resolver's name cache (gateway/dns_cache.c): TTL
 * clamping, the negative cache, one query per name with its waiters, the
 * bound. Queries are started and answered by hand. */
#include "gw_dns.h"
#include "testutil.h"

#include <check.h>
#include <string.h>

typedef struct {
    int started;
    char last[GW_DNS_NAME_MAX + 1];
    int fail;                  /* the next start fails */
    gw_dns_cache_t *answer_in; /* answers at once (as /etc/hosts does) */
} starter_t;

static coap_addr_t v4(const char *ip)
{
    coap_addr_t a;
    ck_assert_int_eq(coap_addr_from_host(&a, ip, 0), 0);
    return a;
}

static int start(void *ctx, const char *name)
{
    starter_t *s = ctx;
    s->started++;
    strcpy(s->last, name);
    if (s->fail) return -1;
    if (s->answer_in) {
        coap_addr_t a = v4("10.0.0.9");
        gw_dns_cache_answer(s->answer_in, name, 0, &a, 1, 60);
    }
    return 0;
}

static int woken;
static void on_done(void *arg)
{
    woken += *(int *)arg;
}

START_TEST(ttl_clamped)
{
    ck_assert_uint_eq(gw_dns_ttl_clamp(0), GW_DNS_TTL_MIN_S);
    ck_assert_uint_eq(gw_dns_ttl_clamp(30), 30);
    ck_assert_uint_eq(gw_dns_ttl_clamp(7 * 86400), GW_DNS_TTL_MAX_S);
    starter_t s = {0};
    gw_dns_cache_t *c = gw_dns_cache_new(8, start, &s);
    coap_addr_t out, a = v4("10.0.0.1");
    ck_assert_int_eq(gw_dns_cache_lookup(c, "Dev.Example", 1000, &out), GW_DNS_WAIT);
    ck_assert_str_eq(s.last, "dev.example");               /* names fold to lower case */
    gw_dns_cache_answer(c, "dev.example", 1000, &a, 1, 0); /* TTL 0: kept 1 s */
    ck_assert_int_eq(gw_dns_cache_lookup(c, "dev.example", 1999, &out), GW_DNS_FOUND);
    ck_assert(coap_addr_equal(&out, &a));
    ck_assert_int_eq(s.started, 1);
    ck_assert_int_eq(gw_dns_cache_lookup(c, "dev.example", 2000, &out), GW_DNS_WAIT);
    ck_assert_int_eq(s.started, 2); /* expired: asked again */
    gw_dns_cache_free(c);
}
END_TEST

START_TEST(negative_cached)
{
    starter_t s = {0};
    gw_dns_cache_t *c = gw_dns_cache_new(8, start, &s);
    coap_addr_t out;
    ck_assert_int_eq(gw_dns_cache_lookup(c, "nope.example", 0, &out), GW_DNS_WAIT);
    gw_dns_cache_answer(c, "nope.example", 0, NULL, 0, 3600); /* failed: TTL ignored */
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(gw_dns_cache_lookup(c, "nope.example", 10, &out), GW_DNS_FAILED);
    ck_assert_int_eq(s.started, 1); /* a flood of one bad name: one query */
    ck_assert_int_eq(gw_dns_cache_lookup(c, "nope.example", GW_DNS_NEGATIVE_S * 1000 - 1, &out),
                     GW_DNS_FAILED);
    ck_assert_int_eq(gw_dns_cache_lookup(c, "nope.example", GW_DNS_NEGATIVE_S * 1000, &out),
                     GW_DNS_WAIT);
    ck_assert_int_eq(s.started, 2);
    /* a query that cannot start is a failure at once */
    s.fail = 1;
    ck_assert_int_eq(gw_dns_cache_lookup(c, "other.example", 0, &out), GW_DNS_FAILED);
    ck_assert_int_eq(gw_dns_cache_lookup(c, "", 0, &out), GW_DNS_FAILED);
    gw_dns_cache_free(c);
}
END_TEST

START_TEST(waiters_one_query)
{
    starter_t s = {0};
    gw_dns_cache_t *c = gw_dns_cache_new(8, start, &s);
    coap_addr_t out, a = v4("10.0.0.2");
    int one = 1, ten = 10, hundred = 100;
    ck_assert_ptr_null(gw_dns_cache_wait(c, "dev.example", on_done, &one)); /* nothing in flight */
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(gw_dns_cache_lookup(c, "dev.example", 0, &out), GW_DNS_WAIT);
    ck_assert_int_eq(s.started, 1);
    gw_dns_waiter_t *w1 = gw_dns_cache_wait(c, "dev.example", on_done, &one);
    gw_dns_waiter_t *w2 = gw_dns_cache_wait(c, "DEV.example", on_done, &ten);
    ck_assert_ptr_nonnull(gw_dns_cache_wait(c, "dev.example", on_done, &hundred));
    ck_assert_ptr_nonnull(w1);
    gw_dns_cache_cancel(w2); /* its client went away */
    woken = 0;
    gw_dns_cache_answer(c, "dev.example", 0, &a, 1, 60);
    ck_assert_int_eq(woken, 101);
    ck_assert_int_eq(gw_dns_cache_lookup(c, "dev.example", 0, &out), GW_DNS_FOUND);
    /* an answer nobody asked for changes nothing */
    gw_dns_cache_answer(c, "stray.example", 0, &a, 1, 60);
    ck_assert_uint_eq(gw_dns_cache_count(c), 1);
    gw_dns_cache_free(c);
}
END_TEST

START_TEST(answer_during_start)
{
    starter_t s = {0};
    gw_dns_cache_t *c = gw_dns_cache_new(8, start, &s);
    s.answer_in = c;
    coap_addr_t out, want = v4("10.0.0.9");
    ck_assert_int_eq(gw_dns_cache_lookup(c, "localhost", 0, &out), GW_DNS_FOUND);
    ck_assert(coap_addr_equal(&out, &want));
    gw_dns_cache_free(c);
}
END_TEST

START_TEST(bounded)
{
    starter_t s = {0};
    gw_dns_cache_t *c = gw_dns_cache_new(2, start, &s);
    coap_addr_t out, a = v4("10.0.0.3");
    int one = 1;
    ck_assert_int_eq(gw_dns_cache_lookup(c, "a.example", 0, &out), GW_DNS_WAIT);
    ck_assert_int_eq(gw_dns_cache_lookup(c, "b.example", 0, &out), GW_DNS_WAIT);
    gw_dns_cache_wait(c, "b.example", on_done, &one); /* freed with the cache, uncalled */
    /* both in flight: no room, and none is dropped */
    ck_assert_int_eq(gw_dns_cache_lookup(c, "c.example", 0, &out), GW_DNS_FULL);
    gw_dns_cache_answer(c, "a.example", 0, &a, 1, 60);
    /* the answered entry makes room */
    ck_assert_int_eq(gw_dns_cache_lookup(c, "c.example", 0, &out), GW_DNS_WAIT);
    ck_assert_uint_eq(gw_dns_cache_count(c), 2);
    ck_assert_int_eq(gw_dns_cache_lookup(c, "a.example", 0, &out), GW_DNS_FULL);
    woken = 0;
    gw_dns_cache_free(c);
    ck_assert_int_eq(woken, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dns_cache");
    TCase *tc = tcase_create("dns_cache");
    tcase_add_test(tc, ttl_clamped);
    tcase_add_test(tc, negative_cached);
    tcase_add_test(tc, waiters_one_query);
    tcase_add_test(tc, answer_during_start);
    tcase_add_test(tc, bounded);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
