/*
 * wellknown.c - /.well-known/core (RFC 6690 §4): the link-format listing of
 * the registered resources, with query filtering (§4.1).
 */
#include "coap_cf.h"
#include "server_internal.h"
#include "base_buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* §4.1: a value ending in '*' matches any value with that prefix. */
static int value_matches(const char *want, size_t wl, const char *have, size_t hl)
{
    if (wl && want[wl - 1] == '*') return hl >= wl - 1 && !memcmp(want, have, wl - 1);
    return wl == hl && !memcmp(want, have, wl);
}

/* rt and if hold space-separated values (§3.1, §3.2): any one may match. */
static int list_matches(const char *want, size_t wl, const char *list)
{
    if (!list) return 0;
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, " ");
        if (n && value_matches(want, wl, p, n)) return 1;
        p += n;
        while (*p == ' ') p++;
    }
    return 0;
}

/* Does the resource pass the "name=value" filter? Unknown names match
 * nothing, which is what a server that does not know an attribute does. */
static int passes(const coap_server_resource_t *r, const coap_uri_part_t *q)
{
    const char *eq = memchr(q->s, '=', q->len);
    if (!eq) return 1;
    size_t nl = (size_t)(eq - q->s), wl = q->len - nl - 1;
    const char *want = eq + 1;
    char num[24];
    if (nl == 4 && !memcmp(q->s, "href", 4)) return value_matches(want, wl, r->path, r->path_len);
    if (nl == 2 && !memcmp(q->s, "rt", 2)) return list_matches(want, wl, r->rt);
    if (nl == 2 && !memcmp(q->s, "if", 2)) return list_matches(want, wl, r->if_);
    if (nl == 5 && !memcmp(q->s, "title", 5))
        return r->title && value_matches(want, wl, r->title, strlen(r->title));
    if (nl == 2 && !memcmp(q->s, "ct", 2) && r->ct >= 0) {
        snprintf(num, sizeof num, "%d", r->ct);
        return value_matches(want, wl, num, strlen(num));
    }
    if (nl == 3 && !memcmp(q->s, "obs", 3)) return (r->flags & COAP_RES_OBSERVABLE) != 0;
    return 0;
}

/* The document grows in a base_buf_t; the first failure to grow sticks,
 * so the writers below need not check each step. */
typedef struct {
    base_buf_t buf;
    int failed;
} doc_t;

/* Values of any length: no intermediate fixed-size buffer. */
static void put(doc_t *b, const char *s, size_t n)
{
    if (!b->failed && base_buf_append(&b->buf, s, n)) b->failed = 1;
}

static void put_str(doc_t *b, const char *s)
{
    put(b, s, strlen(s));
}

/* ;name="value" as a quoted-string (RFC 6690 §2, RFC 2616 §2.2): '"' and
 * '\' are escaped. */
static void put_quoted(doc_t *b, const char *name, const char *v)
{
    put_str(b, name);
    put(b, "\"", 1);
    for (const char *p = v; *p; p++) {
        if (*p == '"' || *p == '\\') put(b, "\\", 1);
        put(b, p, 1);
    }
    put(b, "\"", 1);
}

static void put_num(doc_t *b, const char *name, long v)
{
    char num[24];
    int n = snprintf(num, sizeof num, "%ld", v);
    put_str(b, name);
    put(b, num, (size_t)n);
}

static void link_of(doc_t *b, const coap_server_resource_t *r)
{
    if (b->buf.len) put(b, ",", 1);
    put(b, "<", 1);
    put(b, r->path, r->path_len);
    put(b, ">", 1);
    if (r->rt) put_quoted(b, ";rt=", r->rt);
    if (r->if_) put_quoted(b, ";if=", r->if_);
    if (r->ct >= 0) put_num(b, ";ct=", r->ct);
    if (r->sz >= 0) put_num(b, ";sz=", r->sz);
    if (r->flags & COAP_RES_OBSERVABLE) put_str(b, ";obs"); /* RFC 7641 §6 */
    if (r->title) put_quoted(b, ";title=", r->title);
}

void coap_wellknown_handler_(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    (void)arg;
    doc_t b = {{0}, 0};
    for (const coap_server_resource_t *r = srv->resources; r; r = r->next) {
        /* RFC 8615: well-known URIs (/.well-known/rd, RFC 9176 §5.1) are
         * found by their names, like this one */
        if (r == srv->wellknown || !strncmp(r->path, "/.well-known/", 13)) continue;
        int ok = 1;
        for (size_t i = 0; ok && i < req->nquery; i++) ok = passes(r, &req->query[i]);
        if (ok) link_of(&b, r);
    }
    if (b.failed) {
        base_buf_free(&b.buf);
        coap_server_error_(srv, req->id, COAP_INTERNAL_SERVER_ERROR, "out of memory");
        return;
    }
    coap_server_response_t resp = COAP_RESPONSE(COAP_CONTENT);
    resp.content_format = COAP_CF_LINK_FORMAT;
    resp.payload = b.buf.data;
    resp.payload_len = b.buf.len;
    /* §4.1: a filter that matches nothing yields 4.04 on multicast; on
     * unicast an empty 2.05 is the common answer and what libcoap sends. */
    coap_server_respond(srv, req->id, &resp);
    base_buf_free(&b.buf);
}
