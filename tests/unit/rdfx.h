/*
 * rdfx.h - the fixture of the Resource Directory unit tests: gateway/rd.c
 * on the server of a simulated network (srvnet.h), with the device
 * registry, the default allowlist and proxy.coap_clients (loopback), and
 * requests from any source address.
 */
#ifndef RDFX_H
#define RDFX_H

#include "gw_clients.h"
#include "gw_rd.h"
#include "gw_store.h"
#include "server_internal.h"
#include "srvnet.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    st_t t;
    gw_t gw;
    gw_rd_t *rd;
    uint16_t mid;
} fx_t;

static inline uint64_t net_clock(void *ctx)
{
    return ((simnet_t *)ctx)->now;
}

/* The directory on the simulated network, its registrations kept in
 * store (NULL: the memory-only store); the fixture closes it. */
static inline void fx_init_store(fx_t *f, gw_store_t *store)
{
    memset(f, 0, sizeof *f);
    f->gw.store = store ? store : gw_store_memory();
    ck_assert_ptr_nonnull(f->gw.store);
    st_init(&f->t, NULL, NULL);
    cfg_defaults(&f->gw.cfg); /* one configured device: "demo" */
    f->gw.cfg.rd_max_registrations = 2;
    f->gw.cfg.rd_max_links_bytes = 64;
    f->gw.loop = base_loop_new();
    base_loop_set_clock(f->gw.loop, net_clock, &f->t.n);
    f->gw.acl = gw_acl_new();
    gw_acl_add_defaults(f->gw.acl);
    char err[256];
    f->gw.coap_clients = gw_clients_build(&f->gw.cfg, err, sizeof err); /* loopback */
    ck_assert_ptr_nonnull(f->gw.coap_clients);
    ck_assert_int_eq(gw_devices_load(&f->gw, err, sizeof err), 0);
    f->gw.srv = f->t.srv;
    f->rd = gw_rd_new(&f->gw);
    ck_assert_ptr_nonnull(f->rd);
    ck_assert_int_eq(gw_rd_serve(f->rd, f->t.srv), 0);
    ck_assert_ptr_nonnull(f->rd);
    f->mid = 100;
    gw_log_set_level(CFG_LOG_WARN);
}

static inline void fx_init(fx_t *f)
{
    fx_init_store(f, NULL);
}

static inline void fx_free(fx_t *f)
{
    gw_rd_free(f->rd);
    gw_store_close(f->gw.store);
    st_free(&f->t);
    gw_devices_free(&f->gw);
    gw_acl_free(f->gw.acl);
    gw_acl_free(f->gw.coap_clients);
    cfg_free(&f->gw.cfg);
    base_loop_free(f->gw.loop);
}

static inline coap_addr_t addr_of(const char *s)
{
    coap_addr_t a;
    ck_assert_int_eq(coap_addr_parse(&a, s, 5683), 0);
    return a;
}

/* Sends METHOD path?query ("&"-separated) from src with an optional
 * payload and Content-Format (-1: none); returns the piggybacked answer. */
static inline coap_msg_t ask(fx_t *f, const char *src, uint8_t method, const char *path,
                             const char *query, const char *payload, int cf)
{
    static char q[512];
    coap_msg_t m;
    f->mid++;
    raw_init(&m, COAP_CON, method, f->mid, (uint8_t)f->mid);
    raw_path(&m, path);
    if (cf >= 0) ck_assert_int_eq(coap_msg_add_uint(&m, COAP_OPT_CONTENT_FORMAT, (uint32_t)cf), 0);
    snprintf(q, sizeof q, "%s", query ? query : "");
    for (char *p = q; *p;) {
        size_t l = strcspn(p, "&");
        ck_assert_int_eq(coap_msg_add_opt(&m, COAP_OPT_URI_QUERY, p, l), COAP_OK);
        p += l + (p[l] == '&');
    }
    if (payload) {
        m.payload = (const uint8_t *)payload;
        m.payload_len = strlen(payload);
    }
    coap_addr_t a = addr_of(src);
    return raw_ask_as(&f->t, &a, &m);
}

/* The Location-Path of a 2.01 as "rd/ID". */
static inline void location(const coap_msg_t *m, char *out, size_t cap)
{
    size_t n = 0;
    for (const coap_msg_opt_t *o = coap_msg_find_opt(m, COAP_OPT_LOCATION_PATH); o;
         o = coap_msg_next_opt(m, o))
        n += (size_t)snprintf(out + n, cap - n, "%s%.*s", n ? "/" : "", (int)o->len,
                              (const char *)coap_msg_opt_value(o));
}

#define A "10.0.0.1:5683"
#define B "10.0.0.7:5683"

#endif
