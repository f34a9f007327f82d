/*
 * sse_load sub: the command line, the phases of a run (connect, warm-up,
 * measurement window, grace), the servers' RSS and CPU samples, and the
 * SSE_RESULT report (see sse_load.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>

#include "sse_load.h"

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

int sub_main(int argc, char **argv)
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
