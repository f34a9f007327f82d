/* Unit tests for the HTTP <-> CoAP mapping tables (RFC 8075, RFC 7252 §10.2),
 * row by row as listed in shared/rfc8075-tables.md: methods and status
 * codes. Media types, Content-Format, Accept, ETag and Max-Age are in
 * test_map_media.c. */
#include "coap_msg.h"
#include "gw_map.h"
#include "testutil.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* --- Methods (RFC 8075 §7) --- */

static const struct {
    const char *name;
    int plain, ipatch;
} methods[] = {
    {"GET", COAP_GET, COAP_GET},
    {"HEAD", COAP_GET, COAP_GET},
    {"POST", COAP_POST, COAP_POST},
    {"PUT", COAP_PUT, COAP_PUT},
    {"DELETE", COAP_DELETE, COAP_DELETE},
    {"FETCH", COAP_FETCH, COAP_FETCH},
    {"PATCH", COAP_PATCH, COAP_IPATCH},
    {"OPTIONS", GW_METHOD_LOCAL, GW_METHOD_LOCAL},
    {"TRACE", GW_METHOD_UNSUPPORTED, GW_METHOD_UNSUPPORTED},
    {"CONNECT", GW_METHOD_UNSUPPORTED, GW_METHOD_UNSUPPORTED},
    {"get", GW_METHOD_UNSUPPORTED, GW_METHOD_UNSUPPORTED}, /* case-sensitive */
    {"Patch", GW_METHOD_UNSUPPORTED, GW_METHOD_UNSUPPORTED},
    {"BREW", GW_METHOD_UNSUPPORTED, GW_METHOD_UNSUPPORTED},
    {"", GW_METHOD_UNSUPPORTED, GW_METHOD_UNSUPPORTED},
    {"GETX", GW_METHOD_UNSUPPORTED, GW_METHOD_UNSUPPORTED},
};

START_TEST(method_row)
{
    ck_assert_msg(gw_map_method(methods[_i].name, 0) == methods[_i].plain, "%s", methods[_i].name);
    ck_assert_msg(gw_map_method(methods[_i].name, 1) == methods[_i].ipatch, "%s ipatch",
                  methods[_i].name);
}
END_TEST

START_TEST(method_null)
{
    ck_assert_int_eq(gw_map_method(NULL, 0), GW_METHOD_UNSUPPORTED);
}
END_TEST

static const struct {
    uint8_t code;
    const char *name; /* NULL: no HTTP equivalent */
} methods_to_http[] = {
    {COAP_GET, "GET"},       {COAP_POST, "POST"},   {COAP_PUT, "PUT"},      {COAP_DELETE, "DELETE"},
    {COAP_FETCH, "FETCH"},   {COAP_PATCH, "PATCH"}, {COAP_IPATCH, "PATCH"}, {COAP_EMPTY, NULL},
    {COAP_CODE(0, 8), NULL}, {COAP_CONTENT, NULL},
};

START_TEST(method_to_http_row)
{
    const char *got = gw_map_method_to_http(methods_to_http[_i].code);
    if (methods_to_http[_i].name)
        ck_assert_str_eq(got, methods_to_http[_i].name);
    else
        ck_assert_ptr_null(got);
}
END_TEST

/* --- CoAP response -> HTTP status (RFC 8075 §7) --- */

static const struct {
    uint8_t code;
    int payload, conditional, client_option;
    unsigned status;
    const char *reason; /* exact, or prefix for 4.05 */
} statuses[] = {
    {COAP_CREATED, 0, 0, 0, 201, "Created"},
    {COAP_DELETED, 1, 0, 0, 200, "OK"},
    {COAP_DELETED, 0, 0, 0, 204, "No Content"},
    {COAP_VALID, 0, 1, 0, 304, "Not Modified"},
    {COAP_VALID, 1, 0, 0, 200, "OK"},
    {COAP_CHANGED, 1, 0, 0, 200, "OK"},
    {COAP_CHANGED, 0, 0, 0, 204, "No Content"},
    {COAP_CONTENT, 1, 0, 0, 200, "OK"},
    {COAP_CONTENT, 0, 1, 1, 200, "OK"},
    {COAP_CONTINUE, 0, 0, 0, 502, "Bad Gateway"},
    {COAP_REQUEST_ENTITY_INCOMPLETE, 0, 0, 0, 502, "Bad Gateway"},
    {COAP_BAD_REQUEST, 1, 0, 0, 400, "Bad Request"},
    {COAP_UNAUTHORIZED, 0, 0, 0, 403, "Forbidden"},
    {COAP_BAD_OPTION, 0, 0, 1, 400, "Bad Request"},
    {COAP_BAD_OPTION, 0, 0, 0, 500, "Internal Server Error"},
    {COAP_FORBIDDEN, 0, 0, 0, 403, "Forbidden"},
    {COAP_NOT_FOUND, 1, 1, 1, 404, "Not Found"},
    {COAP_METHOD_NOT_ALLOWED, 0, 0, 0, 400, "CoAP server returned 4.05"},
    {COAP_NOT_ACCEPTABLE, 0, 0, 0, 406, "Not Acceptable"},
    {COAP_PRECONDITION_FAILED, 0, 1, 0, 412, "Precondition Failed"},
    {COAP_REQUEST_ENTITY_TOO_LARGE, 0, 0, 0, 413, "Content Too Large"},
    {COAP_UNSUPPORTED_CONTENT_FORMAT, 0, 0, 0, 415, "Unsupported Media Type"},
    {COAP_CONFLICT, 0, 0, 0, 409, "Conflict"},
    {COAP_UNPROCESSABLE_ENTITY, 0, 0, 0, 422, "Unprocessable Content"},
    {COAP_TOO_MANY_REQUESTS, 0, 0, 0, 429, "Too Many Requests"},
    {COAP_INTERNAL_SERVER_ERROR, 1, 0, 0, 500, "Internal Server Error"},
    {COAP_NOT_IMPLEMENTED, 0, 0, 0, 501, "Not Implemented"},
    {COAP_BAD_GATEWAY, 0, 0, 0, 502, "Bad Gateway"},
    {COAP_SERVICE_UNAVAILABLE, 0, 0, 0, 503, "Service Unavailable"},
    {COAP_GATEWAY_TIMEOUT, 0, 0, 0, 504, "Gateway Timeout"},
    {COAP_PROXYING_NOT_SUPPORTED, 0, 0, 0, 502, "Bad Gateway"},
    /* unknown codes */
    {COAP_CODE(2, 6), 1, 0, 0, 502, "Bad Gateway"},
    {COAP_CODE(4, 7), 0, 0, 0, 502, "Bad Gateway"},
    {COAP_HOP_LIMIT_REACHED, 0, 0, 0, 502, "Bad Gateway"},
    {COAP_CODE(7, 31), 0, 0, 0, 502, "Bad Gateway"},
    {COAP_GET, 0, 0, 0, 502, "Bad Gateway"},
    {COAP_EMPTY, 0, 0, 0, 502, "Bad Gateway"},
};

START_TEST(status_row)
{
    gw_status_t st = gw_map_status(statuses[_i].code, statuses[_i].payload,
                                   statuses[_i].conditional, statuses[_i].client_option);
    ck_assert_msg(st.status == statuses[_i].status, "row %d: %u, want %u", _i, st.status,
                  statuses[_i].status);
    ck_assert_str_eq(st.reason, statuses[_i].reason);
}
END_TEST

START_TEST(status_405_reason_prefix)
{
    /* RFC 8075 §7: the reason phrase must say what the server answered. */
    gw_status_t st = gw_map_status(COAP_METHOD_NOT_ALLOWED, 1, 1, 1);
    const char *want = "CoAP server returned 4.05";
    ck_assert_uint_eq(st.status, 400);
    ck_assert_int_eq(strncmp(st.reason, want, strlen(want)), 0);
}
END_TEST

/* --- HTTP status -> CoAP code (RFC 7252 §10.1) --- */

static const struct {
    unsigned status;
    uint8_t method;
    uint8_t code;
} http_codes[] = {
    {200, COAP_GET, COAP_CONTENT},
    {200, COAP_FETCH, COAP_CONTENT},
    {200, COAP_POST, COAP_CHANGED},
    {200, COAP_PUT, COAP_CHANGED},
    {200, COAP_DELETE, COAP_DELETED},
    {200, COAP_PATCH, COAP_CHANGED},
    {200, COAP_IPATCH, COAP_CHANGED},
    {200, COAP_EMPTY, COAP_CONTENT}, /* method not listed */
    {204, COAP_EMPTY, COAP_CHANGED},
    {201, COAP_POST, COAP_CREATED},
    {201, COAP_PUT, COAP_CREATED},
    {204, COAP_POST, COAP_CHANGED},
    {204, COAP_PUT, COAP_CHANGED},
    {204, COAP_PATCH, COAP_CHANGED},
    {204, COAP_IPATCH, COAP_CHANGED},
    {204, COAP_DELETE, COAP_DELETED},
    {204, COAP_GET, COAP_CONTENT}, /* 2.04 does not answer GET (RFC 7252 §5.9.1.4) */
    {204, COAP_FETCH, COAP_CONTENT},
    {304, COAP_GET, COAP_VALID},
    {400, COAP_GET, COAP_BAD_REQUEST},
    {401, COAP_GET, COAP_UNAUTHORIZED},
    {403, COAP_GET, COAP_FORBIDDEN},
    {404, COAP_GET, COAP_NOT_FOUND},
    {404, COAP_PUT, COAP_NOT_FOUND},
    {404, COAP_DELETE, COAP_DELETED}, /* §10.1.3: or if it does not exist */
    {410, COAP_DELETE, COAP_DELETED},
    {410, COAP_GET, COAP_BAD_REQUEST},
    {405, COAP_POST, COAP_METHOD_NOT_ALLOWED},
    {406, COAP_GET, COAP_NOT_ACCEPTABLE},
    {409, COAP_PUT, COAP_CONFLICT},
    {412, COAP_PUT, COAP_PRECONDITION_FAILED},
    {413, COAP_POST, COAP_REQUEST_ENTITY_TOO_LARGE},
    {415, COAP_POST, COAP_UNSUPPORTED_CONTENT_FORMAT},
    {422, COAP_PATCH, COAP_UNPROCESSABLE_ENTITY},
    {429, COAP_GET, COAP_TOO_MANY_REQUESTS},
    {402, COAP_GET, COAP_BAD_REQUEST}, /* other 4xx */
    {418, COAP_GET, COAP_BAD_REQUEST},
    {451, COAP_GET, COAP_BAD_REQUEST},
    {499, COAP_GET, COAP_BAD_REQUEST},
    {500, COAP_GET, COAP_INTERNAL_SERVER_ERROR},
    {501, COAP_GET, COAP_NOT_IMPLEMENTED},
    {502, COAP_GET, COAP_BAD_GATEWAY},
    {503, COAP_GET, COAP_SERVICE_UNAVAILABLE},
    {504, COAP_GET, COAP_GATEWAY_TIMEOUT},
    {505, COAP_GET, COAP_BAD_GATEWAY}, /* other 5xx, other codes */
    {599, COAP_GET, COAP_BAD_GATEWAY},
    {100, COAP_GET, COAP_BAD_GATEWAY},
    {202, COAP_POST, COAP_BAD_GATEWAY},
    {206, COAP_GET, COAP_BAD_GATEWAY},
    {301, COAP_GET, COAP_BAD_GATEWAY},
    {600, COAP_GET, COAP_BAD_GATEWAY},
    {0, COAP_GET, COAP_BAD_GATEWAY},
};

START_TEST(http_to_coap_row)
{
    uint8_t got = gw_map_http_to_coap(http_codes[_i].status, http_codes[_i].method);
    ck_assert_msg(got == http_codes[_i].code, "%u (method %u): %d.%02d, want %d.%02d",
                  http_codes[_i].status, http_codes[_i].method, COAP_CODE_CLASS(got),
                  COAP_CODE_DETAIL(got), COAP_CODE_CLASS(http_codes[_i].code),
                  COAP_CODE_DETAIL(http_codes[_i].code));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("map");
    TCase *tc = tcase_create("methods");
    tcase_add_loop_test(tc, method_row, 0, COUNT(methods));
    tcase_add_test(tc, method_null);
    tcase_add_loop_test(tc, method_to_http_row, 0, COUNT(methods_to_http));
    suite_add_tcase(s, tc);

    tc = tcase_create("status");
    tcase_add_loop_test(tc, status_row, 0, COUNT(statuses));
    tcase_add_test(tc, status_405_reason_prefix);
    tcase_add_loop_test(tc, http_to_coap_row, 0, COUNT(http_codes));
    suite_add_tcase(s, tc);
    return run_suite(s);
}
