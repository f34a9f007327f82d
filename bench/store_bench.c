/*
 * store_bench - the commit time of one registration in the SQLite store
 * (gateway/store_sqlite.c) at a steady rate, for choosing PRAGMA
 * synchronous (docs/performance.md, "Durable state"):
 *   store_bench FILE full|normal RATE SECONDS
 * Puts RATE new registrations a second for SECONDS (each its own
 * transaction, as the gateway commits them), timing each put. Prints one
 * line: "sync S commits N rate R p50_us A p99_us B max_us C".
 */
#include "gw_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: store_bench FILE full|normal RATE SECONDS\n");
        return 2;
    }
    int full = !strcmp(argv[2], "full");
    long rate = atol(argv[3]), secs = atol(argv[4]);
    size_t n = (size_t)(rate * secs);
    double *t = calloc(n ? n : 1, sizeof *t);
    char err[400];
    gw_store_t *s = gw_store_sqlite_open(argv[1], full ? GW_STORE_SYNC_FULL : GW_STORE_SYNC_NORMAL,
                                         err, sizeof err);
    if (!s || !t) {
        fprintf(stderr, "store_bench: %s\n", s ? "out of memory" : err);
        return 1;
    }
    static const char links[] = "</sensors/temperature>;rt=\"temperature-c\";obs,"
                                "</sensors/humidity>;rt=\"humidity\";obs,</actuators/led>";
    double start = now_s();
    for (size_t i = 0; i < n; i++) {
        double due = start + (double)i / (double)rate;
        while (now_s() < due) {
            struct timespec pause = {0, 50000};
            nanosleep(&pause, NULL);
        }
        char id[24], name[32];
        snprintf(id, sizeof id, "%08zx", i);
        snprintf(name, sizeof name, "bench-%zu", i);
        gw_store_reg_t r = {.id = id,
                            .name = name,
                            .base = "coap://127.0.0.1:5783",
                            .implicit_base = 0,
                            .lifetime_s = 3600,
                            .expires_at = (int64_t)time(NULL) + 3600,
                            .links = links,
                            .links_len = sizeof links - 1,
                            .owner = NULL};
        coap_addr_from_host(&r.registrant, "127.0.0.1", 5783);
        double t0 = now_s();
        if (gw_store_put(s, &r)) {
            fprintf(stderr, "store_bench: %s\n", gw_store_error(s));
            return 1;
        }
        t[i] = now_s() - t0;
    }
    double took = now_s() - start;
    gw_store_close(s);
    qsort(t, n, sizeof *t, by_value);
    printf("sync %s commits %zu rate %.0f p50_us %.0f p99_us %.0f max_us %.0f\n",
           full ? "full" : "normal", n, (double)n / took, t[n / 2] * 1e6, t[n * 99 / 100] * 1e6,
           t[n - 1] * 1e6);
    free(t);
    return 0;
}
