/* Unit tests for dtls.identities and the DTLS listener's keys
 * (config/cfg_ids.c, cfg_tls.c): each identity form, its checks and
 * their positions, the text form (environment, flags), what the
 * listener needs together, and the listener beside "credentials". */
#include "cfg.h"
#include "cfg_int.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void bad(const char *json, const char *want)
{
    char err[600];
    cfg_t c;
    cfg_defaults(&c);
    ck_assert_int_eq(cfg_load_string(&c, json, "f.json", err, sizeof err), -1);
    ck_assert_msg(!strncmp(err, want, strlen(want)), "\"%s\" does not start with \"%s\"", err,
                  want);
    ck_assert_uint_eq(c.nidentities, 0); /* all or nothing */
    cfg_free(&c);
}

static void good(const char *json, cfg_t *c)
{
    char err[600];
    cfg_defaults(c);
    ck_assert_msg(cfg_load_string(c, json, "f.json", err, sizeof err) == 0, "%s", err);
}

static const char fp[] = "AB:cd:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:"
                         "cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab";
static const char fp_norm[] = "abcd0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab";

START_TEST(forms)
{
    char json[1000];
    cfg_t c;
    snprintf(json, sizeof json,
             "{\"dtls\": {\"identities\": ["
             " {\"psk\": \"node1\", \"key_file\": \"/k/node1\", \"names\": [\"node1\", \"s-*\"],"
             "  \"proxy\": \"read\"},"
             " {\"psk\": \"node2\", \"key_env\": \"COAPGW_PSK_NODE2\"},"
             " {\"x509\": \"CN=dev,O=Acme\", \"names\": [\"*\"], \"proxy\": \"read-write\"},"
             " {\"rpk\": \"%s\", \"proxy\": \"none\"}]}}",
             fp);
    good(json, &c);
    ck_assert_uint_eq(c.nidentities, 4);
    const cfg_identity_t *i = c.identities;
    ck_assert_int_eq(i[0].kind, CFG_ID_PSK);
    ck_assert_str_eq(i[0].id, "node1");
    ck_assert_str_eq(i[0].key_file, "/k/node1");
    ck_assert_ptr_null(i[0].key_env);
    ck_assert_uint_eq(i[0].names.n, 2);
    ck_assert_str_eq(i[0].names.v[1], "s-*");
    ck_assert_int_eq(i[0].proxy, CFG_PROXY_READ);
    ck_assert_str_eq(i[1].key_env, "COAPGW_PSK_NODE2");
    ck_assert_uint_eq(i[1].names.n, 0);
    ck_assert_int_eq(i[1].proxy, CFG_PROXY_NONE);
    ck_assert_int_eq(i[2].kind, CFG_ID_X509);
    ck_assert_str_eq(i[2].id, "CN=dev,O=Acme");
    ck_assert_int_eq(i[2].proxy, CFG_PROXY_READ_WRITE);
    ck_assert_int_eq(i[3].kind, CFG_ID_RPK);
    ck_assert_str_eq(i[3].id, fp_norm); /* lower case, no colons */
    /* deep copies */
    cfg_t d;
    ck_assert_int_eq(cfg_copy(&d, &c), 0);
    ck_assert_uint_eq(d.nidentities, 4);
    ck_assert_ptr_ne(d.identities[0].names.v, c.identities[0].names.v);
    ck_assert_str_eq(d.identities[0].names.v[0], "node1");
    cfg_free(&d);
    /* a later file's list replaces it */
    char err[300];
    ck_assert_int_eq(
        cfg_load_string(&c, "{\"dtls\": {\"identities\": []}}", "g.json", err, sizeof err), 0);
    ck_assert_uint_eq(c.nidentities, 0);
    cfg_free(&c);
}
END_TEST

START_TEST(refused)
{
    bad("{\"dtls\": {\"identities\": {}}}", "f.json:1:11: dtls.identities: expected an array");
    bad("{\"dtls\": {\"identities\": [{\"names\": []}]}}",
        "f.json:1:26: dtls.identities[0]: no identity (expected one of psk, x509, rpk)");
    bad("{\"dtls\": {\"identities\": [{\"psk\": \"a\", \"x509\": \"CN=a\", \"key_env\": "
        "\"COAPGW_K\"}]}}",
        "f.json:1:26: dtls.identities[0]: expected exactly one of psk, x509, rpk");
    bad("{\"dtls\": {\"identities\": [{\"psk\": \"a\"}]}}",
        "f.json:1:26: dtls.identities[0]: a psk identity needs its key: key_file or key_env");
    bad("{\"dtls\": {\"identities\": [{\"psk\": \"a\", \"key_file\": \"f\", \"key_env\": "
        "\"COAPGW_K\"}]}}",
        "f.json:1:26: dtls.identities[0]: a psk identity needs its key");
    bad("{\"dtls\": {\"identities\": [{\"x509\": \"CN=a\", \"key_file\": \"f\"}]}}",
        "f.json:1:43: dtls.identities[0].key_file: only a psk identity has a key");
    bad("{\"dtls\": {\"identities\": [{\"x509\": \"device-1\"}]}}",
        "f.json:1:27: dtls.identities[0].x509: expected a subject DN");
    bad("{\"dtls\": {\"identities\": [{\"rpk\": \"abcd\"}]}}",
        "f.json:1:27: dtls.identities[0].rpk: expected the key's SHA-256");
    bad("{\"dtls\": {\"identities\": [{\"psk\": \"\", \"key_env\": \"COAPGW_K\"}]}}",
        "f.json:1:27: dtls.identities[0].psk: expected 1-255 printable characters");
    bad("{\"dtls\": {\"identities\": [{\"psk\": \"a\\n\", \"key_env\": \"COAPGW_K\"}]}}",
        "f.json:1:27: dtls.identities[0].psk: expected 1-255 printable");
    bad("{\"dtls\": {\"identities\": [{\"psk\": \"a\", \"key_env\": \"HOME\"}]}}",
        "f.json:1:39: dtls.identities[0].key_env: bad variable name (expected COAPGW_[A-Z0-9_]+)");
    bad("{\"dtls\": {\"identities\": [{\"psk\": \"a\", \"key_env\": \"COAPGW_DEVICES\"}]}}",
        "f.json:1:39: dtls.identities[0].key_env: COAPGW_DEVICES is the variable of devices");
    bad("{\"dtls\": {\"identities\": [{\"psk\": \"a\", \"key_env\": \"COAPGW_K\", \"names\": "
        "[\"a/b\"]}]}}",
        "f.json:1:72: dtls.identities[0].names[0]: expected an endpoint name");
    bad("{\"dtls\": {\"identities\": [{\"psk\": \"a\", \"key_env\": \"COAPGW_K\", \"names\": "
        "[\"..\"]}]}}",
        "f.json:1:72: dtls.identities[0].names[0]: expected an endpoint name");
    bad("{\"dtls\": {\"identities\": [{\"psk\": \"a\", \"key_env\": \"COAPGW_K\", \"names\": "
        "[\"a*b\"]}]}}",
        "f.json:1:72: dtls.identities[0].names[0]: expected an endpoint name");
    bad("{\"dtls\": {\"identities\": [{\"psk\": \"a\", \"key_env\": \"COAPGW_K\", \"proxy\": "
        "\"all\"}]}}",
        "f.json:1:62: dtls.identities[0].proxy: bad scope \"all\"");
    bad("{\"dtls\": {\"identities\": [{\"psk\": \"a\", \"key_env\": \"COAPGW_K\", \"role\": 1}]}}",
        "f.json:1:62: dtls.identities[0].role: unknown key");
    bad("{\"dtls\": {\"identities\": [{\"psk\": \"a\", \"key_env\": \"COAPGW_K\"},"
        " {\"psk\": \"a\", \"key_env\": \"COAPGW_L\"}]}}",
        "f.json:1:63: dtls.identities[1]: psk \"a\" is listed twice");
    /* the same key in another spelling is the same key */
    char json[400];
    snprintf(json, sizeof json,
             "{\"dtls\": {\"identities\": [{\"rpk\": \"%s\"}, {\"rpk\": \"%s\"}]}}", fp, fp_norm);
    bad(json, "f.json:1:");
}
END_TEST

/* COAPGW_DTLS_IDENTITIES and --set: the file's JSON. */
START_TEST(text_form)
{
    char err[600];
    cfg_t c;
    cfg_defaults(&c);
    ck_assert_int_eq(cfg_set(&c, "dtls.identities",
                             "[{\"psk\": \"a\", \"key_env\": \"COAPGW_K\", \"names\": [\"a\"]}]",
                             CFG_REPLACE, "--set dtls.identities", err, sizeof err),
                     0);
    ck_assert_int_eq(cfg_set(&c, "dtls.identities", "[{\"x509\": \"CN=b,O=c\"}]", CFG_APPEND, "X",
                             err, sizeof err),
                     0);
    ck_assert_uint_eq(c.nidentities, 2);
    ck_assert_str_eq(c.identities[1].id, "CN=b,O=c");
    ck_assert_int_eq(cfg_set(&c, "dtls.identities", "[{\"psk\": \"a\"", CFG_REPLACE,
                             "COAPGW_DTLS_IDENTITIES", err, sizeof err),
                     -1);
    ck_assert_msg(!strncmp(err, "COAPGW_DTLS_IDENTITIES: not JSON", 32), "%s", err);
    ck_assert_int_eq(cfg_set(&c, "dtls.identities", "[{\"x509\": \"CN=b,O=c\"}]", CFG_APPEND, "X",
                             err, sizeof err),
                     -1);
    ck_assert_str_eq(err, "X: [0]: x509 \"CN=b,O=c\" is listed twice"); /* of the value */
    ck_assert_uint_eq(c.nidentities, 2);                                /* unchanged */
    ck_assert_int_eq(cfg_set(&c, "dtls.identities", "[]", CFG_REPLACE, "X", err, sizeof err), 0);
    ck_assert_uint_eq(c.nidentities, 0);
    cfg_free(&c);
}
END_TEST

static int check(cfg_t *c, char *err, size_t cap)
{
    return cfg_check_consistency(c, err, cap);
}

/* What the listener needs, and what needs the listener. */
START_TEST(listener_needs)
{
    char err[600], key[] = "/tmp/coapgw-psk.XXXXXX", json[600];
    int fd = mkstemp(key);
    ck_assert_int_ge(fd, 0);
    close(fd);
    cfg_t c;
    good("{\"dtls\": {\"cert\": \"c.pem\", \"key\": \"k.pem\"}}", &c);
    ck_assert_int_eq(check(&c, err, sizeof err), -1);
    ck_assert_str_eq(err, "dtls.cert is set but coap.listen_dtls and coap.listen_tls are off");
    cfg_free(&c);
    good("{\"coap\": {\"listen_dtls\": \"0.0.0.0:5684\"}}", &c);
    ck_assert_int_eq(check(&c, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "the DTLS listener needs credentials"), "%s", err);
    cfg_free(&c);
    good("{\"coap\": {\"listen_dtls\": \"0.0.0.0:5684\"}, \"dtls\": {\"cert\": \"c.pem\"}}", &c);
    ck_assert_int_eq(check(&c, err, sizeof err), -1);
    ck_assert_msg(!strncmp(err, "dtls.cert and dtls.key go together", 34), "%s", err);
    cfg_free(&c);
    good("{\"coap\": {\"listen_dtls\": \"0.0.0.0:5684\"}, \"dtls\": {\"rpk_key\": \"/nonexistent\","
         " \"client_ca\": \"ca.pem\"}}",
         &c);
    ck_assert_int_eq(check(&c, err, sizeof err), -1);
    ck_assert_msg(!strncmp(err, "dtls.client_ca needs dtls.cert", 30), "%s", err);
    cfg_free(&c);
    snprintf(json, sizeof json,
             "{\"coap\": {\"listen_dtls\": \"0.0.0.0:5684\"}, \"dtls\": {\"identities\": ["
             "{\"psk\": \"a\", \"key_file\": \"%s\"}, {\"x509\": \"CN=a\"}]}}",
             key);
    good(json, &c);
    ck_assert_int_eq(check(&c, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "an x509 identity needs dtls.client_ca"), "%s", err);
    cfg_free(&c);
    snprintf(json, sizeof json,
             "{\"coap\": {\"listen_dtls\": \"0.0.0.0:5684\"}, \"dtls\": {\"identities\": ["
             "{\"psk\": \"a\", \"key_file\": \"%s\"}, {\"rpk\": \"%s\"}]}}",
             key, fp);
    good(json, &c);
    ck_assert_int_eq(check(&c, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "an rpk identity needs dtls.rpk_key"), "%s", err);
    cfg_free(&c);
    /* a PSK identity alone will do; its key file is private */
    snprintf(json, sizeof json,
             "{\"coap\": {\"listen_dtls\": \"0.0.0.0:5684\"}, \"dtls\": {\"identities\": ["
             "{\"psk\": \"a\", \"key_file\": \"%s\"}]}}",
             key);
    good(json, &c);
    ck_assert_msg(check(&c, err, sizeof err) == 0, "%s", err);
    chmod(key, 0604);
    ck_assert_int_eq(check(&c, err, sizeof err), -1);
    snprintf(json, sizeof json,
             "dtls.identities[0].key_file: %s is open to other users (mode 0604): a private key "
             "must not be (chmod o-rwx %s)",
             key, key);
    ck_assert_str_eq(err, json);
    unlink(key);
    ck_assert_int_eq(check(&c, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "cannot read"), "%s", err);
    cfg_free(&c);
}
END_TEST

/* Both directions in one configuration: "credentials" (the gateway as a
 * DTLS client) beside the listener's identities; copied together, and
 * the consistency checks of both run. */
START_TEST(with_credentials)
{
    char err[600], key[] = "/tmp/coapgw-psk.XXXXXX", json[800];
    int fd = mkstemp(key);
    ck_assert_int_ge(fd, 0);
    close(fd);
    snprintf(json, sizeof json,
             "{\"coap\": {\"listen_dtls\": \"0.0.0.0:5684\"}, \"dtls\": {\"identities\": ["
             "{\"psk\": \"a\", \"key_file\": \"%s\"}]},"
             " \"devices\": {\"d\": \"coaps://10.0.0.7\"},"
             " \"credentials\": {\"d\": {\"psk_identity\": \"gw\", \"psk_key_file\": \"%s\"}}}",
             key, key);
    cfg_t c, d;
    good(json, &c);
    ck_assert_msg(check(&c, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(cfg_copy(&d, &c), 0);
    ck_assert_uint_eq(d.nidentities, 1);
    ck_assert_uint_eq(d.ncreds, 1);
    ck_assert_str_eq(d.creds[0].psk_key_file, key);
    ck_assert_str_eq(d.identities[0].key_file, key);
    cfg_free(&d);
    /* the key file both name, open to others: credentials' check speaks first */
    chmod(key, 0604);
    ck_assert_int_eq(check(&c, err, sizeof err), -1);
    ck_assert_msg(!strncmp(err, "credentials.d.psk_key_file: ", 28), "%s", err);
    cfg_free(&c);
    /* and the listener's check runs as well */
    chmod(key, 0600);
    good("{\"coap\": {\"listen_dtls\": \"0.0.0.0:5684\"},"
         " \"credentials\": {\"h\": {\"ca\": \"ca.pem\"}}}",
         &c);
    ck_assert_int_eq(check(&c, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "the DTLS listener needs credentials"), "%s", err);
    cfg_free(&c);
    unlink(key);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cfg_ids");
    TCase *t = tcase_create("ids");
    tcase_add_test(t, forms);
    tcase_add_test(t, refused);
    tcase_add_test(t, text_form);
    tcase_add_test(t, listener_needs);
    tcase_add_test(t, with_credentials);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
