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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "sse_load.h"

uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int parse_addr(struct sockaddr_in *sa, const char *host, const char *port)
{
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    long p = strtol(port, NULL, 10);
    if (p <= 0 || p > 65535 || inet_pton(AF_INET, host, &sa->sin_addr) != 1) return -1;
    sa->sin_port = htons((uint16_t)p);
    return 0;
}

volatile sig_atomic_t stop;
void on_signal(int s)
{
    (void)s;
    stop = 1;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "sub")) return sub_main(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "pub")) return pub_main(argc - 1, argv + 1);
    fprintf(stderr, "usage: sse_load sub|pub ... (see the top of bench/sse_load.c)\n");
    return 2;
}
