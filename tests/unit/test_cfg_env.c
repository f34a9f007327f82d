/* Unit tests for the configuration's text form (config/cfg_env.c): the
 * COAPGW_ environment overlay, cfg_set for flags, and precedence. */
#include "cfg.h"
#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A fake environment: "NAME=VALUE" strings, NULL-terminated. */
static const char *fake_getenv(const char *name, void *arg)
{
    size_t l = strlen(name);
    for (const char *const *e = arg; *e; e++)
        if (!strncmp(*e, name, l) && (*e)[l] == '=') return *e + l + 1;
    return NULL;
}

static int env_apply(cfg_t *c, const char *const *env, char *err, size_t cap)
{
    return cfg_apply_env(c, fake_getenv, (void *)env, err, cap);
}

START_TEST(every_scalar)
{
    static const char *const env[] = {"COAPGW_HTTP_LISTEN=off",
                                      "COAPGW_HTTP_LISTEN_TLS=127.0.0.1:81",
                                      "COAPGW_HTTP_TLS_CERT=/etc/gw/cert.pem",
                                      "COAPGW_HTTP_TLS_KEY=/etc/gw/key.pem",
                                      "COAPGW_HTTP_TLS_CLIENT_CA=/etc/gw/ca.pem",
                                      "COAPGW_HTTP_CONN_MEMORY=8192",
                                      "COAPGW_COAP_LISTEN=[::1]:5684",
                                      "COAPGW_COAP_NSTART=4",
                                      "COAPGW_PROXY_TIMEOUT_MS=1500",
                                      "COAPGW_PROXY_MAX_BODY_BYTES=2048",
                                      "COAPGW_CACHE_ENABLED=false",
                                      "COAPGW_CACHE_MAX_ENTRIES=7",
                                      "COAPGW_CACHE_MAX_BYTES=4096",
                                      "COAPGW_SSE_MAX_SUBSCRIBERS=9",
                                      "COAPGW_SSE_QUEUE_EVENTS=3",
                                      "COAPGW_RD_ENABLED=0",
                                      "COAPGW_RD_MAX_REGISTRATIONS=11",
                                      "COAPGW_RD_MAX_LINKS_BYTES=512",
                                      "COAPGW_DISCOVERY_REFRESH_S=30",
                                      "COAPGW_LOG_LEVEL=debug",
                                      "COAPGW_LOG_FORMAT=json",
                                      "COAPGW_SHUTDOWN_GRACE_MS=250",
                                      "COAPGW_UNRELATED=x",
                                      NULL};
    char err[300];
    cfg_t c;
    cfg_defaults(&c);
    ck_assert_msg(env_apply(&c, env, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(c.http_listen, "off");
    ck_assert_str_eq(c.http_listen_tls, "127.0.0.1:81");
    ck_assert_str_eq(c.tls_cert, "/etc/gw/cert.pem");
    ck_assert_str_eq(c.tls_key, "/etc/gw/key.pem");
    ck_assert_str_eq(c.tls_client_ca, "/etc/gw/ca.pem");
    ck_assert_uint_eq(c.conn_memory, 8192);
    ck_assert_str_eq(c.coap_listen, "[::1]:5684");
    ck_assert_uint_eq(c.nstart, 4);
    ck_assert_uint_eq(c.timeout_ms, 1500);
    ck_assert_uint_eq(c.max_body, 2048);
    ck_assert_int_eq(c.cache_enabled, 0);
    ck_assert_uint_eq(c.cache_max_entries, 7);
    ck_assert_uint_eq(c.cache_max_bytes, 4096);
    ck_assert_uint_eq(c.max_subscribers, 9);
    ck_assert_uint_eq(c.sse_queue, 3);
    ck_assert_int_eq(c.rd_enabled, 0);
    ck_assert_uint_eq(c.rd_max_registrations, 11);
    ck_assert_uint_eq(c.rd_max_links_bytes, 512);
    ck_assert_uint_eq(c.discovery_refresh_s, 30);
    ck_assert_int_eq(c.log_level, CFG_LOG_DEBUG);
    ck_assert_int_eq(c.log_format, CFG_LOG_JSON);
    ck_assert_uint_eq(c.shutdown_grace_ms, 250);
    ck_assert_uint_eq(c.ndevices, 1); /* untouched */
    cfg_free(&c);
}
END_TEST

START_TEST(lists_devices_tokens)
{
    static const char *const env[] = {
        "COAPGW_PROXY_ALLOW_TARGETS=10.9.0.0/16, *.lan ,,fd00::/8",
        "COAPGW_PROXY_ALLOW_ORIGINS=http://10.0.0.5:8080",
        "COAPGW_DEVICES=kitchen=coap://192.168.1.20:5683,roof=coap://[fd00::7]/base",
        "COAPGW_TOKENS=abcdefghijklmnop:read,ABCDEFGHIJKLMNOP:read-write:ops,0123456789abcdef",
        NULL};
    char err[300];
    cfg_t c;
    cfg_defaults(&c);
    ck_assert_msg(env_apply(&c, env, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(c.allow_targets.n, 3);
    ck_assert_str_eq(c.allow_targets.v[1], "*.lan");
    ck_assert_str_eq(c.allow_targets.v[2], "fd00::/8");
    ck_assert_uint_eq(c.allow_origins.n, 1);
    /* the variable's devices replace the file's (and "demo") */
    ck_assert_uint_eq(c.ndevices, 2);
    ck_assert_str_eq(c.devices[0].name, "kitchen");
    ck_assert_str_eq(c.devices[1].uri, "coap://[fd00::7]/base");
    ck_assert_uint_eq(c.ntokens, 3);
    ck_assert_int_eq(c.tokens[0].write, 0);
    ck_assert_int_eq(c.tokens[1].write, 1);
    ck_assert_str_eq(c.tokens[1].name, "ops");
    ck_assert_int_eq(c.tokens[2].write, 0);
    cfg_free(&c);
    /* an empty list variable clears the list */
    static const char *const clear[] = {"COAPGW_DEVICES=", NULL};
    cfg_defaults(&c);
    ck_assert_int_eq(env_apply(&c, clear, err, sizeof err), 0);
    ck_assert_uint_eq(c.ndevices, 0);
    cfg_free(&c);
}
END_TEST

/* Each bad value: exit-2 material, the variable named, nothing applied. */
static const struct {
    const char *var, *want;
} bad_env[] = {
    {"COAPGW_PROXY_TIMEOUT_MS=abc",
     "COAPGW_PROXY_TIMEOUT_MS: bad value \"abc\" (expected an integer from 1 to 600000)"},
    {"COAPGW_PROXY_TIMEOUT_MS=0", "COAPGW_PROXY_TIMEOUT_MS: bad value \"0\""},
    {"COAPGW_PROXY_TIMEOUT_MS= 5", "COAPGW_PROXY_TIMEOUT_MS: bad value"},
    {"COAPGW_PROXY_TIMEOUT_MS=99999999999", "COAPGW_PROXY_TIMEOUT_MS: bad value"},
    {"COAPGW_CACHE_ENABLED=yes",
     "COAPGW_CACHE_ENABLED: bad value \"yes\" (expected true or false)"},
    {"COAPGW_LOG_FORMAT=xml", "COAPGW_LOG_FORMAT: bad value \"xml\" (expected text or json)"},
    {"COAPGW_LOG_LEVEL=loud", "COAPGW_LOG_LEVEL: bad value \"loud\""},
    {"COAPGW_HTTP_LISTEN=localhost:80", "COAPGW_HTTP_LISTEN: bad listen address \"localhost:80\""},
    {"COAPGW_PROXY_ALLOW_TARGETS=10.0.0.0/8,10.0.0.0/99",
     "COAPGW_PROXY_ALLOW_TARGETS: item 2: bad address or CIDR range \"10.0.0.0/99\""},
    {"COAPGW_PROXY_ALLOW_ORIGINS=ftp://x", "COAPGW_PROXY_ALLOW_ORIGINS: item 1: bad origin"},
    {"COAPGW_DEVICES=a=coap://h,b", "COAPGW_DEVICES: item 2: no '='"},
    {"COAPGW_DEVICES=a b=coap://h", "COAPGW_DEVICES: item 1 (a b): bad device name"},
    {"COAPGW_DEVICES=a=http://h", "COAPGW_DEVICES: item 1 (a): \"http://h\" is not a coap://, "
                                  "coaps://, coap+tcp:// or coaps+tcp:// URI"},
    {"COAPGW_DEVICES=a=coap://h, b=coap://h,a=coap://g",
     "COAPGW_DEVICES: item 3: a second device named \"a\""},
    {"COAPGW_TOKENS=shortone:read", "COAPGW_TOKENS: item 1: bad token length"},
    {"COAPGW_TOKENS=abcdefghijklmnop:admin", "COAPGW_TOKENS: item 1: bad scope \"admin\""},
    {"COAPGW_TOKENS=abcdefghijklmnop,abcdefghijklmnop:read-write",
     "COAPGW_TOKENS: item 2: the same token as an earlier one"},
};

START_TEST(bad_values)
{
    const char *env[] = {"COAPGW_SSE_QUEUE_EVENTS=5", bad_env[_i].var, NULL};
    char err[300];
    cfg_t c;
    cfg_defaults(&c);
    ck_assert_int_eq(env_apply(&c, env, err, sizeof err), -1);
    ck_assert_msg(!strncmp(err, bad_env[_i].want, strlen(bad_env[_i].want)), "%s", err);
    ck_assert_ptr_null(strstr(err, "abcdefghijklmnop")); /* tokens never echoed */
    ck_assert_uint_eq(c.sse_queue, 64);                  /* all or nothing */
    cfg_free(&c);
}
END_TEST

START_TEST(set_and_append)
{
    char err[300];
    cfg_t c;
    cfg_defaults(&c);
    ck_assert_int_eq(cfg_set(&c, "proxy.timeout_ms", "250", CFG_REPLACE, "--x", err, sizeof err),
                     0);
    ck_assert_uint_eq(c.timeout_ms, 250);
    ck_assert_int_eq(cfg_set(&c, "log_level", "warn", CFG_REPLACE, NULL, err, sizeof err), 0);
    ck_assert_int_eq(c.log_level, CFG_LOG_WARN);
    ck_assert_int_eq(cfg_set(&c, "devices", "b=coap://h", CFG_APPEND, "--device", err, sizeof err),
                     0);
    ck_assert_int_eq(
        cfg_set(&c, "devices", "demo=coap://other", CFG_APPEND, "--device", err, sizeof err), 0);
    ck_assert_uint_eq(c.ndevices, 2);
    ck_assert_str_eq(c.devices[0].uri, "coap://other"); /* same name: replaced */
    /* one name twice in one value: an error, nothing applied */
    ck_assert_int_eq(
        cfg_set(&c, "devices", "x=coap://h,x=coap://g", CFG_APPEND, "--device", err, sizeof err),
        -1);
    ck_assert_str_eq(err, "--device: item 2: a second device named \"x\"");
    ck_assert_int_eq(cfg_set(&c, "devices", "demo=coap://h,demo=coap://g", CFG_REPLACE,
                             "--set devices", err, sizeof err),
                     -1);
    ck_assert_str_eq(err, "--set devices: item 2: a second device named \"demo\"");
    ck_assert_uint_eq(c.ndevices, 2);
    ck_assert_int_eq(cfg_set(&c, "proxy.allow_targets", "a.lan", CFG_APPEND, "f", err, sizeof err),
                     0);
    ck_assert_int_eq(cfg_set(&c, "proxy.allow_targets", "b.lan", CFG_APPEND, "f", err, sizeof err),
                     0);
    ck_assert_uint_eq(c.allow_targets.n, 2);
    ck_assert_int_eq(cfg_set(&c, "proxy.allow_targets", "c.lan", CFG_REPLACE, "f", err, sizeof err),
                     0);
    ck_assert_uint_eq(c.allow_targets.n, 1);
    ck_assert_int_eq(cfg_set(&c, "nope", "1", CFG_REPLACE, "--set nope", err, sizeof err), -1);
    ck_assert_str_eq(err, "--set nope: unknown key \"nope\"");
    ck_assert_int_eq(cfg_set(&c, "coap.nstart", "0", CFG_REPLACE, "--coap-nstart", err, sizeof err),
                     -1);
    ck_assert_str_eq(err, "--coap-nstart: bad value \"0\" (expected an integer from 1 to 255)");
    ck_assert_uint_eq(c.nstart, 1);
    ck_assert_int_eq(cfg_set(&c, "coap.nstart", NULL, CFG_REPLACE, "x", err, sizeof err), -1);
    cfg_free(&c);
}
END_TEST

/* defaults < file < environment < flags, as coapgw applies them. */
START_TEST(precedence)
{
    static const char *const env[] = {"COAPGW_HTTP_LISTEN=127.0.0.1:2",
                                      "COAPGW_PROXY_TIMEOUT_MS=2000",
                                      "COAPGW_PROXY_ALLOW_TARGETS=env.lan", NULL};
    char err[300];
    cfg_t c;
    cfg_defaults(&c);
    ck_assert_int_eq(cfg_load_string(&c,
                                     "{\"http\": {\"listen\": \"127.0.0.1:1\"},"
                                     " \"coap\": {\"listen\": \"127.0.0.1:1\"},"
                                     " \"proxy\": {\"timeout_ms\": 1000, \"max_body_bytes\": 10,"
                                     " \"allow_targets\": [\"file.lan\"]}}",
                                     "f", err, sizeof err),
                     0);
    ck_assert_int_eq(env_apply(&c, env, err, sizeof err), 0);
    ck_assert_int_eq(cfg_set(&c, "proxy.timeout_ms", "3000", CFG_REPLACE, "--set", err, sizeof err),
                     0);
    ck_assert_int_eq(cfg_set(&c, "proxy.allow_targets", "flag.lan", CFG_APPEND, "--allow-target",
                             err, sizeof err),
                     0);
    ck_assert_str_eq(c.coap_listen, "127.0.0.1:1"); /* file over default */
    ck_assert_str_eq(c.http_listen, "127.0.0.1:2"); /* environment over file */
    ck_assert_uint_eq(c.timeout_ms, 3000);          /* flag over environment */
    ck_assert_uint_eq(c.max_body, 10);
    ck_assert_uint_eq(c.cache_max_entries, 10000); /* default */
    /* the variable's list replaced the file's; the flag added to it */
    ck_assert_uint_eq(c.allow_targets.n, 2);
    ck_assert_str_eq(c.allow_targets.v[0], "env.lan");
    ck_assert_str_eq(c.allow_targets.v[1], "flag.lan");
    cfg_free(&c);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cfg_env");
    TCase *t = tcase_create("env");
    tcase_add_test(t, every_scalar);
    tcase_add_test(t, lists_devices_tokens);
    tcase_add_loop_test(t, bad_values, 0, (int)(sizeof bad_env / sizeof bad_env[0]));
    tcase_add_test(t, set_and_append);
    tcase_add_test(t, precedence);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return run_suite(suite());
}
