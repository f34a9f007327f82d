/*
 * request.c - what a handler reads of its request (method, path, query
 * arguments, headers, body) and how it answers. See http_server.h.
 */
#include "http_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hexv(int c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Query arguments as form values: '+' is a space, %XX a byte. */
static void form_decode(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (; *in && n + 1 < cap; in++) {
        if (*in == '%' && hexv(in[1]) >= 0 && hexv(in[2]) >= 0) {
            out[n++] = (char)(hexv(in[1]) << 4 | hexv(in[2]));
            in += 2;
        } else {
            out[n++] = *in == '+' ? ' ' : *in;
        }
    }
    out[n] = '\0';
}

/* --- requests --- */

const char *http_req_method(const http_req_t *r)
{
    return r->method;
}
const char *http_req_path(const http_req_t *r)
{
    return r->path;
}
const char *http_req_query(const http_req_t *r)
{
    return r->query ? r->query : "";
}
const char *http_req_client(const http_req_t *r)
{
    return r->client;
}
int http_req_is_tls(const http_req_t *r)
{
    return r->srv->tls != NULL;
}

const char *http_req_header(const http_req_t *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *http_req_arg(const http_req_t *r, const char *name)
{
    const char *v = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
    if (!v) return NULL;
    /* Allocated on demand: most requests never ask, and every byte of
     * http_req_t is paid per open connection (thousands of SSE streams). */
    http_req_t *w = (http_req_t *)r;
    size_t cap = strlen(v) + 1;
    char *b = realloc(w->argbuf, cap);
    if (!b) return NULL;
    w->argbuf = b;
    form_decode(v, b, cap);
    return b;
}

typedef struct {
    const char *name;
    void (*fn)(const char *, void *);
    void *arg;
} each_ctx_t;

static enum MHD_Result each_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    (void)kind;
    each_ctx_t *x = cls;
    if (strcmp(key, x->name) || !value) return MHD_YES;
    char buf[1200];
    form_decode(value, buf, sizeof buf);
    x->fn(buf, x->arg);
    return MHD_YES;
}

void http_req_each_arg(const http_req_t *r, const char *name,
                       void (*fn)(const char *value, void *arg), void *arg)
{
    each_ctx_t x = {name, fn, arg};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, each_arg, &x);
}

const uint8_t *http_req_body(const http_req_t *r, size_t *len)
{
    *len = r->body.len;
    return r->body.data;
}

void http_req_on_abort(http_req_t *r, http_abort_cb cb, void *arg)
{
    r->on_abort = cb;
    r->abort_arg = arg;
}

void http_req_set_log(http_req_t *r, const char *target, const char *note)
{
    size_t t = target ? strlen(target) : 0, n = note ? strlen(note) : 0;
    char *b = malloc(t + n + 2);
    if (!b) return;
    memcpy(b, target ? target : "", t + 1);
    memcpy(b + t + 1, note ? note : "", n + 1);
    free(r->log);
    r->log = b;
}

int http_req_add_header(http_req_t *r, const char *name, const char *value)
{
    size_t nl = strlen(name) + 1, vl = strlen(value) + 1;
    hdr_t *h = malloc(sizeof *h + nl + vl);
    if (!h) return -1;
    h->next = NULL;
    memcpy(h->text, name, nl);
    h->value = memcpy(h->text + nl, value, vl);
    hdr_t **pp = &r->headers;
    while (*pp) pp = &(*pp)->next;
    *pp = h;
    return 0;
}

int http_respond(http_req_t *r, unsigned status, const char *content_type, const void *body,
                 size_t len)
{
    if (r->answered) return -1;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
    if (!resp) return -1;
    if (content_type) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    for (hdr_t *h = r->headers; h; h = h->next) MHD_add_response_header(resp, h->text, h->value);
    if (r->srv->quiesced) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    r->resp = resp;
    r->status = status;
    r->answered = 1;
    http_answered_(r);
    return 0;
}

int http_respond_text(http_req_t *r, unsigned status, const char *fmt, ...)
{
    char body[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(body, sizeof body - 1, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n > sizeof body - 2) n = (int)sizeof body - 2;
    body[n++] = '\n';
    return http_respond(r, status, "text/plain; charset=utf-8", body, (size_t)n);
}
