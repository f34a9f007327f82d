/*
 * Unit tests for the access tokens' pure parts (gateway/tokens.c): the
 * RFC 6750 §2.1 Authorization header, the constant-time lookup (every
 * near miss refused, duplicates, the fixed width), and the query with
 * access_token removed (§2.3: never forwarded to a device).
 */
#include "gw_tokens.h"
#include "testutil.h"

#include <check.h>
#include <string.h>

static cfg_token_t tokens[] = {
    {.token = "r3ad-0nly.token", .name = "dashboard", .write = 0},
    {.token = "wr1te-token", .name = "operator", .write = 1},
    {.token = "a", .name = "short", .write = 0},
};
static const cfg_t cfg = {.tokens = tokens, .ntokens = 3};

static const cfg_token_t *match(const char *guess)
{
    return gw_auth_match(&cfg, guess, strlen(guess));
}

START_TEST(bearer_header)
{
    const char *tok;
    size_t len;
    ck_assert(gw_auth_bearer("Bearer abc", &tok, &len) && len == 3 && !memcmp(tok, "abc", 3));
    ck_assert(gw_auth_bearer("bEaReR \t abc \t", &tok, &len) && len == 3 && !memcmp(tok, "abc", 3));
    ck_assert(gw_auth_bearer("Bearer ", &tok, &len) && len == 0);
    ck_assert(!gw_auth_bearer("Bearer", &tok, &len));
    ck_assert(!gw_auth_bearer("Bearerabc", &tok, &len));
    ck_assert(!gw_auth_bearer("Basic dXNlcjpwYXNz", &tok, &len));
    ck_assert(!gw_auth_bearer(NULL, &tok, &len));
}
END_TEST

START_TEST(lookup)
{
    ck_assert_ptr_eq(match("r3ad-0nly.token"), &tokens[0]);
    ck_assert_ptr_eq(match("wr1te-token"), &tokens[1]);
    ck_assert_ptr_eq(match("a"), &tokens[2]);
    /* near misses: prefix, longer, one byte off at each end, case, empty */
    ck_assert_ptr_null(match("r3ad-0nly.toke"));
    ck_assert_ptr_null(match("r3ad-0nly.tokenx"));
    ck_assert_ptr_null(match("s3ad-0nly.token"));
    ck_assert_ptr_null(match("r3ad-0nly.tokeN"));
    ck_assert_ptr_null(match("WR1TE-TOKEN"));
    ck_assert_ptr_null(match("aa"));
    ck_assert_ptr_null(match(""));
    /* the length passed counts, not the NUL */
    ck_assert_ptr_eq(gw_auth_match(&cfg, "wr1te-token and more", 11), &tokens[1]);
    ck_assert_ptr_null(gw_auth_match(&cfg, "wr1te-token", 10));
    cfg_t none = {0};
    ck_assert_ptr_null(gw_auth_match(&none, "a", 1));
}
END_TEST

START_TEST(fixed_width)
{
    /* a token of exactly the width matches; one byte longer never does,
     * even when its first GW_AUTH_TOKEN_MAX bytes are right */
    static char wide[GW_AUTH_TOKEN_MAX + 2], guess[GW_AUTH_TOKEN_MAX + 2];
    memset(wide, 'w', GW_AUTH_TOKEN_MAX);
    cfg_token_t t[] = {{.token = wide, .write = 1}};
    cfg_t c = {.tokens = t, .ntokens = 1};
    memcpy(guess, wide, sizeof guess);
    ck_assert_ptr_eq(gw_auth_match(&c, guess, GW_AUTH_TOKEN_MAX), &t[0]);
    wide[GW_AUTH_TOKEN_MAX] = 'w';
    guess[GW_AUTH_TOKEN_MAX] = 'w';
    ck_assert_ptr_null(gw_auth_match(&c, guess, GW_AUTH_TOKEN_MAX + 1));
    /* a long guess against short tokens */
    ck_assert_ptr_null(gw_auth_match(&cfg, guess, GW_AUTH_TOKEN_MAX + 1));
    /* duplicates: one of them (the same rights), never a mix */
    cfg_token_t dup[] = {{.token = "same", .write = 0}, {.token = "same", .write = 0}};
    cfg_t d = {.tokens = dup, .ntokens = 2};
    const cfg_token_t *m = gw_auth_match(&d, "same", 4);
    ck_assert(m == &dup[0] || m == &dup[1]);
}
END_TEST

/* After a reload: a stream goes on when its token is still configured, or
 * when no token is configured at all; one opened without a token ends
 * once tokens are configured. */
START_TEST(still_valid)
{
    ck_assert(gw_auth_token_still_valid(&cfg, "r3ad-0nly.token"));
    ck_assert(gw_auth_token_still_valid(&cfg, "wr1te-token"));
    ck_assert(!gw_auth_token_still_valid(&cfg, "removed-token-1234"));
    ck_assert(!gw_auth_token_still_valid(&cfg, "r3ad-0nly.toke"));
    ck_assert(!gw_auth_token_still_valid(&cfg, NULL));
    ck_assert(!gw_auth_token_still_valid(&cfg, ""));
    cfg_t none = {0};
    ck_assert(gw_auth_token_still_valid(&none, NULL));
    ck_assert(gw_auth_token_still_valid(&none, "removed-token-1234"));
}
END_TEST

static void strips(int active, const char *q, const char *want)
{
    char out[128];
    ck_assert_int_eq(gw_auth_strip_query(active, q, out, sizeof out), 0);
    ck_assert_msg(!strcmp(out, want), "'%s': got '%s' want '%s'", q, out, want);
}

START_TEST(strip_query)
{
    strips(1, "", "");
    strips(1, "access_token=x", "");
    strips(1, "a=1&access_token=x&b=2", "a=1&b=2");
    strips(1, "access_token=x&access_token&rt=temp*", "rt=temp*");
    strips(1, "access_tokenx=1&my_access_token=2", "access_tokenx=1&my_access_token=2");
    strips(1, "a&&b", "a&&b");
    strips(0, "a=1&access_token=x", "a=1&access_token=x"); /* no tokens: the device's own */
    char small[8];
    ck_assert_int_eq(gw_auth_strip_query(1, "abcdefgh=1", small, sizeof small), -1);
    ck_assert_int_eq(gw_auth_strip_query(0, "abcdefgh=1", small, sizeof small), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("auth");
    TCase *tc = tcase_create("tokens");
    tcase_add_test(tc, bearer_header);
    tcase_add_test(tc, lookup);
    tcase_add_test(tc, fixed_width);
    tcase_add_test(tc, strip_query);
    tcase_add_test(tc, still_valid);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
