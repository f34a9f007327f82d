/*
 * rd_lookup.c - the Resource Directory's lookup without I/O (RFC 9176 §6):
 * filters, paging and link resolution over a snapshot of the
 * registrations (gw_rdlookup.h).
 *
 * A filter names an endpoint attribute (ep, base, lt; d and et are not
 * kept, so they match nothing) or a link attribute (href, rt, if, ct, any
 * other). An endpoint lookup returns the endpoints whose attributes match
 * and, for link attributes, that have a link that matches; a resource
 * lookup the links that match, of endpoints that match. Several filters
 * must all match (§6.1).
 */
#include "gw_rdlookup.h"

#include "coap_link.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rd_query_init(rd_query_t *q)
{
    memset(q, 0, sizeof *q);
    q->count = -1;
}

/* A decimal number of at most 9 digits, or -1. */
static long small_number(const char *v, size_t len)
{
    if (!v || len == 0 || len > 9) return -1;
    long n = 0;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9') return -1;
        n = n * 10 + (v[i] - '0');
    }
    return n;
}

const char *rd_query_add(rd_query_t *q, const char *name, size_t nlen, const char *value,
                         size_t vlen)
{
    /* RFC 9176 §6.2: page (from 0) and count (results per page) */
    if (nlen == 4 && !memcmp(name, "page", 4)) {
        if ((q->page = small_number(value, vlen)) < 0) return "page: a number from 0";
        return NULL;
    }
    if (nlen == 5 && !memcmp(name, "count", 5)) {
        if ((q->count = small_number(value, vlen)) < 0) return "count: a number from 0";
        return NULL;
    }
    if (nlen == 0 || nlen >= sizeof q->f[0].name) return "a filter needs a name (of < 32 bytes)";
    if (value && vlen >= sizeof q->f[0].value) return "a filter value is 255 bytes at most";
    if (q->n == RD_LOOKUP_FILTERS) return "16 filters at most";
    rd_filter_t *f = &q->f[q->n++];
    memcpy(f->name, name, nlen);
    f->name[nlen] = '\0';
    f->has_value = value != NULL;
    if (value) memcpy(f->value, value, vlen);
    f->value[value ? vlen : 0] = '\0';
    return NULL;
}

const char *rd_query_parse(rd_query_t *q, const char *s)
{
    while (*s) {
        size_t len = strcspn(s, "&");
        const char *eq = memchr(s, '=', len);
        const char *bad =
            eq ? rd_query_add(q, s, (size_t)(eq - s), eq + 1, len - (size_t)(eq - s) - 1)
               : rd_query_add(q, s, len, NULL, 0);
        if (bad) return bad;
        s += len;
        if (*s == '&') s++;
    }
    return NULL;
}

/* One value against a pattern: equal, or a prefix when the pattern ends
 * in '*' (§6.1). */
static int value_match(const char *pat, const char *v, size_t vlen)
{
    size_t plen = strlen(pat);
    if (plen && pat[plen - 1] == '*') return vlen >= plen - 1 && !memcmp(v, pat, plen - 1);
    return vlen == plen && !memcmp(v, pat, plen);
}

/* The whole value, or one of its space-separated words (RFC 6690 §3.1:
 * rt and if are lists). */
static int attr_match(const char *pat, const char *v, size_t vlen)
{
    if (value_match(pat, v, vlen)) return 1;
    for (size_t i = 0; i < vlen;) {
        size_t w = i;
        while (w < vlen && v[w] != ' ') w++;
        if (w > i && w - i < vlen && value_match(pat, v + i, w - i)) return 1;
        i = w + 1;
    }
    return 0;
}

static int is_ep_attr(const char *name)
{
    static const char *const names[] = {"ep", "base", "lt", "d", "et"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(name, names[i])) return 1;
    return 0;
}

/* An endpoint attribute filter (is_ep_attr) against the endpoint. */
static int ep_match(const rd_filter_t *f, const rd_lookup_ep_t *e)
{
    char lt[16];
    const char *v = NULL;
    if (!strcmp(f->name, "ep"))
        v = e->name;
    else if (!strcmp(f->name, "base"))
        v = e->base;
    else if (!strcmp(f->name, "lt"))
        snprintf(lt, sizeof lt, "%u", e->lt), v = lt;
    if (!v) return 0; /* d, et: not kept */
    return !f->has_value || value_match(f->value, v, strlen(v));
}

/* A link attribute filter against one link (uri: its resolved target). */
static int link_match(const rd_filter_t *f, const coap_link_t *l, const char *uri)
{
    if (!strcmp(f->name, "href"))
        return !f->has_value || value_match(f->value, uri, strlen(uri)) ||
               value_match(f->value, l->uri, l->uri_len);
    coap_link_param_t p;
    if (!coap_link_param_find(l, f->name, &p)) return 0;
    if (!f->has_value) return 1;
    if (!p.value) return 0;
    char v[512];
    size_t n = coap_link_unescape(p.value, p.value_len, v, sizeof v);
    return n < sizeof v && attr_match(f->value, v, n);
}

/* Every link attribute filter of q against one link. */
static int link_matches_all(const rd_query_t *q, const coap_link_t *l, const char *uri)
{
    for (size_t i = 0; i < q->n; i++)
        if (!is_ep_attr(q->f[i].name) && !link_match(&q->f[i], l, uri)) return 0;
    return 1;
}

static int ep_matches_all(const rd_query_t *q, const rd_lookup_ep_t *e, int *link_filters)
{
    *link_filters = 0;
    for (size_t i = 0; i < q->n; i++) {
        if (!is_ep_attr(q->f[i].name))
            *link_filters = 1;
        else if (!ep_match(&q->f[i], e))
            return 0;
    }
    return 1;
}

size_t rd_resolve(const char *base, const char *ref, size_t rlen, char *out, size_t cap)
{
    size_t s = 0;
    while (s < rlen && ref[s] != ':' && ref[s] != '/' && ref[s] != '?' && ref[s] != '#') s++;
    if (s < rlen && ref[s] == ':' && s > 0) /* an absolute URI */
        return (size_t)snprintf(out, cap, "%.*s", (int)rlen, ref);
    const char *auth = strstr(base, "://");
    size_t scheme_len = auth ? (size_t)(auth - base) + 1 : 0; /* "coap:" */
    const char *path = auth ? strchr(auth + 3, '/') : NULL;
    size_t auth_end = path ? (size_t)(path - base) : strlen(base);
    if (rlen >= 2 && ref[0] == '/' && ref[1] == '/')
        return (size_t)snprintf(out, cap, "%.*s%.*s", (int)scheme_len, base, (int)rlen, ref);
    if (rlen >= 1 && ref[0] == '/')
        return (size_t)snprintf(out, cap, "%.*s%.*s", (int)auth_end, base, (int)rlen, ref);
    /* §5.2.3: merged with the base's path up to its last '/' */
    size_t dir = auth_end;
    if (path) dir = (size_t)(strrchr(base, '/') - base);
    return (size_t)snprintf(out, cap, "%.*s/%.*s", (int)dir, base, (int)rlen, ref);
}

/* The params of a resource lookup's link: as registered, with the anchor
 * resolved against the base, or the base as the anchor (§6.3: the link's
 * context is the endpoint). */
static int result_params(const coap_link_t *l, const char *base, base_buf_t *b)
{
    size_t pos = 0;
    coap_link_param_t p;
    int anchored = 0, rc = 0;
    char uri[600];
    while (!rc && coap_link_param_next(l, &pos, &p)) {
        if (p.name_len == 6 && !strncmp(p.name, "anchor", 6) && p.value) {
            anchored = 1;
            rd_resolve(base, p.value, p.value_len, uri, sizeof uri);
            rc = base_buf_printf(b, ";anchor=\"%s\"", uri);
        } else if (!p.value) {
            rc = base_buf_printf(b, ";%.*s", (int)p.name_len, p.name);
        } else {
            const char *q = p.quoted ? "\"" : "";
            rc = base_buf_printf(b, ";%.*s=%s%.*s%s", (int)p.name_len, p.name, q, (int)p.value_len,
                                 p.value, q);
        }
    }
    if (!rc && !anchored) rc = base_buf_printf(b, ";anchor=\"%s\"", base);
    return rc;
}

typedef struct {
    rd_lookup_kind_t kind;
    const rd_query_t *q;
    rd_result_fn fn;
    void *arg;
    size_t matches;
    base_buf_t params;
} run_t;

/* A match: passed on when it is on the page asked for (§6.2). */
static void emit(run_t *run, rd_result_t *r)
{
    size_t i = run->matches++;
    const rd_query_t *q = run->q;
    if (q->count < 0 ||
        (i >= (size_t)(q->page * q->count) && i < (size_t)((q->page + 1) * q->count)))
        run->fn(r, run->arg);
}

/* The endpoint's links that match; for an endpoint lookup, whether any does. */
static int walk_links(run_t *run, const rd_lookup_ep_t *e)
{
    coap_link_iter_t it;
    coap_link_t l;
    char uri[600];
    coap_link_iter_init(&it, e->links ? e->links : "", e->links_len);
    while (coap_link_next(&it, &l) == 1) {
        rd_resolve(e->base, l.uri, l.uri_len, uri, sizeof uri);
        if (!link_matches_all(run->q, &l, uri)) continue;
        if (run->kind == RD_LOOKUP_EP) return 1;
        base_buf_reset(&run->params);
        if (result_params(&l, e->base, &run->params)) continue; /* no memory: left out */
        rd_result_t r = {e, uri, (const char *)run->params.data, run->params.len};
        emit(run, &r);
    }
    return 0;
}

size_t rd_lookup_run(rd_lookup_kind_t kind, const rd_query_t *q, const rd_lookup_ep_t *eps,
                     size_t n, rd_result_fn fn, void *arg)
{
    run_t run = {.kind = kind, .q = q, .fn = fn, .arg = arg};
    for (size_t i = 0; i < n; i++) {
        int link_filters;
        if (!ep_matches_all(q, &eps[i], &link_filters)) continue;
        if (kind == RD_LOOKUP_RES) {
            walk_links(&run, &eps[i]);
            continue;
        }
        if (link_filters && !walk_links(&run, &eps[i])) continue;
        rd_result_t r = {&eps[i], NULL, NULL, 0};
        emit(&run, &r);
    }
    base_buf_free(&run.params);
    return run.matches;
}

typedef struct {
    base_buf_t *out;
    int rc;
} links_ctx_t;

static void add_link(const rd_result_t *r, void *arg)
{
    links_ctx_t *c = arg;
    const char *sep = c->out->len ? "," : "";
    if (c->rc) return;
    if (r->uri)
        c->rc = base_buf_printf(c->out, "%s<%s>%.*s", sep, r->uri, (int)r->params_len, r->params);
    else
        c->rc = base_buf_printf(c->out, "%s</rd/%s>;ep=\"%s\";base=\"%s\";lt=%u", sep, r->ep->id,
                                r->ep->name, r->ep->base, r->ep->lt);
}

int rd_lookup_links(rd_lookup_kind_t kind, const rd_query_t *q, const rd_lookup_ep_t *eps, size_t n,
                    base_buf_t *out)
{
    links_ctx_t c = {out, 0};
    rd_lookup_run(kind, q, eps, n, add_link, &c);
    return c.rc;
}
