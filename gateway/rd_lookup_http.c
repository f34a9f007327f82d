/*
 * rd_lookup_http.c - the Resource Directory's lookup (RFC 9176 §6) over
 * HTTP: GET /api/rd-lookup/ep and /api/rd-lookup/res with the filters and
 * paging of the CoAP interface as query arguments, answered as JSON
 * (docs/api.md). Behind the /api/ token rules like /api/devices, which
 * shows the same addresses.
 */
#include "rd_internal.h"

#include "coap_link.h"
#include "gw_api.h"
#include "gw_rdlookup.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- HTTP: GET /api/rd-lookup/ep|res?FILTERS as JSON --- */

/* The query string's arguments, percent-decoded, into q. */
static const char *http_query(const char *s, rd_query_t *q)
{
    char name[64], value[512];
    while (*s) {
        size_t len = strcspn(s, "&");
        const char *eq = memchr(s, '=', len);
        size_t nlen = eq ? (size_t)(eq - s) : len;
        int n = coap_pct_decode(s, nlen, name, sizeof name);
        int v = eq ? coap_pct_decode(eq + 1, len - nlen - 1, value, sizeof value) : 0;
        if (n < 0 || v < 0) return "a query argument is too long or badly percent-encoded";
        const char *bad = rd_query_add(q, name, (size_t)n, eq ? value : NULL, (size_t)v);
        if (bad) return bad;
        s += len + (s[len] == '&');
    }
    return NULL;
}

/* A resource result's attributes: name -> value (unescaped), or true. */
static json_t *link_attrs(const rd_result_t *r)
{
    json_t *o = json_object();
    char *text = malloc(r->params_len + 3);
    if (!o || !text) {
        free(text);
        return o;
    }
    memcpy(text, "<>", 2);
    memcpy(text + 2, r->params, r->params_len);
    coap_link_iter_t it;
    coap_link_t l;
    coap_link_param_t p;
    coap_link_iter_init(&it, text, r->params_len + 2);
    if (coap_link_next(&it, &l) != 1) l.params_len = 0;
    for (size_t pos = 0; coap_link_param_next(&l, &pos, &p);) {
        char name[64], v[600] = "";
        snprintf(name, sizeof name, "%.*s", (int)p.name_len, p.name);
        if (json_object_get(o, name)) continue; /* the first of repeated ones */
        if (p.value) coap_link_unescape(p.value, p.value_len, v, sizeof v);
        json_object_set_new(o, name, p.value ? json_string(v) : json_true());
    }
    free(text);
    return o;
}

static void add_json(const rd_result_t *r, void *arg)
{
    json_t *e = json_object();
    char href[40];
    snprintf(href, sizeof href, "/rd/%s", r->ep->id);
    json_object_set_new(e, "href", json_string(r->uri ? r->uri : href));
    json_object_set_new(e, "ep", json_string(r->ep->name));
    if (r->uri) {
        json_object_set_new(e, "attributes", link_attrs(r));
    } else {
        json_object_set_new(e, "base", json_string(r->ep->base));
        json_object_set_new(e, "lt", json_integer(r->ep->lt));
    }
    json_array_append_new(arg, e);
}

void gw_rd_lookup_http(gw_t *gw, http_req_t *req, const char *which)
{
    rd_lookup_kind_t kind = !strcmp(which, "ep") ? RD_LOOKUP_EP : RD_LOOKUP_RES;
    if (!gw->rd) {
        gw_api_error(req, 404, "the Resource Directory is off (rd.enabled)");
        return;
    }
    if (strcmp(which, "ep") && strcmp(which, "res")) {
        gw_api_error(req, 404, "no such API resource: /api/rd-lookup/%s (ep or res)", which);
        return;
    }
    rd_query_t q;
    rd_query_init(&q);
    const char *bad = http_query(http_req_query(req), &q);
    if (bad) {
        gw_api_error(req, 400, "%s", bad);
        return;
    }
    rd_lookup_ep_t *eps;
    size_t n = rd_lookup_snapshot(gw->rd, &eps);
    json_t *results = json_array();
    size_t total = rd_lookup_run(kind, &q, eps, n, add_json, results);
    free(eps);
    json_t *body = json_pack("{s:I,s:o}", "total", (json_int_t)total, "results", results);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) {
        gw_api_error(req, 500, "out of memory");
        return;
    }
    http_respond(req, 200, "application/json", text, strlen(text));
    free(text);
}
