/*
 * sse_load - Server-Sent Events load for bench/run-sse.sh: thousands of
 * subscribers in one process (non-blocking sockets, one epoll loop), and a
 * publisher for nginx + nchan.
 *
 *   sse_load sub [options] HOST PORT PATH CONNECTIONS
 *     Opens CONNECTIONS streams to HOST:PORT (IPv4), at most -b at a time in
 *     the handshake, with retries, sending
 *       GET PATH HTTP/1.1 / Host: localhost / Accept: text/event-stream
 *     PATH may be a comma-separated list, or contain "%d" expanded for
 *     0 .. -n K-1; connection i takes path i mod K. Once every stream is open
 *     (or -c seconds have passed), -w seconds of warm-up, then -d seconds of
 *     measurement, then -g seconds of grace for events sent inside the window.
 *     Responses may be chunked or not; events are parsed per the SSE rules
 *     (a blank line ends an event). The publisher's "t=<ns> n=<tick>" is
 *     found in any data: line (raw, as nchan passes it, or inside coapgw's
 *     JSON "payload"), and for each event sent (t) inside the window:
 *     latency = CLOCK_REALTIME now - t. Loss is counted per subscriber from
 *     the tick numbers: expected = the ticks of its channel seen in the
 *     window (by any subscriber) for every stream open when the window
 *     began; lost = expected - received. The nominal count (window / -P
 *     period, per subscriber) is printed too.
 *     -p PID[,PID...]: server processes whose VmRSS is summed before the
 *     first connection and every second of the window (rss_before_kb,
 *     rss_max_kb, rss_end_kb), and whose CPU time in the window is reported
 *     as server_cpu_pct (% of one core; load_cpu_pct is this process's).
 *     -q FILE: the latency percentiles 0 .. 100 as CSV (percentile,latency_ms).
 *   sse_load pub [options] HOST PORT PREFIX CHANNELS
 *     One keep-alive connection per channel; every -i ms (default 250)
 *     POSTs "t=<CLOCK_REALTIME ns> n=<round>" to each of PREFIX0 ..
 *     PREFIX<CHANNELS-1> (pipelined when the server is slow to answer), on
 *     bench/sse_device's schedule: channel i at start + round * period +
 *     i * period / CHANNELS, or all at once each period with -B. Runs -t
 *     seconds or until SIGINT/SIGTERM, then prints what it sent and what
 *     came back.
 *
 * The subscriber prints one machine-readable line (SSE_RESULT key=value ...)
 * and one for people, then exits by itself.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LINE_CAP     1024 /* an SSE line (coapgw: ~330 bytes); longer ones are cut and counted */
#define HDR_CAP      256  /* a header or chunk-size line */
#define MAX_PATHS    10000
#define MAX_ATTEMPTS 30
#define RETRY_MS     200

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int parse_addr(struct sockaddr_in *sa, const char *host, const char *port)
{
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    long p = strtol(port, NULL, 10);
    if (p <= 0 || p > 65535 || inet_pton(AF_INET, host, &sa->sin_addr) != 1) return -1;
    sa->sin_port = htons((uint16_t)p);
    return 0;
}

static volatile sig_atomic_t stop;
static void on_signal(int s)
{
    (void)s;
    stop = 1;
}

/* ---------------------------------------------------------------------- */
/* subscribers                                                            */

enum { C_NEW, C_RETRY, C_CONNECTING, C_SENDING, C_HEADERS, C_BODY, C_CLOSED, C_FAILED };
enum { K_SIZE, K_DATA, K_DATA_END, K_TRAILER, K_DONE };

typedef struct {
    int fd;
    uint8_t state, chunked, kstate, status_seen, ev_has, counted, cut;
    uint16_t attempts, sent, hlen, llen;
    uint32_t path;
    uint64_t kleft; /* bytes left in the current chunk */
    uint64_t retry_at;
    uint64_t ev_sent_ns, ev_n; /* the stamp of the event being read */
    uint64_t last_n;           /* the last tick received */
    uint64_t got;              /* events of the window received */
    char hbuf[HDR_CAP];
    char lbuf[LINE_CAP];
} conn_t;

typedef struct {
    struct sockaddr_in addr;
    char **paths;
    uint32_t npaths;
    conn_t *c;
    uint32_t n;
    int ep;
    uint32_t batch, inflight, next_new;
    uint64_t win0_ns, win1_ns; /* the window, on the publisher's clock */
    uint64_t *chan_min, *chan_max;
    uint32_t *lat_us;
    size_t nlat, lat_cap;
    /* counters */
    uint64_t connected, closed, failed, bad_status, retries, gaps, dups, error_events, cut_lines,
        stream_ends, events_outside;
} sub_t;

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

static void on_event(sub_t *s, conn_t *c, uint32_t events)
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

/* Starts handshakes up to the batch limit: due retries first, then new ones. */
static void pace_connects(sub_t *s, uint64_t now)
{
    for (uint32_t i = 0; i < s->n && s->inflight < s->batch; i++)
        if (s->c[i].state == C_RETRY && s->c[i].retry_at <= now) conn_start(s, &s->c[i]);
    while (s->next_new < s->n && s->inflight < s->batch) conn_start(s, &s->c[s->next_new++]);
}

/* Sums VmRSS (KiB) and CPU time (utime + stime, clock ticks) of the
 * comma-separated pids; returns 0 when one of them is gone. */
static int proc_sample(const char *pids, long *rss, unsigned long long *cpu)
{
    int alive = 1;
    char list[256];
    *rss = 0;
    *cpu = 0;
    snprintf(list, sizeof list, "%s", pids);
    for (char *save = NULL, *pid = strtok_r(list, ",", &save); pid;
         pid = strtok_r(NULL, ",", &save)) {
        char path[64], line[1024];
        snprintf(path, sizeof path, "/proc/%s/status", pid);
        FILE *f = fopen(path, "r");
        if (!f) {
            alive = 0;
            continue;
        }
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "VmRSS:", 6)) *rss += strtol(line + 6, NULL, 10);
        fclose(f);
        snprintf(path, sizeof path, "/proc/%s/stat", pid);
        f = fopen(path, "r");
        if (!f) continue;
        if (fgets(line, sizeof line, f)) {
            const char *p = strrchr(line, ')'); /* fields 14, 15 after the command name */
            unsigned long long ut = 0, st = 0;
            if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
                            &st) == 2)
                *cpu += ut + st;
        }
        fclose(f);
    }
    return alive;
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_ms(const uint32_t *v, size_t n, double q)
{
    if (!n) return -1;
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return v[i] / 1000.0;
}

/* -q FILE: the latency distribution as CSV, one row per percentile 0 .. 100
 * of the sorted samples, for bench/charts.sh. */
static void write_percentiles(const char *path, const uint32_t *v, size_t n)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return;
    }
    fprintf(f, "# percentile,latency_ms\n");
    for (int q = 0; n && q <= 100; q++) fprintf(f, "%d,%.3f\n", q, pct_ms(v, n, q / 100.0));
    fclose(f);
}

/* "a,b,c" or "x%dy" with k paths. */
static int make_paths(sub_t *s, const char *spec, long k)
{
    s->paths = calloc(MAX_PATHS, sizeof *s->paths);
    if (!s->paths) return -1;
    if (strstr(spec, "%d")) {
        if (k < 1 || k > MAX_PATHS) return -1;
        const char *at = strstr(spec, "%d");
        for (long i = 0; i < k; i++) {
            char buf[1200];
            snprintf(buf, sizeof buf, "%.*s%ld%s", (int)(at - spec), spec, i, at + 2);
            s->paths[s->npaths++] = strdup(buf);
        }
        return 0;
    }
    char *copy = strdup(spec);
    for (char *save = NULL, *p = strtok_r(copy, ",", &save); p && s->npaths < MAX_PATHS;
         p = strtok_r(NULL, ",", &save))
        s->paths[s->npaths++] = strdup(p);
    free(copy);
    return s->npaths ? 0 : -1;
}

static int sub_main(int argc, char **argv)
{
    double dur = 30, warm = 5, grace = 2, connect_limit = 60, period_ms = 250;
    long npaths = 1, batch = 200;
    const char *pids = NULL, *pct_csv = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "d:w:g:c:b:n:p:P:q:")) != -1) {
        switch (opt) {
        case 'd':
            dur = atof(optarg);
            break;
        case 'w':
            warm = atof(optarg);
            break;
        case 'g':
            grace = atof(optarg);
            break;
        case 'c':
            connect_limit = atof(optarg);
            break;
        case 'b':
            batch = atol(optarg);
            break;
        case 'n':
            npaths = atol(optarg);
            break;
        case 'p':
            pids = optarg;
            break;
        case 'P':
            period_ms = atof(optarg);
            break;
        case 'q':
            pct_csv = optarg;
            break;
        default:
            return 2;
        }
    }
    if (argc - optind != 4) {
        fprintf(stderr, "usage: sse_load sub [-d SEC] [-w SEC] [-g SEC] [-c SEC] [-b BATCH] "
                        "[-n NPATHS] [-p PID,...] [-P PERIOD_MS] [-q CSV] HOST PORT PATH "
                        "CONNECTIONS\n");
        return 2;
    }
    static sub_t s;
    long n = atol(argv[optind + 3]);
    if (parse_addr(&s.addr, argv[optind], argv[optind + 1]) || n < 1 || batch < 1 || dur <= 0 ||
        make_paths(&s, argv[optind + 2], npaths)) {
        fprintf(stderr, "sse_load: bad address, path list or count\n");
        return 2;
    }
    raise_nofile();
    s.n = (uint32_t)n;
    s.batch = (uint32_t)batch;
    s.c = calloc(s.n, sizeof *s.c);
    s.chan_min = calloc(s.npaths, sizeof *s.chan_min);
    s.chan_max = calloc(s.npaths, sizeof *s.chan_max);
    s.ep = epoll_create1(EPOLL_CLOEXEC);
    if (!s.c || !s.chan_min || !s.chan_max || s.ep < 0) {
        fprintf(stderr, "sse_load: out of memory\n");
        return 1;
    }
    for (uint32_t i = 0; i < s.n; i++) {
        s.c[i].fd = -1;
        s.c[i].path = i % s.npaths;
    }
    s.win0_ns = s.win1_ns = UINT64_MAX;
    int all_alive = 1;
    long rss_before = 0, rss_max = 0, rss_end = 0, r;
    unsigned long long cpu0 = 0, cpu1 = 0, cpu;
    double self0 = 0, self1 = 0;
    if (pids) all_alive &= proc_sample(pids, &rss_before, &cpu);

    enum { P_CONNECT, P_WARM, P_MEASURE, P_GRACE } phase = P_CONNECT;
    uint64_t t0 = mono_ms(), phase_end = t0 + (uint64_t)(connect_limit * 1000), next_rss = 0;
    double connect_s = -1;
    uint64_t subscribers = 0, win_len_ns = (uint64_t)(dur * 1e9);
    struct epoll_event evs[1024];
    signal(SIGPIPE, SIG_IGN);
    for (;;) {
        uint64_t now = mono_ms();
        if (phase == P_CONNECT) {
            pace_connects(&s, now);
            int done = s.next_new == s.n && !s.inflight;
            for (uint32_t i = 0; done && i < s.n; i++) done = s.c[i].state != C_RETRY;
            if (done || now >= phase_end) {
                connect_s = (double)(now - t0) / 1000.0;
                fprintf(stderr, "sse_load: %llu of %u streams open in %.1f s%s\n",
                        (unsigned long long)s.connected, s.n, connect_s,
                        done ? "" : " (connect time limit)");
                phase = P_WARM;
                phase_end = now + (uint64_t)(warm * 1000);
            }
        }
        if (phase == P_WARM && now >= phase_end) {
            phase = P_MEASURE;
            phase_end = now + (uint64_t)(dur * 1000);
            for (uint32_t i = 0; i < s.n; i++) {
                if (s.c[i].state != C_BODY) continue;
                s.c[i].counted = 1;
                subscribers++;
            }
            s.win0_ns = real_ns();
            s.win1_ns = s.win0_ns + win_len_ns;
            next_rss = now;
            self0 = self_cpu_s();
            if (pids) all_alive &= proc_sample(pids, &r, &cpu0);
        }
        if (phase == P_MEASURE && pids && now >= next_rss) {
            all_alive &= proc_sample(pids, &r, &cpu);
            if (r > rss_max) rss_max = r;
            rss_end = r;
            next_rss = now + 1000;
        }
        if (phase == P_MEASURE && now >= phase_end) {
            self1 = self_cpu_s();
            if (pids) all_alive &= proc_sample(pids, &r, &cpu1);
            phase = P_GRACE;
            phase_end = now + (uint64_t)(grace * 1000);
        }
        if (phase == P_GRACE && now >= phase_end) break;
        if (stop) break;
        int k = epoll_wait(s.ep, evs, 1024, phase == P_CONNECT ? 20 : 100);
        for (int i = 0; i < k; i++) on_event(&s, evs[i].data.ptr, evs[i].events);
    }

    uint64_t held = 0, received = 0, expected = 0;
    uint64_t nominal_per_sub = (uint64_t)(dur * 1000 / period_ms);
    for (uint32_t i = 0; i < s.n; i++) {
        conn_t *c = &s.c[i];
        held += c->state == C_BODY;
        if (!c->counted) continue;
        received += c->got;
        uint64_t lo = s.chan_min[c->path], hi = s.chan_max[c->path];
        expected += lo ? hi - lo + 1 : nominal_per_sub;
    }
    uint64_t lost = expected > received ? expected - received : 0;
    qsort(s.lat_us, s.nlat, sizeof *s.lat_us, cmp_u32);
    double p50 = pct_ms(s.lat_us, s.nlat, 0.50), p99 = pct_ms(s.lat_us, s.nlat, 0.99),
           mx = s.nlat ? s.lat_us[s.nlat - 1] / 1000.0 : -1;
    if (pct_csv) write_percentiles(pct_csv, s.lat_us, s.nlat);
    printf("SSE_RESULT conns=%u paths=%u connected=%llu subscribers=%llu held=%llu closed=%llu "
           "failed=%llu bad_status=%llu retries=%llu events=%llu expected=%llu nominal=%llu "
           "lost=%llu gaps=%llu dups=%llu error_events=%llu stream_ends=%llu cut_lines=%llu "
           "lat_p50_ms=%.3f lat_p99_ms=%.3f lat_max_ms=%.3f window_s=%.1f connect_s=%.1f "
           "rss_before_kb=%ld rss_max_kb=%ld rss_end_kb=%ld servers_alive=%d server_cpu_pct=%.1f "
           "load_cpu_pct=%.1f\n",
           s.n, s.npaths, (unsigned long long)s.connected, (unsigned long long)subscribers,
           (unsigned long long)held, (unsigned long long)s.closed, (unsigned long long)s.failed,
           (unsigned long long)s.bad_status, (unsigned long long)s.retries,
           (unsigned long long)received, (unsigned long long)expected,
           (unsigned long long)(nominal_per_sub * subscribers), (unsigned long long)lost,
           (unsigned long long)s.gaps, (unsigned long long)s.dups,
           (unsigned long long)s.error_events, (unsigned long long)s.stream_ends,
           (unsigned long long)s.cut_lines, p50, p99, mx, dur, connect_s, rss_before, rss_max,
           rss_end, all_alive, (double)(cpu1 - cpu0) / (double)sysconf(_SC_CLK_TCK) / dur * 100,
           (self1 - self0) / dur * 100);
    printf("%u streams over %u path(s): %llu open at the window, %llu still open at the end; "
           "%llu events in %.0f s (expected %llu, lost %llu); latency p50 %.2f ms, p99 %.2f ms, "
           "max %.2f ms\n",
           s.n, s.npaths, (unsigned long long)subscribers, (unsigned long long)held,
           (unsigned long long)received, dur, (unsigned long long)expected,
           (unsigned long long)lost, p50, p99, mx);
    fflush(stdout);
    for (uint32_t i = 0; i < s.n; i++)
        if (s.c[i].fd >= 0) close(s.c[i].fd);
    return 0;
}

/* ---------------------------------------------------------------------- */
/* publisher (nchan)                                                      */

typedef struct {
    int fd;
    uint32_t outstanding;
    size_t rlen;
    char rbuf[8192];
} pconn_t;

/* Consumes complete responses (Content-Length bodies); returns -1 on a
 * response it cannot frame. */
static int pub_responses(pconn_t *p, uint64_t *ok, uint64_t *bad)
{
    for (;;) {
        char *end = memmem(p->rbuf, p->rlen, "\r\n\r\n", 4);
        if (!end) return p->rlen == sizeof p->rbuf ? -1 : 0;
        size_t hlen = (size_t)(end - p->rbuf) + 4, clen = 0;
        for (char *l = p->rbuf; l && l < end;) {
            if (!strncasecmp(l, "content-length:", 15)) clen = strtoul(l + 15, NULL, 10);
            if (!strncasecmp(l, "transfer-encoding:", 18)) return -1;
            char *nl = memchr(l, '\n', (size_t)(end - l));
            l = nl ? nl + 1 : NULL;
        }
        if (hlen + clen > sizeof p->rbuf) return -1;
        if (p->rlen < hlen + clen) return 0;
        int status = p->rlen > 12 ? atoi(p->rbuf + 9) : 0;
        if (status >= 200 && status < 300)
            (*ok)++;
        else
            (*bad)++;
        if (p->outstanding) p->outstanding--;
        memmove(p->rbuf, p->rbuf + hlen + clen, p->rlen - hlen - clen);
        p->rlen -= hlen + clen;
    }
}

static int pub_main(int argc, char **argv)
{
    long period = 250;
    double limit = 0;
    int opt, burst = 0;
    while ((opt = getopt(argc, argv, "i:t:B")) != -1) {
        switch (opt) {
        case 'i':
            period = atol(optarg);
            break;
        case 'B':
            burst = 1;
            break;
        case 't':
            limit = atof(optarg);
            break;
        default:
            return 2;
        }
    }
    struct sockaddr_in addr;
    long nch = argc - optind == 4 ? atol(argv[optind + 3]) : 0;
    if (nch < 1 || nch > MAX_PATHS || period < 1 ||
        parse_addr(&addr, argv[optind], argv[optind + 1])) {
        fprintf(stderr, "usage: sse_load pub [-i PERIOD_MS] [-t SECONDS] [-B] HOST PORT PREFIX "
                        "CHANNELS\n");
        return 2;
    }
    const char *prefix = argv[optind + 2];
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    pconn_t *pc = calloc((size_t)nch, sizeof *pc);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (!pc || ep < 0) return 1;
    for (long i = 0; i < nch; i++) {
        pc[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (pc[i].fd < 0 || connect(pc[i].fd, (struct sockaddr *)&addr, sizeof addr)) {
            perror("sse_load pub: connect");
            return 1;
        }
        int one = 1;
        setsockopt(pc[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &pc[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, pc[i].fd, &ev);
    }
    uint64_t start = mono_ms(), tick = 1, sent = 0, ok = 0, bad = 0, errors = 0;
    long next = 0; /* the next channel of round `tick` */
    uint32_t max_out = 0;
    struct epoll_event evs[256];
    while (!stop) {
        uint64_t now = mono_ms();
        if (limit > 0 && now >= start + (uint64_t)(limit * 1000)) break;
        uint64_t due =
            start + tick * (uint64_t)period + (burst ? 0 : (uint64_t)(next * period / nch));
        if (now >= due) {
            char body[64], req[512];
            int blen = snprintf(body, sizeof body, "t=%llu n=%llu", (unsigned long long)real_ns(),
                                (unsigned long long)tick);
            int len = snprintf(req, sizeof req,
                               "POST %s%ld HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                               "Content-Length: %d\r\n\r\n%s",
                               prefix, next, blen, body);
            /* blocking socket: a slow server delays the next channel, as it would */
            if (send(pc[next].fd, req, (size_t)len, MSG_NOSIGNAL) != len) {
                errors++;
            } else {
                sent++;
                if (++pc[next].outstanding > max_out) max_out = pc[next].outstanding;
            }
            if (++next == nch) {
                next = 0;
                tick++;
            }
            continue;
        }
        int k = epoll_wait(ep, evs, 256, (int)(due - now));
        for (int i = 0; i < k; i++) {
            pconn_t *p = evs[i].data.ptr;
            ssize_t r = recv(p->fd, p->rbuf + p->rlen, sizeof p->rbuf - p->rlen, MSG_DONTWAIT);
            if (r > 0) {
                p->rlen += (size_t)r;
                if (pub_responses(p, &ok, &bad) < 0) {
                    fprintf(stderr, "sse_load pub: cannot frame a response\n");
                    p->rlen = 0;
                    errors++;
                }
            } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                fprintf(stderr, "sse_load pub: the server closed a connection\n");
                epoll_ctl(ep, EPOLL_CTL_DEL, p->fd, NULL);
                errors++;
            }
        }
    }
    printf("SSE_PUB rounds=%llu sent=%llu ok=%llu non_2xx=%llu errors=%llu max_outstanding=%u\n",
           (unsigned long long)tick - 1, (unsigned long long)sent, (unsigned long long)ok,
           (unsigned long long)bad, (unsigned long long)errors, max_out);
    for (long i = 0; i < nch; i++)
        if (pc[i].fd >= 0) close(pc[i].fd);
    close(ep);
    free(pc);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "sub")) return sub_main(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "pub")) return pub_main(argc - 1, argv + 1);
    fprintf(stderr, "usage: sse_load sub|pub ... (see the top of bench/sse_load.c)\n");
    return 2;
}
