/*
 * stream.c - streaming responses (Server-Sent Events): the connection
 * sleeps (MHD suspend) while its owner has nothing to send, so thousands
 * of idle streams cost no polling.
 *
 * Waking a sleeping stream through MHD (resume) costs a walk over every
 * suspended connection in libmicrohttpd 0.9.75's next run, which made
 * fan-out cost grow with the number of sleeping streams (issue #19). So
 * on plain HTTP the stream owns its socket while it sleeps: an event is
 * written straight to it, and the connection stays suspended. Only what
 * the socket does not take (a slow reader), the end of the stream, or a
 * write error goes back to MHD through a resume. These streams have a
 * body delimited by the connection's close ("Connection: close", no
 * chunks: RFC 9112 §6.3 item 8): bytes written by either side need no
 * framing, so MHD can finish a partly written event. On HTTPS the
 * writing stays with MHD (the TLS session is its own), chunked.
 */
#include "http_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* The most a direct write takes from the stream per system call. */
#define STREAM_DIRECT_CHUNK 4096

/* --- streams --- */

/* Sends what a direct write left over, before anything newer. */
static ssize_t carry_read(http_stream_t *s, char *buf, size_t max)
{
    size_t n = s->carry_len - s->carry_off < max ? s->carry_len - s->carry_off : max;
    memcpy(buf, s->carry + s->carry_off, n);
    s->carry_off += n;
    if (s->carry_off == s->carry_len) {
        free(s->carry);
        s->carry = NULL;
        s->carry_len = s->carry_off = 0;
    }
    return (ssize_t)n;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    http_stream_t *s = cls;
    if (s->carry) return carry_read(s, buf, max);
    if (s->ending) return MHD_CONTENT_READER_END_OF_STREAM;
    long n = s->pull(s->arg, buf, max);
    if (n > 0) return (ssize_t)n;
    if (n < 0) {
        s->ending = 1;
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    /* Nothing to send: park the connection instead of letting MHD poll the
     * reader in a busy loop; http_stream_wake() writes or brings it back.
     * MHD calls the reader only once it sent all it had, so the socket is
     * ours from here. */
    MHD_suspend_connection(s->conn);
    s->sleeping = 1;
    return 0;
}

/* The socket did not take all of buf: keep the rest for MHD. 0, or -1
 * without memory. */
static int carry_keep(http_stream_t *s, const char *buf, size_t len)
{
    if (!(s->carry = malloc(len))) return -1;
    memcpy(s->carry, buf, len);
    s->carry_len = len;
    s->carry_off = 0;
    return 0;
}

/* Writes what the stream has straight to the socket of a sleeping stream.
 * Returns 1 when all of it went and the stream sleeps on; 0 when MHD must
 * take over: a rest is carried, the stream ends, or the client is gone
 * (the socket is shut down: MHD closes the connection at its next write). */
static int stream_write_direct(http_stream_t *s)
{
    char buf[STREAM_DIRECT_CHUNK];
    for (;;) {
        long n = s->pull(s->arg, buf, sizeof buf);
        if (n == 0) return 1;
        if (n < 0) {
            s->ending = 1;
            return 0;
        }
        ssize_t w = send(s->fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w == n) continue;
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) break;
        if (w < 0) w = 0;
        if (carry_keep(s, buf + w, (size_t)(n - w))) break;
        return 0;
    }
    shutdown(s->fd, SHUT_RDWR);
    s->ending = 1;
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
    free(s->carry);
    free(s);
}

static int has_header(const http_req_t *r, const char *name)
{
    for (const hdr_t *h = r->headers; h; h = h->next)
        if (!strcasecmp(h->text, name)) return 1;
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
    s->fd = -1;
    const union MHD_ConnectionInfo *ci =
        r->srv->tls ? NULL : MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci &&
        MHD_set_response_options(resp, MHD_RF_HTTP_1_0_COMPATIBLE_STRICT, MHD_RO_END) == MHD_YES)
        s->fd = ci->connect_fd;
    s->pull = pull;
    s->closed = closed;
    s->arg = arg;
    base_list_push_front(&r->srv->streams, &s->link);
    r->srv->nstreams++;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    for (hdr_t *h = r->headers; h; h = h->next) MHD_add_response_header(resp, h->text, h->value);
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
    if (s->fd >= 0 && !s->ending && stream_write_direct(s)) return;
    s->sleeping = 0;
    MHD_resume_connection(s->conn);
    s->srv->need_run = 1; /* one MHD_run serves every stream woken meanwhile */
}

size_t http_server_streams(const http_server_t *srv)
{
    return srv->nstreams;
}
