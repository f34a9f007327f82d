/*
 * sse_load pub: the publisher for nginx + nchan (see sse_load.c).
 */
#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "sse_load.h"

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

int pub_main(int argc, char **argv)
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
