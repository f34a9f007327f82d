/*
 * Unit tests for conditional requests evaluated by the server (RFC 7252
 * §5.10.8) on a simulated network: a resource that declares its current
 * ETag gets only requests whose If-Match / If-None-Match hold; the others
 * are answered 4.12 without the handler. A resource without the
 * declaration leaves the options to its handler.
 */
#include "srvnet.h"

#include <check.h>
#include <string.h>

/* The current ETag: cur_len bytes of cur, -1: the resource does not exist. */
static uint8_t cur[8];
static int cur_len;
static int etag_asked;

static int current_etag(coap_server_t *srv, const coap_server_request_t *req, uint8_t etag[8],
                        void *arg)
{
    (void)srv;
    (void)req;
    (void)arg;
    etag_asked++;
    if (cur_len > 0) memcpy(etag, cur, (size_t)cur_len);
    return cur_len;
}

typedef struct {
    st_t t;
    hrec_t h;
    coap_server_resource_t *res;
} ct_t;

static void ct_init(ct_t *c, int declared)
{
    memset(c, 0, sizeof *c);
    st_init(&c->t, NULL, NULL);
    c->h.resp = COAP_RESPONSE(COAP_CHANGED);
    c->res = coap_server_add(c->t.srv, "/doc", 0,
                             COAP_METHODS_READ | COAP_METHOD_BIT(COAP_PUT) |
                                 COAP_METHOD_BIT(COAP_DELETE),
                             h_rec, &c->h, NULL);
    if (declared) coap_resource_set_etag(c->res, current_etag, NULL);
    memcpy(cur, "\x01\x02\x03\x04", 4);
    cur_len = 4;
    etag_asked = 0;
}

/* A PUT of `body` with If-Match values (each `len` bytes of tags[i]: 0 is
 * the empty value) and If-None-Match when inm; returns the answer's code. */
static uint8_t put(ct_t *c, const char *const *tags, const size_t *lens, size_t n, int inm,
                   const char *body)
{
    coap_req_t *req = st_req(&c->t, COAP_PUT, "doc");
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(coap_req_add_if_match(req, tags[i], lens[i]), COAP_OK);
    if (inm) ck_assert_int_eq(coap_req_set_if_none_match(req), COAP_OK);
    ck_assert_int_eq(coap_req_set_payload(req, body, strlen(body)), COAP_OK);
    sim_rec_t k = {0};
    st_do(&c->t, req, &k);
    ck_assert_int_eq(k.finals, 1);
    return k.code;
}

START_TEST(if_match_current_or_listed)
{
    ct_t c;
    ct_init(&c, 1);
    const char *cur_tag[] = {"\x01\x02\x03\x04"}, *two[] = {"\x09", "\x01\x02\x03\x04"};
    const size_t l4[] = {4}, l1_4[] = {1, 4}, l0[] = {0};
    ck_assert_uint_eq(put(&c, cur_tag, l4, 1, 0, "a"), COAP_CHANGED);
    ck_assert_int_eq(c.h.calls, 1);
    ck_assert_uint_eq(put(&c, two, l1_4, 2, 0, "b"), COAP_CHANGED); /* any of them */
    ck_assert_int_eq(c.h.calls, 2);
    ck_assert_uint_eq(put(&c, two, l1_4, 1, 0, "c"), COAP_PRECONDITION_FAILED); /* 0x09 only */
    ck_assert_int_eq(c.h.calls, 2);                                /* the handler never saw it */
    ck_assert_uint_eq(put(&c, NULL, l0, 0, 0, "d"), COAP_CHANGED); /* unconditional */
    const char *empty[] = {""};
    ck_assert_uint_eq(put(&c, empty, l0, 1, 0, "e"), COAP_CHANGED); /* "exists" */
    cur_len = -1;                                                   /* gone */
    ck_assert_uint_eq(put(&c, empty, l0, 1, 0, "f"), COAP_PRECONDITION_FAILED);
    ck_assert_uint_eq(put(&c, cur_tag, l4, 1, 0, "g"), COAP_PRECONDITION_FAILED);
    cur_len = 0; /* exists, without an ETag: only the empty value matches */
    ck_assert_uint_eq(put(&c, cur_tag, l4, 1, 0, "h"), COAP_PRECONDITION_FAILED);
    ck_assert_uint_eq(put(&c, empty, l0, 1, 0, "i"), COAP_CHANGED);
    ck_assert_int_eq(c.h.calls, 5); /* a, b, d, e, i */
    st_free(&c.t);
}
END_TEST

START_TEST(if_none_match_only_when_absent)
{
    ct_t c;
    ct_init(&c, 1);
    ck_assert_uint_eq(put(&c, NULL, NULL, 0, 1, "new"), COAP_PRECONDITION_FAILED);
    ck_assert_int_eq(c.h.calls, 0);
    cur_len = -1; /* not created yet: the PUT creates it */
    ck_assert_uint_eq(put(&c, NULL, NULL, 0, 1, "new"), COAP_CHANGED);
    ck_assert_int_eq(c.h.calls, 1);
    ck_assert_mem_eq(c.h.payload, "new", 3);
    st_free(&c.t);
}
END_TEST

/* A Block1 upload with a failing If-Match stops at its first block. */
START_TEST(block1_refused_at_first_block)
{
    ct_t c;
    ct_init(&c, 1);
    static char body[3000];
    memset(body, 'x', sizeof body - 1);
    const char *old[] = {"\x07"};
    const size_t l1[] = {1};
    size_t before = c.t.n.nlog;
    ck_assert_uint_eq(put(&c, old, l1, 1, 0, body), COAP_PRECONDITION_FAILED);
    ck_assert_int_eq(c.h.calls, 0);
    size_t puts = 0;
    for (size_t i = before; i < c.t.n.nlog; i++) puts += c.t.n.log[i].msg.code == COAP_PUT;
    ck_assert_uint_eq(puts, 1);
    st_free(&c.t);
}
END_TEST

/* Without a declared ETag the handler decides, as before; requests without
 * conditions never ask for the ETag. */
START_TEST(undeclared_left_to_handler)
{
    ct_t c;
    ct_init(&c, 0);
    const char *old[] = {"\x07"};
    const size_t l1[] = {1};
    ck_assert_uint_eq(put(&c, old, l1, 1, 0, "a"), COAP_CHANGED); /* h_rec's answer */
    ck_assert_int_eq(c.h.calls, 1);
    st_free(&c.t);
    ct_init(&c, 1);
    ck_assert_uint_eq(put(&c, NULL, NULL, 0, 0, "a"), COAP_CHANGED);
    sim_rec_t k;
    st_get(&c.t, "doc", &k);
    ck_assert_int_eq(etag_asked, 0);
    st_free(&c.t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("server_cond");
    TCase *tc = tcase_create("cond");
    tcase_add_test(tc, if_match_current_or_listed);
    tcase_add_test(tc, if_none_match_only_when_absent);
    tcase_add_test(tc, block1_refused_at_first_block);
    tcase_add_test(tc, undeclared_left_to_handler);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
