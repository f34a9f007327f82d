/*
 * sse_load subscribers: non-blocking connections (paced handshakes with
 * retries), the HTTP response (status, headers, chunked framing) and the
 * SSE events in it, each stamped event's latency and tick accounting.
 */
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "sse_load.h"

static void lat_push(sub_t *s, uint32_t us)
{
    if (s->nlat == s->lat_cap) {
        size_t cap = s->lat_cap ? s->lat_cap * 2 : 1 << 20;
        uint32_t *p = realloc(s->lat_us, cap * sizeof *p);
        if (!p) return;
        s->lat_us = p;
        s->lat_cap = cap;
    }
    s->lat_us[s->nlat++] = us;
}

static void conn_close(sub_t *s, conn_t *c)
{
    if (c->fd >= 0) {
        epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
    }
    if (c->state == C_CONNECTING || c->state == C_SENDING || c->state == C_HEADERS) s->inflight--;
}

/* The handshake failed: try again later, a bounded number of times. */
static void conn_retry(sub_t *s, conn_t *c)
{
    conn_close(s, c);
    s->retries++;
    if (++c->attempts >= MAX_ATTEMPTS) {
        c->state = C_FAILED;
        s->failed++;
        return;
    }
    c->state = C_RETRY;
    c->retry_at = mono_ms() + RETRY_MS;
}

static void conn_send(sub_t *s, conn_t *c)
{
    char req[1400];
    int len = snprintf(req, sizeof req,
                       "GET %s HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n",
                       s->paths[c->path]);
    while (c->sent < len) {
        ssize_t w = send(c->fd, req + c->sent, (size_t)len - c->sent, MSG_NOSIGNAL);
        if (w < 0 && errno == EAGAIN) return; /* EPOLLOUT brings us back */
        if (w <= 0) {
            conn_retry(s, c);
            return;
        }
        c->sent = (uint16_t)(c->sent + w);
    }
    c->state = C_HEADERS;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void conn_start(sub_t *s, conn_t *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        if (errno == EMFILE || errno == ENFILE) {
            c->state = C_FAILED;
            s->failed++;
            return;
        }
        c->state = C_CONNECTING; /* so that conn_retry() counts it out of inflight */
        s->inflight++;
        conn_retry(s, c);
        return;
    }
    c->state = C_CONNECTING;
    s->inflight++;
    c->sent = c->hlen = c->llen = 0;
    c->status_seen = c->chunked = 0;
    if (connect(c->fd, (struct sockaddr *)&s->addr, sizeof s->addr) && errno != EINPROGRESS) {
        conn_retry(s, c); /* EAGAIN (no ephemeral port), ECONNREFUSED (backlog) ... */
        return;
    }
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(s->ep, EPOLL_CTL_ADD, c->fd, &ev)) conn_retry(s, c);
}

/* Finds "KEY=<digits>" where KEY is not the tail of a longer word ("charset=..."):
 * the character before it must be a quote, a space, a colon or a comma. p[-1]
 * must be readable. */
static int find_num(const char *p, const char *end, char key, uint64_t *v, const char **after)
{
    for (; p + 2 < end; p++) {
        if (p[0] != key || p[1] != '=' || p[2] < '0' || p[2] > '9') continue;
        if (p[-1] != '"' && p[-1] != ' ' && p[-1] != ':' && p[-1] != ',') continue;
        uint64_t x = 0;
        p += 2;
        while (p < end && *p >= '0' && *p <= '9') x = x * 10 + (uint64_t)(*p++ - '0');
        *v = x;
        if (after) *after = p;
        return 1;
    }
    return 0;
}

static void event_done(sub_t *s, conn_t *c)
{
    if (!c->ev_has) return;
    c->ev_has = 0;
    uint64_t now = real_ns(), n = c->ev_n;
    if (c->last_n && n <= c->last_n) {
        s->dups++;
        return;
    }
    int in_window = c->ev_sent_ns >= s->win0_ns && c->ev_sent_ns <= s->win1_ns;
    if (c->last_n && n > c->last_n + 1 && in_window) s->gaps += n - c->last_n - 1;
    c->last_n = n;
    if (!in_window || !c->counted) {
        s->events_outside++;
        return;
    }
    c->got++;
    if (!s->chan_min[c->path] || n < s->chan_min[c->path]) s->chan_min[c->path] = n;
    if (n > s->chan_max[c->path]) s->chan_max[c->path] = n;
    uint64_t us = now > c->ev_sent_ns ? (now - c->ev_sent_ns) / 1000 : 0;
    lat_push(s, us > UINT32_MAX ? UINT32_MAX : (uint32_t)us);
}

static void sse_line(sub_t *s, conn_t *c, const char *l, size_t n)
{
    if (n == 0) {
        event_done(s, c);
        return;
    }
    if (n >= 5 && !memcmp(l, "data:", 5)) {
        uint64_t t, k;
        const char *after;
        if (find_num(l + 5, l + n, 't', &t, &after) && find_num(after, l + n, 'n', &k, NULL)) {
            c->ev_has = 1;
            c->ev_sent_ns = t;
            c->ev_n = k;
        }
    } else if (n >= 6 && !memcmp(l, "event:", 6)) {
        const char *v = l + 6;
        while (v < l + n && *v == ' ') v++;
        if ((size_t)(l + n - v) == 5 && !memcmp(v, "error", 5)) s->error_events++;
    }
}

/* Body bytes (de-chunked): split into lines ("\n", a "\r" before it dropped). */
static void sse_bytes(sub_t *s, conn_t *c, const char *p, size_t n)
{
    while (n) {
        const char *nl = memchr(p, '\n', n);
        size_t k = nl ? (size_t)(nl - p) : n;
        size_t room = LINE_CAP - c->llen;
        if (k > room) c->cut = 1;
        memcpy(c->lbuf + c->llen, p, k < room ? k : room);
        c->llen = (uint16_t)(c->llen + (k < room ? k : room));
        if (!nl) return;
        size_t len = c->llen;
        if (len && c->lbuf[len - 1] == '\r') len--;
        sse_line(s, c, c->lbuf, len);
        s->cut_lines += c->cut;
        c->llen = c->cut = 0;
        p += k + 1;
        n -= k + 1;
    }
}

/* Accumulates a header or chunk-size line; returns 1 when hbuf holds a
 * whole line (NUL-terminated, without CR LF). */
static int take_line(conn_t *c, const char **p, size_t *n)
{
    const char *nl = memchr(*p, '\n', *n);
    size_t k = nl ? (size_t)(nl - *p) : *n;
    size_t room = HDR_CAP - 1 - c->hlen;
    memcpy(c->hbuf + c->hlen, *p, k < room ? k : room);
    c->hlen = (uint16_t)(c->hlen + (k < room ? k : room));
    *p += nl ? k + 1 : k;
    *n -= nl ? k + 1 : k;
    if (!nl) return 0;
    if (c->hlen && c->hbuf[c->hlen - 1] == '\r') c->hlen--;
    c->hbuf[c->hlen] = '\0';
    return 1;
}

static void header_line(sub_t *s, conn_t *c)
{
    const char *h = c->hbuf;
    if (!c->status_seen) {
        c->status_seen = 1;
        const char *sp = strchr(h, ' ');
        if (strncmp(h, "HTTP/1.", 7) || !sp || atoi(sp + 1) != 200) {
            s->bad_status++;
            if (s->bad_status <= 3) fprintf(stderr, "sse_load: %s\n", h);
            conn_close(s, c);
            c->state = C_FAILED;
            s->failed++;
        }
        return;
    }
    if (!*h) { /* end of the headers: the stream is open */
        s->inflight--;
        c->state = C_BODY;
        c->kstate = K_SIZE;
        s->connected++;
        return;
    }
    if (!strncasecmp(h, "transfer-encoding:", 18) && strstr(h + 18, "chunked")) c->chunked = 1;
}

static void on_bytes(sub_t *s, conn_t *c, const char *p, size_t n)
{
    while (n && (c->state == C_HEADERS || c->state == C_BODY)) {
        if (c->state == C_HEADERS) {
            if (take_line(c, &p, &n)) {
                header_line(s, c);
                c->hlen = 0;
            }
            continue;
        }
        if (!c->chunked) {
            sse_bytes(s, c, p, n);
            return;
        }
        switch (c->kstate) {
        case K_DATA: {
            size_t k = n < c->kleft ? n : (size_t)c->kleft;
            sse_bytes(s, c, p, k);
            p += k;
            n -= k;
            c->kleft -= k;
            if (!c->kleft) c->kstate = K_DATA_END;
            break;
        }
        case K_SIZE:
            if (take_line(c, &p, &n)) {
                c->kleft = strtoull(c->hbuf, NULL, 16);
                c->kstate = c->kleft ? K_DATA : K_TRAILER;
                c->hlen = 0;
            }
            break;
        case K_DATA_END: /* the CR LF after the data */
            if (take_line(c, &p, &n)) {
                c->kstate = K_SIZE;
                c->hlen = 0;
            }
            break;
        case K_TRAILER:
            if (take_line(c, &p, &n)) {
                if (!c->hlen) {
                    c->kstate = K_DONE;
                    s->stream_ends++;
                }
                c->hlen = 0;
            }
            break;
        default:
            return;
        }
    }
}

void on_event(sub_t *s, conn_t *c, uint32_t events)
{
    if (c->state == C_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
            conn_retry(s, c);
            return;
        }
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->state = C_SENDING;
    }
    if (c->state == C_SENDING) {
        conn_send(s, c);
        return;
    }
    if (c->state != C_HEADERS && c->state != C_BODY) return;
    if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP))) return;
    static char buf[65536];
    ssize_t r = recv(c->fd, buf, sizeof buf, 0);
    if (r > 0) {
        on_bytes(s, c, buf, (size_t)r);
        return;
    }
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (c->state == C_HEADERS) { /* refused after accept(): try again */
        conn_retry(s, c);
        return;
    }
    conn_close(s, c);
    c->state = C_CLOSED;
    s->closed++;
}

void pace_connects(sub_t *s, uint64_t now)
{
    for (uint32_t i = 0; i < s->n && s->inflight < s->batch; i++)
        if (s->c[i].state == C_RETRY && s->c[i].retry_at <= now) conn_start(s, &s->c[i]);
    while (s->next_new < s->n && s->inflight < s->batch) conn_start(s, &s->c[s->next_new++]);
}
