/*
 * Unit tests for authenticated registration in the Resource Directory
 * (RFC 9176 §7 with DTLS identities: gateway/rd_auth.c, rd_params.c,
 * rd_regs.c) on a simulated network whose nodes carry the identity a
 * DTLS session would have authenticated: names by identity, the binding
 * of a registration to its identity, names kept from plaintext, the
 * session as the base (also after a NAT rebinding), rd.max_per_source
 * per identity, reloads that take identities or names away.
 */
#include "gw_ids.h"
#include "rdfx.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define TRUSTED "127.0.0.5:5683" /* in proxy.coap_clients (loopback) */

static const char ids_json[] =
    "[{\"psk\": \"node1\", \"key_env\": \"COAPGW_TEST_K\", \"names\": [\"node1\", \"s-*\"]},"
    " {\"psk\": \"node2\", \"key_env\": \"COAPGW_TEST_K\", \"names\": [\"node2\", \"shared\"]},"
    " {\"x509\": \"CN=d3\", \"names\": [\"shared\"]}]";

typedef struct {
    fx_t f;
    int n1, n2, n3, nobody;
    coap_identity_t id1, id2, id3, unknown;
} dfx_t;

static void set_ids(dfx_t *x, const char *json)
{
    char err[600];
    ck_assert_msg(
        cfg_set(&x->f.gw.cfg, "dtls.identities", json, CFG_REPLACE, "T", err, sizeof err) == 0,
        "%s", err);
    gw_ids_free(x->f.gw.ids);
    x->f.gw.ids = gw_ids_build(&x->f.gw.cfg, err, sizeof err);
    ck_assert_msg(x->f.gw.ids != NULL, "%s", err);
}

/* A node that speaks as `id` from addr (outside every allowlist). */
static int id_node(dfx_t *x, coap_identity_t *id, const char *addr)
{
    int n = sim_add_raw(&x->f.t.n, NULL, NULL);
    x->f.t.n.nodes[n].addr = addr_of(addr);
    x->f.t.n.nodes[n].identity = id;
    return n;
}

static void dfx_init(dfx_t *x)
{
    memset(x, 0, sizeof *x);
    fx_init(&x->f);
    x->f.gw.cfg.rd_max_registrations = 10;
    setenv("COAPGW_TEST_K", "key", 1);
    set_ids(x, ids_json);
    x->id1 = (coap_identity_t){COAP_IDENTITY_PSK, "node1"};
    x->id2 = (coap_identity_t){COAP_IDENTITY_PSK, "node2"};
    x->id3 = (coap_identity_t){COAP_IDENTITY_X509, "CN=d3"};
    x->unknown = (coap_identity_t){COAP_IDENTITY_X509, "CN=nobody"};
    x->n1 = id_node(x, &x->id1, "203.0.113.5:40001");
    x->n2 = id_node(x, &x->id2, "198.51.100.9:40002");
    x->n3 = id_node(x, &x->id3, "198.51.100.10:40003");
    x->nobody = id_node(x, &x->unknown, "198.51.100.11:40004");
}

static void dfx_free(dfx_t *x)
{
    gw_ids_free(x->f.gw.ids);
    fx_free(&x->f);
    unsetenv("COAPGW_TEST_K");
}

/* METHOD path?query from node n, as ask() does from an address. */
static coap_msg_t dask(dfx_t *x, int n, uint8_t method, const char *path, const char *query)
{
    char src[COAP_ADDR_STRLEN];
    coap_addr_str(sim_addr(&x->f.t.n, n), src, sizeof src);
    return ask(&x->f, src, method, path, query, method == COAP_POST ? "</a>" : NULL,
               method == COAP_POST ? 40 : -1);
}

static int says(const coap_msg_t *m, const char *text)
{
    char buf[300];
    snprintf(buf, sizeof buf, "%.*s", (int)m->payload_len, (const char *)m->payload);
    return strstr(buf, text) != NULL;
}

static void expect_bare(const coap_msg_t *m, uint8_t code)
{
    ck_assert_uint_eq(m->code, code);
    ck_assert_uint_eq(m->payload_len, 0);
}

/* Registered over DTLS from anywhere: reached through the session
 * (coaps://SOURCE), bound to the identity, which the registry shows. */
START_TEST(registered_and_bound)
{
    dfx_t x;
    dfx_init(&x);
    coap_msg_t r = dask(&x, x.n1, COAP_POST, "rd", "ep=node1");
    ck_assert_uint_eq(r.code, COAP_CREATED);
    gw_device_t *d = gw_device_find(&x.f.gw, "node1");
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(d->uri, "coaps://203.0.113.5:40001");
    ck_assert(coap_addr_equal(&d->addr, sim_addr(&x.f.t.n, x.n1)));
    ck_assert(d->via_session);
    ck_assert_str_eq(d->auth, "psk:node1");
    ck_assert(d->online); /* registered from its base: contact */
    ck_assert_uint_eq(dask(&x, x.n1, COAP_POST, "rd", "ep=s-42").code, COAP_CREATED);
    /* a name not listed for it; a base */
    r = dask(&x, x.n1, COAP_POST, "rd", "ep=node2");
    ck_assert_uint_eq(r.code, COAP_FORBIDDEN);
    ck_assert(says(&r, "psk:node1 may not register \"node2\""));
    r = dask(&x, x.n1, COAP_POST, "rd", "ep=node1&base=coap://10.0.0.9");
    ck_assert_uint_eq(r.code, COAP_BAD_REQUEST);
    ck_assert(says(&r, "not with a DTLS registration"));
    /* an identity that is not configured: bare 4.03, whatever it asks */
    r = dask(&x, x.nobody, COAP_POST, "rd", "ep=node1");
    expect_bare(&r, COAP_FORBIDDEN);
    dfx_free(&x);
}
END_TEST

/* Nobody else, another identity or plaintext (even proxy.coap_clients),
 * reads, updates or removes it; its identity does. */
START_TEST(nobody_else)
{
    dfx_t x;
    dfx_init(&x);
    coap_msg_t r = dask(&x, x.n1, COAP_POST, "rd", "ep=node1");
    char loc[64];
    location(&r, loc, sizeof loc);
    static const uint8_t methods[] = {COAP_GET, COAP_POST, COAP_DELETE};
    for (size_t k = 0; k < 3; k++) {
        r = dask(&x, x.n2, methods[k], loc, NULL);
        expect_bare(&r, COAP_FORBIDDEN);
        r = ask(&x.f, A, methods[k], loc, NULL, NULL, -1);
        expect_bare(&r, COAP_FORBIDDEN);
        r = ask(&x.f, TRUSTED, methods[k], loc, NULL, NULL, -1);
        expect_bare(&r, COAP_FORBIDDEN);
    }
    ck_assert_uint_eq(dask(&x, x.n1, COAP_GET, loc, NULL).code, COAP_CONTENT);
    /* two identities allowed one name: the first holds it */
    ck_assert_uint_eq(dask(&x, x.n2, COAP_POST, "rd", "ep=shared").code, COAP_CREATED);
    r = dask(&x, x.n3, COAP_POST, "rd", "ep=SHARED");
    ck_assert_uint_eq(r.code, COAP_FORBIDDEN);
    ck_assert(says(&r, "registered by another endpoint"));
    ck_assert_uint_eq(dask(&x, x.n1, COAP_DELETE, loc, NULL).code, COAP_DELETED);
    ck_assert_ptr_null(gw_device_find(&x.f.gw, "node1"));
    dfx_free(&x);
}
END_TEST

/* A name an identity may register is kept from plaintext, exact or by
 * prefix, in any case; others register as before, auth "none". */
START_TEST(kept_from_plaintext)
{
    dfx_t x;
    dfx_init(&x);
    coap_msg_t r = ask(&x.f, A, COAP_POST, "rd", "ep=NODE1", NULL, -1);
    ck_assert_uint_eq(r.code, COAP_FORBIDDEN);
    ck_assert(says(&r, "kept for a DTLS identity"));
    ck_assert_uint_eq(ask(&x.f, A, COAP_POST, "rd", "ep=s-9", NULL, -1).code, COAP_FORBIDDEN);
    ck_assert_uint_eq(ask(&x.f, A, COAP_POST, "rd", "ep=plain", NULL, -1).code, COAP_CREATED);
    ck_assert_ptr_null(gw_device_find(&x.f.gw, "plain")->auth);
    ck_assert(!gw_device_find(&x.f.gw, "plain")->via_session);
    /* a plaintext registration is not an identity's to change either */
    char loc[64];
    r = ask(&x.f, A, COAP_POST, "rd", "ep=plain2", NULL, -1);
    location(&r, loc, sizeof loc);
    r = dask(&x, x.n1, COAP_DELETE, loc, NULL);
    expect_bare(&r, COAP_FORBIDDEN);
    dfx_free(&x);
}
END_TEST

/* Behind NAT the source may change between updates (a new mapping, a new
 * session): the update moves the device to where its session is now. */
START_TEST(session_moves)
{
    dfx_t x;
    dfx_init(&x);
    coap_msg_t r = dask(&x, x.n1, COAP_POST, "rd", "ep=node1&lt=60");
    char loc[64];
    location(&r, loc, sizeof loc);
    x.f.t.n.nodes[x.n1].addr = addr_of("203.0.113.5:40999");
    ck_assert_uint_eq(dask(&x, x.n1, COAP_POST, loc, "lt=120").code, COAP_CHANGED);
    gw_device_t *d = gw_device_find(&x.f.gw, "node1");
    ck_assert_str_eq(d->uri, "coaps://203.0.113.5:40999");
    ck_assert(coap_addr_equal(&d->addr, sim_addr(&x.f.t.n, x.n1)));
    ck_assert_uint_eq(d->lifetime_s, 120);
    /* and registering again from there keeps the ID */
    r = dask(&x, x.n1, COAP_POST, "rd", "ep=node1");
    char again[64];
    location(&r, again, sizeof again);
    ck_assert_str_eq(again, loc);
    dfx_free(&x);
}
END_TEST

/* rd.max_per_source counts per identity over DTLS (many devices may share
 * one address behind NAT), per address in plaintext. */
START_TEST(per_identity)
{
    dfx_t x;
    dfx_init(&x);
    x.f.gw.cfg.rd_max_per_source = 1;
    ck_assert_uint_eq(dask(&x, x.n1, COAP_POST, "rd", "ep=s-1").code, COAP_CREATED);
    coap_msg_t r = dask(&x, x.n1, COAP_POST, "rd", "ep=s-2");
    ck_assert_uint_eq(r.code, COAP_FORBIDDEN);
    ck_assert(says(&r, "1 registrations from this identity already (rd.max_per_source)"));
    ck_assert_uint_eq(dask(&x, x.n1, COAP_POST, "rd", "ep=s-1").code, COAP_CREATED); /* again */
    /* another identity from the same address (the NAT's) has its own */
    x.f.t.n.nodes[x.n2].addr = *sim_addr(&x.f.t.n, x.n1);
    x.f.t.n.nodes[x.n2].addr.u.v4.sin_port = htons(40555);
    ck_assert_uint_eq(dask(&x, x.n2, COAP_POST, "rd", "ep=node2").code, COAP_CREATED);
    dfx_free(&x);
}
END_TEST

/* A reload: an identity removed takes its registrations along, one whose
 * names shrink loses those no longer listed, and a plaintext registration
 * of a name an identity may register now goes. */
START_TEST(reloads)
{
    dfx_t x;
    dfx_init(&x);
    ck_assert_uint_eq(dask(&x, x.n1, COAP_POST, "rd", "ep=node1").code, COAP_CREATED);
    ck_assert_uint_eq(dask(&x, x.n1, COAP_POST, "rd", "ep=s-1").code, COAP_CREATED);
    ck_assert_uint_eq(dask(&x, x.n2, COAP_POST, "rd", "ep=node2").code, COAP_CREATED);
    ck_assert_uint_eq(ask(&x.f, A, COAP_POST, "rd", "ep=plain", NULL, -1).code, COAP_CREATED);
    set_ids(&x, "[{\"psk\": \"node1\", \"key_env\": \"COAPGW_TEST_K\", \"names\": [\"node1\"]},"
                " {\"x509\": \"CN=d3\", \"names\": [\"plain\"]}]");
    gw_rd_reloaded(x.f.rd);
    ck_assert_ptr_nonnull(gw_device_find(&x.f.gw, "node1"));
    ck_assert_ptr_null(gw_device_find(&x.f.gw, "s-1"));
    ck_assert_ptr_null(gw_device_find(&x.f.gw, "node2"));
    ck_assert_ptr_null(gw_device_find(&x.f.gw, "plain"));
    /* node2 has no rights any more (its session would still be up) */
    coap_msg_t r = dask(&x, x.n2, COAP_POST, "rd", "ep=node2");
    expect_bare(&r, COAP_FORBIDDEN);
    dfx_free(&x);
}
END_TEST

/* On the DTLS listener, a client that authenticated no identity (a
 * certificate handshake without dtls.client_ca) may not register. */
START_TEST(no_identity_on_the_listener)
{
    dfx_t x;
    dfx_init(&x);
    x.f.gw.dtls_srv = x.f.t.srv;
    coap_msg_t r = ask(&x.f, A, COAP_POST, "rd", "ep=plain", NULL, -1);
    expect_bare(&r, COAP_FORBIDDEN);
    ck_assert_uint_eq(dask(&x, x.n1, COAP_POST, "rd", "ep=node1").code, COAP_CREATED);
    x.f.gw.dtls_srv = NULL;
    dfx_free(&x);
}
END_TEST

/* Lookups (RFC 9176 §6, §7): every identity in dtls.identities may look
 * up (also registrations of others); an identity that is not listed gets a
 * bare 4.03, as does a plaintext source outside proxy.coap_clients;
 * proxy.coap_clients may. */
START_TEST(lookups)
{
    dfx_t x;
    dfx_init(&x);
    ck_assert_uint_eq(dask(&x, x.n1, COAP_POST, "rd", "ep=node1").code, COAP_CREATED);
    coap_msg_t r = dask(&x, x.n2, COAP_GET, "rd-lookup/res", "ep=node1");
    ck_assert_uint_eq(r.code, COAP_CONTENT);
    ck_assert(says(&r, "<coaps://203.0.113.5:40001/a>"));
    ck_assert_uint_eq(dask(&x, x.n3, COAP_GET, "rd-lookup/ep", "ep=nothing").code, COAP_CONTENT);
    r = dask(&x, x.nobody, COAP_GET, "rd-lookup/ep", "ep=node1");
    expect_bare(&r, COAP_FORBIDDEN);
    r = ask(&x.f, A, COAP_GET, "rd-lookup/ep", "ep=node1", NULL, -1);
    expect_bare(&r, COAP_FORBIDDEN);
    r = ask(&x.f, TRUSTED, COAP_GET, "rd-lookup/res", "ep=node1", NULL, -1);
    ck_assert_uint_eq(r.code, COAP_CONTENT);
    ck_assert(says(&r, "<coaps://203.0.113.5:40001/a>"));
    dfx_free(&x);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rd_dtls");
    TCase *t = tcase_create("rd_dtls");
    tcase_add_test(t, registered_and_bound);
    tcase_add_test(t, nobody_else);
    tcase_add_test(t, kept_from_plaintext);
    tcase_add_test(t, session_moves);
    tcase_add_test(t, per_identity);
    tcase_add_test(t, reloads);
    tcase_add_test(t, no_identity_on_the_listener);
    tcase_add_test(t, lookups);
    suite_add_tcase(s, t);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
