/* Unit tests for the guards of the allowlists (gateway/acl.c): what no
 * range opens (low ports, RFC 7252 §11.5; cloud metadata; for origins,
 * loopback, unspecified and link-local addresses), ADDR:PORT entries, and
 * the texts that say why. Addresses are only compared in memory. */
#include "cfg_int.h"
#include "gw_acl.h"
#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int allows(const gw_acl_t *acl, const char *s)
{
    coap_addr_t a;
    ck_assert_msg(coap_addr_from_host(&a, s, 5683) == 0, "bad test address %s", s);
    return gw_acl_allows_addr(acl, &a);
}

#define ck_refuses(acl, s) ck_assert_msg(!allows(acl, s), "%s allowed", s)

static gw_acl_verdict_t verdict(const gw_acl_t *acl, unsigned guards, const char *host,
                                uint16_t port)
{
    coap_addr_t a;
    ck_assert_msg(coap_addr_from_host(&a, host, port) == 0, "bad test address %s", host);
    return gw_acl_check(acl, guards, &a);
}

#define ck_verdict(acl, guards, host, port, want)                                                  \
    do {                                                                                           \
        gw_acl_verdict_t got_ = verdict(acl, guards, host, port);                                  \
        ck_assert_msg(got_ == (want), "%s port %u: got %d, want %d", host, (unsigned)(port),       \
                      (int)got_, (int)(want));                                                     \
    } while (0)

#define TARGET GW_ACL_TARGET_GUARDS
#define LOCAL  GW_ACL_GUARD_LOCAL

/* ADDR:PORT and [IPv6]:PORT are one port of one address; mapped forms
 * fold into IPv4; membership (gw_acl_allows_addr) ignores them. */
START_TEST(port_patterns)
{
    gw_acl_t *acl = gw_acl_new();
    ck_assert_int_eq(gw_acl_add(acl, "127.0.0.1:53"), 0);
    ck_assert_int_eq(gw_acl_add(acl, "[::1]:53"), 0);
    ck_assert_int_eq(gw_acl_add(acl, "[::ffff:10.0.0.7]:123"), 0);
    ck_assert_int_eq(gw_acl_add(acl, "10.0.0.7:123"), 0); /* the same, folded */
    ck_assert_int_eq(gw_acl_add(acl, "127.0.0.1:54"), 0);
    ck_assert_int_eq(gw_acl_add(acl, "127.0.0.1:65535"), 0);
    ck_assert_uint_eq(gw_acl_count(acl), 5);
    ck_verdict(acl, 0, "127.0.0.1", 53, GW_ACL_ALLOWED);
    ck_verdict(acl, 0, "127.0.0.1", 55, GW_ACL_UNLISTED);
    ck_verdict(acl, 0, "127.0.0.2", 53, GW_ACL_UNLISTED);
    ck_verdict(acl, 0, "::ffff:127.0.0.1", 53, GW_ACL_ALLOWED);
    ck_verdict(acl, 0, "::1", 53, GW_ACL_ALLOWED);
    ck_verdict(acl, 0, "::1", 5683, GW_ACL_UNLISTED);
    ck_verdict(acl, 0, "10.0.0.7", 123, GW_ACL_ALLOWED);
    ck_verdict(acl, 0, "::ffff:10.0.0.7", 123, GW_ACL_ALLOWED);
    ck_refuses(acl, "127.0.0.1"); /* not the address on every port */
    ck_refuses(acl, "10.0.0.7");
    gw_acl_free(acl);
}
END_TEST

/* RFC 7252 §11.5: no range opens a port below 1024, only ADDR:PORT. */
START_TEST(low_ports)
{
    gw_acl_t *acl = gw_acl_new();
    gw_acl_add_defaults(acl);
    ck_assert_int_eq(gw_acl_add(acl, "0.0.0.0/0"), 0);
    ck_assert_int_eq(gw_acl_add(acl, "::/0"), 0);
    ck_assert_int_eq(gw_acl_add(acl, "127.0.0.1"), 0); /* a bare address names no port */
    ck_verdict(acl, TARGET, "127.0.0.1", 53, GW_ACL_LOW_PORT);
    ck_verdict(acl, TARGET, "127.0.0.1", 1023, GW_ACL_LOW_PORT);
    ck_verdict(acl, TARGET, "127.0.0.1", 1, GW_ACL_LOW_PORT);
    ck_verdict(acl, TARGET, "127.0.0.1", 0, GW_ACL_LOW_PORT);
    ck_verdict(acl, TARGET, "127.0.0.1", 1024, GW_ACL_ALLOWED);
    ck_verdict(acl, TARGET, "127.0.0.1", 5683, GW_ACL_ALLOWED);
    ck_verdict(acl, TARGET, "127.0.0.1", 5684, GW_ACL_ALLOWED);
    ck_verdict(acl, TARGET, "::ffff:127.0.0.1", 53, GW_ACL_LOW_PORT);
    ck_verdict(acl, TARGET, "::1", 53, GW_ACL_LOW_PORT);
    ck_verdict(acl, TARGET, "8.8.8.8", 53, GW_ACL_LOW_PORT);
    ck_verdict(acl, TARGET, "2001:db8::1", 123, GW_ACL_LOW_PORT);
    /* without the guard, the ranges allow them */
    ck_verdict(acl, 0, "127.0.0.1", 53, GW_ACL_ALLOWED);
    /* named exactly: that port of that address only */
    ck_assert_int_eq(gw_acl_add(acl, "127.0.0.1:53"), 0);
    ck_assert_int_eq(gw_acl_add(acl, "[::1]:123"), 0);
    ck_verdict(acl, TARGET, "127.0.0.1", 53, GW_ACL_ALLOWED);
    ck_verdict(acl, TARGET, "::ffff:127.0.0.1", 53, GW_ACL_ALLOWED);
    ck_verdict(acl, TARGET, "127.0.0.1", 54, GW_ACL_LOW_PORT);
    ck_verdict(acl, TARGET, "127.0.0.2", 53, GW_ACL_LOW_PORT);
    ck_verdict(acl, TARGET, "::1", 123, GW_ACL_ALLOWED);
    ck_verdict(acl, TARGET, "::1", 53, GW_ACL_LOW_PORT);
    gw_acl_free(acl);

    acl = gw_acl_new(); /* unlisted stays unlisted, whatever the port */
    ck_verdict(acl, TARGET, "8.8.8.8", 53, GW_ACL_UNLISTED);
    ck_assert_int_eq(gw_acl_add(acl, "192.0.2.1:53"), 0); /* outside any range: still allowed */
    ck_verdict(acl, TARGET, "192.0.2.1", 53, GW_ACL_ALLOWED);
    ck_verdict(acl, TARGET, "192.0.2.1", 5683, GW_ACL_UNLISTED);
    gw_acl_free(acl);
}
END_TEST

/* The metadata addresses: no range opens them, a single-address entry
 * does (and ADDR:PORT for a low port). */
START_TEST(metadata)
{
    static const char *const meta[] = {"169.254.169.254", "::ffff:169.254.169.254",
                                       "fd00:ec2::254"};
    gw_acl_t *acl = gw_acl_new();
    gw_acl_add_defaults(acl);
    ck_assert_int_eq(gw_acl_add(acl, "64:ff9b::/96"), 0); /* a NAT64's whole range */
    ck_verdict(acl, TARGET, "64:ff9b::a9fe:a9fe", 5683, GW_ACL_METADATA);
    ck_verdict(acl, TARGET, "64:ff9b::a9fe:a9fd", 5683, GW_ACL_ALLOWED);
    static const char *const ranges[] = {"0.0.0.0/0",
                                         "::/0",
                                         "169.254.0.0/16",
                                         "169.254.169.254/31",
                                         "fd00:ec2::/32",
                                         "fd00:ec2::254/127",
                                         "::ffff:169.254.169.0/120"};
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
        ck_assert_int_eq(gw_acl_add(acl, ranges[i]), 0);
    for (size_t i = 0; i < sizeof meta / sizeof meta[0]; i++) {
        ck_verdict(acl, TARGET, meta[i], 5683, GW_ACL_METADATA);
        ck_verdict(acl, TARGET, meta[i], 80, GW_ACL_METADATA);
        ck_verdict(acl, 0, meta[i], 5683, GW_ACL_ALLOWED);
    }
    /* their neighbours are ordinary link-local / unique local addresses */
    ck_verdict(acl, TARGET, "169.254.169.253", 5683, GW_ACL_ALLOWED);
    ck_verdict(acl, TARGET, "169.254.169.255", 5683, GW_ACL_ALLOWED);
    ck_verdict(acl, TARGET, "fd00:ec2::253", 5683, GW_ACL_ALLOWED);
    ck_verdict(acl, TARGET, "fd00:ec2::54", 5683, GW_ACL_ALLOWED);
    /* named: the address on ports from 1024, a low port as ADDR:PORT */
    ck_assert_int_eq(gw_acl_add(acl, "169.254.169.254"), 0);
    ck_assert_int_eq(gw_acl_add(acl, "fd00:ec2::254"), 0);
    for (size_t i = 0; i < sizeof meta / sizeof meta[0]; i++) {
        ck_verdict(acl, TARGET, meta[i], 5683, GW_ACL_ALLOWED);
        ck_verdict(acl, TARGET, meta[i], 80, GW_ACL_LOW_PORT);
    }
    ck_assert_int_eq(gw_acl_add(acl, "169.254.169.254:80"), 0);
    ck_verdict(acl, TARGET, "169.254.169.254", 80, GW_ACL_ALLOWED);
    ck_verdict(acl, TARGET, "::ffff:169.254.169.254", 80, GW_ACL_ALLOWED);
    ck_verdict(acl, TARGET, "fd00:ec2::254", 80, GW_ACL_LOW_PORT);
    gw_acl_free(acl);

    acl = gw_acl_new(); /* the mapped spelling of the entry is the same */
    ck_assert_int_eq(gw_acl_add(acl, "::ffff:169.254.169.254"), 0);
    ck_verdict(acl, TARGET, "169.254.169.254", 5683, GW_ACL_ALLOWED);
    ck_assert_int_eq(gw_acl_add(acl, "[::ffff:169.254.169.254]:80"), 0);
    ck_verdict(acl, TARGET, "169.254.169.254", 80, GW_ACL_ALLOWED);
    gw_acl_free(acl);
}
END_TEST

/* A configured device adds its address and port: exactly that. */
START_TEST(device_entries)
{
    gw_acl_t *acl = gw_acl_new();
    coap_addr_t a;
    ck_assert_int_eq(coap_addr_from_host(&a, "169.254.169.254", 53), 0);
    ck_assert_int_eq(gw_acl_add_addr(acl, &a, 1), 0);
    ck_assert_int_eq(gw_acl_add_addr(acl, &a, 1), 0); /* duplicate */
    ck_assert_int_eq(coap_addr_from_host(&a, "::ffff:127.0.0.1", 99), 0);
    ck_assert_int_eq(gw_acl_add_addr(acl, &a, 1), 0);
    ck_assert_uint_eq(gw_acl_count(acl), 2);
    ck_verdict(acl, TARGET, "169.254.169.254", 53, GW_ACL_ALLOWED);
    ck_verdict(acl, TARGET, "169.254.169.254", 54, GW_ACL_UNLISTED);
    ck_verdict(acl, TARGET, "127.0.0.1", 99, GW_ACL_ALLOWED);
    ck_verdict(acl, TARGET, "127.0.0.1", 98, GW_ACL_UNLISTED);
    ck_assert_int_eq(coap_addr_from_host(&a, "2001:db8::5", 5683), 0);
    ck_assert_int_eq(gw_acl_add_addr(acl, &a, 0), 0); /* any port */
    ck_verdict(acl, TARGET, "2001:db8::5", 6000, GW_ACL_ALLOWED);
    ck_verdict(acl, TARGET, "2001:db8::5", 500, GW_ACL_LOW_PORT);
    memset(&a, 0, sizeof a);
    ck_assert_int_eq(gw_acl_add_addr(acl, &a, 1), -1);
    ck_assert_int_eq(gw_acl_add_addr(NULL, &a, 1), -1);
    ck_assert_int_eq(gw_acl_check(acl, TARGET, &a), GW_ACL_UNLISTED);
    gw_acl_free(acl);
}
END_TEST

/* The origin guard: loopback, unspecified, link-local and metadata are
 * never opened by a range or a bare address, whatever its prefix, only by
 * an entry naming address and port. */
static const char *const local_addrs[] = {
    "127.0.0.1",
    "127.9.9.9",
    "0.0.0.0",
    "0.1.2.3",
    "169.254.1.1",
    "169.254.169.254",
    "::1",
    "::",
    "fe80::1",
    "fe80::1%1",
    "febf::1",
    "fd00:ec2::254",
    "::ffff:127.0.0.1",
    "::ffff:0.0.0.0",
    "::ffff:169.254.169.254",
    "64:ff9b::7f00:1",    /* 127.0.0.1 through a NAT64 (RFC 6052) */
    "64:ff9b::a9fe:a9fe", /* 169.254.169.254 through a NAT64 */
    "64:ff9b::a9fe:101",  /* 169.254.1.1 */
    "64:ff9b::1",         /* 0.0.0.1 */
};

START_TEST(local_never_through_ranges)
{
    gw_acl_t *acl = gw_acl_new();
    static const char *const broad[] = {"0.0.0.0/0", "::/0", "0.0.0.0/1",       "127.0.0.0/8",
                                        "127.0.0.1", "::1",  "fe80::/10",       "169.254.0.0/16",
                                        "0.0.0.0",   "::",   "169.254.169.254", "fd00::/8"};
    for (size_t i = 0; i < sizeof broad / sizeof broad[0]; i++)
        ck_assert_int_eq(gw_acl_add(acl, broad[i]), 0);
    ck_verdict(acl, LOCAL, local_addrs[_i], 80, GW_ACL_LOCAL);
    ck_verdict(acl, LOCAL, local_addrs[_i], 8000, GW_ACL_LOCAL);
    ck_verdict(acl, 0, local_addrs[_i], 8000, GW_ACL_ALLOWED);
    ck_assert_uint_ne(gw_acl_guarded(&(coap_addr_t){0}, LOCAL), LOCAL);
    gw_acl_free(acl);
}
END_TEST

START_TEST(local_named_exactly)
{
    gw_acl_t *acl = gw_acl_new();
    ck_assert_int_eq(gw_acl_add(acl, "0.0.0.0/0"), 0);
    ck_assert_int_eq(gw_acl_add(acl, "::/0"), 0);
    ck_verdict(acl, LOCAL, "8.8.8.8", 80, GW_ACL_ALLOWED);
    ck_verdict(acl, LOCAL, "2001:db8::1", 80, GW_ACL_ALLOWED);
    ck_verdict(acl, LOCAL, "10.1.2.3", 8000, GW_ACL_ALLOWED);
    ck_verdict(acl, LOCAL, "128.0.0.1", 80, GW_ACL_ALLOWED);
    ck_assert_int_eq(gw_acl_add(acl, "127.0.0.1:8000"), 0);
    ck_verdict(acl, LOCAL, "127.0.0.1", 8000, GW_ACL_ALLOWED);
    ck_verdict(acl, LOCAL, "::ffff:127.0.0.1", 8000, GW_ACL_ALLOWED);
    ck_verdict(acl, LOCAL, "127.0.0.1", 8001, GW_ACL_LOCAL);
    ck_verdict(acl, LOCAL, "127.0.0.2", 8000, GW_ACL_LOCAL);
    gw_acl_free(acl);

    acl = gw_acl_new(); /* 0.0.0.0/1 does not reach 169.254.x: unlisted */
    ck_assert_int_eq(gw_acl_add(acl, "0.0.0.0/1"), 0);
    ck_verdict(acl, LOCAL, "169.254.169.254", 80, GW_ACL_UNLISTED);
    ck_verdict(acl, LOCAL, "127.0.0.1", 80, GW_ACL_LOCAL);
    ck_verdict(acl, LOCAL, "10.0.0.1", 80, GW_ACL_ALLOWED);
    gw_acl_free(acl);
}
END_TEST

START_TEST(guarded_bits)
{
    coap_addr_t a;
    ck_assert_int_eq(coap_addr_from_host(&a, "169.254.169.254", 80), 0);
    ck_assert_uint_eq(gw_acl_guarded(&a, ~0u),
                      GW_ACL_GUARD_LOW_PORTS | GW_ACL_GUARD_METADATA | GW_ACL_GUARD_LOCAL);
    ck_assert_uint_eq(gw_acl_guarded(&a, TARGET), TARGET);
    ck_assert_int_eq(coap_addr_from_host(&a, "169.254.1.1", 5683), 0);
    ck_assert_uint_eq(gw_acl_guarded(&a, ~0u), GW_ACL_GUARD_LOCAL);
    ck_assert_uint_eq(gw_acl_guarded(&a, TARGET), 0);
    ck_assert_int_eq(coap_addr_from_host(&a, "10.0.0.1", 1024), 0);
    ck_assert_uint_eq(gw_acl_guarded(&a, ~0u), 0);
    ck_assert_uint_eq(gw_acl_guarded(NULL, ~0u), 0);
}
END_TEST

/* Ranges wholly inside the guarded space (refused for origins) */
static const struct {
    const char *pattern;
    int want;
} range_cases[] = {
    {"127.0.0.0/8", 1},
    {"127.0.0.1", 1},
    {"127.1.0.0/16", 1},
    {"0.0.0.0", 1},
    {"0.0.0.0/8", 1},
    {"169.254.0.0/16", 1},
    {"169.254.169.254", 1},
    {"::1", 1},
    {"::", 1},
    {"::/127", 1},
    {"fe80::/10", 1},
    {"fe80::1/64", 1},
    {"fd00:ec2::254", 1},
    {"::ffff:127.0.0.1", 1},
    {"::ffff:127.0.0.0/104", 1},
    {"64:ff9b::7f00:0/104", 1},
    {"64:ff9b::a9fe:a9fe", 1},
    {"64:ff9b::/96", 0},
    {"0.0.0.0/7", 0},
    {"0.0.0.0/0", 0},
    {"0.0.0.0/1", 0},
    {"::/0", 0},
    {"::/126", 0},
    {"fe80::/9", 0},
    {"fd00:ec2::/32", 0},
    {"126.0.0.0/7", 0},
    {"10.0.0.0/8", 0},
    {"169.254.0.0/15", 0},
    {"sensor.lan", -1},
    {"127.0.0.1:80", -1},
    {"[::1]:80", -1},
    {"10.0.0.0/33", -1},
    {"", -1},
    {"*.lan", -1},
};

START_TEST(range_guarded)
{
    ck_assert_msg(gw_acl_range_guarded(range_cases[_i].pattern, LOCAL) == range_cases[_i].want,
                  "%s: want %d", range_cases[_i].pattern, range_cases[_i].want);
}
END_TEST

START_TEST(range_guarded_by_guard)
{
    ck_assert_int_eq(gw_acl_range_guarded("127.0.0.1", GW_ACL_GUARD_METADATA), 0);
    ck_assert_int_eq(gw_acl_range_guarded("169.254.169.254", GW_ACL_GUARD_METADATA), 1);
    ck_assert_int_eq(gw_acl_range_guarded("169.254.0.0/16", GW_ACL_GUARD_METADATA), 0);
    ck_assert_int_eq(gw_acl_range_guarded(NULL, LOCAL), -1);
}
END_TEST

/* config/ refuses in proxy.allow_origins exactly the ranges the origin
 * policy would refuse (the two mirror each other). */
START_TEST(config_agrees)
{
    char why[400];
    int cfg_refuses = cfg_check_origin(range_cases[_i].pattern, why, sizeof why) != 0;
    int acl_refuses = gw_acl_range_guarded(range_cases[_i].pattern, LOCAL) != 0;
    ck_assert_msg(cfg_refuses == acl_refuses, "%s: config %d, acl %d", range_cases[_i].pattern,
                  cfg_refuses, acl_refuses);
}
END_TEST

/* The 403 / 4.03 texts say why and what would allow it. */
START_TEST(target_reasons)
{
    gw_acl_t *acl = gw_acl_new();
    gw_acl_add_defaults(acl);
    coap_addr_t a;
    char why[300];
    ck_assert_int_eq(coap_addr_from_host(&a, "127.0.0.1", 53), 0);
    ck_assert_int_eq(gw_acl_check_target(acl, &a, "127.0.0.1", why, sizeof why), GW_ACL_LOW_PORT);
    ck_assert_str_eq(why, "target port 53 is below 1024 (RFC 7252 §11.5): name it in "
                          "proxy.allow_targets as ADDR:PORT");
    ck_assert_int_eq(coap_addr_from_host(&a, "::ffff:169.254.169.254", 5683), 0);
    ck_assert_int_eq(gw_acl_check_target(acl, &a, NULL, why, sizeof why), GW_ACL_METADATA);
    ck_assert_msg(strstr(why, "target 169.254.169.254 is a cloud metadata address"), "%s", why);
    ck_assert_msg(strstr(why, "proxy.allow_targets"), "%s", why);
    ck_assert_int_eq(coap_addr_from_host(&a, "192.0.2.1", 5683), 0);
    ck_assert_int_eq(gw_acl_check_target(acl, &a, NULL, why, sizeof why), GW_ACL_UNLISTED);
    ck_assert_str_eq(
        why, "target 192.0.2.1 is not allowed (see proxy.allow_targets and --allow-target)");
    ck_assert_int_eq(coap_addr_from_host(&a, "10.0.0.1", 5683), 0);
    strcpy(why, "untouched");
    ck_assert_int_eq(gw_acl_check_target(acl, &a, NULL, why, sizeof why), GW_ACL_ALLOWED);
    ck_assert_str_eq(why, "untouched");
    gw_acl_free(acl);
}
END_TEST

static Suite *acl_guards_suite(void)
{
    Suite *s = suite_create("acl_guards");
    TCase *t = tcase_create("guards");
    tcase_add_test(t, port_patterns);
    tcase_add_test(t, low_ports);
    tcase_add_test(t, metadata);
    tcase_add_test(t, device_entries);
    tcase_add_loop_test(t, local_never_through_ranges, 0,
                        (int)(sizeof local_addrs / sizeof local_addrs[0]));
    tcase_add_test(t, local_named_exactly);
    tcase_add_test(t, guarded_bits);
    tcase_add_loop_test(t, range_guarded, 0, (int)(sizeof range_cases / sizeof range_cases[0]));
    tcase_add_test(t, range_guarded_by_guard);
    tcase_add_loop_test(t, config_agrees, 0, (int)(sizeof range_cases / sizeof range_cases[0]));
    tcase_add_test(t, target_reasons);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return run_suite(acl_guards_suite());
}
