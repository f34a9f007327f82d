/*
 * shared.c - a response built once and queued for many requests (issue
 * #19: a cached answer cost four header copies, a body copy and their
 * frees per request). libmicrohttpd counts the connections that hold a
 * response (MHD_queue_response takes a reference, the end of the request
 * drops it), so one built response may be queued any number of times; our
 * own count keeps it for its owner and for the requests answered but not
 * queued yet (resumed later). See http_server.h.
 */
#include "http_internal.h"

#include <stdlib.h>
#include <string.h>

struct http_shared {
    struct MHD_Response *mhd;
    const http_server_t *srv; /* the server whose request headers it carries */
    unsigned refs;
    size_t sig_len;
    char sig[]; /* the request's headers it was built with: "NAME\0VALUE\0"... */
};

/* The request's headers as one "NAME\0VALUE\0"... run: its length, and
 * the bytes into out when out is not NULL. */
static size_t headers_sig(const hdr_t *h, char *out)
{
    size_t n = 0;
    for (; h; h = h->next) {
        size_t nl = strlen(h->text) + 1, vl = strlen(h->value) + 1;
        if (out) {
            memcpy(out + n, h->text, nl);
            memcpy(out + n + nl, h->value, vl);
        }
        n += nl + vl;
    }
    return n;
}

/* Whether the request carries exactly the headers s was built with. */
static int same_headers(const http_shared_t *s, const hdr_t *h)
{
    size_t n = 0;
    for (; h; h = h->next) {
        size_t nl = strlen(h->text) + 1, vl = strlen(h->value) + 1;
        if (n + nl + vl > s->sig_len || memcmp(s->sig + n, h->text, nl) ||
            memcmp(s->sig + n + nl, h->value, vl))
            return 0;
        n += nl + vl;
    }
    return n == s->sig_len;
}

http_shared_t *http_shared_new(const http_req_t *r, const char *content_type, const void *body,
                               size_t len, const char *const *extra)
{
    size_t sig_len = headers_sig(r->headers, NULL);
    http_shared_t *s = malloc(sizeof *s + sig_len);
    if (!s) return NULL;
    s->mhd = MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
    if (!s->mhd) {
        free(s);
        return NULL;
    }
    /* in http_respond's order: the type, the request's headers, the rest */
    if (content_type) MHD_add_response_header(s->mhd, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    for (const hdr_t *h = r->headers; h; h = h->next)
        MHD_add_response_header(s->mhd, h->text, h->value);
    for (; extra && extra[0]; extra += 2) MHD_add_response_header(s->mhd, extra[0], extra[1]);
    s->srv = r->srv;
    s->refs = 1;
    s->sig_len = headers_sig(r->headers, s->sig);
    return s;
}

void http_shared_release(http_shared_t *s)
{
    if (!s || --s->refs) return;
    MHD_destroy_response(s->mhd); /* freed when the last connection is done with it */
    free(s);
}

int http_respond_shared(http_req_t *r, unsigned status, http_shared_t *s)
{
    /* a stopping server adds "Connection: close" to each answer */
    if (r->answered || r->srv != s->srv || r->srv->quiesced || !same_headers(s, r->headers))
        return -1;
    s->refs++;
    r->shared = s;
    r->resp = s->mhd;
    r->status = status;
    r->answered = 1;
    http_answered_(r);
    return 0;
}

void http_drop_response_(http_req_t *r)
{
    if (r->shared)
        http_shared_release(r->shared);
    else if (r->resp)
        MHD_destroy_response(r->resp);
    r->shared = NULL;
    r->resp = NULL;
}
