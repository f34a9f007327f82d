/*
 * cli.c - coapgw's command line: the flags over the configuration's
 * sources (docs/configuration.md: defaults < file < environment < flags),
 * --help, --version, --list-keys, --check-config and --healthcheck.
 */
#include "gw.h"
#include "gw_cli.h"
#include "gw_config.h"
#include "gw_coaps.h"
#include "gw_dtls.h"
#include "gw_ids.h"
#include "http_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fputs("usage: coapgw [options]\n"
          "A CoAP <-> HTTP gateway. Browse CoAP devices over HTTP:\n"
          "  curl http://localhost:8080/devices/demo/sensors/temperature\n"
          "  curl http://localhost:8080/hc/coap://127.0.0.1:5783/sensors/temperature\n"
          "  (coaps:// devices too, with their \"credentials\" in the configuration)\n"
          "\n"
          "Settings come from, the later winning: embedded defaults, the JSON file,\n"
          "COAPGW_* environment variables, these flags (docs/configuration.md).\n"
          "  --config FILE            JSON configuration (or COAPGW_CONFIG=FILE)\n"
          "  --check-config FILE      validate FILE (with the environment and flags),\n"
          "                           print \"FILE: ok\" or the error, exit 0 or 2\n"
          "  --http-listen ADDR:PORT  HTTP front end (default 0.0.0.0:8080; off: none)\n"
          "  --https-listen ADDR:PORT HTTPS front end (default off; needs http.tls_cert\n"
          "                           and http.tls_key, see docs/configuration.md)\n"
          "  --coap-listen ADDR:PORT  CoAP endpoint (default 0.0.0.0:5683)\n"
          "  --coaps-listen ADDR:PORT DTLS endpoint, coaps:// (default off; needs dtls.*\n"
          "                           credentials, see docs/configuration.md)\n"
          "  --device NAME=URI        add a device, coap[s]://HOST[:PORT][/PATH] or\n"
          "                           coap[s]+tcp://HOST[:PORT][/PATH] (repeatable)\n"
          "  --allow-target PATTERN   also allow this CIDR range or host name as a CoAP\n"
          "                           target (repeatable; loopback, link-local, private\n"
          "                           ranges and configured devices are always allowed)\n"
          "  --allow-origin PATTERN   let CoAP clients reach this HTTP origin through the\n"
          "                           gateway (http://HOST:PORT, an address or a CIDR range;\n"
          "                           repeatable; none by default)\n"
          "  --coap-nstart N          CoAP requests in flight per device (default 1, RFC 7252\n"
          "                           §4.7); raise it only for devices that can take it\n"
          "  --http-conn-memory BYTES libmicrohttpd's memory pool per connection (default\n"
          "                           16384; 4096 is the least that is safe and keeps 10,000\n"
          "                           idle event streams small)\n"
          "  --log-level LEVEL        debug, info (default), warn or error\n"
          "  --log-format FORMAT      text (default) or json (one JSON object per line)\n"
          "  --shutdown-grace-ms MS   in-flight requests may finish within (default 1000)\n"
          "  --set KEY=VALUE          any configuration key, e.g. --set proxy.timeout_ms=500\n"
          "  --list-keys              print every configuration key, one a line, and exit\n"
          "  --healthcheck URL        GET URL and exit: 0 on 2xx, 1 otherwise (for Docker's\n"
          "                           HEALTHCHECK; nothing else runs)\n"
          "  -h, --help, --version\n",
          f);
}

/* Flags that set one configuration key. */
static const struct {
    const char *flag, *key;
    int mode;
} key_flags[] = {
    {"--http-listen", "http.listen", CFG_REPLACE},
    {"--https-listen", "http.listen_tls", CFG_REPLACE},
    {"--coap-listen", "coap.listen", CFG_REPLACE},
    {"--coaps-listen", "coap.listen_dtls", CFG_REPLACE},
    {"--device", "devices", CFG_APPEND},
    {"--allow-target", "proxy.allow_targets", CFG_APPEND},
    {"--allow-origin", "proxy.allow_origins", CFG_APPEND},
    {"--coap-nstart", "coap.nstart", CFG_REPLACE},
    {"--http-conn-memory", "http.conn_memory", CFG_REPLACE},
    {"--log-level", "log.level", CFG_REPLACE},
    {"--log-format", "log.format", CFG_REPLACE},
    {"--shutdown-grace-ms", "shutdown.grace_ms", CFG_REPLACE},
};

/* Whether the device list value (NAME=URI,...) names a device name[0..len). */
static int lists_device(const char *value, const char *name, size_t len)
{
    for (const char *v = value; *v;) {
        v += strspn(v, " \t,");
        size_t n = strcspn(v, "=,");
        if (n == len && !strncmp(v, name, len)) return 1;
        v += strcspn(v, ",");
    }
    return 0;
}

/* --device x=... --device x=...: a mistake, not an override. Returns the
 * length of the repeated name (its start in *name), or 0. */
static size_t repeated_device(const gw_sources_t *src, const char *value, const char **name)
{
    for (const char *v = value; *v;) {
        v += strspn(v, " \t,");
        size_t n = strcspn(v, "=,");
        while (n && (v[n - 1] == ' ' || v[n - 1] == '\t')) n--;
        for (size_t i = 0; n && i < src->nset; i++)
            if (src->set[i].mode == CFG_APPEND && !strcmp(src->set[i].key, "devices") &&
                lists_device(src->set[i].value, v, n)) {
                *name = v;
                return n;
            }
        v += strcspn(v, ",");
    }
    return 0;
}

/* Records a setting, checked at once against a scratch configuration so
 * that a bad value stops here (exit 2), before --version or --help. */
static int add_setting(gw_sources_t *src, cfg_t *scratch, const char *flag, const char *key,
                       const char *value, int mode)
{
    char err[600];
    if (src->nset >= GW_SETTINGS_MAX) {
        fprintf(stderr, "coapgw: more than %d settings on the command line\n", GW_SETTINGS_MAX);
        return -1;
    }
    const char *name;
    size_t n =
        mode == CFG_APPEND && !strcmp(key, "devices") ? repeated_device(src, value, &name) : 0;
    if (n) {
        fprintf(stderr, "coapgw: %s %s: a device named \"%.*s\" was given by an earlier %s\n", flag,
                value, (int)(n > 64 ? 64 : n), name, flag);
        return -1;
    }
    if (cfg_set(scratch, key, value, mode, flag, err, sizeof err)) {
        fprintf(stderr, "coapgw: %s\n", err);
        return -1;
    }
    src->set[src->nset++] = (gw_setting_t){flag, key, value, mode};
    return 0;
}

/* "KEY=VALUE" of --set; messages name "--set KEY", kept in src. */
static int add_set_flag(gw_sources_t *src, cfg_t *scratch, const char *kv)
{
    enum { FLAG_LEN = sizeof "--set " - 1, CAP = sizeof src->set_labels[0] };
    size_t kl = strcspn(kv, "=");
    if (!kv[kl] || kl == 0 || kl >= CAP - FLAG_LEN) {
        fprintf(stderr, "coapgw: --set %s: expected KEY=VALUE (see docs/configuration.md)\n", kv);
        return -1;
    }
    char *label = src->set_labels[src->nset < GW_SETTINGS_MAX ? src->nset : 0];
    snprintf(label, CAP, "--set %.*s", (int)kl, kv);
    return add_setting(src, scratch, label, label + FLAG_LEN, kv + kl + 1, CFG_REPLACE);
}

static int parse_value_flag(gw_sources_t *src, cfg_t *scratch, const char *o, const char *v,
                            const char **check)
{
    if (!strcmp(o, "--config")) {
        src->file = v;
        return 0;
    }
    if (!strcmp(o, "--check-config")) {
        *check = src->file = v;
        return 0;
    }
    if (!strcmp(o, "--set")) return add_set_flag(src, scratch, v);
    for (size_t k = 0; k < sizeof key_flags / sizeof key_flags[0]; k++)
        if (!strcmp(o, key_flags[k].flag))
            return add_setting(src, scratch, o, key_flags[k].key, v, key_flags[k].mode);
    fprintf(stderr, "coapgw: %s %s: unknown option (see --help)\n", o, v);
    return -1;
}

int gw_cli_parse(int argc, char **argv, gw_sources_t *src, const char **check)
{
    memset(src, 0, sizeof *src);
    *check = NULL;
    src->file = getenv("COAPGW_CONFIG"); /* --config wins */
    if (src->file && !*src->file) src->file = NULL;
    cfg_t scratch;
    cfg_defaults(&scratch);
    int rc = 0;
    for (int i = 1; i < argc && !rc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
            usage(stdout);
            exit(0);
        }
        if (!strcmp(o, "--version")) {
            puts("coapgw " GW_VERSION);
            exit(0);
        }
        if (!strcmp(o, "--list-keys")) { /* the key table, for scripts and tests */
            for (size_t k = 0; k < cfg_key_count(); k++) puts(cfg_key_name(k));
            exit(0);
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "coapgw: %s: unknown option or missing value (see --help)\n", o);
            rc = -1;
        } else {
            rc = parse_value_flag(src, &scratch, o, argv[++i], check);
        }
    }
    cfg_free(&scratch);
    return rc;
}

/* --check-config FILE: the whole configuration as the gateway would build
 * it, without starting anything. */
int gw_cli_check_config(const char *file, const gw_sources_t *src)
{
    char err[1024];
    cfg_t c;
    http_tls_creds_t *tls;
    dtls_creds_t *creds = NULL;
    gw_ids_t *ids = NULL;
    if (gw_config_build(&c, src, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    int bad =
        gw_https_load(&c, &tls, err, sizeof err) || gw_dtls_load(&c, &creds, &ids, err, sizeof err);
    gw_creds_t *coaps = bad ? NULL : gw_creds_load(&c, err, sizeof err);
    bad = bad || !coaps;
    gw_creds_free(coaps);
    cfg_free(&c);
    http_tls_creds_release(tls);
    dtls_creds_unref(creds);
    gw_ids_free(ids);
    if (bad) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    printf("%s: ok\n", file);
    return 0;
}

/* `coapgw --healthcheck URL`: a process of its own, so blocking is fine;
 * it reads no configuration, so a broken one cannot make it fail. */
int gw_cli_healthcheck(int argc, char **argv)
{
    const char *url = NULL;
    for (int i = 1; i + 1 < argc && !url; i++)
        if (!strcmp(argv[i], "--healthcheck")) url = argv[i + 1];
    if (!url) return -1;
    char msg[512];
    int status = http_healthcheck(url, 3000, msg, sizeof msg);
    int ok = status >= 200 && status < 300;
    printf("%s: %s\n", ok ? "healthy" : "unhealthy", msg);
    return ok ? 0 : 1;
}
