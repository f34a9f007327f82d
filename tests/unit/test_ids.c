/* Unit tests for the identity table of dtls.identities (gateway/ids.c):
 * keys read from files and variables, lookups by identity and label,
 * name patterns, the names kept for identities, proxy scopes. */
#include "gw_ids.h"

#include "coap_msg.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/coapgw-ids.XXXXXX";

static void write_file(const char *name, const void *data, size_t len)
{
    char path[300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* A configuration with these identities (JSON, %s for the directory). */
static void load(cfg_t *c, const char *fmt)
{
    char json[2000], err[600];
    snprintf(json, sizeof json, fmt, dir, dir, dir);
    cfg_defaults(c);
    ck_assert_msg(cfg_load_string(c, json, "t.json", err, sizeof err) == 0, "%s", err);
}

static const char three[] =
    "{\"dtls\": {\"identities\": ["
    "{\"psk\": \"node1\", \"key_file\": \"%s/node1\", \"names\": [\"node1\", \"Sensor-*\"],"
    " \"proxy\": \"read\"},"
    "{\"psk\": \"node2\", \"key_env\": \"COAPGW_TEST_PSK\", \"names\": [\"*\"],"
    " \"proxy\": \"read-write\"},"
    "{\"x509\": \"CN=device-1\", \"names\": [\"dev1\"]},"
    "{\"rpk\": \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}]}}";

START_TEST(keys_and_lookups)
{
    write_file("node1", "secret\r\n", 8); /* one trailing newline is not the key's */
    setenv("COAPGW_TEST_PSK", "k2", 1);
    cfg_t c;
    char err[600];
    load(&c, three);
    gw_ids_t *ids = gw_ids_build(&c, err, sizeof err);
    ck_assert_msg(ids != NULL, "%s", err);
    ck_assert_uint_eq(gw_ids_count(ids), 4);
    uint8_t key[64];
    ck_assert_int_eq(gw_ids_psk_key(ids, "node1", key, sizeof key), 6);
    ck_assert_mem_eq(key, "secret", 6);
    ck_assert_int_eq(gw_ids_psk_key(ids, "node2", key, sizeof key), 2);
    ck_assert_mem_eq(key, "k2", 2);
    ck_assert_int_eq(gw_ids_psk_key(ids, "node3", key, sizeof key), -1);
    ck_assert_int_eq(gw_ids_psk_key(ids, "CN=device-1", key, sizeof key), -1); /* not a PSK */
    coap_identity_t x = {COAP_IDENTITY_X509, "CN=device-1"}, p = {COAP_IDENTITY_PSK, "CN=device-1"};
    const gw_id_t *e = gw_ids_find(ids, &x);
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->label, "x509:CN=device-1");
    ck_assert_str_eq(e->id, "CN=device-1");
    ck_assert_ptr_null(gw_ids_find(ids, &p)); /* the kind counts */
    ck_assert_ptr_null(gw_ids_find(ids, NULL));
    ck_assert_ptr_null(gw_ids_find(NULL, &x));
    ck_assert_ptr_eq(gw_ids_by_label(ids, "x509:CN=device-1"), e);
    ck_assert_ptr_nonnull(gw_ids_by_label(
        ids, "rpk:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
    ck_assert_ptr_null(gw_ids_by_label(ids, "psk:node3"));
    char label[80];
    coap_identity_t r = {COAP_IDENTITY_RPK, "ab"};
    gw_identity_label(&r, label, sizeof label);
    ck_assert_str_eq(label, "rpk:ab");
    gw_ids_free(ids);
    cfg_free(&c);
    unsetenv("COAPGW_TEST_PSK");
}
END_TEST

/* A key that cannot be had fails the build, naming the entry. */
START_TEST(bad_keys)
{
    cfg_t c;
    char err[600];
    static const char one[] =
        "{\"dtls\": {\"identities\": [{\"psk\": \"n\", \"key_file\": \"%s/k\"}]}}";
    load(&c, one);
    unlink(strcat(strcpy(err, dir), "/k"));
    ck_assert_ptr_null(gw_ids_build(&c, err, sizeof err));
    ck_assert_msg(strstr(err, "dtls.identities[0] (psk:n): ") && strstr(err, "/k: cannot read"),
                  "%s", err);
    write_file("k", "\n", 1);
    ck_assert_ptr_null(gw_ids_build(&c, err, sizeof err));
    ck_assert_msg(strstr(err, "the key is 0 bytes (expected 1-64)"), "%s", err);
    char big[70];
    memset(big, 'x', sizeof big);
    write_file("k", big, 65);
    ck_assert_ptr_null(gw_ids_build(&c, err, sizeof err));
    write_file("k", big, 64);
    gw_ids_t *ids = gw_ids_build(&c, err, sizeof err);
    ck_assert_ptr_nonnull(ids);
    gw_ids_free(ids);
    /* written as credentials' keys are: "hex:" and the bytes in hex */
    write_file("k", "hex:00ff\n", 9);
    ids = gw_ids_build(&c, err, sizeof err);
    ck_assert_ptr_nonnull(ids);
    uint8_t key[64];
    ck_assert_int_eq(gw_ids_psk_key(ids, "n", key, sizeof key), 2);
    ck_assert(key[0] == 0 && key[1] == 0xff);
    gw_ids_free(ids);
    cfg_free(&c);
    load(&c, "{\"dtls\": {\"identities\": [{\"psk\": \"n\", \"key_env\": \"COAPGW_TEST_NONE\"}]}}");
    unsetenv("COAPGW_TEST_NONE");
    ck_assert_ptr_null(gw_ids_build(&c, err, sizeof err));
    ck_assert_msg(strstr(err, "COAPGW_TEST_NONE: the variable is not set"), "%s", err);
    setenv("COAPGW_TEST_NONE", "", 1);
    ck_assert_ptr_null(gw_ids_build(&c, err, sizeof err));
    unsetenv("COAPGW_TEST_NONE");
    cfg_free(&c);
    /* none configured: an empty table, nothing found */
    cfg_defaults(&c);
    ids = gw_ids_build(&c, err, sizeof err);
    ck_assert_ptr_nonnull(ids);
    ck_assert_uint_eq(gw_ids_count(ids), 0);
    ck_assert(!gw_ids_reserved(ids, "x"));
    gw_ids_free(ids);
    cfg_free(&c);
}
END_TEST

START_TEST(name_patterns)
{
    ck_assert(gw_ids_name_match("node1", "node1"));
    ck_assert(gw_ids_name_match("node1", "NODE1")); /* the directory ignores case */
    ck_assert(!gw_ids_name_match("node1", "node10"));
    ck_assert(!gw_ids_name_match("node1", "node"));
    ck_assert(gw_ids_name_match("sensor-*", "sensor-7"));
    ck_assert(gw_ids_name_match("sensor-*", "SENSOR-"));
    ck_assert(!gw_ids_name_match("sensor-*", "sensor"));
    ck_assert(!gw_ids_name_match("sensor-*", "xsensor-1"));
    ck_assert(gw_ids_name_match("*", "anything"));
    ck_assert(!gw_ids_name_match("*x", "ax")); /* '*' only at the end means a prefix */
}
END_TEST

START_TEST(rights)
{
    write_file("node1", "s", 1);
    setenv("COAPGW_TEST_PSK", "k2", 1);
    cfg_t c;
    char err[600];
    load(&c, three);
    gw_ids_t *ids = gw_ids_build(&c, err, sizeof err);
    ck_assert_ptr_nonnull(ids);
    const gw_id_t *n1 = gw_ids_by_label(ids, "psk:node1"), *n2 = gw_ids_by_label(ids, "psk:node2"),
                  *x = gw_ids_by_label(ids, "x509:CN=device-1");
    ck_assert(gw_id_may_register(n1, "node1"));
    ck_assert(gw_id_may_register(n1, "sensor-9"));
    ck_assert(!gw_id_may_register(n1, "dev1"));
    ck_assert(gw_id_may_register(n2, "dev1")); /* "*" */
    ck_assert(!gw_id_may_register(NULL, "node1"));
    ck_assert(gw_ids_reserved(ids, "Sensor-1"));
    ck_assert(gw_ids_reserved(ids, "anything")); /* node2 may register any name */
    /* proxy scopes: read is GET and FETCH; none by default */
    ck_assert(gw_id_may_proxy(n1, COAP_GET) && gw_id_may_proxy(n1, COAP_FETCH));
    ck_assert(!gw_id_may_proxy(n1, COAP_PUT) && !gw_id_may_proxy(n1, COAP_POST));
    ck_assert(!gw_id_may_proxy(n1, COAP_DELETE) && !gw_id_may_proxy(n1, COAP_IPATCH));
    ck_assert(gw_id_may_proxy(n2, COAP_PUT) && gw_id_may_proxy(n2, COAP_DELETE));
    ck_assert(!gw_id_may_proxy(x, COAP_GET));
    ck_assert(!gw_id_may_proxy(NULL, COAP_GET));
    gw_ids_free(ids);
    cfg_free(&c);
    /* without an identity allowed everything, nothing is kept */
    load(&c, "{\"dtls\": {\"identities\": [{\"x509\": \"CN=a\", \"names\": [\"a\"]}]}}");
    ids = gw_ids_build(&c, err, sizeof err);
    ck_assert(gw_ids_reserved(ids, "A") && !gw_ids_reserved(ids, "b"));
    gw_ids_free(ids);
    cfg_free(&c);
    unsetenv("COAPGW_TEST_PSK");
}
END_TEST

int main(void)
{
    if (!mkdtemp(dir)) return EXIT_FAILURE;
    Suite *s = suite_create("ids");
    TCase *t = tcase_create("ids");
    tcase_add_test(t, keys_and_lookups);
    tcase_add_test(t, bad_keys);
    tcase_add_test(t, name_patterns);
    tcase_add_test(t, rights);
    suite_add_tcase(s, t);
    SRunner *r = srunner_create(s);
    srunner_set_fork_status(r, CK_NOFORK);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    char cmd[100];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) return EXIT_FAILURE;
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
