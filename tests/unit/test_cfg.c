/* Unit tests for the JSON configuration (config/cfg.c). */
#include "cfg.h"
#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Writes text to a fresh temporary file; the caller unlinks path. */
static void write_temp(char *path, size_t cap, const char *text)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, cap, "%s/coapgw-cfg-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    size_t len = strlen(text);
    ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
}

/* Loads json over the defaults, expecting failure; the message lands in
 * err. Checks the invariants every failure shares. */
static void load_bad(const char *json, char *err, size_t cap)
{
    cfg_t c;
    cfg_defaults(&c);
    ck_assert_int_eq(cfg_load_string(&c, json, "gw.json", err, cap), -1);
    ck_assert_msg(strchr(err, '\n') == NULL, "multi-line message: %s", err);
    ck_assert_msg(strncmp(err, "gw.json", 7) == 0, "file not named: %s", err);
    /* a failed load changes nothing */
    ck_assert_uint_eq(c.timeout_ms, 10000);
    ck_assert_uint_eq(c.ndevices, 1);
    ck_assert_str_eq(c.http_listen, "0.0.0.0:8080");
    cfg_free(&c);
}

/* Expects json to fail with a message containing want. */
#define ck_bad(json, want)                                                                         \
    do {                                                                                           \
        char err_[512];                                                                            \
        load_bad(json, err_, sizeof err_);                                                         \
        ck_assert_msg(strstr(err_, want) != NULL, "\"%s\" not in \"%s\"", want, err_);             \
    } while (0)

START_TEST(defaults)
{
    cfg_t c;
    cfg_defaults(&c);
    ck_assert_str_eq(c.http_listen, "0.0.0.0:8080");
    ck_assert_str_eq(c.coap_listen, "0.0.0.0:5683");
    ck_assert_uint_eq(c.ndevices, 1);
    ck_assert_str_eq(c.devices[0].name, "demo");
    ck_assert_str_eq(c.devices[0].uri, "coap://127.0.0.1:5783");
    ck_assert_uint_eq(c.allow_targets.n, 0);
    ck_assert_uint_eq(c.timeout_ms, 10000);
    ck_assert_uint_eq(c.max_body, 1048576);
    ck_assert_int_eq(c.cache_enabled, 1);
    ck_assert_uint_eq(c.cache_max_entries, 10000);
    ck_assert_uint_eq(c.cache_max_bytes, 67108864);
    ck_assert_int_eq(c.log_level, CFG_LOG_INFO);
    cfg_free(&c);
    /* cfg_free zeroes, so freeing twice is harmless */
    ck_assert_ptr_null(c.http_listen);
    cfg_free(&c);
}
END_TEST

static const char full_json[] =
    "{\n"
    "  \"http\": {\"listen\": \"127.0.0.1:8081\"},\n"
    "  \"coap\": {\"listen\": \"[::1]:0\"},\n"
    "  \"devices\": {\n"
    "    \"kitchen\": \"coap://192.168.1.20:5683\",\n"
    "    \"Roof_2.b-c\": \"coap://[fd00::7]/sensors/base\",\n"
    "    \"named\": \"coap://sensor.local:61616\"\n"
    "  },\n"
    "  \"proxy\": {\"allow_targets\": [\"203.0.113.0/24\", \"*.example.com\"],\n"
    "            \"timeout_ms\": 2500, \"max_body_bytes\": 262144},\n"
    "  \"cache\": {\"enabled\": false, \"max_entries\": 0, \"max_bytes\": 1048576},\n"
    "  \"log_level\": \"debug\"\n"
    "}\n";

START_TEST(full_file)
{
    char path[256], err[256] = "untouched";
    write_temp(path, sizeof path, full_json);
    cfg_t c;
    cfg_defaults(&c);
    int rc = cfg_load_file(&c, path, err, sizeof err);
    unlink(path);
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_str_eq(err, "");
    ck_assert_str_eq(c.http_listen, "127.0.0.1:8081");
    ck_assert_str_eq(c.coap_listen, "[::1]:0");
    /* the file's devices replace the default "demo", in file order */
    ck_assert_uint_eq(c.ndevices, 3);
    ck_assert_str_eq(c.devices[0].name, "kitchen");
    ck_assert_str_eq(c.devices[0].uri, "coap://192.168.1.20:5683");
    ck_assert_str_eq(c.devices[1].name, "Roof_2.b-c");
    ck_assert_str_eq(c.devices[1].uri, "coap://[fd00::7]/sensors/base");
    ck_assert_str_eq(c.devices[2].name, "named");
    ck_assert_uint_eq(c.allow_targets.n, 2);
    ck_assert_str_eq(c.allow_targets.v[0], "203.0.113.0/24");
    ck_assert_str_eq(c.allow_targets.v[1], "*.example.com");
    ck_assert_uint_eq(c.timeout_ms, 2500);
    ck_assert_uint_eq(c.max_body, 262144);
    ck_assert_int_eq(c.cache_enabled, 0);
    ck_assert_uint_eq(c.cache_max_entries, 0);
    ck_assert_uint_eq(c.cache_max_bytes, 1048576);
    ck_assert_int_eq(c.log_level, CFG_LOG_DEBUG);
    cfg_free(&c);
}
END_TEST

/* Absent keys keep what was there; an empty document changes nothing. */
START_TEST(partial_and_empty)
{
    char err[256];
    cfg_t c;
    cfg_defaults(&c);
    ck_assert_int_eq(cfg_load_string(&c, "{}", "a.json", err, sizeof err), 0);
    ck_assert_uint_eq(c.ndevices, 1);
    ck_assert_int_eq(cfg_load_string(&c, "{\"cache\": {\"max_entries\": 5}}", "b", err, sizeof err),
                     0);
    ck_assert_uint_eq(c.cache_max_entries, 5);
    ck_assert_int_eq(c.cache_enabled, 1);
    ck_assert_str_eq(c.devices[0].name, "demo");
    ck_assert_int_eq(cfg_load_string(&c, "{\"devices\": {}}", "c", err, sizeof err), 0);
    ck_assert_uint_eq(c.ndevices, 0);
    cfg_free(&c);
}
END_TEST

START_TEST(missing_file)
{
    char err[256];
    cfg_t c;
    cfg_defaults(&c);
    ck_assert_int_eq(cfg_load_file(&c, "/nonexistent/coapgw.json", err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/coapgw.json: cannot open"));
    ck_assert_str_eq(c.devices[0].name, "demo");
    cfg_free(&c);
}
END_TEST

/* A syntax error says where, never the text there (jansson's "near
 * '...'"): it may be a token. */
START_TEST(syntax_error_hides_text)
{
    static const char *const bad[] = {
        "{\"tokens\":[{\"token\":\"Sup3rSecretValue\\q123\"}]}",
        "{\"tokens\":[{\"token\":\"Sup3rSecretValue\n\"}]}",
        "{\"tokens\":[{\"token\":Sup3rSecretValue}]}",
        "{\"tokens\":[\"Sup3rSecretValue\" \"x\"]}",
        "{\"tokens\":[]} Sup3rSecretValue",
        "Sup3rSecretValue",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[512];
        load_bad(bad[i], err, sizeof err);
        ck_assert_msg(strstr(err, "syntax error: ") != NULL, "%s", err);
        ck_assert_msg(strstr(err, "Sup3r") == NULL, "token text in \"%s\"", err);
        ck_assert_msg(strstr(err, " near ") == NULL, "\"%s\"", err);
    }
    char err[512];
    load_bad(bad[0], err, sizeof err);
    ck_assert_str_eq(err, "gw.json:1:39: syntax error: invalid escape");
}
END_TEST

/* jansson's line and column (1-based) reach the message, for files too;
 * the column is at least 1 (jansson says 0 before a line's first
 * character). */
START_TEST(syntax_error)
{
    const char *bad = "{\n  \"proxy\": {\n    \"timeout_ms\": 10,,\n  }\n}\n";
    ck_bad(bad, "gw.json:3:22: syntax error: ");
    ck_bad("", "gw.json:1:1: syntax error: ");
    ck_bad("\n", "gw.json:2:1: syntax error: ");
    ck_bad("\n\n{", "gw.json:3:1: syntax error: ");
    ck_bad("{\"log_level\": \"info\"} x", "gw.json:1:");
    ck_bad("{\"proxy\": {\"timeout_ms\": 99999999999999999999}}", "too big integer");

    char path[256], err[512];
    write_temp(path, sizeof path, bad);
    cfg_t c;
    cfg_defaults(&c);
    ck_assert_int_eq(cfg_load_file(&c, path, err, sizeof err), -1);
    char want[300];
    snprintf(want, sizeof want, "%s:3:22: syntax error: ", path);
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "%s", err);
    unlink(path);
    cfg_free(&c);
}
END_TEST

START_TEST(unknown_keys)
{
    ck_bad("{\"htttp\": {}}", "gw.json:1:2: htttp: unknown key (expected one of http, coap,");
    ck_bad("{\"proxy\": {\"timeout\": 5}}",
           "gw.json:1:12: proxy.timeout: unknown key (expected one of allow_targets, "
           "allow_origins, coap_clients, coap_clients_trusted, timeout_ms, max_body_bytes, "
           "max_redirects)");
    ck_bad("{\"http\": {\"listen\": \"1.2.3.4:80\", \"port\": 80}}",
           "gw.json:1:35: http.port: unknown key (expected one of listen, listen_tls, tls_cert, "
           "tls_key, tls_client_ca, conn_memory, allowed_hosts, trusted_origins, "
           "header_timeout_ms, max_connections_per_ip, max_connections, idle_timeout_s, "
           "inline_active_content)");
    ck_bad("{\"cache\": {\"size\": 1}}", "cache.size: unknown key");
    /* a newline in a key does not break the message into two lines */
    ck_bad("{\"a\\nb\": 1}", "a?b: unknown key");
}
END_TEST

START_TEST(wrong_types)
{
    ck_bad("[]", "gw.json:1:1: got an array (expected a JSON object at the top level)");
    ck_bad("{\"http\": \"0.0.0.0:80\"}", "gw.json:1:2: http: got a string (expected an object)");
    ck_bad("{\"http\": {\"listen\": 8080}}",
           "gw.json:1:11: http.listen: got an integer (expected a string)");
    ck_bad("{\"devices\": []}", "devices: got an array (expected an object");
    ck_bad("{\"devices\": {\"a\": 5}}", "devices.a: got an integer (expected a string)");
    ck_bad("{\"proxy\": {\"timeout_ms\": \"100\"}}",
           "proxy.timeout_ms: got a string (expected an integer from 1 to 600000)");
    ck_bad("{\"proxy\": {\"timeout_ms\": 10.0}}",
           "proxy.timeout_ms: got a real number (expected an integer");
    ck_bad("{\"proxy\": {\"allow_targets\": \"10.0.0.0/8\"}}",
           "proxy.allow_targets: got a string (expected an array of strings)");
    ck_bad("{\"proxy\": {\"allow_targets\": [\"10.0.0.0/8\", null]}}",
           "gw.json:1:44: proxy.allow_targets[1]: got null (expected a string)");
    ck_bad("{\"cache\": {\"enabled\": 1}}",
           "cache.enabled: got an integer (expected true or false)");
    ck_bad("{\"log_level\": 3}", "log_level: got an integer (expected");
}
END_TEST

START_TEST(bad_device_names)
{
    ck_bad("{\"devices\": {\"a b\": \"coap://127.0.0.1\"}}",
           "devices.a b: bad device name (expected 1-63 characters");
    ck_bad("{\"devices\": {\"\": \"coap://127.0.0.1\"}}",
           "gw.json:1:14: devices.: bad device name");
    ck_bad("{\"devices\": {\"x/y\": \"coap://127.0.0.1\"}}", "devices.x/y: bad device name");
    /* only dots: URLs resolve "." and ".." away (RFC 3986 §5.2.4) */
    ck_bad("{\"devices\": {\"..\": \"coap://127.0.0.1\"}}",
           "devices...: bad device name (not only dots");
    ck_bad("{\"devices\": {\".\": \"coap://127.0.0.1\"}}",
           "devices..: bad device name (not only dots");
    ck_bad("{\"devices\": {\"...\": \"coap://127.0.0.1\"}}", "bad device name");
    char json[200], name[65];
    memset(name, 'n', 64);
    name[64] = '\0';
    snprintf(json, sizeof json, "{\"devices\": {\"%s\": \"coap://127.0.0.1\"}}", name);
    ck_bad(json, "bad device name");
    /* 63 is the limit, not over it */
    name[63] = '\0';
    snprintf(json, sizeof json, "{\"devices\": {\"%s\": \"coap://127.0.0.1\"}}", name);
    char err[256];
    cfg_t c;
    cfg_defaults(&c);
    ck_assert_msg(cfg_load_string(&c, json, "gw.json", err, sizeof err) == 0, "%s", err);
    cfg_free(&c);
    /* dots among other characters are fine */
    cfg_defaults(&c);
    ck_assert_msg(cfg_load_string(&c,
                                  "{\"devices\": {\".a\": \"coap://127.0.0.1\", \"v1..2\": "
                                  "\"coap://127.0.0.1\"}}",
                                  "gw.json", err, sizeof err) == 0,
                  "%s", err);
    cfg_free(&c);
}
END_TEST

START_TEST(bad_device_uris)
{
    ck_bad("{\"devices\": {\"d\": \"http://127.0.0.1\"}}",
           "devices.d: \"http://127.0.0.1\" is not a coap://, coaps://, coap+tcp:// or "
           "coaps+tcp:// URI");
    ck_bad("{\"devices\": {\"d\": \"127.0.0.1:5683\"}}",
           "is not a coap://, coaps://, coap+tcp:// or coaps+tcp:// URI");
    ck_bad("{\"devices\": {\"d\": \"coaps://h?x=1\"}}", "a device URI takes no query");
    ck_bad("{\"devices\": {\"d\": \"coap://\"}}", "devices.d: \"coap://\": ");
    ck_bad("{\"devices\": {\"d\": \"coap://a b/\"}}", "devices.d: \"coap://a b/\": ");
    ck_bad("{\"devices\": {\"d\": \"coap://h:99999/\"}}", "devices.d: \"coap://h:99999/\": ");
    ck_bad("{\"devices\": {\"d\": \"coap://[1::2::3]/\"}}",
           "devices.d: bad IP address \"1::2::3\"");
    ck_bad("{\"devices\": {\"d\": \"coap://h/x?y=1\"}}", "devices.d: a device URI takes no query");
}
END_TEST

START_TEST(bad_listen)
{
    ck_bad("{\"http\": {\"listen\": \"0.0.0.0\"}}", "http.listen: bad listen address \"0.0.0.0\"");
    ck_bad("{\"http\": {\"listen\": \"localhost:80\"}}", "http.listen: bad listen address");
    ck_bad("{\"coap\": {\"listen\": \"1.2.3.4:65536\"}}", "coap.listen: bad listen address");
    ck_bad("{\"coap\": {\"listen\": \"1.2.3.4:+80\"}}", "coap.listen: bad listen address");
    ck_bad("{\"coap\": {\"listen\": \"1.2.3.4:\"}}", "coap.listen: bad listen address");
    ck_bad("{\"coap\": {\"listen\": \"[::1]\"}}", "coap.listen: bad listen address");
    ck_bad("{\"coap\": {\"listen\": \"::1:5683\"}}", "coap.listen: bad listen address");
    ck_bad("{\"coap\": {\"listen\": \"\"}}", "coap.listen: bad listen address");
}
END_TEST

/* Each bound, just inside and just outside. */
static const struct {
    const char *json;
    int ok;
} ranges[] = {
    {"{\"proxy\": {\"timeout_ms\": 0}}", 0},
    {"{\"proxy\": {\"timeout_ms\": 1}}", 1},
    {"{\"proxy\": {\"timeout_ms\": 600000}}", 1},
    {"{\"proxy\": {\"timeout_ms\": 600001}}", 0},
    {"{\"proxy\": {\"timeout_ms\": -5}}", 0},
    {"{\"proxy\": {\"max_body_bytes\": 0}}", 0},
    {"{\"proxy\": {\"max_body_bytes\": 67108864}}", 1},
    {"{\"proxy\": {\"max_body_bytes\": 67108865}}", 0},
    {"{\"cache\": {\"max_entries\": -1}}", 0},
    {"{\"cache\": {\"max_entries\": 10000000}}", 1},
    {"{\"cache\": {\"max_entries\": 10000001}}", 0},
    {"{\"cache\": {\"max_entries\": 4294967296}}", 0},
    {"{\"cache\": {\"max_bytes\": 0}}", 0},
    {"{\"cache\": {\"max_bytes\": 1023}}", 0},
    {"{\"cache\": {\"max_bytes\": 1024}}", 1},
    {"{\"cache\": {\"max_bytes\": 4294967295}}", 1},
    {"{\"cache\": {\"max_bytes\": 4294967296}}", 0},
};

START_TEST(number_ranges)
{
    char err[256] = "";
    cfg_t c;
    cfg_defaults(&c);
    int rc = cfg_load_string(&c, ranges[_i].json, "gw.json", err, sizeof err);
    ck_assert_msg(rc == (ranges[_i].ok ? 0 : -1), "%s: %s", ranges[_i].json, err);
    if (!ranges[_i].ok) ck_assert_ptr_nonnull(strstr(err, " (expected an integer from "));
    cfg_free(&c);
}
END_TEST

START_TEST(range_message)
{
    ck_bad(
        "{\"proxy\": {\"timeout_ms\": 0}}",
        "gw.json:1:12: proxy.timeout_ms: 0 is out of range (expected an integer from 1 to 600000)");
}
END_TEST

START_TEST(log_levels)
{
    ck_bad("{\"log_level\": \"verbose\"}", "gw.json:1:2: log_level: bad value \"verbose\" "
                                           "(expected \"debug\", \"info\", \"warn\" or \"error\")");
    ck_bad("{\"log_level\": \"INFO\"}", "log_level: bad value");
    char err[256];
    cfg_t c;
    cfg_defaults(&c);
    ck_assert_int_eq(cfg_load_string(&c, "{\"log_level\": \"error\"}", "x", err, sizeof err), 0);
    ck_assert_int_eq(c.log_level, CFG_LOG_ERROR);
    cfg_free(&c);
    ck_assert_int_eq(cfg_parse_log_level("debug"), CFG_LOG_DEBUG);
    ck_assert_int_eq(cfg_parse_log_level("info"), CFG_LOG_INFO);
    ck_assert_int_eq(cfg_parse_log_level("warn"), CFG_LOG_WARN);
    ck_assert_int_eq(cfg_parse_log_level("error"), CFG_LOG_ERROR);
    ck_assert_int_eq(cfg_parse_log_level("warning"), -1);
    ck_assert_int_eq(cfg_parse_log_level(""), -1);
    ck_assert_int_eq(cfg_parse_log_level(NULL), -1);
}
END_TEST

START_TEST(allow_targets)
{
    char err[256];
    cfg_t c;
    cfg_defaults(&c);
    ck_assert_int_eq(cfg_add_allow_target(&c, "198.51.100.0/24"), 0);
    /* the file's list replaces what was there */
    ck_assert_int_eq(cfg_load_string(&c,
                                     "{\"proxy\": {\"allow_targets\": [\"fd00::/8\", \"a.lan\"]}}",
                                     "x", err, sizeof err),
                     0);
    ck_assert_uint_eq(c.allow_targets.n, 2);
    ck_assert_str_eq(c.allow_targets.v[0], "fd00::/8");
    ck_assert_str_eq(c.allow_targets.v[1], "a.lan");
    /* flags append after the file */
    ck_assert_int_eq(cfg_add_allow_target(&c, "10.9.0.0/16"), 0);
    ck_assert_uint_eq(c.allow_targets.n, 3);
    ck_assert_str_eq(c.allow_targets.v[2], "10.9.0.0/16");
    ck_assert_int_eq(cfg_add_allow_target(&c, NULL), -1);
    ck_assert_int_eq(
        cfg_load_string(&c, "{\"proxy\": {\"allow_targets\": []}}", "x", err, sizeof err), 0);
    ck_assert_uint_eq(c.allow_targets.n, 0);
    cfg_free(&c);
    ck_bad("{\"proxy\": {\"allow_targets\": [\"\"]}}",
           "gw.json:1:30: proxy.allow_targets[0]: bad entry (expected an address");
    ck_bad("{\"proxy\": {\"allow_targets\": [\"ok.lan\", \"a b\"]}}",
           "proxy.allow_targets[1]: bad host name \"a b\"");
}
END_TEST

START_TEST(set_string)
{
    cfg_t c;
    cfg_defaults(&c);
    ck_assert_int_eq(cfg_set_string(&c.http_listen, "127.0.0.1:9000"), 0);
    ck_assert_str_eq(c.http_listen, "127.0.0.1:9000");
    /* NULL is refused and leaves the old value */
    ck_assert_int_eq(cfg_set_string(&c.http_listen, NULL), -1);
    ck_assert_str_eq(c.http_listen, "127.0.0.1:9000");
    char *fresh = NULL;
    ck_assert_int_eq(cfg_set_string(&fresh, "x"), 0);
    ck_assert_str_eq(fresh, "x");
    free(fresh);
    cfg_free(&c);
}
END_TEST

/* A failing document that sets valid keys before the bad one leaves no
 * trace: loading is all-or-nothing. */
START_TEST(failure_is_atomic)
{
    char err[256];
    cfg_t c;
    cfg_defaults(&c);
    cfg_add_allow_target(&c, "10.0.0.0/8");
    const char *json = "{\"http\": {\"listen\": \"127.0.0.1:1\"},"
                       " \"devices\": {\"x\": \"coap://127.0.0.2\"},"
                       " \"proxy\": {\"allow_targets\": [\"a.lan\"], \"timeout_ms\": 0}}";
    ck_assert_int_eq(cfg_load_string(&c, json, "x", err, sizeof err), -1);
    ck_assert_str_eq(c.http_listen, "0.0.0.0:8080");
    ck_assert_uint_eq(c.ndevices, 1);
    ck_assert_str_eq(c.devices[0].name, "demo");
    ck_assert_uint_eq(c.allow_targets.n, 1);
    ck_assert_str_eq(c.allow_targets.v[0], "10.0.0.0/8");
    ck_assert_uint_eq(c.timeout_ms, 10000);
    cfg_free(&c);
}
END_TEST

START_TEST(small_or_no_error_buffer)
{
    cfg_t c;
    cfg_defaults(&c);
    char err[8];
    ck_assert_int_eq(
        cfg_load_string(&c, "{\"htttp\": 1}", "a-long-file-name.json", err, sizeof err), -1);
    ck_assert_uint_eq(strlen(err), sizeof err - 1);
    ck_assert_int_eq(cfg_load_string(&c, "{\"htttp\": 1}", NULL, NULL, 0), -1);
    ck_assert_int_eq(cfg_load_string(&c, "nope", NULL, NULL, 0), -1);
    ck_assert_int_eq(cfg_load_string(&c, NULL, NULL, err, sizeof err), -1);
    cfg_free(&c);
}
END_TEST

static Suite *cfg_suite(void)
{
    Suite *s = suite_create("cfg");
    TCase *t = tcase_create("load");
    tcase_add_test(t, defaults);
    tcase_add_test(t, full_file);
    tcase_add_test(t, partial_and_empty);
    tcase_add_test(t, missing_file);
    tcase_add_test(t, syntax_error);
    tcase_add_test(t, syntax_error_hides_text);
    tcase_add_test(t, unknown_keys);
    tcase_add_test(t, wrong_types);
    tcase_add_test(t, bad_device_names);
    tcase_add_test(t, bad_device_uris);
    tcase_add_test(t, bad_listen);
    tcase_add_loop_test(t, number_ranges, 0, (int)(sizeof ranges / sizeof ranges[0]));
    tcase_add_test(t, range_message);
    tcase_add_test(t, log_levels);
    tcase_add_test(t, allow_targets);
    tcase_add_test(t, set_string);
    tcase_add_test(t, failure_is_atomic);
    tcase_add_test(t, small_or_no_error_buffer);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return run_suite(cfg_suite());
}
