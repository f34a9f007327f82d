/* Unit tests for the proxy cache (RFC 7252 §5.6) and the string map. */
#include "gw_cache.h"
#include "gw_strmap.h"
#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

static gw_cache_entry_t entry(const char *body, uint64_t expires)
{
    gw_cache_entry_t e = {.code = 69,
                          .content_format = 0,
                          .expires_ms = expires,
                          .body = (uint8_t *)(uintptr_t)body,
                          .len = strlen(body)};
    return e;
}

START_TEST(put_get_variants)
{
    gw_cache_t *c = gw_cache_new(10, 1 << 20);
    gw_cache_entry_t a = entry("plain", 1000), j = entry("{}", 2000);
    ck_assert_int_eq(gw_cache_put(c, "coap://h/x", -1, &a), 0);
    ck_assert_int_eq(gw_cache_put(c, "coap://h/x", 50, &j), 0);
    gw_cache_entry_t *e = gw_cache_get(c, "coap://h/x", -1);
    ck_assert_ptr_nonnull(e);
    ck_assert_mem_eq(e->body, "plain", 5);
    ck_assert_ptr_ne(e->body, a.body); /* a copy */
    e = gw_cache_get(c, "coap://h/x", 50);
    ck_assert_uint_eq(e->expires_ms, 2000);
    ck_assert_ptr_null(gw_cache_get(c, "coap://h/x", 0));
    ck_assert_ptr_null(gw_cache_get(c, "coap://h/y", -1));
    /* replacing a variant keeps one entry */
    gw_cache_entry_t b = entry("newer", 3000);
    gw_cache_put(c, "coap://h/x", -1, &b);
    ck_assert_uint_eq(gw_cache_entries(c), 2);
    ck_assert_mem_eq(gw_cache_get(c, "coap://h/x", -1)->body, "newer", 5);
    /* §5.6.2: an unsafe method drops every variant of the URI */
    gw_cache_invalidate(c, "coap://h/x");
    ck_assert_uint_eq(gw_cache_entries(c), 0);
    ck_assert_ptr_null(gw_cache_get(c, "coap://h/x", 50));
    gw_cache_invalidate(c, "coap://h/none");
    gw_cache_free(c);
}
END_TEST

START_TEST(bounded_lru)
{
    gw_cache_t *c = gw_cache_new(3, 1 << 20);
    char uri[32];
    gw_cache_entry_t e = entry("v", 1);
    for (int i = 0; i < 3; i++) {
        snprintf(uri, sizeof uri, "coap://h/%d", i);
        gw_cache_put(c, uri, -1, &e);
    }
    gw_cache_get(c, "coap://h/0", -1); /* 0 is now the most recent */
    gw_cache_put(c, "coap://h/3", -1, &e);
    ck_assert_uint_eq(gw_cache_entries(c), 3);
    ck_assert_ptr_null(gw_cache_get(c, "coap://h/1", -1)); /* least recently used went */
    ck_assert_ptr_nonnull(gw_cache_get(c, "coap://h/0", -1));
    gw_cache_free(c);
    /* the byte budget bounds it too; a body over the budget is not kept */
    c = gw_cache_new(100, 10);
    gw_cache_entry_t big = entry("0123456789ABC", 1), six = entry("012345", 1);
    ck_assert_int_eq(gw_cache_put(c, "coap://h/big", -1, &big), -1);
    gw_cache_put(c, "coap://h/a", -1, &six);
    gw_cache_put(c, "coap://h/b", -1, &six);
    ck_assert_uint_eq(gw_cache_entries(c), 1);
    ck_assert_ptr_nonnull(gw_cache_get(c, "coap://h/b", -1));
    gw_cache_free(c);
    /* a cache of size 0 keeps nothing */
    c = gw_cache_new(0, 10);
    ck_assert_int_eq(gw_cache_put(c, "coap://h/a", -1, &six), -1);
    gw_cache_free(c);
}
END_TEST

static void count(const char *k, void *v, void *arg)
{
    (void)k;
    (void)v;
    (*(int *)arg)++;
}

static int dropped;
static void drop(void *prepared)
{
    ck_assert_ptr_eq(prepared, &dropped);
    dropped++;
}

/* An entry's prepared answer (proxy.c) goes with the entry: replaced,
 * invalidated or with the cache; a stored copy never has one. */
START_TEST(prepared_dropped_with_entry)
{
    gw_cache_t *c = gw_cache_new(10, 1 << 20);
    gw_cache_on_drop(c, drop);
    dropped = 0;
    gw_cache_entry_t a = entry("a", 1000);
    a.prepared = &dropped;
    gw_cache_put(c, "coap://h/x", -1, &a);
    ck_assert_ptr_null(gw_cache_get(c, "coap://h/x", -1)->prepared);
    gw_cache_get(c, "coap://h/x", -1)->prepared = &dropped;
    gw_cache_put(c, "coap://h/x", -1, &a); /* replaced */
    ck_assert_int_eq(dropped, 1);
    gw_cache_get(c, "coap://h/x", -1)->prepared = &dropped;
    gw_cache_invalidate(c, "coap://h/x");
    ck_assert_int_eq(dropped, 2);
    gw_cache_put(c, "coap://h/y", -1, &a);
    gw_cache_get(c, "coap://h/y", -1)->prepared = &dropped;
    gw_cache_free(c);
    ck_assert_int_eq(dropped, 3);
}
END_TEST

START_TEST(strmap)
{
    gw_strmap_t *m = gw_strmap_new();
    char key[16];
    static int vals[1000];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        ck_assert_int_eq(gw_strmap_set(m, key, &vals[i]), 0);
    }
    ck_assert_uint_eq(gw_strmap_count(m), 1000);
    ck_assert_ptr_eq(gw_strmap_get(m, "k777"), &vals[777]);
    ck_assert_ptr_null(gw_strmap_get(m, "k1000"));
    gw_strmap_set(m, "k1", &vals[2]); /* replace */
    ck_assert_ptr_eq(gw_strmap_get(m, "k1"), &vals[2]);
    ck_assert_ptr_eq(gw_strmap_del(m, "k5"), &vals[5]);
    ck_assert_ptr_null(gw_strmap_del(m, "k5"));
    int n = 0;
    gw_strmap_each(m, count, &n);
    ck_assert_int_eq(n, 999);
    gw_strmap_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cache");
    TCase *tc = tcase_create("cache");
    tcase_add_test(tc, put_get_variants);
    tcase_add_test(tc, bounded_lru);
    tcase_add_test(tc, prepared_dropped_with_entry);
    tcase_add_test(tc, strmap);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
