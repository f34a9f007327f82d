/*
 * Unit tests for the Resource Directory (gateway/rd.c, RFC 9176 §5) on a
 * simulated network: parameters and their refusals, the limits (4.13 with
 * Size1), the allowlist rule for sources and bases (4.03), ownership of a
 * name and of a registration, refresh and expiry on the loop clock. The
 * rules of RFC 9176 §7 (who may read, admission, per-source and lifetime
 * limits, names ignoring case) are in test_rd_policy.c.
 */
#include "rdfx.h"

#include <check.h>
#include <string.h>

START_TEST(registration_and_its_parameters)
{
    fx_t f;
    fx_init(&f);
    coap_msg_t r = ask(&f, A, COAP_POST, "rd", "ep=n1", "</a>;rt=\"x\"", 40);
    ck_assert_uint_eq(r.code, COAP_CREATED);
    char loc[64];
    location(&r, loc, sizeof loc);
    ck_assert_uint_eq(strlen(loc), 11); /* rd/ + 8 hex digits */
    ck_assert(!strncmp(loc, "rd/", 3));
    gw_device_t *d = gw_device_find(&f.gw, "n1");
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(d->source, GW_DEV_RD);
    ck_assert_str_eq(d->uri, "coap://10.0.0.1:5683"); /* the source is the base */
    ck_assert_uint_eq(d->lifetime_s, 90000);          /* RFC 9176 §5 default */
    ck_assert_str_eq(d->links, "</a>;rt=\"x\"");
    ck_assert_str_eq(d->rd_id, loc + 3);
    /* an explicit base, an IPv6 literal, the largest lifetime allowed */
    r = ask(&f, A, COAP_POST, "rd", "ep=n2&lt=604800&base=coap://[::1]:7000/", NULL, -1);
    ck_assert_uint_eq(r.code, COAP_CREATED);
    d = gw_device_find(&f.gw, "n2");
    ck_assert_str_eq(d->uri, "coap://[::1]:7000");
    ck_assert_uint_eq(d->lifetime_s, 604800);
    ck_assert_uint_eq(coap_addr_port(&d->addr), 7000);
    /* GET /rd/ID: the links, to the owner (any port) */
    r = ask(&f, "10.0.0.1:9000", COAP_GET, loc, NULL, NULL, -1);
    ck_assert_uint_eq(r.code, COAP_CONTENT);
    ck_assert_uint_eq(opt_u(&r, COAP_OPT_CONTENT_FORMAT), 40);
    fx_free(&f);
}
END_TEST

START_TEST(bad_parameters_are_4_00)
{
    static const char *const bad[] = {
        "lt=60",                                                               /* no ep */
        "ep=",                                                                 /* empty */
        "ep=a/b",                                                              /* bad character */
        "ep=a&ep=b",                                                           /* twice */
        "ep=0123456789012345678901234567890123456789012345678901234567890123", /* 64 */
        "ep=a&lt=0",
        "ep=a&lt=4294967296",
        "ep=a&lt=-1",
        "ep=a&lt=5s",
        "ep=a&base=coap://sensor.lan",     /* a host name: the loop never resolves */
        "ep=a&base=coaps://10.0.0.1",      /* no DTLS */
        "ep=a&base=http://10.0.0.1",       /* not CoAP */
        "ep=a&base=coap://10.0.0.1/?x=1",  /* a query */
        "ep=a&base=coap://10.0.0.1:99999", /* a bad port */
    };
    fx_t f;
    fx_init(&f);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        coap_msg_t r = ask(&f, A, COAP_POST, "rd", bad[i], NULL, -1);
        ck_assert_msg(r.code == COAP_BAD_REQUEST, "%s: got %u", bad[i], r.code);
        ck_assert_uint_eq(opt_u(&r, COAP_OPT_CONTENT_FORMAT), 0); /* a diagnostic */
        ck_assert_uint_gt(r.payload_len, 0);
    }
    ck_assert_uint_eq(ask(&f, A, COAP_POST, "rd", "ep=a", "not links", 40).code, COAP_BAD_REQUEST);
    /* the whole document is checked, not its first byte (RFC 6690 §2) */
    static const char *const bad_links[] = {"<", "</a>;title=\"x", "</a>,", "</a>,,</b>",
                                            "</a>;=1"};
    for (size_t i = 0; i < sizeof bad_links / sizeof *bad_links; i++) {
        coap_msg_t r = ask(&f, A, COAP_POST, "rd", "ep=a", bad_links[i], 40);
        ck_assert_msg(r.code == COAP_BAD_REQUEST, "%s: got %u", bad_links[i], r.code);
        ck_assert(r.payload_len > 30 && !memcmp(r.payload, "payload is not link-format", 26));
    }
    /* "." and "..": URLs resolve them away (/devices/../x) */
    ck_assert_uint_eq(ask(&f, A, COAP_POST, "rd", "ep=..", NULL, -1).code, COAP_BAD_REQUEST);
    ck_assert_uint_eq(ask(&f, A, COAP_POST, "rd", "ep=.", NULL, -1).code, COAP_BAD_REQUEST);
    ck_assert_uint_eq(ask(&f, A, COAP_POST, "rd", "ep=a", "</a>", 0).code,
                      COAP_UNSUPPORTED_CONTENT_FORMAT);
    ck_assert_uint_eq(ask(&f, A, COAP_GET, "rd", NULL, NULL, -1).code, COAP_METHOD_NOT_ALLOWED);
    ck_assert_uint_eq(ask(&f, A, COAP_POST, "rd/x/y", NULL, NULL, -1).code, COAP_NOT_FOUND);
    ck_assert_uint_eq(gw_devices_count(&f.gw, GW_DEV_RD), 0);
    fx_free(&f);
}
END_TEST

START_TEST(limits_are_4_13_with_size1)
{
    fx_t f;
    fx_init(&f);
    char links[80];
    memset(links, 'x', sizeof links);
    links[0] = '<';
    links[1] = '/';
    links[64] = '>';
    links[65] = '\0'; /* 65 bytes: one over */
    coap_msg_t r = ask(&f, A, COAP_POST, "rd", "ep=a", links, 40);
    ck_assert_uint_eq(r.code, COAP_REQUEST_ENTITY_TOO_LARGE);
    ck_assert_uint_eq(opt_u(&r, COAP_OPT_SIZE1), 64);
    links[63] = '>';
    links[64] = '\0';
    ck_assert_uint_eq(ask(&f, A, COAP_POST, "rd", "ep=a", links, 40).code, COAP_CREATED);
    ck_assert_uint_eq(ask(&f, A, COAP_POST, "rd", "ep=b", NULL, -1).code, COAP_CREATED);
    r = ask(&f, A, COAP_POST, "rd", "ep=c", NULL, -1);
    ck_assert_uint_eq(r.code, COAP_REQUEST_ENTITY_TOO_LARGE);
    ck_assert_uint_eq(opt_u(&r, COAP_OPT_SIZE1), 2);
    /* registering again replaces: no new registration */
    ck_assert_uint_eq(ask(&f, A, COAP_POST, "rd", "ep=b&lt=5", NULL, -1).code, COAP_CREATED);
    ck_assert_uint_eq(gw_devices_count(&f.gw, GW_DEV_RD), 2);
    /* the limits are read on every request (a reload may change them) */
    f.gw.cfg.rd_max_registrations = 3;
    ck_assert_uint_eq(ask(&f, A, COAP_POST, "rd", "ep=c", NULL, -1).code, COAP_CREATED);
    fx_free(&f);
}
END_TEST

/* One Block1 block of a registration (512 bytes, szx 5), Size1 when
 * size1 > 0. */
static coap_msg_t ask_block(fx_t *f, uint32_t num, int more, uint32_t size1)
{
    static char body[512];
    memset(body, ' ', sizeof body);
    coap_msg_t m;
    f->mid++;
    raw_init(&m, COAP_CON, COAP_POST, f->mid, (uint8_t)f->mid);
    raw_path(&m, "rd");
    coap_msg_add_uint(&m, COAP_OPT_CONTENT_FORMAT, 40);
    coap_msg_add_opt(&m, COAP_OPT_URI_QUERY, "ep=big", 6);
    coap_block_add(&m, COAP_OPT_BLOCK1, num, more, 5);
    if (size1) coap_msg_add_uint(&m, COAP_OPT_SIZE1, size1);
    m.payload = (const uint8_t *)body;
    m.payload_len = sizeof body;
    coap_addr_t a = addr_of(A);
    return raw_ask_as(&f->t, &a, &m);
}

/* rd.max_links_bytes holds while the blocks arrive (RFC 7959 §2.9.3): a
 * Size1 over it, or the first block past it, is 4.13 at once, not after
 * buffering up to proxy.max_body_bytes. */
START_TEST(large_links_refused_early)
{
    fx_t f;
    fx_init(&f);
    f.gw.cfg.rd_max_links_bytes = 1000;
    gw_rd_reloaded(f.rd);
    coap_msg_t r = ask_block(&f, 0, 1, 100000);
    ck_assert_uint_eq(r.code, COAP_REQUEST_ENTITY_TOO_LARGE);
    ck_assert_uint_eq(opt_u(&r, COAP_OPT_SIZE1), 1000);
    ck_assert_uint_eq(ask_block(&f, 0, 1, 0).code, COAP_CONTINUE);
    r = ask_block(&f, 1, 1, 0); /* 1024 bytes */
    ck_assert_uint_eq(r.code, COAP_REQUEST_ENTITY_TOO_LARGE);
    ck_assert_uint_eq(opt_u(&r, COAP_OPT_SIZE1), 1000);
    ck_assert_ptr_null(gw_device_find(&f.gw, "big"));
    fx_free(&f);
}
END_TEST

/* RFC 9176 §5: the payload is the endpoint's links; an endpoint with no
 * resources registers with none. */
START_TEST(empty_links_register)
{
    fx_t f;
    fx_init(&f);
    ck_assert_uint_eq(ask(&f, A, COAP_POST, "rd", "ep=e", "", 40).code, COAP_CREATED);
    ck_assert_uint_eq(gw_device_find(&f.gw, "e")->links_len, 0);
    ck_assert_uint_eq(ask(&f, A, COAP_POST, "rd", "ep=w", " \r\n", 40).code, COAP_CREATED);
    fx_free(&f);
}
END_TEST

/* A registration from the base address itself is contact with the device. */
START_TEST(registration_from_the_base_is_contact)
{
    fx_t f;
    fx_init(&f);
    ck_assert_uint_eq(ask(&f, A, COAP_POST, "rd", "ep=self", NULL, -1).code, COAP_CREATED);
    gw_device_t *d = gw_device_find(&f.gw, "self");
    ck_assert_int_eq(d->online, 1);
    ck_assert_int_gt(d->last_seen, 0);
    coap_msg_t r = ask(&f, A, COAP_POST, "rd", "ep=other&base=coap://10.0.0.1:7000", NULL, -1);
    ck_assert_uint_eq(r.code, COAP_CREATED);
    d = gw_device_find(&f.gw, "other");
    ck_assert_int_eq(d->online, 0); /* another port: not heard from */
    ck_assert_int_eq(d->last_seen, 0);
    /* an update from the base is contact too */
    char loc[64];
    location(&r, loc, sizeof loc);
    ck_assert_uint_eq(ask(&f, "10.0.0.1:7000", COAP_POST, loc, NULL, NULL, -1).code, COAP_CHANGED);
    ck_assert_int_eq(gw_device_find(&f.gw, "other")->online, 1);
    fx_free(&f);
}
END_TEST

/* A reload that narrows the allowlist removes the registrations whose
 * source or base it no longer allows (registrations never widen it). */
START_TEST(reload_drops_registrations_no_longer_allowed)
{
    fx_t f;
    fx_init(&f);
    ck_assert_uint_eq(ask(&f, A, COAP_POST, "rd", "ep=stays", NULL, -1).code, COAP_CREATED);
    ck_assert_uint_eq(ask(&f, B, COAP_POST, "rd", "ep=src", NULL, -1).code, COAP_CREATED);
    f.gw.cfg.rd_max_registrations = 3;
    ck_assert_uint_eq(
        ask(&f, A, COAP_POST, "rd", "ep=base&base=coap://10.0.0.9:7000", NULL, -1).code,
        COAP_CREATED);
    gw_acl_free(f.gw.acl); /* what reload.c swaps in: only 10.0.0.1 now */
    f.gw.acl = gw_acl_new();
    ck_assert_int_eq(gw_acl_add(f.gw.acl, "10.0.0.1"), 0);
    gw_rd_reloaded(f.rd);
    ck_assert_ptr_nonnull(gw_device_find(&f.gw, "stays"));
    ck_assert_ptr_null(gw_device_find(&f.gw, "src"));
    ck_assert_ptr_null(gw_device_find(&f.gw, "base"));
    ck_assert_uint_eq(gw_devices_count(&f.gw, GW_DEV_RD), 1);
    ck_assert_uint_eq(ask(&f, B, COAP_POST, "rd", "ep=src", NULL, -1).code, COAP_FORBIDDEN);
    fx_free(&f);
}
END_TEST

START_TEST(registration_never_widens_access)
{
    fx_t f;
    fx_init(&f);
    coap_msg_t r = ask(&f, "192.0.2.1:5683", COAP_POST, "rd", "ep=x", NULL, -1);
    ck_assert_uint_eq(r.code, COAP_FORBIDDEN); /* source outside the allowlist */
    r = ask(&f, "192.0.2.1:5683", COAP_POST, "rd", "ep=x&base=coap://10.0.0.1", NULL, -1);
    ck_assert_uint_eq(r.code, COAP_FORBIDDEN); /* even with an allowed base */
    r = ask(&f, A, COAP_POST, "rd", "ep=x&base=coap://8.8.8.8:5683", NULL, -1);
    ck_assert_uint_eq(r.code, COAP_FORBIDDEN); /* base outside the allowlist */
    r = ask(&f, A, COAP_POST, "rd", "ep=x&base=coap://[::ffff:8.8.8.8]", NULL, -1);
    ck_assert_uint_eq(r.code, COAP_FORBIDDEN);
    r = ask(&f, A, COAP_POST, "rd", "ep=demo", NULL, -1);
    ck_assert_uint_eq(r.code, COAP_FORBIDDEN); /* a configured device's name */
    ck_assert_int_eq(gw_device_find(&f.gw, "demo")->source, GW_DEV_CONFIG);
    /* a name and a registration belong to the host that registered */
    r = ask(&f, A, COAP_POST, "rd", "ep=mine", NULL, -1);
    ck_assert_uint_eq(r.code, COAP_CREATED);
    char loc[64];
    location(&r, loc, sizeof loc);
    ck_assert_uint_eq(ask(&f, B, COAP_POST, "rd", "ep=mine", NULL, -1).code, COAP_FORBIDDEN);
    /* naming the same base is no proof of identity: still 4.03 */
    ck_assert_uint_eq(
        ask(&f, B, COAP_POST, "rd", "ep=mine&base=coap://10.0.0.1:5683", NULL, -1).code,
        COAP_FORBIDDEN);
    ck_assert_uint_eq(ask(&f, B, COAP_POST, loc, NULL, NULL, -1).code, COAP_FORBIDDEN);
    ck_assert_uint_eq(ask(&f, B, COAP_DELETE, loc, NULL, NULL, -1).code, COAP_FORBIDDEN);
    ck_assert_str_eq(gw_device_find(&f.gw, "mine")->uri, "coap://10.0.0.1:5683");
    /* the same host from another port: the same endpoint, it may */
    r = ask(&f, "10.0.0.1:6000", COAP_POST, "rd", "ep=mine", NULL, -1);
    ck_assert_uint_eq(r.code, COAP_CREATED);
    char loc2[64];
    location(&r, loc2, sizeof loc2);
    ck_assert_str_eq(loc2, loc); /* replaced in place */
    ck_assert_str_eq(gw_device_find(&f.gw, "mine")->uri, "coap://10.0.0.1:6000");
    ck_assert_uint_eq(ask(&f, A, COAP_DELETE, loc, NULL, NULL, -1).code, COAP_DELETED);
    ck_assert_ptr_null(gw_device_find(&f.gw, "mine"));
    ck_assert_uint_eq(ask(&f, A, COAP_DELETE, loc, NULL, NULL, -1).code, COAP_NOT_FOUND);
    fx_free(&f);
}
END_TEST

START_TEST(update_refresh_and_expiry)
{
    fx_t f;
    fx_init(&f);
    coap_msg_t r = ask(&f, A, COAP_POST, "rd", "ep=n&lt=10&base=coap://10.0.0.1:7000", "</a>", 40);
    ck_assert_uint_eq(r.code, COAP_CREATED);
    char loc[64];
    location(&r, loc, sizeof loc);
    sim_run_for(&f.t.n, 8000);
    base_loop_run_once(f.gw.loop, 0);
    ck_assert_ptr_nonnull(gw_device_find(&f.gw, "n"));
    /* an update without lt keeps the lifetime, restarts it; a payload
     * replaces the links; an explicit base stays when none is given */
    r = ask(&f, "10.0.0.1:9999", COAP_POST, loc, NULL, "</b>", 40);
    ck_assert_uint_eq(r.code, COAP_CHANGED);
    gw_device_t *d = gw_device_find(&f.gw, "n");
    ck_assert_str_eq(d->links, "</b>");
    ck_assert_str_eq(d->uri, "coap://10.0.0.1:7000");
    sim_run_for(&f.t.n, 8000); /* 16 s after registering, 8 s after the update */
    base_loop_run_once(f.gw.loop, 0);
    ck_assert_ptr_nonnull(gw_device_find(&f.gw, "n"));
    /* a new lt and base */
    r = ask(&f, A, COAP_POST, loc, "lt=3&base=coap://10.0.0.1:7001", NULL, -1);
    ck_assert_uint_eq(r.code, COAP_CHANGED);
    d = gw_device_find(&f.gw, "n");
    ck_assert_uint_eq(d->lifetime_s, 3);
    ck_assert_str_eq(d->uri, "coap://10.0.0.1:7001");
    ck_assert_uint_eq(coap_addr_port(&d->addr), 7001);
    ck_assert_str_eq(d->links, "</b>"); /* no payload: links kept */
    r = ask(&f, A, COAP_POST, loc, "base=coap://8.8.8.8", NULL, -1);
    ck_assert_uint_eq(r.code, COAP_FORBIDDEN);
    sim_run_for(&f.t.n, 3100);
    base_loop_run_once(f.gw.loop, 0); /* the expiry timer */
    ck_assert_ptr_null(gw_device_find(&f.gw, "n"));
    ck_assert_uint_eq(ask(&f, A, COAP_POST, loc, NULL, NULL, -1).code, COAP_NOT_FOUND);
    fx_free(&f);
}
END_TEST

START_TEST(implicit_base_follows_the_source)
{
    fx_t f;
    fx_init(&f);
    coap_msg_t r = ask(&f, A, COAP_POST, "rd", "ep=n&lt=5", NULL, -1);
    char loc[64];
    location(&r, loc, sizeof loc);
    /* RFC 9176 §5.3.1: without base, the update's source is the new base */
    ck_assert_uint_eq(ask(&f, "10.0.0.1:6001", COAP_POST, loc, NULL, NULL, -1).code, COAP_CHANGED);
    ck_assert_str_eq(gw_device_find(&f.gw, "n")->uri, "coap://10.0.0.1:6001");
    /* past the lifetime, before the timer ran: gone all the same */
    sim_run_for(&f.t.n, 5100);
    ck_assert_uint_eq(ask(&f, A, COAP_GET, loc, NULL, NULL, -1).code, COAP_NOT_FOUND);
    ck_assert_ptr_null(gw_device_find(&f.gw, "n"));
    fx_free(&f);
}
END_TEST

START_TEST(wellknown_advertises_the_rd)
{
    fx_t f;
    fx_init(&f);
    coap_msg_t r = ask(&f, A, COAP_GET, ".well-known/core", "rt=core.rd", NULL, -1);
    ck_assert_uint_eq(r.code, COAP_CONTENT);
    ck_assert_uint_eq(r.payload_len, strlen("</rd>;rt=\"core.rd\";ct=40"));
    ck_assert_mem_eq(r.payload, "</rd>;rt=\"core.rd\";ct=40", r.payload_len);
    fx_free(&f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rd");
    TCase *tc = tcase_create("rd");
    tcase_add_test(tc, registration_and_its_parameters);
    tcase_add_test(tc, bad_parameters_are_4_00);
    tcase_add_test(tc, limits_are_4_13_with_size1);
    tcase_add_test(tc, registration_never_widens_access);
    tcase_add_test(tc, update_refresh_and_expiry);
    tcase_add_test(tc, implicit_base_follows_the_source);
    tcase_add_test(tc, wellknown_advertises_the_rd);
    tcase_add_test(tc, large_links_refused_early);
    tcase_add_test(tc, empty_links_register);
    tcase_add_test(tc, registration_from_the_base_is_contact);
    tcase_add_test(tc, reload_drops_registrations_no_longer_allowed);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
