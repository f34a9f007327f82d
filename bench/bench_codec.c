/*
 * bench_codec.c - CoAP codec benchmark: our coap_msg codec against libcoap 4.3.
 *
 * Two typical messages, each parsed and built by both implementations:
 *
 *   request       CON GET, token de ad be ef, Observe 0, Uri-Path "sensors",
 *                 Uri-Path "temperature", Accept 50, Block2 (num 0, szx 6)
 *   notification  NON 2.05, token de ad be ef, ETag 01 02 03 04,
 *                 Observe 0x012345, Content-Format 0, Max-Age 60, "21.5"
 *
 * Operations (mode names in brackets):
 *
 *   parse+visit      [ours-parse, libcoap-parse] parse the datagram, then
 *                    read number, length and value pointer of every option
 *                    and the payload. Ours: coap_msg_parse() into a reused
 *                    coap_msg_t. libcoap: coap_pdu_parse(COAP_PROTO_UDP) into
 *                    a reused PDU, its option iterator, coap_get_data().
 *   build+serialize  [ours-build, libcoap-build] produce the message from
 *                    scratch. Ours: coap_msg_init, set_token, add_opt /
 *                    add_uint, coap_msg_serialize into a buffer. libcoap:
 *                    coap_pdu_init, coap_add_token, coap_add_option,
 *                    coap_add_data, coap_delete_pdu (the PDU is kept in wire
 *                    format as it is built).
 *   serialize        [ours-serialize] coap_msg_serialize of a message built
 *                    once; libcoap has no separate step to compare with.
 *
 * Usage:
 *   bench_codec                 check, then time every mode and print a table
 *   bench_codec --tsv           the same, as "ns<TAB>message<TAB>mode<TAB>value"
 *   bench_codec --mode M --msg request|notification --iters N
 *                               check, then run one loop N times (for callgrind)
 *   bench_codec --check         only the start-up check
 *   bench_codec --info          how it was built: baseline version, optimisation
 *
 * The start-up check parses both datagrams with both parsers, builds both
 * messages with both builders, and aborts unless all four agree on type, code,
 * message ID, token, options (count, numbers, values) and payload, and unless
 * our serializer reproduces the reference datagrams byte for byte.
 */
#include "coap_msg.h"
#include "bench_libcoap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

volatile uintptr_t bench_sink;

#ifdef BENCH_HAVE_LIBCOAP
#define HAVE_BASELINE 1
#else
#define HAVE_BASELINE 0
#endif

/* Reference datagrams, encoded by hand from RFC 7252 §3. */
// clang-format off
static const uint8_t request_wire[] = {
    0x44, 0x01, 0x12, 0x34,                                      /* CON, TKL 4, 0.01 GET, MID */
    0xde, 0xad, 0xbe, 0xef,                                      /* token */
    0x60,                                                        /* Observe (6): 0, empty */
    0x57, 's', 'e', 'n', 's', 'o', 'r', 's',                     /* Uri-Path (11) */
    0x0b, 't', 'e', 'm', 'p', 'e', 'r', 'a', 't', 'u', 'r', 'e', /* Uri-Path (11) */
    0x61, 0x32,                                                  /* Accept (17): 50 */
    0x61, 0x06,                                                  /* Block2 (23): num 0, szx 6 */
};

static const uint8_t notification_wire[] = {
    0x54, 0x45, 0x56, 0x78,                                      /* NON, TKL 4, 2.05, MID */
    0xde, 0xad, 0xbe, 0xef,                                      /* token */
    0x44, 0x01, 0x02, 0x03, 0x04,                                /* ETag (4) */
    0x23, 0x01, 0x23, 0x45,                                      /* Observe (6): 3-byte seq */
    0x60,                                                        /* Content-Format (12): 0 */
    0x21, 0x3c,                                                  /* Max-Age (14): 60 */
    0xff, '2', '1', '.', '5',                                    /* payload */
};
// clang-format on

static const struct {
    const char *name;
    const uint8_t *wire;
    size_t len;
} messages[BENCH_NMSG] = {
    [BENCH_REQUEST] = {"request", request_wire, sizeof request_wire},
    [BENCH_NOTIFICATION] = {"notification", notification_wire, sizeof notification_wire},
};

typedef enum {
    OURS_PARSE,
    LIBCOAP_PARSE,
    OURS_BUILD,
    LIBCOAP_BUILD,
    OURS_SERIALIZE,
    NMODES
} bench_mode_t;

static const struct {
    const char *name;
    int needs_baseline;
} modes[NMODES] = {
    [OURS_PARSE] = {"ours-parse", 0},         [LIBCOAP_PARSE] = {"libcoap-parse", 1},
    [OURS_BUILD] = {"ours-build", 0},         [LIBCOAP_BUILD] = {"libcoap-build", 1},
    [OURS_SERIALIZE] = {"ours-serialize", 0},
};

static _Noreturn void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "bench_codec: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(1);
}

/* --- Our side --- */

/* The same messages as the reference datagrams, built the way the gateway
 * builds them. Returns 0, or a negative coap_err_t. */
static int build_ours(bench_msg_id_t which, coap_msg_t *m)
{
    static const uint8_t tok[4] = {0xde, 0xad, 0xbe, 0xef};
    static const uint8_t etag[4] = {0x01, 0x02, 0x03, 0x04};
    int rc;
    if (which == BENCH_REQUEST) {
        coap_msg_init(m, COAP_CON, COAP_GET, 0x1234);
        rc = coap_msg_set_token(m, tok, sizeof tok);
        rc |= coap_msg_add_uint(m, COAP_OPT_OBSERVE, 0);
        rc |= coap_msg_add_opt(m, COAP_OPT_URI_PATH, "sensors", 7);
        rc |= coap_msg_add_opt(m, COAP_OPT_URI_PATH, "temperature", 11);
        rc |= coap_msg_add_uint(m, COAP_OPT_ACCEPT, 50);
        rc |= coap_msg_add_uint(m, COAP_OPT_BLOCK2, 0u << 4 | 0u << 3 | 6u);
    } else {
        coap_msg_init(m, COAP_NON, COAP_CONTENT, 0x5678);
        rc = coap_msg_set_token(m, tok, sizeof tok);
        rc |= coap_msg_add_opt(m, COAP_OPT_ETAG, etag, sizeof etag);
        rc |= coap_msg_add_uint(m, COAP_OPT_OBSERVE, 0x012345);
        rc |= coap_msg_add_uint(m, COAP_OPT_CONTENT_FORMAT, 0);
        rc |= coap_msg_add_uint(m, COAP_OPT_MAX_AGE, 60);
        m->payload = (const uint8_t *)"21.5";
        m->payload_len = 4;
    }
    return rc;
}

static void ours_parse_loop(const uint8_t *buf, size_t len, long iters)
{
    static coap_msg_t m;
    for (long i = 0; i < iters; i++) {
        if (coap_msg_parse(&m, buf, len) != COAP_OK) die("%s failed", "coap_msg_parse");
        uintptr_t acc = 0;
        for (unsigned j = 0; j < m.opt_count; j++) {
            const coap_msg_opt_t *o = &m.opts[j];
            acc += o->num;
            acc += o->len;
            acc += (uintptr_t)coap_msg_opt_value(o);
        }
        acc += m.payload_len + (uintptr_t)m.payload;
        bench_sink += acc;
    }
}

static void ours_build_loop(bench_msg_id_t which, long iters)
{
    static coap_msg_t m;
    uint8_t out[256];
    for (long i = 0; i < iters; i++) {
        if (build_ours(which, &m)) die("%s failed", "build");
        int n = coap_msg_serialize(&m, out, sizeof out);
        if (n <= 0) die("%s failed", "coap_msg_serialize");
        bench_sink += (uintptr_t)n + out[n - 1];
    }
}

static void ours_serialize_loop(bench_msg_id_t which, long iters)
{
    static coap_msg_t m;
    uint8_t out[256];
    if (build_ours(which, &m)) die("%s failed", "build");
    for (long i = 0; i < iters; i++) {
        int n = coap_msg_serialize(&m, out, sizeof out);
        if (n <= 0) die("%s failed", "coap_msg_serialize");
        bench_sink += (uintptr_t)n + out[n - 1];
    }
}

static void run_mode(bench_mode_t mode, bench_msg_id_t which, long iters)
{
    switch (mode) {
    case OURS_PARSE:
        ours_parse_loop(messages[which].wire, messages[which].len, iters);
        break;
    case OURS_BUILD:
        ours_build_loop(which, iters);
        break;
    case OURS_SERIALIZE:
        ours_serialize_loop(which, iters);
        break;
#ifdef BENCH_HAVE_LIBCOAP
    case LIBCOAP_PARSE:
        bl_parse_loop(messages[which].wire, messages[which].len, iters);
        break;
    case LIBCOAP_BUILD:
        bl_build_loop(which, iters);
        break;
#else
    case LIBCOAP_PARSE:
    case LIBCOAP_BUILD:
        die("%s: built without the libcoap baseline", modes[mode].name);
#endif
    case NMODES:
        break;
    }
}

/* --- Start-up check --- */

static int view_ours(const coap_msg_t *m, bench_view_t *v)
{
    memset(v, 0, sizeof *v);
    v->type = m->type;
    v->code = m->code;
    v->mid = m->mid;
    v->token_len = m->token_len;
    memcpy(v->token, m->token, m->token_len);
    for (unsigned i = 0; i < m->opt_count; i++) {
        const coap_msg_opt_t *o = &m->opts[i];
        if (v->opt_count == BENCH_VIEW_MAX_OPTS || o->len > BENCH_VIEW_MAX_VAL) return -1;
        bench_opt_view_t *ov = &v->opts[v->opt_count++];
        ov->num = o->num;
        ov->len = o->len;
        if (o->len) memcpy(ov->val, coap_msg_opt_value(o), o->len);
    }
    if (m->payload_len > sizeof v->payload) return -1;
    v->payload_len = m->payload_len;
    if (m->payload_len) memcpy(v->payload, m->payload, m->payload_len);
    return 0;
}

static void print_view(const char *who, const bench_view_t *v)
{
    fprintf(stderr, "  %-16s type %u code %u mid 0x%04x token %zu bytes, %zu options:", who,
            v->type, v->code, v->mid, v->token_len, v->opt_count);
    for (size_t i = 0; i < v->opt_count; i++)
        fprintf(stderr, " %u(%u)", v->opts[i].num, v->opts[i].len);
    fprintf(stderr, ", payload %zu bytes\n", v->payload_len);
}

static int views_equal(const bench_view_t *a, const bench_view_t *b)
{
    if (a->type != b->type || a->code != b->code || a->mid != b->mid) return 0;
    if (a->token_len != b->token_len || memcmp(a->token, b->token, a->token_len)) return 0;
    if (a->opt_count != b->opt_count) return 0;
    for (size_t i = 0; i < a->opt_count; i++) {
        const bench_opt_view_t *x = &a->opts[i], *y = &b->opts[i];
        if (x->num != y->num || x->len != y->len || memcmp(x->val, y->val, x->len)) return 0;
    }
    return a->payload_len == b->payload_len && !memcmp(a->payload, b->payload, a->payload_len);
}

static void expect_same(const char *msg, const char *what, const bench_view_t *ref,
                        const bench_view_t *got)
{
    if (views_equal(ref, got)) return;
    fprintf(stderr, "bench_codec: %s: %s disagrees with coap_msg_parse:\n", msg, what);
    print_view("coap_msg_parse", ref);
    print_view(what, got);
    exit(1);
}

static void check(void)
{
    static coap_msg_t m;
    for (int w = 0; w < BENCH_NMSG; w++) {
        const char *name = messages[w].name;
        bench_view_t ref;
        int rc = coap_msg_parse(&m, messages[w].wire, messages[w].len);
        if (rc != COAP_OK)
            die("reference datagram rejected by coap_msg_parse: %s", coap_strerror(rc));
        if (view_ours(&m, &ref)) die("%s: message too large for the check", name);
        /* The visit must see what was encoded, not merely agree with libcoap. */
        if (ref.opt_count != (w == BENCH_REQUEST ? 5u : 4u))
            die("%s: coap_msg_parse found the wrong number of options", name);

        uint8_t out[256];
        if (build_ours((bench_msg_id_t)w, &m)) die("%s: our builder failed", name);
        int n = coap_msg_serialize(&m, out, sizeof out);
        if (n != (int)messages[w].len || memcmp(out, messages[w].wire, messages[w].len))
            die("%s: coap_msg_serialize does not reproduce the reference datagram", name);

#ifdef BENCH_HAVE_LIBCOAP
        bench_view_t v;
        if (bl_parse_view(messages[w].wire, messages[w].len, &v))
            die("%s: reference datagram rejected by coap_pdu_parse", name);
        expect_same(name, "coap_pdu_parse", &ref, &v);
        if (bl_build_view((bench_msg_id_t)w, &v)) die("%s: libcoap builder failed", name);
        expect_same(name, "libcoap builder", &ref, &v);
#else
        (void)expect_same;
#endif
    }
}

/* --- Timing --- */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double run_timed(bench_mode_t mode, bench_msg_id_t which, long iters)
{
    double t0 = now_ns();
    run_mode(mode, which, iters);
    return now_ns() - t0;
}

#define REP_NS 20e6 /* each repetition runs about 20 ms */
#define REPS   7

/* Best ns per message over REPS repetitions. */
static double time_mode(bench_mode_t mode, bench_msg_id_t which)
{
    long iters = 1000;
    double t;
    while ((t = run_timed(mode, which, iters)) < REP_NS / 4 && iters < (1L << 30)) iters *= 2;
    iters = (long)((double)iters * REP_NS / (t > 1 ? t : 1)) + 1;
    double best = 1e300;
    for (int r = 0; r < REPS; r++) {
        double per = run_timed(mode, which, iters) / (double)iters;
        if (per < best) best = per;
    }
    return best;
}

static void print_table(int tsv)
{
    static const struct {
        const char *op;
        bench_mode_t ours, theirs;
    } rows[] = {
        {"parse+visit", OURS_PARSE, LIBCOAP_PARSE},
        {"build+serialize", OURS_BUILD, LIBCOAP_BUILD},
        {"serialize", OURS_SERIALIZE, NMODES},
    };
    if (!tsv) {
        if (HAVE_BASELINE)
            printf("ns/message, best of %d x ~%.0f ms\n", REPS, REP_NS / 1e6);
        else
            printf("libcoap baseline missing (built without libcoap-3-notls)\n");
        printf("%-13s %-15s %9s %11s %7s\n", "message", "operation", "ours ns", "libcoap ns",
               "ratio");
    }
    for (int w = 0; w < BENCH_NMSG; w++) {
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
            double ours = time_mode(rows[i].ours, (bench_msg_id_t)w);
            double theirs = -1;
            if (rows[i].theirs != NMODES && HAVE_BASELINE)
                theirs = time_mode(rows[i].theirs, (bench_msg_id_t)w);
            if (tsv) {
                printf("ns\t%s\t%s\t%.2f\n", messages[w].name, modes[rows[i].ours].name, ours);
                if (theirs >= 0)
                    printf("ns\t%s\t%s\t%.2f\n", messages[w].name, modes[rows[i].theirs].name,
                           theirs);
            } else if (theirs >= 0) {
                printf("%-13s %-15s %9.1f %11.1f %7.2f\n", messages[w].name, rows[i].op, ours,
                       theirs, ours / theirs);
            } else {
                /* "-": libcoap has no such step; "n/a": baseline missing. */
                const char *none = rows[i].theirs == NMODES ? "-" : "n/a";
                printf("%-13s %-15s %9.1f %11s %7s\n", messages[w].name, rows[i].op, ours, none,
                       none);
            }
            fflush(stdout);
        }
    }
}

/* --- Command line --- */

/* For run-codec.sh: how this binary was built, as "key<TAB>value" lines. */
static int print_info(void)
{
#ifdef BENCH_HAVE_LIBCOAP
    printf("baseline\t%s\n", bl_version());
#else
    printf("baseline\tnone\n");
#endif
#if defined(__clang__)
    printf("compiler\tclang %d.%d.%d\n", __clang_major__, __clang_minor__, __clang_patchlevel__);
#elif defined(__GNUC__)
    printf("compiler\tgcc %s\n", __VERSION__);
#endif
    printf("timing\tbest of %d x ~%.0f ms\n", REPS, REP_NS / 1e6);
#ifdef __OPTIMIZE__
    printf("optimized\tyes\n");
#else
    printf("optimized\tno\n");
#endif
    return 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_codec [--tsv | --check | --info | --mode MODE --msg MESSAGE --iters N]\n"
            "  MODE:    ");
    for (int i = 0; i < NMODES; i++) fprintf(stderr, "%s%s", i ? "|" : "", modes[i].name);
    fprintf(stderr, "\n  MESSAGE: request|notification\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int tsv = 0, only_check = 0;
    int mode = -1, msg = -1;
    long iters = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--tsv")) {
            tsv = 1;
        } else if (!strcmp(a, "--check")) {
            only_check = 1;
        } else if (!strcmp(a, "--info")) {
            return print_info();
        } else if (i + 1 < argc && !strcmp(a, "--mode")) {
            a = argv[++i];
            for (int j = 0; j < NMODES; j++)
                if (!strcmp(a, modes[j].name)) mode = j;
            if (mode < 0) usage();
        } else if (i + 1 < argc && !strcmp(a, "--msg")) {
            a = argv[++i];
            for (int j = 0; j < BENCH_NMSG; j++)
                if (!strcmp(a, messages[j].name)) msg = j;
            if (msg < 0) usage();
        } else if (i + 1 < argc && !strcmp(a, "--iters")) {
            char *end;
            errno = 0;
            iters = strtol(argv[++i], &end, 10);
            if (errno || *end || iters < 0) usage();
        } else {
            usage();
        }
    }
    if ((mode >= 0) != (iters >= 0) || (mode >= 0) != (msg >= 0)) usage();

#ifdef BENCH_HAVE_LIBCOAP
    if (bl_init()) die("%s failed", "libcoap initialisation");
#endif
    check();
    if (mode >= 0) {
        if (modes[mode].needs_baseline && !HAVE_BASELINE)
            die("%s: built without the libcoap baseline", modes[mode].name);
        run_mode((bench_mode_t)mode, (bench_msg_id_t)msg, iters);
    } else if (only_check) {
        printf("check passed: both parsers and both builders agree on both messages%s\n",
               HAVE_BASELINE ? "" : " (libcoap baseline missing: our side only)");
    } else {
        if (!tsv) {
#ifdef BENCH_HAVE_LIBCOAP
            printf("baseline: %s\n", bl_version());
#endif
#ifndef __OPTIMIZE__
            printf("warning: bench_codec was built without optimisation\n");
#endif
        }
        print_table(tsv);
    }
#ifdef BENCH_HAVE_LIBCOAP
    bl_cleanup();
#endif
    return 0;
}
