/* Unit tests for the allowlists (gateway/acl.c). Addresses are only
 * compared in memory: nothing is sent anywhere. */
#include "gw_acl.h"
#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether acl allows the numeric host s (any port). */
static int allows(const gw_acl_t *acl, const char *s)
{
    coap_addr_t a;
    ck_assert_msg(coap_addr_from_host(&a, s, 5683) == 0, "bad test address %s", s);
    return gw_acl_allows_addr(acl, &a);
}

#define ck_allows(acl, s)  ck_assert_msg(allows(acl, s), "%s refused", s)
#define ck_refuses(acl, s) ck_assert_msg(!allows(acl, s), "%s allowed", s)

static const char *const lan[] = {
    "127.0.0.1",      "127.255.0.1",     "::1",
    "10.1.2.3",       "172.16.0.1",      "172.31.255.255",
    "192.168.0.1",    "fd12::1",         "fe80::1",
    "169.254.1.1",    "::ffff:10.0.0.1", "fc00::",
    "10.255.255.255", "fe80::1%1",       "169.254.169.254",
};
static const char *const public_[] = {
    "192.0.2.1",        "2001:db8::1",    "8.8.8.8", "172.32.0.1", "11.0.0.1",
    "::ffff:192.0.2.1", "172.15.255.255", "fec0::1", "::",         "0.0.0.0",
    "128.0.0.1",        "::ffff:8.8.8.8", "::2",     "fe00::1",
};

START_TEST(defaults_allow_lan)
{
    gw_acl_t *acl = gw_acl_new();
    gw_acl_add_defaults(acl);
    ck_allows(acl, lan[_i]);
    gw_acl_free(acl);
}
END_TEST

START_TEST(defaults_refuse_public)
{
    gw_acl_t *acl = gw_acl_new();
    gw_acl_add_defaults(acl);
    ck_refuses(acl, public_[_i]);
    gw_acl_free(acl);
}
END_TEST

START_TEST(defaults_are_addresses_only)
{
    gw_acl_t *acl = gw_acl_new();
    gw_acl_add_defaults(acl);
    ck_assert_uint_eq(gw_acl_count(acl), 8);
    ck_assert_int_eq(gw_acl_allows_name(acl, "localhost"), 0);
    /* adding them again changes nothing: duplicates are dropped */
    gw_acl_add_defaults(acl);
    ck_assert_uint_eq(gw_acl_count(acl), 8);
    gw_acl_free(acl);
}
END_TEST

START_TEST(empty_refuses_all)
{
    gw_acl_t *acl = gw_acl_new();
    ck_assert_uint_eq(gw_acl_count(acl), 0);
    ck_refuses(acl, "127.0.0.1");
    ck_refuses(acl, "::1");
    ck_assert_int_eq(gw_acl_allows_name(acl, "a.example.com"), 0);
    /* an address of no known family is never allowed */
    coap_addr_t a;
    memset(&a, 0, sizeof a);
    gw_acl_add(acl, "0.0.0.0/0");
    ck_assert_int_eq(gw_acl_allows_addr(acl, &a), 0);
    gw_acl_free(acl);
    gw_acl_free(NULL);
}
END_TEST

START_TEST(custom_cidrs)
{
    gw_acl_t *acl = gw_acl_new();
    ck_assert_int_eq(gw_acl_add(acl, "192.0.2.0/24"), 0);
    ck_assert_int_eq(gw_acl_add(acl, "2001:db8::/32"), 0);
    ck_assert_int_eq(gw_acl_add(acl, "198.51.100.0/23"), 0);
    ck_allows(acl, "192.0.2.0");
    ck_allows(acl, "192.0.2.255");
    ck_refuses(acl, "192.0.3.0");
    ck_refuses(acl, "192.0.1.255");
    ck_allows(acl, "2001:db8:ffff::1");
    ck_refuses(acl, "2001:db9::1");
    /* a prefix that does not end on a byte boundary */
    ck_allows(acl, "198.51.101.7");
    ck_refuses(acl, "198.51.102.0");
    ck_refuses(acl, "10.0.0.1");
    ck_assert_uint_eq(gw_acl_count(acl), 3);
    gw_acl_free(acl);
}
END_TEST

/* Host bits beyond the prefix are masked away, not an error. */
START_TEST(host_bits_masked)
{
    gw_acl_t *acl = gw_acl_new();
    ck_assert_int_eq(gw_acl_add(acl, "10.1.2.3/9"), 0);
    ck_assert_int_eq(gw_acl_add(acl, "2001:db8:1234::99/33"), 0);
    ck_allows(acl, "10.0.0.0");
    ck_allows(acl, "10.127.255.255");
    ck_refuses(acl, "10.128.0.0");
    ck_allows(acl, "2001:db8::1");
    ck_allows(acl, "2001:db8:7fff::1");
    ck_refuses(acl, "2001:db8:8000::1");
    /* the same range written normalized is a duplicate */
    ck_assert_int_eq(gw_acl_add(acl, "10.0.0.0/9"), 0);
    ck_assert_uint_eq(gw_acl_count(acl), 2);
    gw_acl_free(acl);
}
END_TEST

START_TEST(prefix_zero)
{
    gw_acl_t *acl = gw_acl_new();
    ck_assert_int_eq(gw_acl_add(acl, "0.0.0.0/0"), 0);
    ck_allows(acl, "8.8.8.8");
    ck_allows(acl, "255.255.255.255");
    ck_allows(acl, "::ffff:8.8.8.8");
    ck_refuses(acl, "2001:db8::1");
    gw_acl_free(acl);

    acl = gw_acl_new();
    ck_assert_int_eq(gw_acl_add(acl, "1.2.3.4/0"), 0); /* masked to 0.0.0.0/0 */
    ck_allows(acl, "8.8.8.8");
    gw_acl_free(acl);

    acl = gw_acl_new();
    ck_assert_int_eq(gw_acl_add(acl, "::/0"), 0);
    ck_allows(acl, "2001:db8::1");
    ck_allows(acl, "::");
    /* mapped addresses are IPv4 peers: IPv6 ranges do not cover them */
    ck_refuses(acl, "::ffff:8.8.8.8");
    ck_refuses(acl, "8.8.8.8");
    gw_acl_free(acl);
}
END_TEST

START_TEST(single_hosts)
{
    gw_acl_t *acl = gw_acl_new();
    ck_assert_int_eq(gw_acl_add(acl, "192.0.2.7/32"), 0);
    ck_assert_int_eq(gw_acl_add(acl, "203.0.113.9"), 0);
    ck_assert_int_eq(gw_acl_add(acl, "2001:db8::7/128"), 0);
    ck_assert_int_eq(gw_acl_add(acl, "2001:db8::9"), 0);
    ck_allows(acl, "192.0.2.7");
    ck_allows(acl, "::ffff:192.0.2.7");
    ck_refuses(acl, "192.0.2.6");
    ck_refuses(acl, "192.0.2.8");
    ck_allows(acl, "203.0.113.9");
    ck_refuses(acl, "203.0.113.8");
    ck_allows(acl, "2001:db8::7");
    ck_refuses(acl, "2001:db8::6");
    ck_refuses(acl, "2001:db8::8");
    ck_allows(acl, "2001:db8::9");
    ck_refuses(acl, "2001:db8::a");
    /* "/32" and no prefix are the same entry */
    ck_assert_int_eq(gw_acl_add(acl, "192.0.2.7"), 0);
    ck_assert_uint_eq(gw_acl_count(acl), 4);
    gw_acl_free(acl);
}
END_TEST

/* An IPv4-mapped pattern is the IPv4 range it maps. */
START_TEST(mapped_patterns)
{
    gw_acl_t *acl = gw_acl_new();
    ck_assert_int_eq(gw_acl_add(acl, "::ffff:192.0.2.0/120"), 0);
    ck_assert_int_eq(gw_acl_add(acl, "::ffff:203.0.113.5"), 0);
    ck_allows(acl, "192.0.2.200");
    ck_allows(acl, "::ffff:192.0.2.200");
    ck_refuses(acl, "192.0.3.1");
    ck_allows(acl, "203.0.113.5");
    ck_refuses(acl, "203.0.113.6");
    /* and equals its IPv4 spelling */
    ck_assert_int_eq(gw_acl_add(acl, "192.0.2.0/24"), 0);
    ck_assert_uint_eq(gw_acl_count(acl), 2);
    gw_acl_free(acl);
}
END_TEST

static const char *const malformed[] = {
    "10.0.0.0/33",
    "fe80::/129",
    "1.2.3",
    "",
    "a b",
    "10.0.0.0/",
    "10.0.0.0/-1",
    "10.0.0.0/+8",
    "10.0.0.0/ 8",
    "10.0.0.0/8/8",
    "10.0.0.0/0008",
    "/8",
    "256.0.0.1",
    "1.2.3.4.5",
    "[::1]",
    "fe80::1%1",
    "::1::2",
    "*",
    "*.",
    "a.*.com",
    "*example.com",
    "a..b",
    ".a",
    "example.com/24",
    "a_b!c",
    "10.0.0.01",
    "x.123",
    /* ports: one port of one address, never of a range or a name */
    "1.2.3.4:0",
    "1.2.3.4:65536",
    "1.2.3.4:",
    "1.2.3.4:+80",
    "1.2.3.4: 80",
    "10.0.0.0/8:53",
    "[10.0.0.1]:53",
    "[::1]53",
    "[::1]:",
    "[::1/128]:53",
    "[::1]:53:1",
    ":53",
    "sensor.lan:53",
    "*.lan:53",
    "1.2.3:53",
    "[fe80::1%1]:53",
};

START_TEST(malformed_refused)
{
    gw_acl_t *acl = gw_acl_new();
    ck_assert_msg(gw_acl_add(acl, malformed[_i]) == -1, "\"%s\" accepted", malformed[_i]);
    ck_assert_uint_eq(gw_acl_count(acl), 0);
    gw_acl_free(acl);
}
END_TEST

START_TEST(malformed_lengths)
{
    gw_acl_t *acl = gw_acl_new();
    char label[70], name[300];
    memset(label, 'a', 64);
    strcpy(label + 64, ".lan");
    ck_assert_int_eq(gw_acl_add(acl, label), -1);    /* 64-byte label */
    ck_assert_int_eq(gw_acl_add(acl, label + 1), 0); /* 63 is fine */
    for (int i = 0; i < 64; i++) memcpy(name + 4 * i, "abc.", 4);
    strcpy(name + 252, "lan"); /* 255 bytes */
    ck_assert_int_eq(gw_acl_add(acl, name), -1);
    ck_assert_int_eq(gw_acl_add(acl, NULL), -1);
    ck_assert_int_eq(gw_acl_add(NULL, "10.0.0.0/8"), -1);
    ck_assert_uint_eq(gw_acl_count(acl), 1);
    gw_acl_free(acl);
}
END_TEST

START_TEST(exact_names)
{
    gw_acl_t *acl = gw_acl_new();
    ck_assert_int_eq(gw_acl_add(acl, "Sensor.Local"), 0);
    ck_assert_int_eq(gw_acl_add(acl, "gw-2.lan."), 0); /* trailing dot ignored */
    ck_assert_int_eq(gw_acl_allows_name(acl, "sensor.local"), 1);
    ck_assert_int_eq(gw_acl_allows_name(acl, "SENSOR.LOCAL"), 1);
    ck_assert_int_eq(gw_acl_allows_name(acl, "sensor.local."), 1);
    ck_assert_int_eq(gw_acl_allows_name(acl, "gw-2.lan"), 1);
    ck_assert_int_eq(gw_acl_allows_name(acl, "gw-2.lan."), 1);
    ck_assert_int_eq(gw_acl_allows_name(acl, "x.sensor.local"), 0);
    ck_assert_int_eq(gw_acl_allows_name(acl, "sensor.locals"), 0);
    ck_assert_int_eq(gw_acl_allows_name(acl, "ensor.local"), 0);
    ck_assert_int_eq(gw_acl_allows_name(acl, ""), 0);
    ck_assert_int_eq(gw_acl_allows_name(acl, NULL), 0);
    /* names never open addresses, and the reverse */
    ck_refuses(acl, "127.0.0.1");
    ck_assert_int_eq(gw_acl_add(acl, "10.0.0.1"), 0);
    ck_assert_int_eq(gw_acl_allows_name(acl, "10.0.0.1"), 0);
    /* the same name in another case is a duplicate */
    ck_assert_int_eq(gw_acl_add(acl, "SENSOR.local."), 0);
    ck_assert_uint_eq(gw_acl_count(acl), 3);
    gw_acl_free(acl);
}
END_TEST

START_TEST(wildcard_names)
{
    gw_acl_t *acl = gw_acl_new();
    ck_assert_int_eq(gw_acl_add(acl, "*.example.com"), 0);
    ck_assert_int_eq(gw_acl_allows_name(acl, "a.example.com"), 1);
    ck_assert_int_eq(gw_acl_allows_name(acl, "a.b.example.com"), 1);
    ck_assert_int_eq(gw_acl_allows_name(acl, "A.Example.COM."), 1);
    ck_assert_int_eq(gw_acl_allows_name(acl, "example.com"), 0);
    ck_assert_int_eq(gw_acl_allows_name(acl, "example.com."), 0);
    ck_assert_int_eq(gw_acl_allows_name(acl, "badexample.com"), 0);
    ck_assert_int_eq(gw_acl_allows_name(acl, ".example.com"), 0);
    ck_assert_int_eq(gw_acl_allows_name(acl, "a..example.com"), 0);
    ck_assert_int_eq(gw_acl_allows_name(acl, "example.com.evil.org"), 0);
    ck_assert_int_eq(gw_acl_allows_name(acl, "a.example.org"), 0);
    /* a wildcard and the exact name are separate entries */
    ck_assert_int_eq(gw_acl_add(acl, "example.com"), 0);
    ck_assert_int_eq(gw_acl_allows_name(acl, "example.com"), 1);
    ck_assert_uint_eq(gw_acl_count(acl), 2);
    gw_acl_free(acl);
}
END_TEST

/* Enough entries to make the array grow a few times. */
START_TEST(many_entries)
{
    gw_acl_t *acl = gw_acl_new();
    char p[32];
    for (int i = 0; i < 300; i++) {
        snprintf(p, sizeof p, "10.%d.%d.0/24", i / 256, i % 256);
        ck_assert_int_eq(gw_acl_add(acl, p), 0);
    }
    ck_assert_uint_eq(gw_acl_count(acl), 300);
    ck_allows(acl, "10.1.43.9"); /* entry 299 */
    ck_refuses(acl, "10.1.44.9");
    gw_acl_free(acl);
}
END_TEST

static Suite *acl_suite(void)
{
    Suite *s = suite_create("acl");
    TCase *t = tcase_create("addresses");
    tcase_add_loop_test(t, defaults_allow_lan, 0, (int)(sizeof lan / sizeof lan[0]));
    tcase_add_loop_test(t, defaults_refuse_public, 0, (int)(sizeof public_ / sizeof public_[0]));
    tcase_add_test(t, defaults_are_addresses_only);
    tcase_add_test(t, empty_refuses_all);
    tcase_add_test(t, custom_cidrs);
    tcase_add_test(t, host_bits_masked);
    tcase_add_test(t, prefix_zero);
    tcase_add_test(t, single_hosts);
    tcase_add_test(t, mapped_patterns);
    tcase_add_test(t, many_entries);
    suite_add_tcase(s, t);
    t = tcase_create("patterns");
    tcase_add_loop_test(t, malformed_refused, 0, (int)(sizeof malformed / sizeof malformed[0]));
    tcase_add_test(t, malformed_lengths);
    tcase_add_test(t, exact_names);
    tcase_add_test(t, wildcard_names);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return run_suite(acl_suite());
}
