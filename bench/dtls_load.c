/*
 * dtls_load - a DTLS 1.2 load generator on dtls/ for bench/run-dtls.sh: the
 * same client load against any coaps:// server (ours, libcoap's).
 *
 * Every session has its own DTLS transport, hence its own UDP socket and
 * source port: servers key sessions by the peer's address and port. The
 * transports are driven directly (no CoAP endpoint above them: the load
 * writes and reads its few CoAP messages itself), from one epoll loop.
 * A session is "up" when its handshake finished and a CoAP ping (an Empty
 * CON, RFC 7252 §4.3) sent through it came back as RST.
 *
 *   dtls_load handshakes ...  CONC sessions at a time, each a fresh
 *       transport (nothing to resume from): handshake, ping, close_notify,
 *       again; counts handshakes completed per second in the window.
 *   dtls_load requests ...    SESSIONS sessions opened first, then WINDOW
 *       CON GETs of PATH in flight on each; counts 2.xx answers per second.
 *   dtls_load hold ...        opens SESSIONS sessions (CONC handshakes at a
 *       time) and keeps them; the server's VmRSS before (after a warm-up
 *       of CONC sessions opened and closed) and after, per session.
 * Options: usage() below. Prints one line "DTLS_RESULT mode=... key=value".
 */
#include "coap_msg.h"
#include "dtls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "dtls_load.h"

/* --- the server's figures --- */

static long server_rss_kb(long pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) kb = atol(line + 6);
    if (f) fclose(f);
    return kb;
}

/* User + system CPU seconds of pid (-1 for none), or of this process. */
static double cpu_seconds(long pid)
{
    if (pid < 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    }
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the name may hold spaces */
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void print_latency(load_t *l)
{
    qsort(l->lat, l->nlat, sizeof *l->lat, cmp_u32);
    double p50 = l->nlat ? l->lat[l->nlat / 2] / 1000.0 : 0;
    double p99 = l->nlat ? l->lat[l->nlat * 99 / 100] / 1000.0 : 0;
    printf(" p50_ms=%.3f p99_ms=%.3f", p50, p99);
}

/* --- the three modes --- */

/* Runs the loop through the warm-up and the window [now + warm, + secs),
 * calling in_turn (when given) every turn; prints the CPU both processes
 * used in the window. */
static void window(load_t *l, void (*in_turn)(load_t *))
{
    l->win_begin = now_us() + (uint64_t)(l->warm * 1e6);
    l->win_end = l->win_begin + (uint64_t)(l->secs * 1e6);
    double s0 = 0, c0 = 0;
    for (int counting = 0; counting < 2; counting++) {
        for (uint64_t end = counting ? l->win_end : l->win_begin; now_us() < end; turn(l, 5))
            if (in_turn) in_turn(l);
        if (!counting) s0 = cpu_seconds(l->pid), c0 = cpu_seconds(-1);
    }
    double s1 = cpu_seconds(l->pid), c1 = cpu_seconds(-1);
    printf(" server_cpu_pct=%.0f client_cpu_pct=%.0f", l->pid > 0 ? 100 * (s1 - s0) / l->secs : 0,
           100 * (c1 - c0) / l->secs);
}

static void keep_opening(load_t *l)
{
    while (l->next_open < l->nslots && l->opening < l->conc) slot_open(&l->slots[l->next_open++]);
}

static void run_handshakes(load_t *l)
{
    printf("DTLS_RESULT mode=handshakes conc=%d seconds=%.1f", l->conc, l->secs);
    window(l, keep_opening);
    /* the handshakes in progress at the end are not counted: let them go */
    close_all(l);
    printf(" handshakes=%llu per_s=%.0f failed=%llu lost=%llu", (unsigned long long)l->hs_ok,
           (double)l->hs_ok / l->secs, (unsigned long long)l->hs_failed,
           (unsigned long long)l->up_failed);
    print_latency(l);
}

static void run_requests(load_t *l)
{
    open_upto(l, l->nsessions, now_us() + 60000000u);
    printf("DTLS_RESULT mode=requests sessions=%d up=%d window=%d seconds=%.1f", l->nsessions,
           l->nup, l->window, l->secs);
    l->nlat = 0;
    l->sending = 1;
    /* The windows fill one request per session at a time: whole windows
     * at once (64 x 4 datagrams) would overflow a default socket buffer
     * (libcoap's: 208 KiB) and measure that burst, not the steady state. */
    for (int j = 0; j < l->window; j++) {
        for (int i = 0; i < l->nsessions; i++)
            if (l->slots[i].up) send_request(&l->slots[i], &l->slots[i].fl[j]);
        turn(l, 1);
    }
    l->retry = 1;
    if (l->nup)
        window(l, NULL);
    else
        printf(" server_cpu_pct=0 client_cpu_pct=0"); /* nothing to load */
    l->sending = l->retry = 0;
    printf(" requests=%llu per_s=%.0f failed=%llu timeouts=%llu lost_sessions=%llu",
           (unsigned long long)l->req_ok, (double)l->req_ok / l->secs,
           (unsigned long long)l->req_failed, (unsigned long long)l->req_timeouts,
           (unsigned long long)l->up_failed);
    print_latency(l);
    close_all(l);
}

/* Keeps the loop turning for ms (the sessions answer close_notify, the
 * server settles). */
static void settle(load_t *l, unsigned ms)
{
    for (uint64_t end = now_us() + ms * 1000u; now_us() < end;) turn(l, 5);
}

static void run_hold(load_t *l)
{
    int warm = l->conc < l->nsessions ? l->conc : l->nsessions;
    open_upto(l, warm, now_us() + 30000000u);
    close_all(l);
    settle(l, 1000);
    long before = server_rss_kb(l->pid);
    uint64_t t0 = now_us();
    l->nlat = 0;
    double s0 = cpu_seconds(l->pid);
    open_upto(l, l->nsessions, t0 + 600000000u);
    double took = (double)(now_us() - t0) / 1e6, s1 = cpu_seconds(l->pid);
    if (l->pid < 0) s1 = s0; /* no server to read */
    settle(l, 1000);
    long after = server_rss_kb(l->pid);
    int held = l->nup;
    printf("DTLS_RESULT mode=hold sessions=%d held=%d open_seconds=%.1f open_per_s=%.0f "
           "server_cpu_pct=%.0f rss_before_kb=%ld rss_after_kb=%ld kb_per_session=%.2f "
           "failed=%llu lost=%llu",
           l->nsessions, held, took, held / took, 100 * (s1 - s0) / took, before, after,
           held ? (double)(after - before) / held : 0.0, (unsigned long long)l->hs_failed,
           (unsigned long long)l->up_failed);
    print_latency(l);
    close_all(l);
    settle(l, 200);
}

/* --- set-up --- */

static int usage(void)
{
    fprintf(stderr,
            "usage: dtls_load handshakes|requests|hold -u IDENTITY -k KEY [-c CONC] [-n SESSIONS]\n"
            "       [-w WINDOW] [-d SECONDS] [-W WARMUP] [-p SERVER-PID] [-P PATH] ADDR:PORT\n");
    return 2;
}

/* One descriptor per session, and some. */
static int raise_nofile(int want)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) < 0) return -1;
    if (r.rlim_cur < (rlim_t)want)
        r.rlim_cur = r.rlim_max < (rlim_t)want ? r.rlim_max : (rlim_t)want;
    setrlimit(RLIMIT_NOFILE, &r);
    return r.rlim_cur >= (rlim_t)want ? 0 : -1;
}

static int parse_args(load_t *l, int argc, char **argv, const char **id, const char **key)
{
    const char *path = "/time", *addr = NULL;
    if (argc < 2) return -1;
    l->mode = !strcmp(argv[1], "handshakes") ? MODE_HANDSHAKES
              : !strcmp(argv[1], "requests") ? MODE_REQUESTS
              : !strcmp(argv[1], "hold")     ? MODE_HOLD
                                             : (run_mode_t)-1;
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (o[0] != '-' || !o[1] || o[2]) {
            addr = o;
            continue;
        }
        if (!v) return -1;
        i++;
        switch (o[1]) {
        case 'u':
            *id = v;
            break;
        case 'k':
            *key = v;
            break;
        case 'c':
            l->conc = atoi(v);
            break;
        case 'n':
            l->nsessions = atoi(v);
            break;
        case 'w':
            l->window = atoi(v);
            break;
        case 'd':
            l->secs = atof(v);
            break;
        case 'W':
            l->warm = atof(v);
            break;
        case 'p':
            l->pid = atol(v);
            break;
        case 'P':
            path = v;
            break;
        default:
            return -1;
        }
    }
    if ((int)l->mode < 0 || !addr || !*id || !*key || l->conc < 1 || l->nsessions < 1 ||
        l->window < 1 || l->window > MAX_WINDOW || l->secs <= 0 || l->warm < 0)
        return -1;
    return coap_addr_parse(&l->server, addr, 5684) || build_request(l, path) ? -1 : 0;
}

int main(int argc, char **argv)
{
    static load_t l = {.conc = 32, .nsessions = 64, .window = 2, .secs = 10, .warm = 1, .pid = -1};
    const char *id = NULL, *key = NULL;
    if (parse_args(&l, argc, argv, &id, &key)) return usage();
    if (l.mode == MODE_HOLD && l.nsessions == 64) l.nsessions = 10000;
    l.nslots = l.mode == MODE_HANDSHAKES ? l.conc : l.nsessions;
    if (raise_nofile(l.nslots + 64)) {
        fprintf(stderr, "dtls_load: %d sessions need %d descriptors: raise the hard limit\n",
                l.nslots, l.nslots + 64);
        return 1;
    }
    char why[160];
    dtls_creds_conf_t cc = {
        .psk_identity = id, .psk_key = (const uint8_t *)key, .psk_key_len = strlen(key)};
    l.creds = dtls_creds_new(&cc, why, sizeof why);
    l.slots = calloc((size_t)l.nslots, sizeof *l.slots);
    l.lat = malloc(MAX_SAMPLES * sizeof *l.lat);
    l.epfd = epoll_create1(0);
    if (!l.creds || !l.slots || !l.lat || l.epfd < 0 ||
        coap_addr_parse(&l.bind, l.server.u.sa.sa_family == AF_INET6 ? "[::]:0" : "0.0.0.0:0", 0)) {
        fprintf(stderr, "dtls_load: %s\n", l.creds ? strerror(errno) : why);
        return 1;
    }
    for (int i = 0; i < l.nslots; i++) l.slots[i].l = &l;
    l.win_end = UINT64_MAX;
    if (l.mode == MODE_HANDSHAKES)
        run_handshakes(&l);
    else if (l.mode == MODE_REQUESTS)
        run_requests(&l);
    else
        run_hold(&l);
    printf(" server_alive=%d\n", l.pid < 0 || server_rss_kb(l.pid) >= 0);
    dtls_creds_unref(l.creds);
    free(l.slots);
    free(l.lat);
    close(l.epfd);
    return 0;
}
