/* Unit tests for the configuration's keys beyond the basics (config/):
 * positions of semantic errors, every key of the example file, tokens,
 * allowlist and origin validation, deep copies. */
#include "cfg.h"
#include "cfg_int.h"
#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Expects json to fail with exactly the message want. */
static void bad_exact(const char *json, const char *want)
{
    char err[600];
    cfg_t c;
    cfg_defaults(&c);
    ck_assert_int_eq(cfg_load_string(&c, json, "f.json", err, sizeof err), -1);
    ck_assert_str_eq(err, want);
    cfg_free(&c);
}

/* Expects json to fail with a message starting with want. */
static void bad_prefix(const char *json, const char *want)
{
    char err[600];
    cfg_t c;
    cfg_defaults(&c);
    ck_assert_int_eq(cfg_load_string(&c, json, "f.json", err, sizeof err), -1);
    ck_assert_msg(!strncmp(err, want, strlen(want)), "\"%s\" does not start with \"%s\"", err,
                  want);
    ck_assert_ptr_null(strchr(err, '\n'));
    cfg_free(&c);
}

static void good(const char *json, cfg_t *c)
{
    char err[600];
    cfg_defaults(c);
    ck_assert_msg(cfg_load_string(c, json, "f.json", err, sizeof err) == 0, "%s", err);
}

/* Line and column of the key (or array element), counted like jansson:
 * from 1, a UTF-8 character counting once. */
START_TEST(positions)
{
    const char *doc = "{\n"
                      "  \"http\": {\"listen\": \"127.0.0.1:80\"},\n"
                      "  \"proxy\": {\n"
                      "    \"allow_targets\": [\n"
                      "      \"10.0.0.0/8\",\n"
                      "      \"10.0.0.0/33\"\n"
                      "    ]\n"
                      "  }\n"
                      "}\n";
    bad_prefix(doc,
               "f.json:6:7: proxy.allow_targets[1]: bad address or CIDR range \"10.0.0.0/33\"");
    bad_prefix("{\"tokens\": [{\"token\": \"abcdefghijklmnop\", \"name\": \"\xc3\xa9\xc3\xa9\"}], "
               "\"x\": 1}",
               "f.json:1:59: x: unknown key");
    /* keys written with escapes are matched decoded */
    bad_prefix("{\"devices\": {\"\\u00e9\": \"coap://h\"}}",
               "f.json:1:14: devices.\xc3\xa9: bad device name");
    bad_prefix("{\"devices\": {\"a\": \"coap://h\", \"\\ud83d\\ude00\": 1}}",
               "f.json:1:31: devices.\xf0\x9f\x98\x80: bad device name");
    bad_prefix("{\"devices\": {\"\\u20ac\": \"coap://h\"}}",
               "f.json:1:14: devices.\xe2\x82\xac: bad");
    /* a device name holding dots is one key, not a path */
    bad_prefix("{\"devices\": {\"x.y\": 1, \"x\": {\"y\": 1}}}",
               "f.json:1:14: devices.x.y: got an integer");
    /* the same key name in an earlier section does not confuse the search */
    bad_prefix("{\"cache\": {\"enabled\": true}, \"rd\": {\"enabled\": 3}}",
               "f.json:1:37: rd.enabled: got an integer (expected true or false)");
    /* values that are containers are skipped over whole */
    bad_prefix("{\"tokens\": [{\"token\": \"abcdefghijklmnop\", \"name\": \"a\\\"]}\"}],"
               " \"proxy\": {\"allow_targets\": [{}]}}",
               "f.json:1:90: proxy.allow_targets[0]: got an object (expected a string)");
    bad_exact("\n\n   []", "f.json:3:4: got an array (expected a JSON object at the top level)");
}
END_TEST

START_TEST(every_key)
{
    cfg_t c;
    good("{\"http\": {\"listen\": \"[::1]:0\", \"conn_memory\": 4096},"
         " \"coap\": {\"listen\": \"127.0.0.1:0\", \"nstart\": 32},"
         " \"sse\": {\"max_subscribers\": 5, \"queue_events\": 2},"
         " \"rd\": {\"enabled\": false, \"max_registrations\": 0, \"max_links_bytes\": 64},"
         " \"discovery\": {\"refresh_s\": 60},"
         " \"log\": {\"level\": \"warn\", \"format\": \"json\"},"
         " \"shutdown\": {\"grace_ms\": 0}}",
         &c);
    ck_assert_uint_eq(c.conn_memory, 4096);
    ck_assert_uint_eq(c.nstart, 32);
    ck_assert_uint_eq(c.max_subscribers, 5);
    ck_assert_uint_eq(c.sse_queue, 2);
    ck_assert_int_eq(c.rd_enabled, 0);
    ck_assert_uint_eq(c.rd_max_registrations, 0);
    ck_assert_uint_eq(c.rd_max_links_bytes, 64);
    ck_assert_uint_eq(c.discovery_refresh_s, 60);
    ck_assert_int_eq(c.log_level, CFG_LOG_WARN);
    ck_assert_int_eq(c.log_format, CFG_LOG_JSON);
    ck_assert_uint_eq(c.shutdown_grace_ms, 0);
    cfg_free(&c);
    bad_prefix("{\"coap\": {\"nstart\": 256}}", "f.json:1:11: coap.nstart: 256 is out of range");
    bad_prefix("{\"http\": {\"conn_memory\": 4095}}", "f.json:1:11: http.conn_memory: 4095 is out");
    bad_prefix("{\"sse\": {\"queue_events\": 0}}", "f.json:1:10: sse.queue_events: 0 is out");
    bad_prefix("{\"log\": {\"format\": \"xml\"}}",
               "f.json:1:10: log.format: bad value \"xml\" (expected \"text\" or \"json\")");
    bad_prefix("{\"log\": {\"colour\": true}}",
               "f.json:1:10: log.colour: unknown key (expected one of level, format)");
    bad_prefix("{\"log_level\": \"info\", \"log\": {\"level\": \"warn\"}}",
               "f.json:1:2: log_level: set twice");
    /* a dotted key at the top level is not a short form */
    bad_prefix("{\"proxy.timeout_ms\": 5}", "f.json:1:2: proxy.timeout_ms: unknown key");
    bad_prefix("{\"shutdown\": 5}", "f.json:1:2: shutdown: got an integer (expected an object)");
}
END_TEST

/* Every key has an environment variable named after it. */
START_TEST(key_table)
{
    char env[64];
    ck_assert_uint_ge(cfg_key_count(), 21);
    ck_assert_str_eq(cfg_key_name(0), "http.listen");
    ck_assert_ptr_null(cfg_key_name(cfg_key_count()));
    ck_assert_str_eq(cfg_env_name("proxy.timeout_ms", env, sizeof env), "COAPGW_PROXY_TIMEOUT_MS");
    ck_assert_str_eq(cfg_env_name("devices", env, sizeof env), "COAPGW_DEVICES");
}
END_TEST

static const char tok_a[] = "abcdefghijklmnop", tok_b[] = "Zm9vYmFyYmF6cXV4LS1fLn4r/w==";

START_TEST(tokens)
{
    cfg_t c;
    char json[400];
    snprintf(json, sizeof json,
             "{\"tokens\": [{\"token\": \"%s\", \"scope\": \"read\", \"name\": \"dashboard\"},"
             " {\"token\": \"%s\", \"scope\": \"read-write\"}, {\"token\": \"%s-2\"}]}",
             tok_a, tok_b, tok_a);
    good(json, &c);
    ck_assert_uint_eq(c.ntokens, 3);
    ck_assert_str_eq(c.tokens[0].token, tok_a);
    ck_assert_str_eq(c.tokens[0].name, "dashboard");
    ck_assert_int_eq(c.tokens[0].write, 0);
    ck_assert_str_eq(c.tokens[1].token, tok_b);
    ck_assert_ptr_null(c.tokens[1].name);
    ck_assert_int_eq(c.tokens[1].write, 1);
    ck_assert_int_eq(c.tokens[2].write, 0); /* read unless said otherwise */
    /* a deep copy: tokens included */
    cfg_t d;
    ck_assert_int_eq(cfg_copy(&d, &c), 0);
    ck_assert_uint_eq(d.ntokens, 3);
    ck_assert_ptr_ne(d.tokens[0].token, c.tokens[0].token);
    ck_assert_str_eq(d.tokens[0].name, "dashboard");
    cfg_free(&c);
    ck_assert_str_eq(d.tokens[1].token, tok_b);
    cfg_free(&d);
}
END_TEST

START_TEST(bad_tokens)
{
    bad_exact("{\"tokens\": [{\"token\": \"short\"}]}",
              "f.json:1:14: tokens[0].token: bad token length (expected 16 to 512 characters)");
    bad_prefix("{\"tokens\": [{\"token\": \"abcdefghijklmnop q\"}]}",
               "f.json:1:14: tokens[0].token: bad token characters");
    bad_prefix("{\"tokens\": [{\"token\": \"abcdefghijklmnop=x\"}]}",
               "f.json:1:14: tokens[0].token: bad token characters");
    bad_exact(
        "{\"tokens\": [{\"token\": \"abcdefghijklmnop\"},\n {\"token\": \"abcdefghijklmnop\"}]}",
        "f.json:2:3: tokens[1].token: the same token as tokens[0] (expected unique tokens)");
    bad_prefix("{\"tokens\": [{\"token\": \"abcdefghijklmnop\", \"scope\": \"admin\"}]}",
               "f.json:1:43: tokens[0].scope: bad scope \"admin\"");
    bad_prefix("{\"tokens\": [{\"scope\": \"read\"}]}", "f.json:1:13: tokens[0]: no \"token\"");
    bad_prefix("{\"tokens\": [{\"token\": \"abcdefghijklmnop\", \"role\": 1}]}",
               "f.json:1:43: tokens[0].role: unknown key (expected token, scope, name)");
    bad_prefix("{\"tokens\": [\"abcdefghijklmnop\"]}", "f.json:1:13: tokens[0]: got a string");
    bad_prefix("{\"tokens\": {}}", "f.json:1:2: tokens: got an object (expected an array");
    bad_prefix("{\"tokens\": [{\"token\": \"abcdefghijklmnop\", \"name\": \"\"}]}",
               "f.json:1:43: tokens[0].name: bad token name");
    /* the token itself never appears in a message */
    char err[600];
    cfg_t c;
    cfg_defaults(&c);
    ck_assert_int_eq(cfg_load_string(&c, "{\"tokens\": [{\"token\": \"secret-secret-s\\u00e9\"}]}",
                                     "f", err, sizeof err),
                     -1);
    ck_assert_ptr_null(strstr(err, "secret"));
    cfg_free(&c);
}
END_TEST

START_TEST(allowlists)
{
    cfg_t c;
    good("{\"proxy\": {\"allow_targets\": [\"10.0.0.0/8\", \"::1\", \"fd00::/8\", \"sensor.lan\","
         " \"*.sensors.lan\", \"192.168.1.7\", \"::ffff:10.0.0.0/104\"],"
         " \"allow_origins\": [\"http://10.0.0.5:8080\", \"https://api.example.com\","
         " \"http://[fd00::1]:80/\", \"10.0.0.0/24\", \"fd00::1\"]}}",
         &c);
    ck_assert_uint_eq(c.allow_targets.n, 7);
    ck_assert_uint_eq(c.allow_origins.n, 5);
    cfg_free(&c);
    static const char *const bad_targets[] = {"10.0.0.0/33", "fd00::/129",  "10.0.0.256",
                                              "1.2.3",       "10.0.0.0/+8", "a..b",
                                              "-x y",        "*.",          "::1::2"};
    for (size_t i = 0; i < sizeof bad_targets / sizeof bad_targets[0]; i++) {
        char json[200];
        snprintf(json, sizeof json, "{\"proxy\": {\"allow_targets\": [\"%s\"]}}", bad_targets[i]);
        bad_prefix(json, "f.json:1:30: proxy.allow_targets[0]: bad ");
    }
    static const char *const bad_origins[] = {"ftp://h",        "http://",       "http://h:0",
                                              "http://h:65536", "http://h/path", "sensor.lan",
                                              "http://[zz]:80", "10.0.0.0/40"};
    for (size_t i = 0; i < sizeof bad_origins / sizeof bad_origins[0]; i++) {
        char json[200];
        snprintf(json, sizeof json, "{\"proxy\": {\"allow_origins\": [\"%s\"]}}", bad_origins[i]);
        bad_prefix(json, "f.json:1:30: proxy.allow_origins[0]: bad origin");
    }
}
END_TEST

/* One port of one address in proxy.allow_targets (RFC 7252 §11.5: ports
 * below 1024 are opened one by one). */
START_TEST(target_ports)
{
    cfg_t c;
    good("{\"proxy\": {\"allow_targets\": [\"127.0.0.1:53\", \"[::1]:53\", \"[fd00::1]:1\","
         " \"10.0.0.7:65535\", \"[::ffff:10.0.0.7]:123\", \"169.254.169.254\"]}}",
         &c);
    ck_assert_uint_eq(c.allow_targets.n, 6);
    cfg_free(&c);
    static const char *const bad[] = {
        "127.0.0.1:0",   "127.0.0.1:65536", "127.0.0.1:",      "127.0.0.1:+53", "127.0.0.1:5 3",
        "10.0.0.0/8:53", "[10.0.0.1]:53",   "[::1]",           "[::1]53",       "[::1]:",
        ":53",           "sensor.lan:53",   "*.lan:53",        "[::1/128]:53",  "[::1]:53:1",
        "1.2.3:53",      "[fe80::1%1]:53",  "127.0.0.1:123456"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char json[200];
        snprintf(json, sizeof json, "{\"proxy\": {\"allow_targets\": [\"%s\"]}}", bad[i]);
        bad_prefix(json, "f.json:1:30: proxy.allow_targets[0]: bad ");
    }
    bad_prefix("{\"proxy\": {\"allow_targets\": [\"sensor.lan:53\"]}}",
               "f.json:1:30: proxy.allow_targets[0]: bad ADDR:PORT \"sensor.lan:53\" (expected "
               "one address and a port from 1 to 65535");
}
END_TEST

/* An address or range of proxy.allow_origins wholly within loopback,
 * unspecified, link-local or metadata space would open nothing: refused,
 * telling to name the origin. Ranges reaching beyond it are accepted. */
START_TEST(origin_local_ranges)
{
    static const char *const local[] = {"127.0.0.1",
                                        "127.0.0.0/8",
                                        "127.5.0.0/16",
                                        "0.0.0.0",
                                        "0.0.0.0/8",
                                        "169.254.0.0/16",
                                        "169.254.169.254",
                                        "::1",
                                        "::",
                                        "::/128",
                                        "::/127",
                                        "fe80::/10",
                                        "fe80::1",
                                        "fd00:ec2::254",
                                        "::ffff:127.0.0.1",
                                        "::ffff:169.254.0.0/112",
                                        "::ffff:0.0.0.0/104"};
    for (size_t i = 0; i < sizeof local / sizeof local[0]; i++) {
        char json[200];
        snprintf(json, sizeof json, "{\"proxy\": {\"allow_origins\": [\"%s\"]}}", local[i]);
        bad_prefix(json, "f.json:1:30: proxy.allow_origins[0]: origin range \"");
    }
    bad_exact("{\"proxy\": {\"allow_origins\": [\"127.0.0.1\"]}}",
              "f.json:1:30: proxy.allow_origins[0]: origin range \"127.0.0.1\" lies within "
              "loopback, unspecified, link-local or cloud-metadata addresses, which an address "
              "or range never opens: name the origin as http://HOST:PORT");
    cfg_t c;
    good("{\"proxy\": {\"allow_origins\": [\"0.0.0.0/0\", \"::/0\", \"0.0.0.0/1\", \"0.0.0.0/7\","
         " \"126.0.0.0/7\", \"169.254.0.0/15\", \"fe80::/9\", \"fd00:ec2::/32\", \"::/126\","
         " \"http://127.0.0.1:8000\", \"http://[::1]:8000\", \"http://169.254.169.254\"]}}",
         &c);
    ck_assert_uint_eq(c.allow_origins.n, 12);
    cfg_free(&c);
}
END_TEST

/* The lists of the security keys: each item checked, defaults safe. */
START_TEST(security_lists)
{
    cfg_t c;
    cfg_defaults(&c);
    ck_assert_uint_eq(c.coap_clients.n, 2); /* loopback only */
    ck_assert_str_eq(c.coap_clients.v[0], "127.0.0.0/8");
    ck_assert_str_eq(c.coap_clients.v[1], "::1");
    ck_assert_uint_eq(c.allowed_hosts.n, 0);
    ck_assert_uint_eq(c.trusted_origins.n, 0);
    cfg_free(&c);
    good("{\"http\": {\"allowed_hosts\": [\"gw.lan\", \"*.example.com\", \"*\"],"
         " \"trusted_origins\": [\"https://dash.example:8443\", \"http://[::1]:3000\"]},"
         " \"proxy\": {\"coap_clients\": [\"10.0.0.0/8\", \"fd00::1\"]}}",
         &c);
    ck_assert_uint_eq(c.allowed_hosts.n, 3);
    ck_assert_uint_eq(c.trusted_origins.n, 2);
    ck_assert_uint_eq(c.coap_clients.n, 2); /* the file's list replaced the default */
    cfg_free(&c);
    bad_prefix("{\"proxy\": {\"coap_clients\": [\"sensor.lan\"]}}",
               "f.json:1:29: proxy.coap_clients[0]: bad address or CIDR range");
    bad_prefix("{\"http\": {\"allowed_hosts\": [\"10.0.0.1\"]}}",
               "f.json:1:29: http.allowed_hosts[0]: bad host name");
    bad_prefix("{\"http\": {\"allowed_hosts\": [\"a b\"]}}",
               "f.json:1:29: http.allowed_hosts[0]: bad host name");
    bad_prefix("{\"http\": {\"trusted_origins\": [\"https://a.example/\"]}}",
               "f.json:1:31: http.trusted_origins[0]: bad origin");
    bad_prefix("{\"http\": {\"trusted_origins\": [\"10.0.0.0/8\"]}}",
               "f.json:1:31: http.trusted_origins[0]: bad origin");
    /* the environment reads the same lists */
    char err[600];
    cfg_defaults(&c);
    ck_assert_int_eq(
        cfg_set(&c, "proxy.coap_clients", "10.1.0.0/16, ::1", CFG_REPLACE, "V", err, sizeof err),
        0);
    ck_assert_uint_eq(c.coap_clients.n, 2);
    ck_assert_str_eq(c.coap_clients.v[0], "10.1.0.0/16");
    ck_assert_int_eq(cfg_set(&c, "http.allowed_hosts", "x y", CFG_REPLACE, "V", err, sizeof err),
                     -1);
    ck_assert_msg(!strncmp(err, "V: item 1: bad host name", 24), "%s", err);
    cfg_free(&c);
}
END_TEST

/* Tokens and a forward proxy open beyond loopback: refused unless the
 * configuration says the CoAP clients are trusted. */
START_TEST(consistency)
{
    char err[600];
    cfg_t c;
    good("{\"tokens\": [{\"token\": \"abcdefghijklmnop\"}]}", &c);
    ck_assert_int_eq(cfg_check_consistency(&c, err, sizeof err), 0); /* loopback default */
    cfg_free(&c);
    good("{\"tokens\": [{\"token\": \"abcdefghijklmnop\"}],"
         " \"proxy\": {\"coap_clients\": [\"127.0.0.1\", \"::1\", \"::ffff:127.0.0.0/104\","
         " \"10.0.0.0/8\"]}}",
         &c);
    ck_assert_int_eq(cfg_check_consistency(&c, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "proxy.coap_clients: \"10.0.0.0/8\"") &&
                      strstr(err, "proxy.coap_clients_trusted"),
                  "%s", err);
    c.coap_clients_trusted = 1;
    ck_assert_int_eq(cfg_check_consistency(&c, err, sizeof err), 0);
    cfg_free(&c);
    good("{\"proxy\": {\"coap_clients\": [\"0.0.0.0/0\"]}}", &c); /* no tokens: nothing to bypass */
    ck_assert_int_eq(cfg_check_consistency(&c, err, sizeof err), 0);
    cfg_free(&c);
    /* a range that only starts in loopback is not loopback */
    ck_assert(cfg_cidr_is_loopback("127.0.0.0/8"));
    ck_assert(cfg_cidr_is_loopback("::ffff:127.0.0.1"));
    ck_assert(!cfg_cidr_is_loopback("0.0.0.0/0"));
    ck_assert(!cfg_cidr_is_loopback("127.0.0.0/7"));
    ck_assert(!cfg_cidr_is_loopback("::/0"));
    ck_assert(!cfg_cidr_is_loopback("::1/127"));
}
END_TEST

/* HTTPS keys: "off", what HTTPS needs, and a private key file that
 * other users may read (refused, naming the file). */
START_TEST(https_keys)
{
    char err[600], key[] = "/tmp/coapgw-key.XXXXXX", json[300];
    int fd = mkstemp(key);
    ck_assert_int_ge(fd, 0);
    close(fd);
    cfg_t c;
    good("{\"http\": {\"listen\": \"off\", \"listen_tls\": \"[::]:8443\"}}", &c);
    ck_assert(cfg_listen_off(c.http_listen) && !cfg_listen_off(c.http_listen_tls));
    ck_assert_int_eq(cfg_check_consistency(&c, err, sizeof err), -1);
    ck_assert_str_eq(err, "http.listen_tls: HTTPS needs http.tls_cert and http.tls_key (PEM files "
                          "of the certificate chain and its private key)");
    ck_assert_int_eq(
        cfg_set(&c, "http.tls_cert", "/etc/gw/cert.pem", CFG_REPLACE, "C", err, sizeof err), 0);
    ck_assert_int_eq(cfg_set(&c, "http.tls_key", key, CFG_REPLACE, "C", err, sizeof err), 0);
    ck_assert_msg(cfg_check_consistency(&c, err, sizeof err) == 0, "%s", err); /* 0600 */
    chmod(key, 0640); /* a group such as ssl-cert may read it */
    ck_assert_msg(cfg_check_consistency(&c, err, sizeof err) == 0, "%s", err);
    chmod(key, 0644);
    ck_assert_int_eq(cfg_check_consistency(&c, err, sizeof err), -1);
    snprintf(json, sizeof json,
             "http.tls_key: %s is open to other users (mode 0644): a private key must not be "
             "(chmod o-rwx %s)",
             key, key);
    ck_assert_str_eq(err, json);
    chmod(key, 0602);
    ck_assert_int_eq(cfg_check_consistency(&c, err, sizeof err), -1);
    unlink(key);
    ck_assert_int_eq(cfg_check_consistency(&c, err, sizeof err), -1);
    snprintf(json, sizeof json, "http.tls_key: cannot read %s: No such file or directory", key);
    ck_assert_str_eq(err, json);
    ck_assert_int_eq(cfg_set(&c, "http.tls_key", "/tmp", CFG_REPLACE, "C", err, sizeof err), 0);
    ck_assert_int_eq(cfg_check_consistency(&c, err, sizeof err), -1);
    ck_assert_str_eq(err, "http.tls_key: /tmp is not a file");
    /* both off: nothing to listen on */
    ck_assert_int_eq(cfg_set(&c, "http.listen_tls", "off", CFG_REPLACE, "C", err, sizeof err), 0);
    ck_assert_int_eq(cfg_check_consistency(&c, err, sizeof err), -1);
    ck_assert_str_eq(err, "http.listen and http.listen_tls are both off (expected at least one "
                          "of them as HOST:PORT)");
    cfg_free(&c);
    /* a certificate without HTTPS is a mistake, not a silent no-op */
    good("{\"http\": {\"tls_client_ca\": \"ca.pem\"}}", &c);
    ck_assert_int_eq(cfg_check_consistency(&c, err, sizeof err), -1);
    ck_assert_str_eq(err, "http.tls_client_ca is set but http.listen_tls is off (set "
                          "http.listen_tls to HOST:PORT for HTTPS, or leave http.tls_client_ca "
                          "empty)");
    cfg_free(&c);
    bad_prefix("{\"coap\": {\"listen\": \"off\"}}", "f.json:1:11: coap.listen: bad listen address");
    bad_exact("{\"http\": {\"listen_tls\": \"8443\"}}",
              "f.json:1:11: http.listen_tls: bad listen address \"8443\" (expected numeric "
              "HOST:PORT or [IPv6]:PORT, e.g. 0.0.0.0:8080 or [::1]:8080, or off)");
    bad_exact("{\"http\": {\"tls_cert\": \"a\\nb\"}}",
              "f.json:1:11: http.tls_cert: bad file name (a control character in it)");
    bad_prefix("{\"http\": {\"tls_key\": 5}}",
               "f.json:1:11: http.tls_key: got an integer (expected a string)");
}
END_TEST

START_TEST(loopback)
{
    ck_assert(cfg_listen_is_loopback("127.0.0.1:8080"));
    ck_assert(cfg_listen_is_loopback("127.1.2.3:0"));
    ck_assert(cfg_listen_is_loopback("[::1]:80"));
    ck_assert(cfg_listen_is_loopback("[::ffff:127.0.0.1]:80"));
    ck_assert(!cfg_listen_is_loopback("0.0.0.0:8080"));
    ck_assert(!cfg_listen_is_loopback("[::]:8080"));
    ck_assert(!cfg_listen_is_loopback("192.168.1.2:80"));
    ck_assert(!cfg_listen_is_loopback(NULL));
}
END_TEST

/* config/coapgw.example.json shows every key with its default. */
START_TEST(example_is_defaults)
{
    char err[600];
    cfg_t d, c;
    cfg_defaults(&d);
    /* loaded over values that all differ from the defaults */
    cfg_defaults(&c);
    ck_assert_int_eq(
        cfg_load_string(
            &c,
            "{\"http\": {\"listen\": \"1.1.1.1:1\", \"conn_memory\": 5000,"
            " \"listen_tls\": \"1.1.1.1:3\", \"tls_cert\": \"c\", \"tls_key\": \"k\","
            " \"tls_client_ca\": \"ca\"},"
            " \"coap\": {\"listen\": \"1.1.1.1:2\", \"nstart\": 9, \"listen_dtls\": \"1.1.1.1:4\","
            " \"listen_tcp\": \"1.1.1.1:5\", \"listen_tls\": \"1.1.1.1:6\", "
            "\"tcp_max_connections\": 1, \"tcp_max_connections_per_ip\": 1, \"tcp_idle_s\": 1},"
            " \"dtls\": {\"cert\": \"c\", \"key\": \"k\", \"client_ca\": \"ca\", \"rpk_key\": "
            "\"r\","
            " \"identities\": [{\"x509\": \"CN=a\"}], \"max_sessions\": 1, \"max_handshakes\": 1,"
            " \"idle_s\": 1, \"handshakes_per_s\": 1},"
            " \"devices\": {\"x\": \"coap://x\"},"
            " \"credentials\": {\"x\": {\"rpk_key\": \"k\", \"no_verify\": true}},"
            " \"proxy\": {\"allow_targets\": [\"x.lan\"], \"allow_origins\": [\"fd00::1\"],"
            " \"timeout_ms\": 1, \"max_body_bytes\": 1},"
            " \"cache\": {\"enabled\": false, \"max_entries\": 1, \"max_bytes\": 2048},"
            " \"sse\": {\"max_subscribers\": 1, \"queue_events\": 1},"
            " \"rd\": {\"enabled\": false, \"max_registrations\": 1, "
            "\"max_links_bytes\": 100}, \"discovery\": {\"refresh_s\": 1},"
            " \"tokens\": [{\"token\": \"abcdefghijklmnop\"}],"
            " \"log\": {\"level\": \"error\", \"format\": \"json\"},"
            " \"shutdown\": {\"grace_ms\": 7}}",
            "x", err, sizeof err),
        0);
    ck_assert_msg(
        cfg_load_file(&c, COAPGW_SOURCE_DIR "/config/coapgw.example.json", err, sizeof err) == 0,
        "%s", err);
    ck_assert_str_eq(c.http_listen, d.http_listen);
    ck_assert_str_eq(c.http_listen_tls, d.http_listen_tls);
    ck_assert_str_eq(c.tls_cert, d.tls_cert);
    ck_assert_str_eq(c.tls_key, d.tls_key);
    ck_assert_str_eq(c.tls_client_ca, d.tls_client_ca);
    ck_assert_str_eq(c.coap_listen, d.coap_listen);
    ck_assert_uint_eq(c.ndevices, 1);
    ck_assert_str_eq(c.devices[0].name, d.devices[0].name);
    ck_assert_str_eq(c.devices[0].uri, d.devices[0].uri);
    ck_assert_uint_eq(c.allow_targets.n, 0);
    ck_assert_uint_eq(c.allow_origins.n, 0);
    ck_assert_uint_eq(c.ntokens, 0);
    ck_assert_uint_eq(c.ncreds, 0);
    ck_assert_ptr_null(c.creds);
    ck_assert_str_eq(c.coap_listen_dtls, d.coap_listen_dtls);
    ck_assert_str_eq(c.coap_listen_tcp, d.coap_listen_tcp);
    ck_assert_str_eq(c.coap_listen_tls, d.coap_listen_tls);
    ck_assert_str_eq(c.dtls_cert, d.dtls_cert);
    ck_assert_str_eq(c.dtls_key, d.dtls_key);
    ck_assert_str_eq(c.dtls_client_ca, d.dtls_client_ca);
    ck_assert_str_eq(c.dtls_rpk_key, d.dtls_rpk_key);
    ck_assert_uint_eq(c.nidentities, 0);
    ck_assert_str_eq(c.state_path, d.state_path);
    ck_assert_str_eq(c.state_redis, d.state_redis);
    ck_assert_uint_eq(c.discovery_interfaces.n, 0);
    ck_assert_uint_eq(c.discovery_groups.n, 2);
    ck_assert_str_eq(c.discovery_groups.v[0], d.discovery_groups.v[0]);
    ck_assert_str_eq(c.discovery_groups.v[1], d.discovery_groups.v[1]);
    ck_assert_str_eq(c.discovery_query, d.discovery_query);
    ck_assert_str_eq(c.cluster_advertise, d.cluster_advertise);
    ck_assert_str_eq(c.cluster_token, d.cluster_token);
    /* every scalar: the pointers and lists compared above, the rest here */
    cfg_t a = c, b = d;
    a.http_listen = b.http_listen = a.coap_listen = b.coap_listen = NULL;
    a.http_listen_tls = b.http_listen_tls = a.tls_cert = b.tls_cert = NULL;
    a.tls_key = b.tls_key = a.tls_client_ca = b.tls_client_ca = NULL;
    a.devices = b.devices = NULL;
    a.allow_targets = b.allow_targets = a.allow_origins = b.allow_origins = (cfg_list_t){0};
    a.coap_clients = b.coap_clients = a.allowed_hosts = b.allowed_hosts = (cfg_list_t){0};
    a.trusted_origins = b.trusted_origins = (cfg_list_t){0};
    a.tokens = b.tokens = NULL;
    a.coap_listen_dtls = b.coap_listen_dtls = a.dtls_cert = b.dtls_cert = NULL;
    a.dtls_key = b.dtls_key = a.dtls_client_ca = b.dtls_client_ca = NULL;
    a.dtls_rpk_key = b.dtls_rpk_key = a.state_path = b.state_path = NULL;
    a.state_redis = b.state_redis = a.coap_listen_tcp = b.coap_listen_tcp = NULL;
    a.coap_listen_tls = b.coap_listen_tls = NULL;
    a.cluster_advertise = b.cluster_advertise = a.cluster_token = b.cluster_token = NULL;
    a.identities = b.identities = NULL;
    a.discovery_interfaces = b.discovery_interfaces = (cfg_list_t){0};
    a.discovery_groups = b.discovery_groups = (cfg_list_t){0};
    a.discovery_query = b.discovery_query = NULL;
    ck_assert_int_eq(memcmp(&a, &b, sizeof a), 0);
    cfg_free(&c);
    cfg_free(&d);
}
END_TEST

/* Damaged copies of the example: each loads or fails with one line that
 * names the file, never a crash (the locator walks every one that jansson
 * accepts). Deterministic: a fixed seed. */
START_TEST(mutations)
{
    static const char alphabet[] = "{}[]\":,0123456789.-+eE \n\\uabtrfnl/xé";
    FILE *f = fopen(COAPGW_SOURCE_DIR "/config/coapgw.example.json", "rb");
    ck_assert_ptr_nonnull(f);
    char base[4096], text[4200], err[600];
    size_t n = fread(base, 1, sizeof base - 1, f);
    fclose(f);
    base[n] = '\0';
    srand(7);
    for (int round = 0; round < 3000; round++) {
        memcpy(text, base, n + 1);
        for (int k = 0; k < 1 + round % 3; k++) {
            size_t at = (size_t)rand() % n;
            text[at] = alphabet[(size_t)rand() % (sizeof alphabet - 1)];
        }
        cfg_t c;
        cfg_defaults(&c);
        if (cfg_load_string(&c, text, "m.json", err, sizeof err)) {
            ck_assert_msg(!strncmp(err, "m.json", 6), "%s", err);
            ck_assert_ptr_null(strchr(err, '\n'));
            /* syntax or semantic: every message has a position */
            int line = 0, col = 0;
            ck_assert_msg(sscanf(err, "m.json:%d:%d: ", &line, &col) == 2 && line >= 1 && col >= 0,
                          "no position: %s", err);
        }
        cfg_free(&c);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cfg_keys");
    TCase *t = tcase_create("keys");
    tcase_add_test(t, positions);
    tcase_add_test(t, every_key);
    tcase_add_test(t, key_table);
    tcase_add_test(t, tokens);
    tcase_add_test(t, bad_tokens);
    tcase_add_test(t, allowlists);
    tcase_add_test(t, target_ports);
    tcase_add_test(t, origin_local_ranges);
    tcase_add_test(t, security_lists);
    tcase_add_test(t, consistency);
    tcase_add_test(t, https_keys);
    tcase_add_test(t, loopback);
    tcase_add_test(t, example_is_defaults);
    tcase_add_test(t, mutations);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return run_suite(suite());
}
