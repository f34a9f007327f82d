/*
 * Unit tests for the Resource Directory's durable state (gateway/rd_store.c
 * and its callers in rd.c, rd_regs.c): every change reaches the store
 * before the answer, a store that cannot commit leaves everything as it
 * was and the device gets 5.00, and at start the stored registrations
 * come back with their expiry, expired and no longer allowed ones
 * deleted.
 */
#include "rdfx.h"

#include "testutil.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A store that records what it is asked, and fails when told to. */
typedef struct {
    gw_store_t base;
    int fail;
    int puts, dels;
    char last_id[16], last_name[64], last_links[64];
    uint32_t last_lt;
    int64_t last_expires;
} rec_store_t;

static int rec_load(gw_store_t *s, gw_store_each_fn fn, void *arg)
{
    (void)s, (void)fn, (void)arg;
    return 0;
}

static int rec_put(gw_store_t *s, const gw_store_reg_t *r)
{
    rec_store_t *x = (rec_store_t *)s;
    if (x->fail) return gw_store_fail(s, "test.db: disk full");
    x->puts++;
    snprintf(x->last_id, sizeof x->last_id, "%s", r->id);
    snprintf(x->last_name, sizeof x->last_name, "%s", r->name);
    snprintf(x->last_links, sizeof x->last_links, "%.*s", (int)r->links_len, r->links);
    x->last_lt = r->lifetime_s;
    x->last_expires = r->expires_at;
    return 0;
}

static int rec_del(gw_store_t *s, const char *id)
{
    rec_store_t *x = (rec_store_t *)s;
    if (x->fail) return gw_store_fail(s, "test.db: disk full");
    x->dels++;
    snprintf(x->last_id, sizeof x->last_id, "%s", id);
    return 0;
}

static void rec_close(gw_store_t *s)
{
    free(s);
}

static const gw_store_ops_t rec_ops = {"test", rec_load, rec_put, rec_del, rec_close};

static rec_store_t *rec_new(fx_t *f)
{
    rec_store_t *x = calloc(1, sizeof *x);
    ck_assert_ptr_nonnull(x);
    x->base.ops = &rec_ops;
    x->base.path = "test.db";
    x->base.persistent = 1;
    fx_init_store(f, &x->base);
    return x;
}

START_TEST(every_change_is_committed_first)
{
    fx_t f;
    rec_store_t *x = rec_new(&f);
    coap_msg_t r = ask(&f, A, COAP_POST, "rd", "ep=n&lt=100", "</a>", 40);
    ck_assert_uint_eq(r.code, COAP_CREATED);
    char loc[64];
    location(&r, loc, sizeof loc);
    ck_assert_int_eq(x->puts, 1);
    ck_assert_str_eq(x->last_id, loc + 3);
    ck_assert_str_eq(x->last_links, "</a>");
    int64_t now = (int64_t)time(NULL);
    ck_assert(x->last_expires >= now + 99 && x->last_expires <= now + 101); /* wall clock */
    r = ask(&f, A, COAP_POST, loc, "lt=200", "</b>", 40);
    ck_assert_uint_eq(r.code, COAP_CHANGED);
    ck_assert_int_eq(x->puts, 2);
    ck_assert_uint_eq(x->last_lt, 200);
    ck_assert_str_eq(x->last_links, "</b>");
    ck_assert_uint_eq(ask(&f, A, COAP_DELETE, loc, NULL, NULL, -1).code, COAP_DELETED);
    ck_assert_int_eq(x->dels, 1);
    /* expiry deletes too */
    r = ask(&f, A, COAP_POST, "rd", "ep=m&lt=2", NULL, -1);
    ck_assert_uint_eq(r.code, COAP_CREATED);
    sim_run_for(&f.t.n, 2100);
    base_loop_run_once(f.gw.loop, 0);
    ck_assert_ptr_null(gw_device_find(&f.gw, "m"));
    ck_assert_int_eq(x->dels, 2);
    fx_free(&f);
}
END_TEST

START_TEST(a_failed_commit_changes_nothing)
{
    fx_t f;
    rec_store_t *x = rec_new(&f);
    x->fail = 1;
    coap_msg_t r = ask(&f, A, COAP_POST, "rd", "ep=n&lt=100", "</a>", 40);
    ck_assert_uint_eq(r.code, COAP_INTERNAL_SERVER_ERROR);
    ck_assert_ptr_null(gw_device_find(&f.gw, "n")); /* never announced */
    ck_assert_uint_eq(gw_store_stats(&x->base)->errors, 1);
    x->fail = 0;
    r = ask(&f, A, COAP_POST, "rd", "ep=n&lt=100", "</a>", 40);
    ck_assert_uint_eq(r.code, COAP_CREATED);
    char loc[64];
    location(&r, loc, sizeof loc);
    x->fail = 1;
    /* an update: links, lifetime and base stay as they were */
    r = ask(&f, A, COAP_POST, loc, "lt=5&base=coap://10.0.0.1:7000", "</b>", 40);
    ck_assert_uint_eq(r.code, COAP_INTERNAL_SERVER_ERROR);
    gw_device_t *d = gw_device_find(&f.gw, "n");
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(d->links, "</a>");
    ck_assert_uint_eq(d->lifetime_s, 100);
    ck_assert_str_eq(d->uri, "coap://10.0.0.1:5683");
    /* a removal: still there */
    ck_assert_uint_eq(ask(&f, A, COAP_DELETE, loc, NULL, NULL, -1).code,
                      COAP_INTERNAL_SERVER_ERROR);
    ck_assert_ptr_nonnull(gw_device_find(&f.gw, "n"));
    /* a re-registration: the old one stays */
    r = ask(&f, A, COAP_POST, "rd", "ep=n&lt=9", "</c>", 40);
    ck_assert_uint_eq(r.code, COAP_INTERNAL_SERVER_ERROR);
    ck_assert_str_eq(gw_device_find(&f.gw, "n")->links, "</a>");
    fx_free(&f);
}
END_TEST

/* --- restore at start, from a real SQLite file --- */

static char dir[64], path[128];

static void put(gw_store_t *s, const char *id, const char *name, const char *src, int64_t left,
                const char *owner)
{
    char base[80];
    snprintf(base, sizeof base, "%s://%s", owner ? "coaps" : "coap", src);
    gw_store_reg_t r = {.id = id,
                        .name = name,
                        .base = base,
                        .implicit_base = 1,
                        .lifetime_s = 3600,
                        .expires_at = (int64_t)time(NULL) + left,
                        .links = "</s>",
                        .links_len = 4,
                        .owner = owner};
    ck_assert_int_eq(coap_addr_parse(&r.registrant, src, 5683), 0);
    ck_assert_int_eq(gw_store_put(s, &r), 0);
}

static void count_one(const gw_store_reg_t *r, void *arg)
{
    (void)r;
    ++*(int *)arg;
}

static int count_rows(gw_store_t *s)
{
    int n = 0;
    ck_assert_int_eq(gw_store_load(s, count_one, &n), 0);
    return n;
}

START_TEST(restore_keeps_expiry_and_drops_the_rest)
{
    snprintf(dir, sizeof dir, "/tmp/coapgw-rdstore.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/state.db", dir);
    char err[400];
    gw_store_t *s = gw_store_sqlite_open(path, GW_STORE_SYNC_NORMAL, err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    put(s, "00000001", "live", "10.0.0.1:5683", 100, NULL);
    put(s, "00000002", "old", "10.0.0.2:5683", -5, NULL);         /* expired while down */
    put(s, "00000003", "DEMO", "10.0.0.3:5683", 100, NULL);       /* a configured name */
    put(s, "00000004", "far", "198.51.100.7:5683", 100, NULL);    /* not an allowed target */
    put(s, "00000005", "node", "10.0.0.5:5683", 100, "psk:node"); /* identity not configured */
    fx_t f;
    fx_init_store(&f, s);
    f.gw.cfg.rd_max_registrations = 10;
    ck_assert_int_eq(gw_rd_restore(f.rd, err, sizeof err), 0);
    ck_assert_uint_eq(gw_devices_count(&f.gw, GW_DEV_RD), 1);
    gw_device_t *d = gw_device_find(&f.gw, "live");
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(d->uri, "coap://10.0.0.1:5683");
    ck_assert_str_eq(d->links, "</s>");
    ck_assert_uint_eq(d->lifetime_s, 3600);
    /* the remaining lifetime continues: about 100 s, not 3600 */
    uint64_t now = base_loop_now(f.gw.loop);
    ck_assert(d->expires_ms > now + 98000 && d->expires_ms <= now + 100000);
    ck_assert_int_eq(count_rows(s), 1); /* the others are deleted from the file */
    /* its owner (the registrant's host) may change it as before */
    char loc[] = "rd/00000001";
    ck_assert_uint_eq(ask(&f, "10.0.0.1:4000", COAP_POST, loc, "lt=50", NULL, -1).code,
                      COAP_CHANGED);
    ck_assert_uint_eq(ask(&f, B, COAP_DELETE, loc, NULL, NULL, -1).code, COAP_FORBIDDEN);
    fx_free(&f);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rd_store");
    TCase *tc = tcase_create("rd_store");
    tcase_add_test(tc, every_change_is_committed_first);
    tcase_add_test(tc, a_failed_commit_changes_nothing);
    tcase_add_test(tc, restore_keeps_expiry_and_drops_the_rest);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
