/* Unit tests for the base library's small pieces: the intrusive list, the
 * growable buffer, base64 and the clock. */
#include "base_base64.h"
#include "base_buf.h"
#include "base_clock.h"
#include "base_siphash.h"
#include "base_list.h"
#include "testutil.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    int v;
    base_list_t node;
} item_t;

START_TEST(list_order_and_removal)
{
    base_list_t head;
    base_list_init(&head);
    ck_assert(base_list_empty(&head));
    ck_assert_ptr_null(base_list_first(&head));
    item_t it[4] = {{0, {0}}, {1, {0}}, {2, {0}}, {3, {0}}};
    ck_assert(!base_list_linked(&it[0].node)); /* zeroed: not linked */
    base_list_remove(&it[0].node);             /* harmless */
    base_list_push_back(&head, &it[1].node);
    base_list_push_back(&head, &it[2].node);
    base_list_push_front(&head, &it[0].node);
    base_list_push_back(&head, &it[3].node);
    int want = 0;
    base_list_t *n, *next;
    BASE_LIST_FOREACH(n, next, &head) {
        ck_assert_int_eq(base_list_entry(n, item_t, node)->v, want++);
        if (want == 2) base_list_remove(n); /* removing while walking */
    }
    ck_assert_int_eq(want, 4);
    ck_assert(!base_list_linked(&it[1].node));
    base_list_remove(&it[1].node); /* twice: harmless */
    ck_assert_ptr_eq(base_list_first(&head), &it[0].node);
    base_list_remove(&it[0].node);
    base_list_remove(&it[3].node);
    base_list_remove(&it[2].node);
    ck_assert(base_list_empty(&head));
}
END_TEST

START_TEST(buf_grows_and_formats)
{
    base_buf_t b = {0};
    ck_assert_int_eq(base_buf_append(&b, NULL, 0), 0);
    ck_assert_ptr_null(b.data);
    for (int i = 0; i < 1000; i++) ck_assert_int_eq(base_buf_append(&b, "abc", 3), 0);
    ck_assert_uint_eq(b.len, 3000);
    ck_assert_uint_ge(b.cap, 3000);
    ck_assert_int_eq(memcmp(b.data + 2997, "abc", 3), 0);
    base_buf_reset(&b);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_int_eq(base_buf_printf(&b, "%s=%d", "x", 42), 0);
    ck_assert_uint_eq(b.len, 4);
    ck_assert_str_eq((char *)b.data, "x=42");
    ck_assert_int_eq(base_buf_reserve(&b, SIZE_MAX), -1); /* overflow refused, unchanged */
    ck_assert_uint_eq(b.len, 4);
    base_buf_free(&b);
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(b.cap, 0);
}
END_TEST

START_TEST(buf_take_reads_it_as_a_queue)
{
    base_buf_t b = {0};
    size_t off = 0;
    char out[8];
    ck_assert_uint_eq(base_buf_take(&b, &off, out, sizeof out), 0);
    ck_assert_int_eq(base_buf_append(&b, "0123456789", 10), 0);
    ck_assert_uint_eq(base_buf_take(&b, &off, out, 4), 4);
    ck_assert_int_eq(memcmp(out, "0123", 4), 0);
    ck_assert_uint_eq(off, 4);
    ck_assert_uint_eq(base_buf_take(&b, &off, out, sizeof out), 6);
    ck_assert_int_eq(memcmp(out, "456789", 6), 0);
    ck_assert_uint_eq(b.len, 0); /* all read: emptied */
    ck_assert_uint_eq(off, 0);
    ck_assert_uint_eq(base_buf_take(&b, &off, out, sizeof out), 0);
    base_buf_free(&b);
}
END_TEST

/* RFC 4648 §10 test vectors, both alphabets. */
/* base_fmt_u32 writes what "%u" writes, without a NUL. */
START_TEST(fmt_u32_as_printf)
{
    static const uint32_t v[] = {0, 9, 10, 99, 100, 65535, 4294967295u};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char got[12], want[12];
        memset(got, 'x', sizeof got);
        size_t n = base_fmt_u32(got, v[i]);
        snprintf(want, sizeof want, "%u", (unsigned)v[i]);
        ck_assert_uint_eq(n, strlen(want));
        ck_assert(!memcmp(got, want, n));
        ck_assert_int_eq(got[n], 'x');
    }
}
END_TEST

START_TEST(base64_vectors)
{
    static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const std[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                      "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    static const char *const url[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    char out[16];
    for (size_t i = 0; i < 7; i++) {
        const uint8_t *p = (const uint8_t *)in[i];
        ck_assert_uint_eq(base_base64_encode(p, strlen(in[i]), BASE64_STD, out, sizeof out),
                          strlen(std[i]));
        ck_assert_str_eq(out, std[i]);
        base_base64_encode(p, strlen(in[i]), BASE64_URL, out, sizeof out);
        ck_assert_str_eq(out, url[i]);
    }
    static const uint8_t hi[] = {0xFB, 0xFF};
    base_base64_encode(hi, 2, BASE64_STD, out, sizeof out);
    ck_assert_str_eq(out, "+/8=");
    base_base64_encode(hi, 2, BASE64_URL, out, sizeof out);
    ck_assert_str_eq(out, "-_8");
    ck_assert_uint_eq(base_base64_encode(hi, 2, BASE64_STD, out, 4), 0); /* too small */
    ck_assert_str_eq(out, "");
}
END_TEST

/* Decoding base64url: the §10 vectors back, and what is refused. */
START_TEST(base64url_decode)
{
    static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const url[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    uint8_t out[16];
    for (size_t i = 0; i < 7; i++) {
        ck_assert_int_eq(base_base64url_decode(url[i], strlen(url[i]), out), (long)strlen(in[i]));
        ck_assert(!memcmp(out, in[i], strlen(in[i])));
    }
    ck_assert_int_eq(base_base64url_decode("-_8", 3, out), 2);
    ck_assert(out[0] == 0xFB && out[1] == 0xFF);
    ck_assert_int_eq(base_base64url_decode("Zg==", 4, out), -1);  /* padding */
    ck_assert_int_eq(base_base64url_decode("Zm9+", 4, out), -1);  /* std alphabet */
    ck_assert_int_eq(base_base64url_decode("Zm9vY", 5, out), -1); /* 1 mod 4 */
    ck_assert_int_eq(base_base64url_decode("Zh", 2, out), -1);    /* trailing bits */
}
END_TEST

/* The reference vectors (SipHash paper, appendix A; vectors.h): key
 * 00..0f, messages 00..(n-1). */
START_TEST(siphash_vectors)
{
    uint8_t key[16], msg[15];
    for (int i = 0; i < 16; i++) key[i] = (uint8_t)i;
    for (int i = 0; i < 15; i++) msg[i] = (uint8_t)i;
    ck_assert_uint_eq(base_siphash24(key, msg, 0), 0x726fdb47dd0e0e31ULL);
    ck_assert_uint_eq(base_siphash24(key, msg, 8), 0x93f5f5799a932462ULL);
    ck_assert_uint_eq(base_siphash24(key, msg, 15), 0xa129ca6149be45e5ULL);
}
END_TEST

START_TEST(clock_is_monotonic)
{
    uint64_t a = base_clock_us(), b = base_clock_us();
    ck_assert_uint_ge(b, a);
    ck_assert_uint_le(base_clock_ms(), base_clock_us() / 1000 + 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("base");
    TCase *tc = tcase_create("base");
    tcase_add_test(tc, list_order_and_removal);
    tcase_add_test(tc, buf_grows_and_formats);
    tcase_add_test(tc, buf_take_reads_it_as_a_queue);
    tcase_add_test(tc, fmt_u32_as_printf);
    tcase_add_test(tc, base64_vectors);
    tcase_add_test(tc, base64url_decode);
    tcase_add_test(tc, clock_is_monotonic);
    tcase_add_test(tc, siphash_vectors);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
