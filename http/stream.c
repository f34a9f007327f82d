/*
 * stream.c - streaming responses (Server-Sent Events): the connection
 * sleeps (MHD suspend) while its owner has nothing to send and wakes when
 * it has, so thousands of idle streams cost no polling.
 */
#include "http_internal.h"

#include <stdlib.h>
#include <strings.h>

/* --- streams --- */

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    http_stream_t *s = cls;
    if (s->ending) return MHD_CONTENT_READER_END_OF_STREAM;
    long n = s->pull(s->arg, buf, max);
    if (n > 0) return (ssize_t)n;
    if (n < 0) {
        s->ending = 1;
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    /* Nothing to send: park the connection instead of letting MHD poll the
     * reader in a busy loop; http_stream_wake() brings it back. */
    MHD_suspend_connection(s->conn);
    s->sleeping = 1;
    return 0;
}

/* MHD is done with the response: the connection closed or ended. */
static void stream_free(void *cls)
{
    http_stream_t *s = cls;
    http_server_t *srv = s->srv;
    base_list_remove(&s->link);
    srv->nstreams--;
    if (s->closed) s->closed(s->arg);
    free(s);
}

static int has_header(const http_req_t *r, const char *name)
{
    for (const hdr_t *h = r->headers; h; h = h->next)
        if (!strcasecmp(h->name, name)) return 1;
    return 0;
}

/* An event stream relays what devices send: a browser must neither sniff
 * it into a document nor run anything in it, whoever opened it. */
static void add_stream_policy(struct MHD_Response *resp, const http_req_t *r)
{
    if (!has_header(r, MHD_HTTP_HEADER_X_CONTENT_TYPE_OPTIONS))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_X_CONTENT_TYPE_OPTIONS, "nosniff");
    if (!has_header(r, MHD_HTTP_HEADER_CONTENT_SECURITY_POLICY))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_SECURITY_POLICY, HTTP_SANDBOX_CSP);
}

http_stream_t *http_respond_stream(http_req_t *r, const char *content_type, http_pull_cb pull,
                                   http_closed_cb closed, void *arg)
{
    if (r->answered) return NULL;
    http_stream_t *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    /* Small blocks: an event is a few hundred bytes, MHD's per-connection
     * pool (conn_memory) holds the block, and 256 bytes still send an event
     * with one write (measured: 1024 cost 0.5 KiB more per idle stream). */
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 256, stream_read, s, stream_free);
    if (!resp) {
        free(s);
        return NULL;
    }
    s->srv = r->srv;
    s->conn = r->conn;
    s->pull = pull;
    s->closed = closed;
    s->arg = arg;
    base_list_push_front(&r->srv->streams, &s->link);
    r->srv->nstreams++;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    for (hdr_t *h = r->headers; h; h = h->next) MHD_add_response_header(resp, h->name, h->value);
    add_stream_policy(resp, r);
    if (r->srv->quiesced) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    r->resp = resp;
    r->status = 200;
    r->answered = 1;
    r->streaming = 1;
    http_answered_(r);
    return s;
}

void http_stream_wake(http_stream_t *s)
{
    if (!s->sleeping) return;
    s->sleeping = 0;
    MHD_resume_connection(s->conn);
    s->srv->need_run = 1; /* one MHD_run serves every stream woken meanwhile */
}

size_t http_server_streams(const http_server_t *srv)
{
    return srv->nstreams;
}
