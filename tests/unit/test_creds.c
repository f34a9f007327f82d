/* Unit tests for "credentials" (docs/configuration.md): the configuration
 * (config/cfg_creds.c: JSON, the environment's JSON text, every rule and
 * its message, the key files' permissions) and the gateway's table
 * (gateway/creds.c: PSK keys from files and variables, which entry a
 * target gets). */
#include "cfg.h"
#include "cfg_int.h"
#include "gw_creds.h"
#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[32], psk_file[64], key_file[64];

/* A private directory with a PSK file (0600) and a world-readable key. */
static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/coapgw-creds.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(psk_file, sizeof psk_file, "%s/psk", dir);
    snprintf(key_file, sizeof key_file, "%s/open.key", dir);
    FILE *f = fopen(psk_file, "w");
    fputs("secret\n", f);
    fclose(f);
    chmod(psk_file, 0600);
    f = fopen(key_file, "w");
    fputs("x", f);
    fclose(f);
    chmod(key_file, 0644);
}

static void teardown(void)
{
    unlink(psk_file);
    unlink(key_file);
    rmdir(dir);
}

static void good(const char *json, cfg_t *c)
{
    char err[600];
    cfg_defaults(c);
    ck_assert_msg(cfg_load_string(c, json, "f.json", err, sizeof err) == 0, "%s", err);
}

/* json fails with a message containing want. */
static void bad(const char *json, const char *want)
{
    char err[600];
    cfg_t c;
    cfg_defaults(&c);
    ck_assert_int_eq(cfg_load_string(&c, json, "f.json", err, sizeof err), -1);
    ck_assert_msg(strstr(err, want) != NULL, "\"%s\" not in \"%s\"", want, err);
    ck_assert_ptr_null(strchr(err, '\n'));
    ck_assert_uint_eq(c.ncreds, 0); /* unchanged */
    cfg_free(&c);
}

START_TEST(forms)
{
    cfg_t c;
    good("{\"credentials\": {"
         "\"demo\": {\"psk_identity\": \"device-1\", \"psk_key_file\": \"/k/psk\"},"
         "\"10.0.0.7\": {\"cert\": \"c.pem\", \"key\": \"k.pem\", \"ca\": \"ca.pem\","
         " \"name\": \"sensor.lan\"},"
         "\"[fd00::1]\": {\"rpk_key\": \"r.pem\", \"rpk_pin\": \"" /* colons allowed */
         "ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01"
         ":23:45:67:89\"},"
         "\"sensor.lan\": {\"psk_identity\": \"x\", \"psk_key_env\": \"COAPGW_PSK_X\","
         " \"ca\": \"ca.pem\", \"no_verify\": true}}}",
         &c);
    ck_assert_uint_eq(c.ncreds, 4);
    ck_assert_str_eq(c.creds[0].key, "demo");
    ck_assert_str_eq(c.creds[0].psk_key_file, "/k/psk");
    ck_assert_str_eq(c.creds[1].cert_key, "k.pem");
    ck_assert_str_eq(c.creds[1].name, "sensor.lan");
    ck_assert_str_eq(c.creds[2].key, "fd00::1"); /* brackets dropped */
    ck_assert_str_eq(c.creds[3].psk_key_env, "COAPGW_PSK_X");
    ck_assert_int_eq(c.creds[3].no_verify, 1);
    /* a deep copy, and a file without the key keeps them */
    cfg_t d;
    ck_assert_int_eq(cfg_copy(&d, &c), 0);
    cfg_free(&c);
    ck_assert_str_eq(d.creds[2].rpk_key, "r.pem");
    char err[300];
    ck_assert_int_eq(cfg_load_string(&d, "{\"cache\": {\"enabled\": false}}", "g", err, sizeof err),
                     0);
    ck_assert_uint_eq(d.ncreds, 4);
    ck_assert_int_eq(cfg_load_string(&d, "{\"credentials\": {}}", "g", err, sizeof err), 0);
    ck_assert_uint_eq(d.ncreds, 0);
    cfg_free(&d);
}
END_TEST

START_TEST(rules)
{
    bad("{\"credentials\": {\"d\": {\"psk_identity\": \"i\", \"psk_key\": \"secret\"}}}",
        "f.json:1:45: credentials.d.psk_key: unknown key (expected one of psk_identity, "
        "psk_key_file, psk_key_env, cert, key, ca, name, rpk_key, rpk_pin, no_verify; a key is "
        "never inline: name its file or variable)");
    bad("{\"credentials\": {\"d\": {\"psk_identity\": \"i\"}}}",
        "f.json:1:18: credentials.d: psk_identity needs psk_key_file or psk_key_env");
    bad("{\"credentials\": {\"d\": {\"psk_identity\": \"i\", \"psk_key_file\": \"f\","
        " \"psk_key_env\": \"E\"}}}",
        "credentials.d: psk_key_file and psk_key_env both given");
    bad("{\"credentials\": {\"d\": {\"psk_key_env\": \"E\"}}}",
        "credentials.d: psk_key_env needs psk_identity");
    bad("{\"credentials\": {\"d\": {\"cert\": \"c\", \"ca\": \"a\"}}}",
        "credentials.d: cert needs key, its private key");
    bad("{\"credentials\": {\"d\": {\"key\": \"k\", \"ca\": \"a\"}}}",
        "credentials.d: key needs cert, its certificate");
    bad("{\"credentials\": {\"d\": {\"cert\": \"c\", \"key\": \"k\"}}}",
        "credentials.d: cert needs ca, the CA the device's certificate must chain to (or "
        "no_verify, for tests only)");
    bad("{\"credentials\": {\"d\": {\"psk_identity\": \"i\", \"psk_key_env\": \"E\","
        " \"name\": \"x\"}}}",
        "credentials.d: name needs ca");
    bad("{\"credentials\": {\"d\": {\"rpk_key\": \"r\"}}}", "credentials.d: rpk_key needs rpk_pin");
    bad("{\"credentials\": {\"d\": {\"rpk_key\": \"r\", \"rpk_pin\": \"abc\"}}}",
        "credentials.d.rpk_pin: bad pin (expected the SHA-256");
    bad("{\"credentials\": {\"d\": {}}}", "credentials.d: no credentials in it");
    bad("{\"credentials\": {\"d\": {\"psk_identity\": \"i\", \"psk_key_env\": \"1X\"}}}",
        "credentials.d.psk_key_env: bad variable name");
    bad("{\"credentials\": {\"d\": {\"psk_identity\": \"\", \"psk_key_env\": \"X\"}}}",
        "credentials.d.psk_identity: bad value");
    bad("{\"credentials\": {\"d\": {\"cert\": \"\", \"key\": \"k\", \"ca\": \"a\"}}}",
        "credentials.d.cert: empty (expected a file name)");
    bad("{\"credentials\": {\"d\": {\"no_verify\": 1, \"rpk_key\": \"r\"}}}",
        "credentials.d.no_verify: not a boolean");
    bad("{\"credentials\": {\"d\": {\"rpk_key\": 5}}}", "credentials.d.rpk_key: not a string");
    bad("{\"credentials\": {\"a b\": {\"rpk_key\": \"r\", \"no_verify\": true}}}",
        "credentials.a b: bad name");
    bad("{\"credentials\": {\"[demo]\": {\"rpk_key\": \"r\", \"no_verify\": true}}}",
        "credentials.[demo]: bad name");
    bad("{\"credentials\": {\"::1\": {\"rpk_key\": \"r\", \"no_verify\": true},"
        " \"[::1]\": {\"rpk_key\": \"r\", \"no_verify\": true}}}",
        "credentials.[::1]: the same host as another entry");
    bad("{\"credentials\": [1]}", "f.json:1:2: credentials: not an object");
    bad("{\"credentials\": {\"d\": \"secret\"}}", "credentials.d: not an object");
}
END_TEST

/* COAPGW_CREDENTIALS and --set credentials=: the same JSON, as text. */
START_TEST(text_form)
{
    char err[600];
    cfg_t c;
    cfg_defaults(&c);
    ck_assert_msg(cfg_set(&c, "credentials",
                          "{\"demo\": {\"psk_identity\": \"i\", \"psk_key_env\": \"K\"}}",
                          CFG_REPLACE, "COAPGW_CREDENTIALS", err, sizeof err) == 0,
                  "%s", err);
    ck_assert_uint_eq(c.ncreds, 1);
    ck_assert_str_eq(c.creds[0].psk_key_env, "K");
    ck_assert_int_eq(cfg_set(&c, "credentials", "{\"demo\": {\"psk_identity\": \"i\"}}",
                             CFG_REPLACE, "COAPGW_CREDENTIALS", err, sizeof err),
                     -1);
    ck_assert_str_eq(err, "COAPGW_CREDENTIALS: demo: psk_identity needs psk_key_file or "
                          "psk_key_env (a key is never written in the configuration)");
    ck_assert_int_eq(
        cfg_set(&c, "credentials", "{\"demo\": secret}", CFG_REPLACE, "--set", err, sizeof err),
        -1);
    ck_assert_msg(!strncmp(err, "--set: not JSON: ", 17) && !strstr(err, "secret"), "%s", err);
    ck_assert_uint_eq(c.ncreds, 1); /* unchanged */
    cfg_free(&c);
}
END_TEST

/* Key files grant other users nothing, as http.tls_key (checked on disk). */
START_TEST(key_files)
{
    char json[400], err[600], want[400];
    cfg_t c;
    snprintf(json, sizeof json,
             "{\"credentials\": {\"demo\": {\"psk_identity\": \"i\", \"psk_key_file\": \"%s\"},"
             " \"h\": {\"rpk_key\": \"%s\", \"rpk_pin\": \"%064d\"}}}",
             psk_file, key_file, 0);
    good(json, &c);
    ck_assert_int_eq(cfg_check_consistency(&c, err, sizeof err), -1);
    snprintf(want, sizeof want,
             "credentials.h.rpk_key: %s is open to other users (mode 0644): a private key must "
             "not be (chmod o-rwx %s)",
             key_file, key_file);
    ck_assert_str_eq(err, want);
    chmod(key_file, 0640);
    ck_assert_msg(cfg_check_consistency(&c, err, sizeof err) == 0, "%s", err);
    unlink(psk_file);
    ck_assert_int_eq(cfg_check_consistency(&c, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "credentials.demo.psk_key_file: cannot read"));
    cfg_free(&c);
}
END_TEST

START_TEST(psk_decode)
{
    uint8_t k[64];
    char why[200];
    ck_assert_int_eq(gw_creds_psk_decode("secret\n", 7, k, why, sizeof why), 6);
    ck_assert_int_eq(memcmp(k, "secret", 6), 0);
    ck_assert_int_eq(gw_creds_psk_decode("secret\r\n", 8, k, why, sizeof why), 6);
    ck_assert_int_eq(gw_creds_psk_decode("hex:00ff10", 10, k, why, sizeof why), 3);
    ck_assert(k[0] == 0 && k[1] == 0xff && k[2] == 0x10);
    ck_assert_int_eq(gw_creds_psk_decode("hex:0g", 6, k, why, sizeof why), -1);
    ck_assert_int_eq(gw_creds_psk_decode("hex:abc", 7, k, why, sizeof why), -1);
    ck_assert_int_eq(gw_creds_psk_decode("\n", 1, k, why, sizeof why), -1);
    ck_assert_str_eq(why, "the key is 0 bytes (expected 1-64)");
    char long_key[70];
    memset(long_key, 'a', sizeof long_key);
    ck_assert_int_eq(gw_creds_psk_decode(long_key, 65, k, why, sizeof why), -1);
    ck_assert_int_eq(gw_creds_psk_decode(long_key, 64, k, why, sizeof why), 64);
}
END_TEST

static gw_creds_t *load(const char *json, char *err, size_t cap)
{
    cfg_t c;
    good(json, &c);
    gw_creds_t *t = gw_creds_load(&c, err, cap);
    cfg_free(&c);
    return t;
}

/* By the device's name when the request named it, else by host: names
 * ignoring case, addresses however written. */
START_TEST(pick)
{
    char json[800], err[600];
    setenv("COAPGW_TEST_PSK", "hex:0102030405", 1);
    snprintf(json, sizeof json,
             "{\"devices\": {\"demo\": \"coaps://127.0.0.1\"}, \"credentials\": {"
             "\"demo\": {\"psk_identity\": \"a\", \"psk_key_file\": \"%s\"},"
             "\"127.0.0.1\": {\"psk_identity\": \"b\", \"psk_key_env\": \"COAPGW_TEST_PSK\"},"
             "\"Sensor.LAN\": {\"psk_identity\": \"c\", \"psk_key_file\": \"%s\"},"
             "\"::1\": {\"psk_identity\": \"d\", \"psk_key_file\": \"%s\"}}}",
             psk_file, psk_file, psk_file);
    gw_creds_t *t = load(json, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    ck_assert_uint_eq(gw_creds_count(t), 4);
    ck_assert_str_eq(gw_creds_pick(t, "demo", "127.0.0.1"), "demo");
    ck_assert_str_eq(gw_creds_pick(t, NULL, "127.0.0.1"), "127.0.0.1");
    ck_assert_str_eq(gw_creds_pick(t, "other", "127.0.0.1"), "127.0.0.1");
    ck_assert_str_eq(gw_creds_pick(t, NULL, "sensor.lan"), "Sensor.LAN");
    ck_assert_str_eq(gw_creds_pick(t, NULL, "0:0::1"), "::1");
    ck_assert_str_eq(gw_creds_pick(t, NULL, "::ffff:127.0.0.1"), "127.0.0.1");
    ck_assert_ptr_null(gw_creds_pick(t, NULL, "127.0.0.2"));
    ck_assert_ptr_null(gw_creds_pick(t, NULL, "demo.lan"));
    ck_assert_ptr_nonnull(gw_creds_get(t, "demo"));
    ck_assert_ptr_null(gw_creds_get(t, "nobody"));
    /* /api/devices' auth: the entry's form (the others: test_dtls_devices.sh) */
    ck_assert_str_eq(gw_creds_auth(t, "demo"), "dtls-psk");
    ck_assert_str_eq(gw_creds_auth(t, "nobody"), "dtls-none");
    ck_assert_str_eq(gw_creds_auth(t, NULL), "dtls-none");
    gw_creds_free(t);
    /* an empty table */
    t = load("{}", err, sizeof err);
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_null(gw_creds_pick(t, "demo", "127.0.0.1"));
    gw_creds_free(t);
}
END_TEST

/* What cannot be loaded is named: the entry, the field, the source. */
START_TEST(load_errors)
{
    char err[600];
    unsetenv("COAPGW_TEST_NONE");
    ck_assert_ptr_null(load("{\"credentials\": {\"demo\": {\"psk_identity\": \"a\","
                            " \"psk_key_env\": \"COAPGW_TEST_NONE\"}}}",
                            err, sizeof err));
    ck_assert_str_eq(err, "credentials.demo.psk_key_env: COAPGW_TEST_NONE: the variable is not "
                          "set");
    setenv("COAPGW_TEST_LONG", "hex:zz", 1);
    ck_assert_ptr_null(load("{\"credentials\": {\"demo\": {\"psk_identity\": \"a\","
                            " \"psk_key_env\": \"COAPGW_TEST_LONG\"}}}",
                            err, sizeof err));
    ck_assert_str_eq(err, "credentials.demo.psk_key_env: COAPGW_TEST_LONG: not a hex digit after "
                          "hex:");
    ck_assert_ptr_null(load("{\"credentials\": {\"h\": {\"psk_identity\": \"a\","
                            " \"psk_key_file\": \"/nonexistent/psk\"}}}",
                            err, sizeof err));
    ck_assert_str_eq(err, "credentials.h.psk_key_file: /nonexistent/psk: cannot read: No such "
                          "file or directory");
    ck_assert_ptr_null(load("{\"credentials\": {\"h\": {\"cert\": \"/nonexistent/c.pem\","
                            " \"key\": \"/nonexistent/k.pem\", \"ca\": \"/nonexistent/ca.pem\"}}}",
                            err, sizeof err));
    ck_assert_msg(!strncmp(err, "credentials.h: cannot read /nonexistent/c.pem", 45), "%s", err);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("creds");
    TCase *t = tcase_create("creds");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, forms);
    tcase_add_test(t, rules);
    tcase_add_test(t, text_form);
    tcase_add_test(t, key_files);
    tcase_add_test(t, psk_decode);
    tcase_add_test(t, pick);
    tcase_add_test(t, load_errors);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return run_suite(suite());
}
