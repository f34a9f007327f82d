/*
 * Unit tests for the Resource Directory's authorization rules (RFC 9176
 * §7, gateway/rd.c and rd_regs.c) on a simulated network: who may read a
 * registration, the admission before any Block1 upload, rd.max_per_source,
 * rd.max_lifetime_s (also cut on reload), and names that may not be taken
 * ignoring case (also when a reload configures one).
 */
#include "rdfx.h"

#include <check.h>
#include <string.h>

#define STRANGER "192.0.2.1:5683" /* neither an allowed target nor a coap client */
#define TRUSTED  "127.0.0.5:5683" /* in proxy.coap_clients (loopback) */

static void check_bare(const coap_msg_t *r, uint8_t code)
{
    ck_assert_uint_eq(r->code, code);
    ck_assert_uint_eq(r->payload_len, 0);
    ck_assert_uint_eq(r->opt_count, 0);
}

static void ask_bare(fx_t *f, const char *src, uint8_t method, const char *path, const char *query,
                     uint8_t code)
{
    coap_msg_t r = ask(f, src, method, path, query, NULL, -1);
    check_bare(&r, code);
}

/* A registration is read by its owner (any port) and proxy.coap_clients
 * alone; anyone else gets a bare 4.03, to a NON too. Changes stay the
 * owner's, even for proxy.coap_clients. */
START_TEST(registration_read_by_owner_only)
{
    fx_t f;
    fx_init(&f);
    coap_msg_t r = ask(&f, A, COAP_POST, "rd", "ep=n1", "</sensors/temperature>;rt=\"t\"", 40);
    ck_assert_uint_eq(r.code, COAP_CREATED);
    char loc[64];
    location(&r, loc, sizeof loc);
    static const char *const others[] = {B, STRANGER};
    static const uint8_t methods[] = {COAP_GET, COAP_POST, COAP_DELETE};
    for (size_t i = 0; i < 2; i++)
        for (size_t k = 0; k < 3; k++)
            ask_bare(&f, others[i], methods[k], loc, NULL, COAP_FORBIDDEN);
    /* a NON from another source: a NON 4.03, as bare */
    coap_msg_t m;
    raw_init(&m, COAP_NON, COAP_GET, 999, 99);
    raw_path(&m, loc);
    uint8_t buf[64];
    int len = coap_msg_serialize(&m, buf, sizeof buf);
    coap_addr_t b = addr_of(B);
    sim_send_raw(&f.t.n, &b, f.t.srvn, buf, (size_t)len);
    sim_run_idle(&f.t.n);
    const sim_dgram_t *d = sim_last(&f.t.n);
    ck_assert(coap_addr_equal(&d->dst, &b));
    ck_assert_int_eq(d->msg.type, COAP_NON);
    check_bare(&d->msg, COAP_FORBIDDEN);
    /* the owner, from another port; proxy.coap_clients */
    ck_assert_uint_eq(ask(&f, "10.0.0.1:6000", COAP_GET, loc, NULL, NULL, -1).code, COAP_CONTENT);
    r = ask(&f, TRUSTED, COAP_GET, loc, NULL, NULL, -1);
    ck_assert_uint_eq(r.code, COAP_CONTENT);
    ck_assert_uint_gt(r.payload_len, 0);
    r = ask(&f, TRUSTED, COAP_DELETE, loc, NULL, NULL, -1);
    ck_assert_uint_eq(r.code, COAP_FORBIDDEN); /* with a diagnostic: a trusted source */
    ck_assert_uint_gt(r.payload_len, 0);
    ck_assert_ptr_nonnull(gw_device_find(&f.gw, "n1"));
    /* an unknown ID: 4.04 to those who may ask, 4.03 to the others */
    ask_bare(&f, A, COAP_GET, "rd/00000000", NULL, COAP_NOT_FOUND);
    ask_bare(&f, STRANGER, COAP_GET, "rd/00000000", NULL, COAP_FORBIDDEN);
    /* /rd itself from a stranger: bare too */
    ask_bare(&f, STRANGER, COAP_POST, "rd", "ep=x", COAP_FORBIDDEN);
    fx_free(&f);
}
END_TEST

/* Block 0 of a registration (512 bytes, szx 5), from src with its own
 * Request-Tag. */
static coap_msg_t block0(fx_t *f, const char *src, uint8_t tag, const char *ep)
{
    static char body[512];
    memset(body, ' ', sizeof body);
    coap_msg_t m;
    f->mid++;
    raw_init(&m, COAP_CON, COAP_POST, f->mid, (uint8_t)f->mid);
    raw_path(&m, "rd");
    coap_msg_add_uint(&m, COAP_OPT_CONTENT_FORMAT, 40);
    coap_msg_add_opt(&m, COAP_OPT_URI_QUERY, ep, strlen(ep));
    coap_block_add(&m, COAP_OPT_BLOCK1, 0, 1, 5);
    coap_msg_add_opt(&m, COAP_OPT_REQUEST_TAG, &tag, 1);
    m.payload = (const uint8_t *)body;
    m.payload_len = sizeof body;
    coap_addr_t a = addr_of(src);
    return raw_ask_as(&f->t, &a, &m);
}

/* A source that may not register keeps no upload slot: 70 block 0s from
 * it are bare 4.03s, and a device's Block1 registration goes through. */
START_TEST(refused_sources_reserve_no_upload)
{
    fx_t f;
    fx_init(&f);
    f.gw.cfg.rd_max_links_bytes = 4096;
    gw_rd_reloaded(f.rd);
    char src[32];
    for (uint8_t i = 0; i < 70; i++) {
        snprintf(src, sizeof src, "192.0.2.%u:%u", 1 + i % 3, 5000 + i);
        coap_msg_t r = block0(&f, src, i, "ep=x");
        check_bare(&r, COAP_FORBIDDEN);
    }
    ck_assert_ptr_null(f.t.srv->uploads);
    coap_msg_t r = block0(&f, A, 1, "ep=dev");
    ck_assert_uint_eq(r.code, COAP_CONTINUE);
    coap_msg_t m;
    f.mid++;
    raw_init(&m, COAP_CON, COAP_POST, f.mid, (uint8_t)f.mid);
    raw_path(&m, "rd");
    coap_msg_add_uint(&m, COAP_OPT_CONTENT_FORMAT, 40);
    coap_msg_add_opt(&m, COAP_OPT_URI_QUERY, "ep=dev", 6);
    coap_block_add(&m, COAP_OPT_BLOCK1, 1, 0, 5);
    uint8_t tag = 1;
    coap_msg_add_opt(&m, COAP_OPT_REQUEST_TAG, &tag, 1);
    m.payload = (const uint8_t *)"</a>";
    m.payload_len = 4;
    coap_addr_t a = addr_of(A);
    /* the body is 512 blanks and "</a>": valid link format */
    ck_assert_uint_eq(raw_ask_as(&f.t, &a, &m).code, COAP_CREATED);
    ck_assert_uint_eq(gw_device_find(&f.gw, "dev")->links_len, 516);
    fx_free(&f);
}
END_TEST

/* rd.max_per_source registrations from one address (any port): 4.03
 * with a diagnostic naming the key beyond; registering a name it holds
 * again is no new one; other sources are not held up. */
START_TEST(registrations_per_source)
{
    fx_t f;
    fx_init(&f);
    f.gw.cfg.rd_max_registrations = 100;
    f.gw.cfg.rd_max_per_source = 3;
    char q[32], src[32];
    for (int i = 0; i < 3; i++) {
        snprintf(q, sizeof q, "ep=n%d", i);
        snprintf(src, sizeof src, "10.0.0.1:%d", 6000 + i);
        ck_assert_uint_eq(ask(&f, src, COAP_POST, "rd", q, NULL, -1).code, COAP_CREATED);
    }
    coap_msg_t r = ask(&f, "10.0.0.1:7000", COAP_POST, "rd", "ep=n3", NULL, -1);
    ck_assert_uint_eq(r.code, COAP_FORBIDDEN);
    ck_assert(r.payload_len && memmem(r.payload, r.payload_len, "rd.max_per_source", 17));
    ck_assert_ptr_null(gw_device_find(&f.gw, "n3"));
    ck_assert_uint_eq(ask(&f, A, COAP_POST, "rd", "ep=n1&lt=60", NULL, -1).code, COAP_CREATED);
    ck_assert_uint_eq(ask(&f, B, COAP_POST, "rd", "ep=n3", NULL, -1).code, COAP_CREATED);
    /* one removed: room again; the limit is read on every request */
    r = ask(&f, A, COAP_POST, "rd", "ep=n0", NULL, -1);
    char loc[64];
    location(&r, loc, sizeof loc);
    ck_assert_uint_eq(ask(&f, A, COAP_DELETE, loc, NULL, NULL, -1).code, COAP_DELETED);
    ck_assert_uint_eq(ask(&f, A, COAP_POST, "rd", "ep=n4", NULL, -1).code, COAP_CREATED);
    ck_assert_uint_eq(ask(&f, A, COAP_POST, "rd", "ep=n5", NULL, -1).code, COAP_FORBIDDEN);
    f.gw.cfg.rd_max_per_source = 4;
    ck_assert_uint_eq(ask(&f, A, COAP_POST, "rd", "ep=n5", NULL, -1).code, COAP_CREATED);
    fx_free(&f);
}
END_TEST

/* rd.max_lifetime_s: a longer lt is 4.00 naming the key (registration and
 * update); without lt the default is cut to it; a reload that lowers it
 * cuts the registrations that run longer. */
START_TEST(lifetime_limit)
{
    fx_t f;
    fx_init(&f);
    f.gw.cfg.rd_max_registrations = 100;
    coap_msg_t r = ask(&f, A, COAP_POST, "rd", "ep=n&lt=4294967295", NULL, -1);
    ck_assert_uint_eq(r.code, COAP_BAD_REQUEST);
    ck_assert(r.payload_len && memmem(r.payload, r.payload_len, "rd.max_lifetime_s", 17));
    ck_assert_uint_eq(ask(&f, A, COAP_POST, "rd", "ep=n&lt=604801", NULL, -1).code,
                      COAP_BAD_REQUEST);
    ck_assert_ptr_null(gw_device_find(&f.gw, "n"));
    r = ask(&f, A, COAP_POST, "rd", "ep=n&lt=604800", NULL, -1);
    ck_assert_uint_eq(r.code, COAP_CREATED);
    char loc[64];
    location(&r, loc, sizeof loc);
    ck_assert_uint_eq(ask(&f, A, COAP_POST, loc, "lt=604801", NULL, -1).code, COAP_BAD_REQUEST);
    ck_assert_uint_eq(gw_device_find(&f.gw, "n")->lifetime_s, 604800);
    /* the default (90000) above the limit: the limit */
    f.gw.cfg.rd_max_lifetime_s = 3600;
    ck_assert_uint_eq(ask(&f, A, COAP_POST, "rd", "ep=d", NULL, -1).code, COAP_CREATED);
    ck_assert_uint_eq(gw_device_find(&f.gw, "d")->lifetime_s, 3600);
    /* a reload to 100 s: "n" (a week) is cut, from now */
    f.gw.cfg.rd_max_lifetime_s = 100;
    gw_rd_reloaded(f.rd);
    ck_assert_uint_eq(gw_device_find(&f.gw, "n")->lifetime_s, 100);
    sim_run_for(&f.t.n, 101000);
    base_loop_run_once(f.gw.loop, 0);
    ck_assert_ptr_null(gw_device_find(&f.gw, "n"));
    ck_assert_ptr_null(gw_device_find(&f.gw, "d"));
    fx_free(&f);
}
END_TEST

/* A configured name is taken in any case, and a registered one by its
 * owner alone in any case; the owner registering a case variant replaces
 * its registration (same ID). A reload that configures a case variant of
 * a registered name removes the registration. */
START_TEST(names_ignoring_case)
{
    fx_t f;
    fx_init(&f);
    f.gw.cfg.rd_max_registrations = 100;
    static const char *const demo[] = {"ep=DEMO", "ep=Demo", "ep=demO"};
    for (size_t i = 0; i < 3; i++) {
        coap_msg_t r = ask(&f, A, COAP_POST, "rd", demo[i], NULL, -1);
        ck_assert_uint_eq(r.code, COAP_FORBIDDEN);
        ck_assert(r.payload_len && memmem(r.payload, r.payload_len, "configured", 10));
    }
    coap_msg_t r = ask(&f, A, COAP_POST, "rd", "ep=node", NULL, -1);
    char loc[64], loc2[64];
    location(&r, loc, sizeof loc);
    ck_assert_uint_eq(ask(&f, B, COAP_POST, "rd", "ep=NODE", NULL, -1).code, COAP_FORBIDDEN);
    r = ask(&f, A, COAP_POST, "rd", "ep=Node", NULL, -1);
    ck_assert_uint_eq(r.code, COAP_CREATED);
    location(&r, loc2, sizeof loc2);
    ck_assert_str_eq(loc2, loc);
    ck_assert_ptr_null(gw_device_find(&f.gw, "node"));
    ck_assert_str_eq(gw_device_find(&f.gw, "Node")->rd_id, loc + 3);
    ck_assert_uint_eq(gw_devices_count(&f.gw, GW_DEV_RD), 1);
    /* a reload configures "NODE" and "other": both registrations go */
    ck_assert_uint_eq(ask(&f, B, COAP_POST, "rd", "ep=other", NULL, -1).code, COAP_CREATED);
    char err[256];
    ck_assert_int_eq(cfg_set(&f.gw.cfg, "devices", "NODE=coap://10.0.0.50,other=coap://10.0.0.51",
                             CFG_APPEND, "test", err, sizeof err),
                     0);
    ck_assert_int_eq(gw_devices_reload(&f.gw, err, sizeof err), 0);
    gw_rd_reloaded(f.rd);
    ck_assert_ptr_null(gw_device_find(&f.gw, "Node"));
    ck_assert_int_eq(gw_device_find(&f.gw, "NODE")->source, GW_DEV_CONFIG);
    ck_assert_int_eq(gw_device_find(&f.gw, "other")->source, GW_DEV_CONFIG);
    ck_assert_uint_eq(gw_devices_count(&f.gw, GW_DEV_RD), 0);
    ck_assert_uint_eq(ask(&f, A, COAP_GET, loc, NULL, NULL, -1).code, COAP_NOT_FOUND);
    ck_assert_uint_eq(ask(&f, A, COAP_POST, "rd", "ep=node", NULL, -1).code, COAP_FORBIDDEN);
    fx_free(&f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rd_policy");
    TCase *tc = tcase_create("policy");
    tcase_add_test(tc, registration_read_by_owner_only);
    tcase_add_test(tc, refused_sources_reserve_no_upload);
    tcase_add_test(tc, registrations_per_source);
    tcase_add_test(tc, lifetime_limit);
    tcase_add_test(tc, names_ignoring_case);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
