/*
 * metrics.c - GET /metrics in the Prometheus text exposition format 0.0.4
 * (every family with HELP and TYPE; counters end in _total, units in the
 * name), and a periodic log line for notable CoAP message-layer events.
 */
#include "gw_dns.h"
#include "gw_dtls.h"
#include "gw_forward.h"
#include "gw_hub.h"
#include "gw_metrics.h"
#include "gw_tcp.h"
#include "gw_rd.h"
#include "gw_store.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

/* Label values stay bounded: known methods, statuses 100..599. */
static const char *const methods[] = {"GET",   "HEAD",    "POST",  "PUT",  "DELETE",
                                      "PATCH", "OPTIONS", "FETCH", "other"};
#define NMETHODS  (sizeof methods / sizeof methods[0])
#define NSTATUSES 500 /* 100..599 */
#define NBUCKETS  13
#define WATCH_MS  5000

static const double buckets[NBUCKETS] = {.001, .0025, .005, .01, .025, .05, .1,
                                         .25,  .5,    1,    2.5, 5,    10};
/* Exchanges that ended without a response, by coap_err_t kind. */
enum { XERR_TIMEOUT, XERR_RESET, XERR_UNREACHABLE, XERR_OTHER, NXERR };
static const char *const xerr_names[NXERR] = {"timeout", "reset", "unreachable", "error"};

struct gw_metrics {
    gw_t *gw;
    uint64_t http[NMETHODS][NSTATUSES];
    uint64_t http_rejected;
    uint64_t https; /* of the requests above, those over HTTPS */
    uint64_t coap_codes[256];
    uint64_t coap_errors[NXERR];
    uint64_t bucket[NBUCKETS]; /* not cumulative here; summed when written */
    uint64_t latency_count;
    double latency_sum;
    base_loop_timer_t *watch;
    coap_ep_stats_t seen; /* every endpoint, at the last watch tick */
    double started;       /* wall clock, seconds since the epoch */
};

void gw_metrics_http(gw_metrics_t *m, const char *method, unsigned status, int tls)
{
    if (!m) return;
    m->https += tls != 0;
    if (status == 0) { /* refused by libmicrohttpd before the gateway saw it */
        m->http_rejected++;
        return;
    }
    size_t i = 0;
    while (i < NMETHODS - 1 && strcmp(methods[i], method)) i++;
    if (status < 100 || status > 599) status = 599;
    m->http[i][status - 100]++;
}

void gw_metrics_coap_exchange(gw_metrics_t *m, int err, uint8_t code)
{
    if (!m) return;
    if (!err)
        m->coap_codes[code]++;
    else
        m->coap_errors[err == COAP_ERR_TIMEOUT       ? XERR_TIMEOUT
                       : err == COAP_ERR_RESET       ? XERR_RESET
                       : err == COAP_ERR_UNREACHABLE ? XERR_UNREACHABLE
                                                     : XERR_OTHER]++;
}

void gw_metrics_latency(gw_metrics_t *m, uint64_t us)
{
    if (!m) return;
    double s = (double)us / 1e6;
    m->latency_count++;
    m->latency_sum += s;
    for (size_t i = 0; i < NBUCKETS; i++) {
        if (s <= buckets[i]) {
            m->bucket[i]++;
            break;
        }
    }
}

/* --- the CoAP event log --- */

static void ep_sum(gw_t *gw, coap_ep_stats_t *out)
{
    memset(out, 0, sizeof *out);
    coap_ep_t *eps[8] = {gw->ep,     gw->srv_ep,     gw->coaps_ep, gw->dtls_ep,
                         gw->tcp_ep, gw->tcp_srv_ep, gw->tls_ep,   gw->tls_srv_ep};
    for (int i = 0; i < 8; i++) {
        if (!eps[i]) continue;
        const coap_ep_stats_t *s = coap_ep_stats(eps[i]);
        out->rx += s->rx, out->tx += s->tx, out->malformed += s->malformed;
        out->oversized += s->oversized, out->duplicates += s->duplicates;
        out->retransmissions += s->retransmissions, out->timeouts += s->timeouts;
        out->rst_rx += s->rst_rx, out->rst_tx += s->rst_tx;
        out->unexpected += s->unexpected, out->send_errors += s->send_errors;
        out->echo_followed += s->echo_followed;
        out->stale += s->stale, out->reregistrations += s->reregistrations;
    }
}

/* The message layer has no logger (coap/ is libc only): its counters are
 * compared every few seconds and what moved is told in one line. */
static void on_watch(base_loop_t *loop, base_loop_timer_t *t, void *arg)
{
    (void)loop;
    gw_metrics_t *m = arg;
    coap_ep_stats_t now, *was = &m->seen;
    ep_sum(m->gw, &now);
    uint64_t bad = now.malformed + now.oversized - was->malformed - was->oversized;
    if (bad)
        gw_log(CFG_LOG_INFO, "coap: %llu malformed or oversized datagram(s) dropped",
               (unsigned long long)bad);
    if (now.rst_rx != was->rst_rx || now.timeouts != was->timeouts ||
        now.retransmissions != was->retransmissions)
        gw_log(CFG_LOG_DEBUG, "coap: %llu RST received, %llu retransmission(s), %llu CON given up",
               (unsigned long long)(now.rst_rx - was->rst_rx),
               (unsigned long long)(now.retransmissions - was->retransmissions),
               (unsigned long long)(now.timeouts - was->timeouts));
    if (now.reregistrations != was->reregistrations)
        gw_log(CFG_LOG_WARN, "coap: %llu observation(s) silent past Max-Age: registered again",
               (unsigned long long)(now.reregistrations - was->reregistrations));
    if (now.stale != was->stale)
        gw_log(CFG_LOG_DEBUG, "coap: %llu stale or reordered notification(s) dropped",
               (unsigned long long)(now.stale - was->stale));
    if (now.send_errors != was->send_errors)
        gw_log(CFG_LOG_WARN, "coap: %llu datagram(s) could not be sent",
               (unsigned long long)(now.send_errors - was->send_errors));
    *was = now;
    base_loop_timer_arm_in(t, WATCH_MS);
}

gw_metrics_t *gw_metrics_new(gw_t *gw)
{
    gw_metrics_t *m = calloc(1, sizeof *m);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    if (m) m->started = (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
    if (!m) return NULL;
    m->gw = gw;
    m->watch = base_loop_timer_new(gw->loop, on_watch, m);
    if (!m->watch) {
        free(m);
        return NULL;
    }
    base_loop_timer_arm_in(m->watch, WATCH_MS);
    return m;
}

void gw_metrics_free(gw_metrics_t *m)
{
    if (!m) return;
    base_loop_timer_free(m->watch);
    free(m);
}

/* --- the exposition --- */

void gw_metrics_family(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(FILE *f, const char *name, const char *type, const char *help, uint64_t v)
{
    gw_metrics_family(f, name, type, help);
    fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

/* A histogram from per-bucket (not cumulative) counts. */
static void histogram(FILE *f, const char *h, const char *help, const double *le,
                      const uint64_t *counts, size_t n, uint64_t count, double sum)
{
    gw_metrics_family(f, h, "histogram", help);
    uint64_t cum = 0;
    for (size_t i = 0; i < n; i++) {
        cum += counts[i];
        fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", h, le[i], (unsigned long long)cum);
    }
    fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n", h, (unsigned long long)count);
    fprintf(f, "%s_sum %.9g\n%s_count %llu\n", h, sum, h, (unsigned long long)count);
}

static void http_families(FILE *f, const gw_metrics_t *m)
{
    gw_metrics_family(f, "coapgw_http_requests_total", "counter",
                      "HTTP requests answered, by method and status (499: the client left first).");
    for (size_t i = 0; i < NMETHODS; i++)
        for (unsigned s = 0; s < NSTATUSES; s++)
            if (m->http[i][s])
                fprintf(f, "coapgw_http_requests_total{method=\"%s\",code=\"%u\"} %llu\n",
                        methods[i], s + 100, (unsigned long long)m->http[i][s]);
    one(f, "coapgw_http_rejected_total", "counter",
        "HTTP requests libmicrohttpd refused itself (header too large, malformed).",
        m->http_rejected);
    http_server_stats_t hs = {0};
    http_server_t *servers[2] = {m->gw->http, m->gw->https};
    for (int i = 0; i < 2; i++) {
        if (!servers[i]) continue;
        const http_server_stats_t *s = http_server_stats(servers[i]);
        hs.refused += s->refused, hs.header_timeouts += s->header_timeouts;
        hs.body_timeouts += s->body_timeouts, hs.idle_timeouts += s->idle_timeouts;
    }
    gw_metrics_family(f, "coapgw_http_refused_total", "counter",
                      "HTTP connections refused by a limit (answered 503 and closed).");
    fprintf(f, "coapgw_http_refused_total{limit=\"http.max_connections\"} %llu\n",
            (unsigned long long)hs.refused);
    gw_metrics_family(f, "coapgw_http_closed_total", "counter",
                      "HTTP connections closed for a slow client, by reason.");
    const char *reasons[3] = {"header_timeout", "body_timeout", "idle_timeout"};
    uint64_t counts[3] = {hs.header_timeouts, hs.body_timeouts, hs.idle_timeouts};
    for (int i = 0; i < 3; i++)
        fprintf(f, "coapgw_http_closed_total{reason=\"%s\"} %llu\n", reasons[i],
                (unsigned long long)counts[i]);
    one(f, "coapgw_https_requests_total", "counter",
        "Of the HTTP requests above (answered or refused), those that came over HTTPS.", m->https);
    histogram(f, "coapgw_http_to_coap_duration_seconds",
              "Time from an HTTP request to its answer, for requests that needed a CoAP exchange.",
              buckets, m->bucket, NBUCKETS, m->latency_count, m->latency_sum);
}

/* The durable store (state.path): its commits and failures. */
static void state_families(FILE *f, const gw_store_t *store)
{
    if (!store) return;
    const gw_store_stats_t *st = gw_store_stats(store);
    one(f, "coapgw_state_errors_total", "counter",
        "Writes or reads of the state store (state.path, or state.redis) that failed; a "
        "registration whose write failed got 5.00 (state.path) or 5.03 (state.redis).",
        st->errors);
    histogram(f, "coapgw_state_commit_seconds",
              "Time to commit one change of state (a registration saved or deleted).",
              gw_store_bucket_s, st->bucket, GW_STORE_BUCKETS, st->commits, st->sum_s);
    gw_metrics_family(f, "coapgw_state_commit_max_seconds", "gauge",
                      "The longest commit of state since the start.");
    fprintf(f, "coapgw_state_commit_max_seconds %.9g\n", st->max_s);
    gw_metrics_family(f, "coapgw_state_store_up", "gauge",
                      "1 while the state store can commit changes, 0 while it cannot "
                      "(state.redis unreachable: registrations answer 5.03).");
    fprintf(f, "coapgw_state_store_up %d\n", gw_store_down(store) == NULL);
}

/* Forwarding to the gateway that holds a device (cluster.advertise). */
static void forward_families(FILE *f, const gw_forward_t *fw)
{
    if (!fw) return;
    gw_forward_stats_t st = gw_forward_stats(fw);
    one(f, "coapgw_cluster_forwarded_total", "counter",
        "HTTP requests forwarded to the gateway that holds the device's DTLS session.",
        st.forwarded);
    one(f, "coapgw_cluster_forward_failures_total", "counter",
        "Of those, the ones that gateway did not answer (502).", st.failed);
}

static void coap_families(FILE *f, const gw_metrics_t *m, const coap_ep_stats_t *s)
{
    gw_metrics_family(f, "coapgw_coap_exchanges_total", "counter",
                      "Proxied CoAP exchanges, by response code or by how they failed.");
    for (unsigned c = 0; c < 256; c++)
        if (m->coap_codes[c])
            fprintf(f, "coapgw_coap_exchanges_total{code=\"%u.%02u\"} %llu\n", c >> 5, c & 31,
                    (unsigned long long)m->coap_codes[c]);
    for (unsigned e = 0; e < NXERR; e++)
        if (m->coap_errors[e])
            fprintf(f, "coapgw_coap_exchanges_total{code=\"%s\"} %llu\n", xerr_names[e],
                    (unsigned long long)m->coap_errors[e]);
    gw_metrics_family(f, "coapgw_coap_datagrams_total", "counter",
                      "CoAP datagrams, every endpoint (over DTLS: the CoAP messages inside the "
                      "records).");
    fprintf(f, "coapgw_coap_datagrams_total{direction=\"received\"} %llu\n",
            (unsigned long long)s->rx);
    fprintf(f, "coapgw_coap_datagrams_total{direction=\"sent\"} %llu\n", (unsigned long long)s->tx);
    one(f, "coapgw_coap_retransmissions_total", "counter",
        "Confirmable messages retransmitted (RFC 7252 §4.2).", s->retransmissions);
    one(f, "coapgw_coap_timeouts_total", "counter",
        "Confirmable messages given up after MAX_RETRANSMIT.", s->timeouts);
    gw_metrics_family(f, "coapgw_coap_rst_total", "counter", "Reset messages received and sent.");
    fprintf(f, "coapgw_coap_rst_total{direction=\"received\"} %llu\n",
            (unsigned long long)s->rst_rx);
    fprintf(f, "coapgw_coap_rst_total{direction=\"sent\"} %llu\n", (unsigned long long)s->rst_tx);
    one(f, "coapgw_coap_malformed_datagrams_total", "counter",
        "Datagrams dropped: not parseable as CoAP, or larger than the limit.",
        s->malformed + s->oversized);
    one(f, "coapgw_coap_duplicates_total", "counter",
        "Duplicate messages detected (RFC 7252 §4.5).", s->duplicates);
    one(f, "coapgw_observe_stale_total", "counter",
        "Notifications dropped as older than one already delivered (RFC 7641 §3.4).", s->stale);
    one(f, "coapgw_observe_reregistrations_total", "counter",
        "Observations registered again after Max-Age in silence (RFC 7641 §3.3.1).",
        s->reregistrations);
}

/* The amplification bound of coap.listen's server (RFC 9175 §2.4; the
 * DTLS listener's peers are verified by their handshake) and the client
 * side following a device's Echo (RFC 9175 §2.3). */
static void echo_families(FILE *f, gw_t *gw, const coap_ep_stats_t *s)
{
    coap_server_stats_t e = {0};
    if (gw->srv) e = *coap_server_stats(gw->srv);
    gw_metrics_family(f, "coapgw_coap_echo_total", "counter",
                      "Echo (RFC 9175 §2.4) at coap.listen: 4.01 challenges sent to unverified "
                      "addresses, addresses verified, wrong or stale values refused.");
    fprintf(f, "coapgw_coap_echo_total{result=\"challenged\"} %llu\n",
            (unsigned long long)e.echo_challenges);
    fprintf(f, "coapgw_coap_echo_total{result=\"verified\"} %llu\n",
            (unsigned long long)e.echo_verified);
    fprintf(f, "coapgw_coap_echo_total{result=\"refused\"} %llu\n",
            (unsigned long long)e.echo_refused);
    one(f, "coapgw_coap_amplification_blocks_total", "counter",
        "Answers to unsafe requests from unverified addresses cut to smaller blocks (RFC 7252 "
        "§11.3).",
        e.amplification_blocks);
    one(f, "coapgw_coap_echo_followed_total", "counter",
        "Requests to devices sent again with the Echo of their 4.01 (RFC 9175 §2.3).",
        s->echo_followed);
}

static void gateway_families(FILE *f, gw_t *gw)
{
    one(f, "coapgw_cache_hits_total", "counter", "Answers served from the cache.",
        gw->stats.cache_hits);
    one(f, "coapgw_cache_misses_total", "counter", "Cacheable GETs the cache could not answer.",
        gw->stats.cache_misses);
    one(f, "coapgw_cache_revalidations_total", "counter",
        "Stale entries refreshed by a 2.03 Valid.", gw->stats.cache_revalidated);
    one(f, "coapgw_cache_entries", "gauge", "Entries in the cache.",
        gw->cache ? gw_cache_entries(gw->cache) : 0);
    one(f, "coapgw_dns_lookups_total", "counter",
        "Host name lookups started (one per name and TTL, however many requests wait).",
        gw->dns ? gw_dns_lookups(gw->dns) : 0);
    one(f, "coapgw_dns_names", "gauge", "Host names cached or being resolved (at most 4096).",
        gw->dns ? gw_dns_names(gw->dns) : 0);
    one(f, "coapgw_coalesced_requests_total", "counter",
        "GETs that joined an identical exchange already in flight.", gw->stats.coalesced);
    gw_metrics_family(f, "coapgw_coap_refused_total", "counter",
                      "Requests towards devices refused by a limit (answered 503 / 5.03).");
    fprintf(f, "coapgw_coap_refused_total{limit=\"coap.max_exchanges\"} %llu\n",
            (unsigned long long)gw->limits.refused[GW_LIMIT_EXCHANGES]);
    fprintf(f, "coapgw_coap_refused_total{limit=\"coap.max_pending_per_peer\"} %llu\n",
            (unsigned long long)gw->limits.refused[GW_LIMIT_PENDING]);
    one(f, "coapgw_coap_requests_open", "gauge",
        "CoAP requests in flight or queued towards devices (observations included) and forward "
        "proxy HTTP calls: what coap.max_exchanges bounds.",
        gw->limits.budget.used);
    gw_hub_stats_t hs = {0};
    if (gw->hub) hs = *gw_hub_stats(gw->hub);
    one(f, "coapgw_observations_active", "gauge", "Upstream CoAP observations.", hs.observations);
    one(f, "coapgw_sse_subscribers", "gauge", "Server-Sent Events streams open.", hs.subscribers);
    one(f, "coapgw_sse_events_total", "counter", "Notifications turned into events.", hs.events);
    one(f, "coapgw_sse_dropped_events_total", "counter",
        "Events a slow subscriber lost (its queue was full).", hs.dropped);
    gw_metrics_family(
        f, "coapgw_sse_refused_total", "counter",
        "Event streams answered 503, and targets answered event: error 503, by limit.");
    fprintf(f, "coapgw_sse_refused_total{limit=\"sse.max_subscribers\"} %llu\n",
            (unsigned long long)hs.refused_subscribers);
    fprintf(f, "coapgw_sse_refused_total{limit=\"sse.max_observations\"} %llu\n",
            (unsigned long long)hs.refused_observations);
    fprintf(f, "coapgw_sse_refused_total{limit=\"sse.max_per_target\"} %llu\n",
            (unsigned long long)hs.refused_per_target);
    one(f, "coapgw_rd_registrations", "gauge", "Devices registered in the Resource Directory.",
        gw_devices_count(gw, GW_DEV_RD));
    uint64_t simple_ok, simple_failed;
    gw_rd_simple_stats(gw->rd, &simple_ok, &simple_failed);
    gw_metrics_family(
        f, "coapgw_rd_simple_registrations_total", "counter",
        "Simple registrations (RFC 9176 §5.1) after their 2.04: registered, or failed "
        "(fetch of /.well-known/core, checks, store).");
    fprintf(f, "coapgw_rd_simple_registrations_total{result=\"registered\"} %llu\n",
            (unsigned long long)simple_ok);
    fprintf(f, "coapgw_rd_simple_registrations_total{result=\"failed\"} %llu\n",
            (unsigned long long)simple_failed);
}

static uint64_t resident_bytes(void)
{
    unsigned long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    if (fscanf(f, "%lu %lu", &size, &resident) != 2) resident = 0;
    fclose(f);
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) return 0;
    uint64_t n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n ? n - 1 : 0; /* not the directory's own descriptor */
}

/* The process collector's names, as Prometheus client libraries use them. */
static void process_families(FILE *f, const gw_metrics_t *m)
{
    one(f, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
        resident_bytes());
    one(f, "process_open_fds", "gauge", "Open file descriptors.", open_fds());
    struct rusage ru;
    double cpu = 0;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
              (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    gw_metrics_family(f, "process_cpu_seconds_total", "counter",
                      "User and system CPU time in seconds.");
    fprintf(f, "process_cpu_seconds_total %.6f\n", cpu);
    if (!m) return;
    gw_metrics_family(f, "process_start_time_seconds", "gauge",
                      "Start time of the process since the epoch in seconds.");
    fprintf(f, "process_start_time_seconds %.3f\n", m->started);
}

void gw_metrics_respond(gw_t *gw, http_req_t *req)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        http_respond_text(req, 503, "out of memory");
        return;
    }
    gw_metrics_family(f, "coapgw_build_info", "gauge", "Always 1; the version in a label.");
    fprintf(f, "coapgw_build_info{version=\"%s\"} 1\n", GW_VERSION);
    coap_ep_stats_t s;
    ep_sum(gw, &s);
    if (gw->metrics) http_families(f, gw->metrics);
    if (gw->metrics) coap_families(f, gw->metrics, &s);
    echo_families(f, gw, &s);
    gateway_families(f, gw);
    state_families(f, gw->store);
    forward_families(f, gw->forward);
    gw_dtls_metrics(f, gw);
    gw_tcp_metrics(f, gw);
    process_families(f, gw->metrics);
    if (fclose(f) || !buf) {
        free(buf);
        http_respond_text(req, 503, "out of memory");
        return;
    }
    http_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", buf, len);
    free(buf);
}
