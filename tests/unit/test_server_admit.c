/*
 * Unit tests for what the server role refuses before it keeps anything
 * for a request, on a simulated network: control bytes in URI options
 * (4.00), the application's admission (a bare code, no upload reserved,
 * for resources and the proxy), and the Block1 upload limits per source
 * address and in total (5.03 with Max-Age, RFC 7252 §5.9.3.4).
 */
#include "server_internal.h"
#include "srvnet.h"

#include <check.h>
#include <string.h>

static uint8_t body[4096];

static coap_addr_t addr_of(const char *s)
{
    coap_addr_t a;
    ck_assert_int_eq(coap_addr_parse(&a, s, 5683), 0);
    return a;
}

/* One block (512 bytes, szx 5) of a `total`-byte upload to /up from src,
 * tied by Request-Tag `tag`. */
static coap_msg_t send_b1(st_t *t, const coap_addr_t *src, uint16_t mid, uint8_t tag, size_t total,
                          uint32_t num)
{
    size_t bs = 512, off = num * bs, n = total - off < bs ? total - off : bs;
    coap_msg_t m;
    raw_init(&m, COAP_CON, COAP_POST, mid, (uint8_t)(mid * 31));
    raw_path(&m, "up");
    coap_block_add(&m, COAP_OPT_BLOCK1, num, off + n < total, 5);
    coap_msg_add_opt(&m, COAP_OPT_REQUEST_TAG, &tag, 1);
    m.payload = body + off;
    m.payload_len = n;
    return raw_ask_as(t, src, &m);
}

/* A whole upload of `total` bytes: returns the code of the last answer. */
static uint8_t upload(st_t *t, const coap_addr_t *src, uint16_t *mid, uint8_t tag, size_t total)
{
    coap_msg_t a = {0};
    for (uint32_t i = 0; i * 512 < total; i++) {
        a = send_b1(t, src, (*mid)++, tag, total, i);
        if (a.code != COAP_CONTINUE) break;
    }
    return a.code;
}

static void check_busy(const coap_msg_t *a, long max_age_at_most)
{
    ck_assert_int_eq(a->code, COAP_SERVICE_UNAVAILABLE);
    uint32_t ma = opt_u(a, COAP_OPT_MAX_AGE);
    ck_assert_uint_ge(ma, 1);
    ck_assert_uint_le(ma, (uint32_t)max_age_at_most);
    ck_assert_uint_gt(a->payload_len, 0); /* a short diagnostic */
    ck_assert_uint_lt(a->payload_len, 40);
}

static hrec_t up_rec(void)
{
    hrec_t h = {.resp = COAP_RESPONSE(COAP_CHANGED)};
    return h;
}

/* --- control bytes --- */

/* "rd\0\r\n" must not pass for "rd" (the path is a C string): 4.00 with a
 * short diagnostic, whatever the resource or the proxy. */
START_TEST(control_bytes_in_uri_options)
{
    static const struct {
        uint16_t opt;
        const char *v;
        size_t len;
        const char *diag;
    } bad[] = {
        {COAP_OPT_URI_PATH, "rd\0\r\n", 5, "control byte in Uri-Path"},
        {COAP_OPT_URI_PATH, "rd\n", 3, "control byte in Uri-Path"},
        {COAP_OPT_URI_PATH, "r\x7f", 2, "control byte in Uri-Path"},
        {COAP_OPT_URI_PATH, "\x1f", 1, "control byte in Uri-Path"},
        {COAP_OPT_URI_QUERY, "ep=a\0b", 6, "control byte in Uri-Query"},
        {COAP_OPT_URI_HOST, "h\tx", 3, "control byte in Uri-Host"},
    };
    st_t t;
    st_init(&t, NULL, NULL);
    hrec_t h = {.name = "ok"}, p = {.name = "proxied"};
    coap_server_add(t.srv, "/rd", COAP_RES_PREFIX, COAP_METHODS_READ, h_rec, &h, NULL);
    coap_server_set_proxy(t.srv, h_rec, &p);
    uint16_t mid = 1;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        for (int proxied = 0; proxied < 2; proxied++) {
            coap_msg_t m;
            raw_init(&m, COAP_CON, COAP_GET, mid, (uint8_t)mid);
            mid++;
            if (proxied) coap_msg_add_opt(&m, COAP_OPT_PROXY_SCHEME, "coap", 4);
            if (bad[i].opt != COAP_OPT_URI_PATH) raw_path(&m, "rd");
            coap_msg_add_opt(&m, bad[i].opt, bad[i].v, bad[i].len);
            coap_msg_t a = raw_ask(&t, &m);
            ck_assert_msg(a.code == COAP_BAD_REQUEST, "case %zu/%d: %u", i, proxied, a.code);
            /* the diagnostic only where the answer stays within the
             * request's size (RFC 7252 §11.3) */
            if (a.payload_len) {
                ck_assert_uint_eq(a.payload_len, strlen(bad[i].diag));
                ck_assert_mem_eq(a.payload, bad[i].diag, a.payload_len);
            }
        }
    }
    /* Proxy-Uri and Proxy-Scheme themselves */
    coap_msg_t m;
    raw_init(&m, COAP_CON, COAP_GET, mid++, 1);
    coap_msg_add_opt(&m, COAP_OPT_PROXY_URI, "coap://h/rd\r\n", 13);
    ck_assert_int_eq(raw_ask(&t, &m).code, COAP_BAD_REQUEST);
    raw_init(&m, COAP_CON, COAP_GET, mid++, 2);
    coap_msg_add_opt(&m, COAP_OPT_PROXY_SCHEME, "coap\0", 5);
    ck_assert_int_eq(raw_ask(&t, &m).code, COAP_BAD_REQUEST);
    ck_assert_int_eq(h.calls, 0);
    ck_assert_int_eq(p.calls, 0);
    /* printable bytes, UTF-8 included, still pass */
    raw_init(&m, COAP_CON, COAP_GET, mid++, 3);
    raw_path(&m, "rd/caf\xc3\xa9 x");
    coap_msg_add_opt(&m, COAP_OPT_URI_QUERY, "a=b c", 5);
    ck_assert_int_eq(raw_ask(&t, &m).code, COAP_CONTENT);
    ck_assert_int_eq(h.calls, 1);
    ck_assert_str_eq(h.path, "/rd/caf\xc3\xa9 x");
    st_free(&t);
}
END_TEST

/* --- admission --- */

typedef struct {
    int calls;
    coap_addr_t allowed;
    uint8_t code; /* the refusal */
    size_t payload_len;
    coap_server_resource_t *res;
} admit_rec_t;

static uint8_t admit_one(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    (void)srv;
    admit_rec_t *a = arg;
    a->calls++;
    a->payload_len = req->payload_len;
    a->res = req->resource;
    return coap_addr_same_host(req->peer, &a->allowed) ? 0 : a->code;
}

/* A refused source gets the bare code (no payload, no options, also to a
 * Block1 block 0 and a NON) and nothing is kept: no upload reserved, the
 * handler never runs. An admitted source is served as before. */
START_TEST(admission_refuses_before_an_upload)
{
    st_t t;
    st_init(&t, NULL, NULL);
    hrec_t h = up_rec();
    coap_server_resource_t *r =
        coap_server_add(t.srv, "/up", 0, COAP_METHOD_BIT(COAP_POST), h_rec, &h, NULL);
    admit_rec_t adm = {.allowed = addr_of("10.0.0.1"), .code = COAP_FORBIDDEN};
    coap_resource_set_admit(r, admit_one, &adm);
    coap_addr_t stranger = addr_of("192.0.2.9:6000"), friend = addr_of("10.0.0.1:7000");
    uint16_t mid = 1;
    for (uint8_t tag = 0; tag < 70; tag++) {
        coap_msg_t a = send_b1(&t, &stranger, mid++, tag, 3000, 0);
        ck_assert_int_eq(a.code, COAP_FORBIDDEN);
        ck_assert_uint_eq(a.payload_len, 0);
        ck_assert_uint_eq(a.opt_count, 0);
    }
    ck_assert_ptr_null(t.srv->uploads);
    ck_assert_uint_eq(t.srv->nuploads, 0);
    ck_assert_int_eq(adm.calls, 70);
    ck_assert_uint_eq(adm.payload_len, 512); /* this block's payload only */
    ck_assert_ptr_eq(adm.res, r);
    /* a NON gets a NON 4.03, just as bare */
    coap_msg_t m;
    raw_init(&m, COAP_NON, COAP_POST, mid, 9);
    raw_path(&m, "up");
    uint8_t buf[64];
    int len = coap_msg_serialize(&m, buf, sizeof buf);
    sim_send_raw(&t.n, &stranger, t.srvn, buf, (size_t)len);
    sim_run_idle(&t.n);
    mid++;
    const sim_dgram_t *d = sim_last(&t.n); /* a NON answer has its own message ID */
    ck_assert(coap_addr_equal(&d->dst, &stranger));
    coap_msg_t a = d->msg;
    ck_assert_int_eq(a.type, COAP_NON);
    ck_assert_int_eq(a.code, COAP_FORBIDDEN);
    ck_assert_uint_eq(a.payload_len, 0);
    ck_assert_int_eq(h.calls, 0);
    /* the admitted source uploads (every block is asked about) */
    int before = adm.calls;
    ck_assert_int_eq(upload(&t, &friend, &mid, 1, 3000), COAP_CHANGED);
    ck_assert_int_eq(adm.calls - before, 6);
    ck_assert_int_eq(h.calls, 1);
    ck_assert_uint_eq(h.payload_len, 3000);
    /* a refusal may be any code the application picks */
    adm.code = COAP_NOT_FOUND;
    ck_assert_int_eq(send_b1(&t, &stranger, mid++, 1, 3000, 0).code, COAP_NOT_FOUND);
    /* without a callback, everyone is admitted */
    coap_resource_set_admit(r, NULL, NULL);
    ck_assert_int_eq(upload(&t, &stranger, &mid, 2, 1000), COAP_CHANGED);
    st_free(&t);
}
END_TEST

/* The proxy handler's admission: the same bare refusal before the body of
 * a Block1 request is reassembled or a kept answer is served. */
START_TEST(proxy_admission)
{
    st_t t;
    st_init(&t, NULL, NULL);
    hrec_t p = up_rec();
    coap_server_set_proxy(t.srv, h_rec, &p);
    admit_rec_t adm = {.allowed = addr_of("10.0.0.1"), .code = COAP_FORBIDDEN};
    coap_server_set_proxy_admit(t.srv, admit_one, &adm);
    coap_addr_t stranger = addr_of("192.0.2.9:6000"), friend = addr_of("10.0.0.1:7000");
    static const char uri[] = "coap://10.0.0.2/actuators/led";
    for (int i = 0; i < 2; i++) {
        coap_msg_t m;
        raw_init(&m, COAP_CON, COAP_PUT, (uint16_t)(10 + i), (uint8_t)i);
        coap_msg_add_opt(&m, COAP_OPT_PROXY_URI, uri, strlen(uri));
        coap_block_add(&m, COAP_OPT_BLOCK1, 0, 1, 5);
        m.payload = body;
        m.payload_len = 512;
        coap_msg_t a = raw_ask_as(&t, i ? &friend : &stranger, &m);
        ck_assert_int_eq(a.code, (i ? COAP_CONTINUE : COAP_FORBIDDEN));
        if (!i) ck_assert_uint_eq(a.payload_len + a.opt_count, 0);
        ck_assert_uint_eq(t.srv->nuploads, (size_t)i);
        ck_assert_ptr_null(adm.res); /* a proxied request has no resource */
    }
    ck_assert_int_eq(p.calls, 0);
    /* a resource's admission does not apply to the proxy, nor the other way */
    hrec_t h = {.name = "ok"};
    coap_server_add(t.srv, "/x", 0, COAP_METHODS_READ, h_rec, &h, NULL);
    coap_msg_t m;
    raw_init(&m, COAP_CON, COAP_GET, 20, 20);
    raw_path(&m, "x");
    ck_assert_int_eq(raw_ask_as(&t, &stranger, &m).code, COAP_CONTENT);
    st_free(&t);
}
END_TEST

/* --- upload limits --- */

/* One source address (any port) holds at most max_uploads_per_peer
 * uploads (default 4); beyond: 5.03 with a Max-Age. Another source's
 * upload still works meanwhile, and a finished upload frees its slot. */
START_TEST(uploads_per_peer)
{
    st_t t;
    st_init(&t, NULL, NULL);
    hrec_t h = up_rec();
    coap_server_add(t.srv, "/up", 0, COAP_METHOD_BIT(COAP_POST), h_rec, &h, NULL);
    uint16_t mid = 1;
    char s[32];
    for (uint8_t tag = 0; tag < 4; tag++) {
        snprintf(s, sizeof s, "10.0.0.1:%u", 6000 + tag); /* ports do not matter */
        coap_addr_t a = addr_of(s);
        ck_assert_int_eq(send_b1(&t, &a, mid++, tag, 3000, 0).code, COAP_CONTINUE);
    }
    coap_addr_t busy_peer = addr_of("10.0.0.1:6000"), other = addr_of("10.0.0.2:6000");
    coap_msg_t a = send_b1(&t, &busy_peer, mid++, 9, 3000, 0);
    check_busy(&a, 10);
    ck_assert_uint_eq(t.srv->nuploads, 4);
    /* the peer's own uploads go on; another peer is not held up */
    ck_assert_int_eq(upload(&t, &other, &mid, 9, 3000), COAP_CHANGED);
    ck_assert_int_eq(h.calls, 1);
    ck_assert_int_eq(send_b1(&t, &busy_peer, mid++, 0, 3000, 1).code, COAP_CONTINUE);
    /* restarting one of its own uploads (block 0 again) is no new slot */
    ck_assert_int_eq(send_b1(&t, &busy_peer, mid++, 0, 3000, 0).code, COAP_CONTINUE);
    /* one of them finishes: a slot frees */
    for (uint32_t i = 0; i < 6; i++) send_b1(&t, &busy_peer, mid++, 0, 3000, i);
    ck_assert_int_eq(h.calls, 2);
    ck_assert_int_eq(send_b1(&t, &busy_peer, mid++, 9, 3000, 0).code, COAP_CONTINUE);
    ck_assert_int_eq(send_b1(&t, &busy_peer, mid++, 10, 3000, 0).code, COAP_SERVICE_UNAVAILABLE);
    /* (an IPv4-mapped IPv6 source is the same peer: the endpoint keeps
     * peers in one canonical form, test_loop's mapped_destination) */
    st_free(&t);
}
END_TEST

/* max_uploads in all: 5.03 with Max-Age = the seconds until the first
 * slot would free (at most 10); after MAX_TRANSMIT_WAIT (93 s) without
 * blocks the slots are free again. The limits can change on a running server. */
START_TEST(uploads_in_total)
{
    coap_server_params_t sp = {.max_uploads = 6, .max_uploads_per_peer = 3};
    st_t t;
    st_init(&t, NULL, &sp);
    hrec_t h = up_rec();
    coap_server_add(t.srv, "/up", 0, COAP_METHOD_BIT(COAP_POST), h_rec, &h, NULL);
    coap_addr_t p1 = addr_of("10.0.0.1"), p2 = addr_of("10.0.0.2"), p3 = addr_of("10.0.0.3");
    uint16_t mid = 1;
    for (uint8_t tag = 0; tag < 3; tag++) {
        ck_assert_int_eq(send_b1(&t, &p1, mid++, tag, 3000, 0).code, COAP_CONTINUE);
        ck_assert_int_eq(send_b1(&t, &p2, mid++, tag, 3000, 0).code, COAP_CONTINUE);
    }
    ck_assert_int_eq(send_b1(&t, &p1, mid++, 7, 3000, 0).code, COAP_SERVICE_UNAVAILABLE);
    coap_msg_t a = send_b1(&t, &p3, mid++, 0, 3000, 0);
    check_busy(&a, 10);
    ck_assert_uint_eq(opt_u(&a, COAP_OPT_MAX_AGE), 10); /* 93 s away: capped */
    /* 3 s before the first upload is given up: a Max-Age of 3 */
    uint64_t life = 93000; /* MAX_TRANSMIT_WAIT, RFC 7252 §4.8.2 */
    sim_run_for(&t.n, life - 3000);
    a = send_b1(&t, &p3, mid++, 0, 3000, 0);
    check_busy(&a, 3);
    sim_run_for(&t.n, 3100);
    ck_assert_int_eq(upload(&t, &p3, &mid, 0, 3000), COAP_CHANGED);
    /* set on a running server (a configuration reload) */
    coap_server_set_upload_limits(t.srv, 1, 0);
    ck_assert_uint_eq(t.srv->p.max_uploads_per_peer, 3); /* 0 keeps it */
    ck_assert_int_eq(send_b1(&t, &p1, mid++, 0, 3000, 0).code, COAP_CONTINUE);
    ck_assert_int_eq(send_b1(&t, &p2, mid++, 0, 3000, 0).code, COAP_SERVICE_UNAVAILABLE);
    coap_server_set_upload_limits(t.srv, 64, 1);
    ck_assert_int_eq(send_b1(&t, &p2, mid++, 0, 3000, 0).code, COAP_CONTINUE);
    ck_assert_int_eq(send_b1(&t, &p2, mid++, 1, 3000, 0).code, COAP_SERVICE_UNAVAILABLE);
    st_free(&t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("server_admit");
    TCase *tc = tcase_create("admit");
    tcase_add_test(tc, control_bytes_in_uri_options);
    tcase_add_test(tc, admission_refuses_before_an_upload);
    tcase_add_test(tc, proxy_admission);
    tcase_add_test(tc, uploads_per_peer);
    tcase_add_test(tc, uploads_in_total);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
