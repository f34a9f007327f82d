/*
 * sse_event.c - the events of the observe hub's streams, formatted once
 * per notification and shared by reference.
 */
#include "base_base64.h"
#include "coap_cf.h"
#include "gw.h"
#include "gw_cbor.h"
#include "gw_map.h"
#include "gw_sse_event.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Event IDs: the wall-clock time an event was formatted, in microseconds
 * since the Unix epoch, made strictly increasing within a run. A
 * restarted gateway goes on above what it gave before (unless the clock
 * was set back), and an ID below the start of this run comes from an
 * earlier one. */
static uint64_t ids_epoch, ids_last;

static uint64_t wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t gw_ev_epoch(void)
{
    if (!ids_epoch) ids_last = (ids_epoch = wall_us()) - 1;
    return ids_epoch;
}

static uint64_t next_id(void)
{
    gw_ev_epoch();
    uint64_t now = wall_us();
    return ids_last = now > ids_last ? now : ids_last + 1;
}

gw_ev_t *gw_ev_new(const char *data, size_t len)
{
    gw_ev_t *e = malloc(sizeof *e + len);
    if (!e) return NULL;
    e->refs = 1;
    e->len = len;
    memcpy(e->data, data, len);
    return e;
}

void gw_ev_unref(gw_ev_t *e)
{
    if (e && --e->refs == 0) free(e);
}

static gw_ev_t *ev_printf(const char *event, const char *id, json_t *data)
{
    /* 15 significant digits: 41.1 stays 41.1, not 41.100000000000001 */
    char *json = json_dumps(data, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(data);
    if (!json) return NULL;
    char *text = NULL;
    int n = asprintf(&text, "event: %s\n%s%s%sdata: %s\n\n", event, id ? "id: " : "", id ? id : "",
                     id ? "\n" : "", json);
    free(json);
    if (n < 0) return NULL;
    gw_ev_t *e = gw_ev_new(text, (size_t)n);
    free(text);
    return e;
}

/* CBOR and SenML CBOR as their JSON value (gw_cbor.h), with
 * "converted_from" naming the device's type; 0 when there is none (the
 * payload then goes as base64). */
static int set_converted(json_t *o, const coap_resp_t *r, uint32_t cf)
{
    int senml = cf == COAP_CF_SENML_CBOR;
    json_t *v;
    if ((cf != COAP_CF_CBOR && !senml) ||
        gw_cbor_to_json(r->body, r->body_len, senml, &v, NULL, 0) != GW_CBOR_OK)
        return 0;
    json_object_set_new(o, "payload", v);
    json_object_set_new(o, "converted_from",
                        json_string(senml ? "application/senml+cbor" : "application/cbor"));
    return 1;
}

/* The payload as SSE subscribers get it: the JSON value itself for
 * JSON formats and for CBOR that has a JSON form, a string for text,
 * base64 for anything else. */
static void set_payload(json_t *o, const coap_resp_t *r, int has_cf, uint32_t cf)
{
    if (has_cf && r->body_len && set_converted(o, r, cf)) return;
    const coap_cf_def_t *d = has_cf ? coap_cf_by_number(cf) : NULL;
    if (d && d->json) {
        json_t *v = json_loadb((const char *)r->body, r->body_len, JSON_DECODE_ANY, NULL);
        if (v) {
            json_object_set_new(o, "payload", v);
            return;
        }
    }
    if (!has_cf || (d && d->textual)) {
        /* NULL unless UTF-8; and for a NULL pointer even of length 0 */
        json_t *v =
            r->body_len ? json_stringn((const char *)r->body, r->body_len) : json_string("");
        if (v) {
            json_object_set_new(o, "payload", v);
            return;
        }
    }
    size_t cap = base_base64_size(r->body_len);
    char *out = malloc(cap);
    if (!out) return;
    base_base64_encode(r->body, r->body_len, BASE64_STD, out, cap); /* RFC 4648 §4 */
    json_object_set_new(o, "payload_base64", json_string(out));
    free(out);
}

int gw_ev_set_response(json_t *d, const coap_resp_t *r)
{
    const coap_msg_t *m = r->msg;
    char buf[64];
    uint32_t cf;
    int has_cf = coap_msg_get_uint(m, COAP_OPT_CONTENT_FORMAT, &cf) == 0;
    if (!d) return -1;
    snprintf(buf, sizeof buf, "%u.%02u", COAP_CODE_CLASS(m->code), COAP_CODE_DETAIL(m->code));
    json_object_set_new(d, "code", json_string(buf));
    if (has_cf) {
        json_object_set_new(d, "content_format", json_integer(cf));
        json_object_set_new(d, "content_type", json_string(gw_map_cf_to_type(cf, buf, sizeof buf)));
    }
    const coap_msg_opt_t *etag = coap_msg_find_opt(m, COAP_OPT_ETAG);
    if (etag) {
        for (unsigned i = 0; i < etag->len && i < 8; i++)
            snprintf(buf + 2 * i, 3, "%02x", coap_msg_opt_value(etag)[i]);
        json_object_set_new(d, "etag", json_string(buf));
    }
    json_object_set_new(d, "max_age", json_integer(coap_msg_max_age(m)));
    gw_rfc3339_now(buf, sizeof buf);
    json_object_set_new(d, "received_at", json_string(buf));
    set_payload(d, r, has_cf, cf);
    return 0;
}

gw_ev_t *gw_ev_with_id(const char *event, json_t *data)
{
    char id[24];
    snprintf(id, sizeof id, "%" PRIu64, next_id());
    return ev_printf(event, id, data);
}

gw_ev_t *gw_ev_notification(const char *target, const coap_resp_t *r)
{
    json_t *d = json_object();
    json_object_set_new(d, "target", json_string(target));
    json_object_set_new(d, "seq", json_integer(r->seq));
    if (gw_ev_set_response(d, r)) {
        json_decref(d);
        return NULL;
    }
    return gw_ev_with_id("notification", d);
}

gw_ev_t *gw_ev_status(const char *target, const char *state)
{
    return ev_printf("status", NULL, json_pack("{s:s, s:s}", "target", target, "state", state));
}

gw_ev_t *gw_ev_resumed(const char *target, const char *last_id)
{
    char *end;
    errno = 0;
    unsigned long long id = strtoull(last_id, &end, 10);
    int ours = *last_id >= '0' && *last_id <= '9' && !*end && !errno && id >= gw_ev_epoch() &&
               id <= ids_last;
    return ev_printf("status", NULL,
                     json_pack("{s:s, s:s, s:s, s:b}", "target", target, "state", "resumed",
                               "last_event_id", last_id, "restarted", !ours));
}

gw_ev_t *gw_ev_error(const char *target, unsigned status, const char *message)
{
    if (!target)
        return ev_printf("error", NULL,
                         json_pack("{s:i, s:s}", "status", (int)status, "message", message));
    return ev_printf(
        "error", NULL,
        json_pack("{s:s, s:i, s:s}", "target", target, "status", (int)status, "message", message));
}
