/*
 * convert.c - where the proxy turns CBOR and SenML CBOR into JSON and back
 * (gw_cbor.h does the conversion itself): the Accept decision for answers,
 * the coap-ct query parameter and the advertised formats for bodies.
 */
#include "coap_cf.h"
#include "gw_api.h"
#include "gw_cbor.h"
#include "gw_convert.h"
#include "gw_map.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void respond_failure(http_req_t *req, gw_cbor_rc_t rc, const char *from, const char *why)
{
    if (rc == GW_CBOR_NOMEM) {
        http_respond_text(req, 503, "out of memory");
    } else if (rc == GW_CBOR_MALFORMED) {
        /* the device's fault, as a malformed CoAP message would be */
        http_respond_text(req, 502, "the device's %s payload is malformed: %s", from, why);
    } else {
        /* RFC 9110 §15.5.7: nothing the client accepts can be made */
        http_respond_text(req, 406,
                          "the device's %s payload has no JSON form (%s); accept %s to get it "
                          "as it is",
                          from, why, from);
    }
}

int gw_convert_applies(int cf, size_t len)
{
    return len && (cf == COAP_CF_CBOR || cf == COAP_CF_SENML_CBOR);
}

int gw_convert_answer(http_req_t *req, unsigned status, int cf, const uint8_t *body, size_t len)
{
    int senml = cf == COAP_CF_SENML_CBOR;
    if (!gw_convert_applies(cf, len)) return 0;
    /* RFC 9110 §12.5.5: what is sent depends on Accept */
    http_req_add_header(req, "Vary", "Accept");
    const char *accept = http_req_header(req, "Accept");
    const char *from = senml ? "application/senml+cbor" : "application/cbor";
    const char *to = senml ? "application/senml+json" : "application/json";
    if (gw_map_accept_q(accept, from) > 0 || gw_map_accept_q(accept, to) == 0) return 0;
    char why[160], *text;
    size_t n;
    gw_cbor_rc_t rc = gw_cbor_to_json_text(body, len, senml, &text, &n, why, sizeof why);
    if (rc) {
        respond_failure(req, rc, from, why);
        return 1;
    }
    http_req_add_header(req, GW_CONVERTED_HEADER, from);
    http_respond(req, status, to, text, n);
    free(text);
    return 1;
}

int gw_convert_take_ct(char *uri)
{
    char *q = strchr(uri, '?');
    if (!q) return -1;
    int found = -1;
    for (char *p = q + 1; *p;) {
        size_t n = strcspn(p, "&");
        if (n > 8 && !strncmp(p, "coap-ct=", 8)) {
            int v = atoi(p + 8);
            int ok = (n == 10 && v == COAP_CF_CBOR) || (n == 11 && v == COAP_CF_SENML_CBOR);
            found = ok ? v : -2;
            memmove(p, p + n + (p[n] == '&'), strlen(p + n + (p[n] == '&')) + 1);
            continue;
        }
        p += n + (p[n] == '&');
    }
    size_t l = strlen(uri); /* no empty query, nor a trailing '&', left behind */
    while (found != -1 && l && (uri[l - 1] == '&' || uri[l - 1] == '?')) uri[--l] = '\0';
    return found;
}

/* The path of a coap:// URI, without its query: "/a/b". */
static size_t uri_path(const char *uri, const char **path)
{
    const char *p = strstr(uri, "://");
    p = p ? strchr(p + 3, '/') : NULL;
    *path = p ? p : "/";
    return p ? strcspn(p, "?") : 1;
}

/* The one Content-Format a link advertises, or -1 (none, or several). */
static int only_ct(const json_t *link)
{
    const json_t *ct = json_object_get(link, "ct");
    if (json_array_size(ct) != 1) return -1;
    const json_t *f = json_object_get(json_array_get(ct, 0), "format");
    return json_is_integer(f) ? (int)json_integer_value(f) : -1;
}

int gw_convert_target_ct(const gw_target_t *t, int want)
{
    if (want >= 0) return want;
    json_t *links = t->device ? gw_api_known_links(t->device) : NULL;
    const char *path;
    size_t plen = uri_path(t->uri, &path);
    int cf = -1;
    size_t i;
    json_t *link;
    json_array_foreach(links, i, link)
    {
        const char *href = json_string_value(json_object_get(link, "href"));
        if (href && strlen(href) == plen && !strncmp(href, path, plen)) {
            cf = only_ct(link);
            break;
        }
    }
    json_decref(links);
    return cf == COAP_CF_CBOR || cf == COAP_CF_SENML_CBOR ? cf : -1;
}
