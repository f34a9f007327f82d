/*
 * libFuzzer target for the HTTP -> CoAP mapping (RFC 8075): the input's
 * lines are an HTTP request's parts,
 *
 *   URL (/hc/coap://..., /hc/coap%3A%2F%2F..., /devices/NAME/PATH?Q, or a
 *        bare coap[s]:// URI), Content-Type, Accept, If-Match / ETag,
 *        Cache-Control, method
 *
 * each given to the gateway's own code: gw_target_hc_uri() and
 * gw_target_parse() (URL forms, devices, allowlist, canonical URI), then
 * the canonical URI to CoAP options (coap_uri_parse, coap_uri_to_options,
 * serialized) and back (coap_uri_compose), which must give the same URI;
 * and the header mappings of gateway/map.c.
 */
#include "coap_uri.h"
#include "gw.h"
#include "gw_coaps.h"
#include "gw_map.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* target.c's one call into a file that would bring the whole gateway
 * along (coaps.c: the DTLS listener, the API): the text a coaps://
 * target without credentials gets. */
int gw_dtls_explain(const char *uri, int err, char *out, size_t cap)
{
    snprintf(out, cap, "no credentials for %s (%d)", uri, err);
    return 1;
}

/* ... and into router.c, for a host name being resolved: this gateway
 * has no resolver (gw->dns NULL), so no name ever waits. */
void gw_route_after_dns(gw_t *gw, http_req_t *req, const char *name)
{
    (void)gw;
    (void)name;
    http_respond_text(req, 502, "no resolver");
}

/* One gateway for every input: the target code only reads it. Devices
 * "demo" (the default), one with a base path and one on IPv6. */
static gw_t *gateway(void)
{
    static gw_t gw;
    static int ready;
    if (ready) return &gw;
    cfg_defaults(&gw.cfg);
    cfg_set(&gw.cfg, "devices",
            "demo=coap://127.0.0.1:5783,lamp=coap://10.0.0.9/sensors,"
            "six=coap://[::1]:5790/a/b",
            CFG_REPLACE, "fuzz", NULL, 0);
    gw.loop = base_loop_new();
    gw.acl = gw_acl_new();
    gw_acl_add_defaults(gw.acl);
    char err[256];
    if (gw_devices_load(&gw, err, sizeof err)) abort();
    gw_log_set_level(CFG_LOG_ERROR);
    ready = 1;
    return &gw;
}

/* The next line of the input (NUL-terminated in place), or "". */
static char *next_line(char **p)
{
    char *s = *p, *nl = strchr(s, '\n');
    if (nl) {
        *nl = '\0';
        *p = nl + 1;
    } else {
        *p = s + strlen(s);
    }
    return s;
}

/* The canonical URI to options and back: the same text (RFC 7252 §6.4,
 * §6.5), as the client role sends it. */
static void round_trip(const gw_target_t *t)
{
    static coap_parsed_uri_t u;
    /* what target.c composed parses, coap+tcp:// included */
    if (coap_uri_parse_ex(&u, t->uri, COAP_URI_TCP)) abort();
    coap_msg_t m;
    coap_msg_init(&m, COAP_CON, COAP_GET, 1);
    if (coap_uri_to_options(&u, &m, COAP_URI_OPT_HOST | COAP_URI_OPT_PORT)) return;
    uint8_t buf[4096];
    if (coap_msg_serialize(&m, buf, sizeof buf) < 0) return;
    char again[GW_URI_MAX];
    if (coap_uri_compose(&m, coap_uri_scheme(&u), u.host, u.port, again, sizeof again) < 0) abort();
    if (strcmp(again, t->uri)) abort();
}

static void target(gw_t *gw, const char *url)
{
    char raw[GW_URI_MAX], msg[GW_MSG_MAX];
    gw_target_t t;
    const char *q = strchr(url, '?');
    if (!strncmp(url, "/hc/", 4) && url[4] && url + 4 != q) {
        char rest[GW_URI_MAX];
        size_t n = q ? (size_t)(q - url - 4) : strlen(url + 4);
        if (n >= sizeof rest) return;
        memcpy(rest, url + 4, n);
        rest[n] = '\0';
        if (gw_target_hc_uri(rest, q ? q + 1 : "", raw, sizeof raw)) return;
        url = raw;
    }
    msg[0] = '\0';
    int status = gw_target_parse(gw, url, &t, msg, sizeof msg);
    if (status && !msg[0]) abort(); /* every refusal says why */
    if (!status) round_trip(&t);
}

static void headers(char **p)
{
    const char *ct = next_line(p);
    gw_map_content_type(ct);
    gw_map_content_type_exact(ct);
    gw_map_accept(next_line(p));
    uint8_t etag[8];
    char back[32];
    int n = gw_etag_parse(next_line(p), etag);
    if (n > 8) abort();
    if (n > 0) {
        gw_etag_format(etag, (size_t)n, back, sizeof back);
        uint8_t again[8];
        if (gw_etag_parse(back, again) != n || memcmp(again, etag, (size_t)n)) abort();
    }
    gw_parse_max_age(next_line(p));
    const char *method = next_line(p);
    int code = gw_map_method(method, 1);
    if (code > 0 && code < 32 && !gw_map_method_to_http((uint8_t)code)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gw_t *gw = gateway();
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *p = text;
    target(gw, next_line(&p));
    headers(&p);
    free(text);
    return 0;
}
