/*
 * sse_load: the parts its files share (see sse_load.c for the command line).
 * sse_load.c: main and the clock/address helpers; sse_stream.c: the
 * subscribers' connections, HTTP responses and SSE events; sse_sub.c: the
 * subscriber run and its report; sse_pub.c: the nchan publisher.
 */
#ifndef SSE_LOAD_H
#define SSE_LOAD_H

#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define LINE_CAP     1024 /* an SSE line (coapgw: ~330 bytes); longer ones are cut and counted */
#define HDR_CAP      256  /* a header or chunk-size line */
#define MAX_PATHS    10000
#define MAX_ATTEMPTS 30
#define RETRY_MS     200

uint64_t mono_ms(void);
uint64_t real_ns(void);
void raise_nofile(void);
int parse_addr(struct sockaddr_in *sa, const char *host, const char *port);
extern volatile sig_atomic_t stop;
void on_signal(int s);

/* subscribers */
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

/* Starts handshakes up to the batch limit: due retries first, then new ones. */
void pace_connects(sub_t *s, uint64_t now);
/* One epoll event on a subscriber's connection. */
void on_event(sub_t *s, conn_t *c, uint32_t events);

int sub_main(int argc, char **argv);
int pub_main(int argc, char **argv);

#endif
