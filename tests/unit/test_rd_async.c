/*
 * Unit tests for the Resource Directory on a store that commits later
 * (gw_store_put_async/gw_store_del_async, as the Redis store does): a
 * change is made in memory and answered only once the store confirmed it
 * (piggybacked when that is quick, a separate CON response after the
 * empty ACK otherwise, RFC 7252 §5.2.2); a failed or refused commit
 * answers 5.03 and changes nothing; the directory freed with a commit in
 * flight answers nobody; other gateways' changes come through the watch.
 */
#include "rdfx.h"

#include "testutil.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A store whose commits wait until the test completes them. */
typedef struct {
    gw_store_t base;
    int down;
    gw_store_done_fn done;
    void *arg;
    int puts, dels;
} async_store_t;

static int a_load(gw_store_t *s, gw_store_each_fn fn, void *arg)
{
    (void)s, (void)fn, (void)arg;
    return 0;
}

static int a_put(gw_store_t *s, const gw_store_reg_t *r)
{
    (void)s, (void)r;
    return 0;
}

static int a_del(gw_store_t *s, const char *id)
{
    (void)s, (void)id;
    return 0;
}

static void a_close(gw_store_t *s)
{
    free(s);
}

static int hold(async_store_t *x, gw_store_done_fn done, void *arg)
{
    if (x->down) return gw_store_fail(&x->base, "state store: redis://test: connection refused");
    ck_assert(x->done == NULL); /* one at a time in these tests */
    x->done = done;
    x->arg = arg;
    return 0;
}

static int a_put_async(gw_store_t *s, const gw_store_reg_t *r, gw_store_done_fn done, void *arg)
{
    (void)r;
    ((async_store_t *)s)->puts++;
    return hold((async_store_t *)s, done, arg);
}

static int a_del_async(gw_store_t *s, const char *id, gw_store_done_fn done, void *arg)
{
    (void)id;
    ((async_store_t *)s)->dels++;
    return hold((async_store_t *)s, done, arg);
}

static const gw_store_ops_t a_ops = {"async", a_load, a_put, a_del, a_close};

static async_store_t *a_new(fx_t *f)
{
    async_store_t *x = calloc(1, sizeof *x);
    ck_assert_ptr_nonnull(x);
    x->base.ops = &a_ops;
    x->base.path = "redis://test";
    x->base.persistent = 1;
    x->base.put_async = a_put_async;
    x->base.del_async = a_del_async;
    fx_init_store(f, &x->base);
    return x;
}

static void complete(async_store_t *x, int rc)
{
    gw_store_done_fn done = x->done;
    ck_assert(done != NULL);
    x->done = NULL;
    if (rc) gw_store_fail(&x->base, "state store: redis://test: no answer within 2 s");
    done(&x->base, rc, x->arg);
}

/* Sends a request (no answer awaited); its message ID. */
static uint16_t send_req(fx_t *f, uint8_t method, const char *path, const char *query)
{
    coap_msg_t m;
    f->mid++;
    raw_init(&m, COAP_CON, method, f->mid, (uint8_t)f->mid);
    raw_path(&m, path);
    if (query) ck_assert_int_eq(coap_msg_add_opt(&m, COAP_OPT_URI_QUERY, query, strlen(query)), 0);
    coap_addr_t a = addr_of(A);
    uint8_t buf[512];
    int len = coap_msg_serialize(&m, buf, sizeof buf);
    sim_send_raw(&f->t.n, &a, f->t.srvn, buf, (size_t)len);
    sim_run_idle(&f->t.n);
    return f->mid;
}

/* The code of the last separate (CON) response to A, 0 when none. */
static uint8_t separate_code(fx_t *f)
{
    coap_addr_t a = addr_of(A);
    for (size_t i = f->t.n.nlog; i-- > 0;) {
        const sim_dgram_t *d = &f->t.n.log[i];
        if (d->from == f->t.srvn && coap_addr_equal(&d->dst, &a) && d->msg.type == COAP_CON)
            return d->msg.code;
    }
    return 0;
}

static uint8_t ack_code(fx_t *f, uint16_t mid)
{
    coap_msg_t r;
    coap_addr_t a = addr_of(A);
    return raw_find_to(&f->t, &a, mid, COAP_ACK, &r) ? r.code : 0xFF;
}

START_TEST(answered_after_the_commit)
{
    fx_t f;
    async_store_t *x = a_new(&f);
    uint16_t mid = send_req(&f, COAP_POST, "rd", "ep=n");
    ck_assert_uint_eq(ack_code(&f, mid), 0xFF);     /* not answered yet */
    ck_assert_ptr_null(gw_device_find(&f.gw, "n")); /* nor in memory */
    complete(x, 0);
    sim_run_idle(&f.t.n);
    ck_assert_uint_eq(ack_code(&f, mid), COAP_CREATED); /* piggybacked: still in time */
    ck_assert_ptr_nonnull(gw_device_find(&f.gw, "n"));
    /* a slow commit: the empty ACK first, then a separate response */
    mid = send_req(&f, COAP_POST, "rd", "ep=m");
    sim_run_for(&f.t.n, 1000);
    ck_assert_uint_eq(ack_code(&f, mid), 0); /* the empty ACK */
    complete(x, 0);
    sim_run_idle(&f.t.n);
    ck_assert_uint_eq(separate_code(&f), COAP_CREATED);
    ck_assert_ptr_nonnull(gw_device_find(&f.gw, "m"));
    fx_free(&f);
}
END_TEST

START_TEST(a_failed_or_refused_commit_is_503_and_changes_nothing)
{
    fx_t f;
    async_store_t *x = a_new(&f);
    uint16_t mid = send_req(&f, COAP_POST, "rd", "ep=n");
    complete(x, -1);
    sim_run_idle(&f.t.n);
    ck_assert_uint_eq(ack_code(&f, mid), COAP_SERVICE_UNAVAILABLE);
    ck_assert_ptr_null(gw_device_find(&f.gw, "n"));
    ck_assert_uint_eq(gw_store_stats(&x->base)->errors, 0); /* the store counts its own */
    x->down = 1;                                            /* refused at once: answered at once */
    mid = send_req(&f, COAP_POST, "rd", "ep=n");
    ck_assert_uint_eq(ack_code(&f, mid), COAP_SERVICE_UNAVAILABLE);
    ck_assert_ptr_null(gw_device_find(&f.gw, "n"));
    /* a removal that fails keeps the registration */
    x->down = 0;
    mid = send_req(&f, COAP_POST, "rd", "ep=k");
    complete(x, 0);
    sim_run_idle(&f.t.n);
    coap_msg_t r;
    coap_addr_t a = addr_of(A);
    ck_assert(raw_find_to(&f.t, &a, mid, COAP_ACK, &r));
    char loc[64];
    location(&r, loc, sizeof loc);
    mid = send_req(&f, COAP_DELETE, loc, NULL);
    complete(x, -1);
    sim_run_idle(&f.t.n);
    ck_assert_uint_eq(ack_code(&f, mid), COAP_SERVICE_UNAVAILABLE);
    ck_assert_ptr_nonnull(gw_device_find(&f.gw, "k"));
    mid = send_req(&f, COAP_DELETE, loc, NULL);
    complete(x, 0);
    sim_run_idle(&f.t.n);
    ck_assert_uint_eq(ack_code(&f, mid), COAP_DELETED);
    ck_assert_ptr_null(gw_device_find(&f.gw, "k"));
    fx_free(&f);
}
END_TEST

START_TEST(freed_with_a_commit_in_flight)
{
    fx_t f;
    async_store_t *x = a_new(&f);
    send_req(&f, COAP_POST, "rd", "ep=n");
    gw_rd_free(f.rd); /* shutdown: the store calls back later, nobody answers */
    f.rd = NULL;
    complete(x, 0);
    fx_free(&f);
}
END_TEST

/* What another gateway registered, changed and removed. */
START_TEST(other_gateways_changes_come_through_the_watch)
{
    fx_t f;
    async_store_t *x = a_new(&f);
    char err[200];
    ck_assert_int_eq(gw_rd_restore(f.rd, err, sizeof err), 0); /* sets the watch */
    ck_assert(x->base.watch.upsert != NULL);
    gw_store_reg_t r = {.id = "0000abcd",
                        .name = "elsewhere",
                        .base = "coap://10.0.0.9:5683",
                        .lifetime_s = 600,
                        .expires_at = (int64_t)time(NULL) + 600,
                        .links = "</a>",
                        .links_len = 4};
    ck_assert_int_eq(coap_addr_parse(&r.registrant, "10.0.0.9:5683", 5683), 0);
    x->base.watch.upsert(&r, x->base.watch.arg);
    gw_device_t *d = gw_device_find(&f.gw, "elsewhere");
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(d->links, "</a>");
    r.links = "</b>";
    x->base.watch.upsert(&r, x->base.watch.arg);
    ck_assert_str_eq(gw_device_find(&f.gw, "elsewhere")->links, "</b>");
    r.name = "DEMO"; /* a configured device's name here: not taken */
    r.id = "0000abce";
    x->base.watch.upsert(&r, x->base.watch.arg);
    ck_assert_uint_eq(gw_devices_count(&f.gw, GW_DEV_RD), 1);
    x->base.watch.removed("0000abcd", x->base.watch.arg);
    ck_assert_ptr_null(gw_device_find(&f.gw, "elsewhere"));
    fx_free(&f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rd_async");
    TCase *tc = tcase_create("async");
    tcase_add_test(tc, answered_after_the_commit);
    tcase_add_test(tc, a_failed_or_refused_commit_is_503_and_changes_nothing);
    tcase_add_test(tc, freed_with_a_commit_in_flight);
    tcase_add_test(tc, other_gateways_changes_come_through_the_watch);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
