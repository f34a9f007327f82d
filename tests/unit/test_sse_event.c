/*
 * Unit tests for the event streams' notification events (gateway/
 * sse_event.c): how a notification's payload goes into the event's JSON.
 */
#include "coap_msg.h"
#include "gw_sse_event.h"

#include <check.h>
#include <jansson.h>
#include <string.h>

#include "testutil.h"

/* The JSON of the event's data line. */
static json_t *event_data(const gw_ev_t *e)
{
    const char *d = strstr(e->data, "\ndata: ");
    ck_assert_ptr_nonnull(d);
    d += strlen("\ndata: ");
    const char *end = strchr(d, '\n');
    ck_assert_ptr_nonnull(end);
    json_t *j = json_loadb(d, (size_t)(end - d), 0, NULL);
    ck_assert_ptr_nonnull(j);
    return j;
}

static json_t *notification(const uint8_t *body, size_t len, int cf)
{
    coap_msg_t m;
    coap_msg_init(&m, COAP_ACK, COAP_CONTENT, 1);
    if (cf >= 0) coap_msg_add_uint(&m, COAP_OPT_CONTENT_FORMAT, (uint32_t)cf);
    coap_resp_t r = {
        .msg = &m, .observing = 1, .fresh = 1, .seq = 7, .body = body, .body_len = len};
    gw_ev_t *e = gw_ev_notification("/devices/d/x", &r);
    ck_assert_ptr_nonnull(e);
    json_t *j = event_data(e);
    gw_ev_unref(e);
    return j;
}

/* An empty payload is the empty string, with or without a text format
 * (it used to come out as "payload_base64": "" without one: jansson
 * gives no string for a NULL pointer, even of length 0). */
START_TEST(empty_payload_is_empty_text)
{
    static const uint8_t none[1];
    const uint8_t *bodies[] = {NULL, none};
    for (int cf = -1; cf <= 0; cf++) {
        for (size_t i = 0; i < 2; i++) {
            json_t *j = notification(bodies[i], 0, cf);
            ck_assert_ptr_null(json_object_get(j, "payload_base64"));
            ck_assert_str_eq(json_string_value(json_object_get(j, "payload")), "");
            json_decref(j);
        }
    }
}
END_TEST

/* Text stays text, binary becomes base64, JSON stays a value. */
START_TEST(payload_kinds)
{
    json_t *j = notification((const uint8_t *)"21.5", 4, 0);
    ck_assert_str_eq(json_string_value(json_object_get(j, "payload")), "21.5");
    json_decref(j);
    j = notification((const uint8_t *)"\xff\x00", 2, 42);
    ck_assert_str_eq(json_string_value(json_object_get(j, "payload_base64")), "/wA=");
    json_decref(j);
    j = notification((const uint8_t *)"{\"v\":1}", 7, 50);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "payload"), "v")), 1);
    json_decref(j);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sse_event");
    TCase *tc = tcase_create("notification");
    tcase_add_test(tc, empty_payload_is_empty_text);
    tcase_add_test(tc, payload_kinds);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
