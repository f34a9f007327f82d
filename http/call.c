/*
 * call.c - one HTTP call: the request (method, headers, body, limits) as
 * curl options, the response as it arrives (the headers the caller gets,
 * the body under its limit), and the result handed to the caller. The
 * client (client.c) drives its transfer. See http_client.h.
 */
#include "http_client_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const hdr_names[H_COUNT] = {"Content-Type", "ETag", "Cache-Control", "Expires",
                                               "Location"};

/* --- the call's life --- */

static void call_free(http_call_t *call)
{
    http_client_easy_back_(call->c, call->easy, call->reusable);
    curl_url_cleanup(call->url); /* after: the handle used it */
    curl_slist_free_all(call->headers);
    free(call->method);
    base_buf_free(&call->req_body);
    base_buf_free(&call->body);
    for (int i = 0; i < H_COUNT; i++) free(call->hdr[i]);
    free(call);
}

void http_call_discard_(http_call_t *call)
{
    base_list_remove(&call->link);
    call_free(call);
}

/* The refused addresses surface as "could not connect" (at connect time)
 * or as an aborted transfer (before the request), and our own write
 * callback's refusal as a write error: say why. */
static int map_result(const http_call_t *call, CURLcode cc)
{
    return cc == CURLE_OK                     ? HTTP_CALL_OK
           : cc == CURLE_OPERATION_TIMEDOUT   ? HTTP_CALL_TIMEOUT
           : cc == CURLE_COULDNT_RESOLVE_HOST ? HTTP_CALL_DNS
           : cc == CURLE_COULDNT_CONNECT ? (call->refused ? HTTP_CALL_REFUSED : HTTP_CALL_CONNECT)
           : cc == CURLE_ABORTED_BY_CALLBACK && call->refused ? HTTP_CALL_REFUSED
           : cc == CURLE_WRITE_ERROR && call->too_large       ? HTTP_CALL_TOO_LARGE
                                                              : HTTP_CALL_ERROR;
}

/* What the caller gets; msg holds the text of r->error when needed. */
static void fill_result(const http_call_t *call, CURLcode cc, http_result_t *r, char *msg,
                        size_t cap)
{
    if (r->result == HTTP_CALL_OK) {
        long status = 0;
        curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &status);
        r->status = (unsigned)status;
        r->content_type = call->hdr[H_CTYPE];
        r->etag = call->hdr[H_ETAG];
        r->cache_control = call->hdr[H_CACHE_CONTROL];
        r->expires = call->hdr[H_EXPIRES];
        r->location = call->hdr[H_LOCATION];
        r->body = call->body.data ? call->body.data : (const uint8_t *)"";
        r->body_len = call->body.len;
    } else if (r->result == HTTP_CALL_CANCELLED) {
        r->error = "cancelled";
    } else if (r->result == HTTP_CALL_TOO_LARGE) {
        snprintf(msg, cap, "response body larger than %zu bytes", call->max_body);
        r->error = msg;
    } else if (r->result == HTTP_CALL_REFUSED) {
        r->error = "address refused by the address check";
    } else if (call->oom) {
        r->error = "out of memory";
    } else if (call->unwatched) {
        r->error = "the event loop cannot watch the connection";
    } else {
        /* The error buffer has the details (host, errno text) when curl
         * filled it; strip its trailing newline. */
        snprintf(msg, cap, "%s", call->errbuf[0] ? call->errbuf : curl_easy_strerror(cc));
        msg[strcspn(msg, "\r\n")] = '\0';
        r->error = msg;
    }
}

/* The transfer opened no connection: it went out on a kept one, and so
 * did not retry on a fresh one, the one thing curl counts across the
 * transfers of a handle that only curl_easy_reset() clears. */
static int reused_only(const http_call_t *call)
{
    long n = -1;
    return curl_easy_getinfo(call->easy, CURLINFO_NUM_CONNECTS, &n) == CURLE_OK && n == 0;
}

void http_call_finish_(http_call_t *call, int result, CURLcode cc)
{
    http_client_t *c = call->c;
    char msg[CURL_ERROR_SIZE + 64];
    http_result_t r = {.result = result == HTTP_CALL_OK ? map_result(call, cc) : result};
    fill_result(call, cc, &r, msg, sizeof msg);
    call->reusable = call->plain && r.result == HTTP_CALL_OK && reused_only(call);
    curl_multi_remove_handle(c->multi, call->easy);
    base_list_remove(&call->link);
    c->running--;
    call->finishing = 1;
    http_client_hold_(c);
    call->done(call, &r, call->done_arg);
    call_free(call);
    http_client_release_(c);
}

/* --- the response, as curl hands it over --- */

static size_t write_cb(char *data, size_t size, size_t n, void *arg)
{
    http_call_t *call = arg;
    size_t len = size * n;
    if (call->on_data) {
        long status = 0;
        curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &status);
        return call->on_data(call, (unsigned)status, call->hdr[H_CTYPE], (const uint8_t *)data, len,
                             call->data_arg)
                   ? 0
                   : len;
    }
    if (len > call->max_body - call->body.len) {
        call->too_large = 1;
        return 0; /* anything but len: CURLE_WRITE_ERROR */
    }
    if (base_buf_append(&call->body, data, len)) {
        call->oom = 1;
        return 0;
    }
    return len;
}

static int is_blank(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

/* Keeps one of the headers the caller gets. A list header sent twice
 * means the two lists joined; the others are single: the last one wins. */
static int keep_header(http_call_t *call, int i, const char *v, size_t v_len)
{
    char *s = NULL;
    if (i == H_CACHE_CONTROL && call->hdr[i]) {
        if (asprintf(&s, "%s, %.*s", call->hdr[i], (int)v_len, v) < 0) s = NULL;
    } else {
        s = strndup(v, v_len);
    }
    if (!s) return -1;
    free(call->hdr[i]);
    call->hdr[i] = s;
    return 0;
}

/* One header line at a time, status lines and the blank line included.
 * Only the last response counts (1xx, or a proxy's, come first), so a
 * status line starts over; lines after the final blank line are trailers. */
static size_t header_cb(char *line, size_t size, size_t n, void *arg)
{
    http_call_t *call = arg;
    size_t len = size * n;
    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        for (int i = 0; i < H_COUNT; i++) {
            free(call->hdr[i]);
            call->hdr[i] = NULL;
        }
        call->hdr_done = 0;
        return len;
    }
    size_t end = len;
    while (end > 0 && is_blank(line[end - 1])) end--;
    if (end == 0) {
        call->hdr_done = 1;
        return len;
    }
    const char *colon = memchr(line, ':', end);
    if (call->hdr_done || !colon) return len;
    size_t name_len = (size_t)(colon - line);
    while (name_len > 0 && is_blank(line[name_len - 1])) name_len--;
    const char *v = colon + 1;
    while (v < line + end && is_blank(*v)) v++;
    for (int i = 0; i < H_COUNT; i++) {
        if (strlen(hdr_names[i]) != name_len || strncasecmp(line, hdr_names[i], name_len)) continue;
        if (keep_header(call, i, v, (size_t)(line + end - v))) {
            call->oom = 1;
            return 0;
        }
        break;
    }
    return len;
}

/* --- the request --- */

/* RFC 9110 token characters: what a method or a header name may hold. */
static int is_token(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s)) return 0;
    return 1;
}

http_call_t *http_call_new(http_client_t *c, const char *method, const char *url)
{
    http_url_t u;
    if (!url || http_url_parse(url, &u)) return NULL;
    return http_call_new_parsed(c, method, &u);
}

http_call_t *http_call_new_parsed(http_client_t *c, const char *method, http_url_t *u)
{
    http_call_t *call = NULL;
    if (c && !c->closing && method && is_token(method) && u->curlu &&
        (!strcmp(u->scheme, "http") || !strcmp(u->scheme, "https")))
        call = calloc(1, sizeof *call);
    if (!call) {
        http_url_release(u);
        return NULL;
    }
    call->c = c;
    call->zone_scope = http_url_zone_scope_(u);
    call->url = u->curlu;
    u->curlu = NULL;
    call->method = strdup(method);
    call->easy = http_client_easy_(c);
    /* CURLOPT_CURLU: curl copies our parse instead of parsing the URL again. */
    if (!call->method || !call->easy ||
        curl_easy_setopt(call->easy, CURLOPT_CURLU, call->url) != CURLE_OK) {
        call_free(call);
        return NULL;
    }
    call->timeout_ms = 10000;
    call->max_body = 1024 * 1024;
    base_list_push_front(&c->calls, &call->link);
    return call;
}

int http_call_add_header(http_call_t *call, const char *name, const char *value)
{
    if (!is_token(name) || strpbrk(value, "\r\n")) return -1;
    base_buf_t line = {0};
    /* "Name:" alone would remove the header in curl; "Name;" sends it empty. */
    int rc = *value ? base_buf_printf(&line, "%s: %s", name, value)
                    : base_buf_printf(&line, "%s;", name);
    struct curl_slist *l = rc ? NULL : curl_slist_append(call->headers, (const char *)line.data);
    base_buf_free(&line);
    if (!l) {
        call->oom = 1;
        return -1;
    }
    call->headers = l;
    if (strcasecmp(name, "Content-Type") == 0) call->has_ctype = 1;
    return 0;
}

int http_call_set_body(http_call_t *call, const void *body, size_t len)
{
    base_buf_reset(&call->req_body);
    if (base_buf_append(&call->req_body, body, len)) {
        call->oom = 1;
        return -1;
    }
    call->has_body = 1;
    return 0;
}

void http_call_set_stream(http_call_t *call, http_data_cb cb, void *arg)
{
    call->on_data = cb;
    call->data_arg = arg;
}

void http_call_set_timeout(http_call_t *call, unsigned ms)
{
    call->timeout_ms = ms;
}

void http_call_set_max_body(http_call_t *call, size_t max)
{
    call->max_body = max;
}

/* With a body, "Expect:" drops curl's Expect: 100-continue (a 1 s wait on
 * origins that ignore it) and "Content-Type:" the form type curl puts on
 * POSTFIELDS when the caller gave none. Without one curl sends neither, so
 * a request without headers of its own has no list: curl looks up a dozen
 * headers in it for every request (issue #19). Always set, list or NULL:
 * a kept handle may hold the previous call's. */
static int set_headers(http_call_t *call, int with_body)
{
    if (with_body) {
        struct curl_slist *l = curl_slist_append(call->headers, "Expect:");
        if (l) call->headers = l;
        if (l && !call->has_ctype) {
            l = curl_slist_append(call->headers, "Content-Type:");
            if (l) call->headers = l;
        }
        if (!l) return -1;
    }
    return curl_easy_setopt(call->easy, CURLOPT_HTTPHEADER, call->headers) == CURLE_OK ? 0 : -1;
}

CURLcode http_call_easy_defaults_(CURL *e, http_client_t *c)
{
    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                                                              \
    if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val)
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    /* No proxy from the environment: the address check must see the
     * origin's address, not a proxy's. */
    SET(CURLOPT_PROXY, "");
    /* No proxy, so no exceptions to it: saves reading no_proxy and
     * NO_PROXY from the environment on every transfer. */
    SET(CURLOPT_NOPROXY, "");
    SET(CURLOPT_WRITEFUNCTION, write_cb);
    SET(CURLOPT_HEADERFUNCTION, header_cb);
    /* The client's, not the call's: a connection outlives its first call. */
    SET(CURLOPT_CLOSESOCKETFUNCTION, http_client_close_sock_);
    SET(CURLOPT_CLOSESOCKETDATA, c);
#undef SET
    return rc;
}

/* Everything of the call but the URL, set at start so the setters stay
 * plain stores; every option a call may set is set here on every call
 * (or is the method's, which only a call with call->plain unset changes):
 * a kept handle may come from another call without a reset. */
static int configure(http_call_t *call)
{
    CURL *e = call->easy;
    const char *m = call->method;
    /* Methods that carry content send a Content-Length even when empty:
     * some origins answer 411 to a bodiless POST. */
    int with_body = call->has_body || !strcmp(m, "POST") || !strcmp(m, "PUT") ||
                    !strcmp(m, "PATCH") || !strcmp(m, "FETCH");
    CURLcode rc = CURLE_OK;
#define SET(opt, val)                                                                              \
    if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val)
    SET(CURLOPT_PRIVATE, call);
    SET(CURLOPT_ERRORBUFFER, call->errbuf);
    SET(CURLOPT_TIMEOUT_MS, (long)call->timeout_ms);
    SET(CURLOPT_WRITEDATA, call);
    SET(CURLOPT_HEADERDATA, call);
    if (!strcmp(m, "GET") && !call->has_body) {
        /* curl's default method: the handle stays as the defaults left
         * it, so it may go to the next call without a reset. */
        SET(CURLOPT_HTTPGET, 1L);
        call->plain = 1;
    } else if (!strcmp(m, "HEAD")) {
        SET(CURLOPT_NOBODY, 1L);
    } else {
        if (with_body) {
            /* POSTFIELDS does not copy: req_body lives as long as the call. */
            SET(CURLOPT_POSTFIELDS, call->req_body.data ? (const char *)call->req_body.data : "");
            SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)call->req_body.len);
        }
        /* After POSTFIELDS, which would otherwise make it a POST. */
        if (strcmp(m, "POST") != 0) SET(CURLOPT_CUSTOMREQUEST, m);
    }
#undef SET
    if (rc == CURLE_OK) rc = http_call_set_addr_hooks_(call);
    if (rc != CURLE_OK) return -1;
    return set_headers(call, with_body);
}

int http_call_start(http_call_t *call, http_done_cb done, void *arg)
{
    if (call->started) return HTTP_CALL_ERROR;
    http_client_t *c = call->c;
    int rc = HTTP_CALL_ERROR;
    if (c->closing)
        rc = HTTP_CALL_CANCELLED;
    else if (done && !call->oom && configure(call) == 0 &&
             curl_multi_add_handle(c->multi, call->easy) == CURLM_OK)
        rc = HTTP_CALL_OK;
    if (rc != HTTP_CALL_OK) {
        http_call_discard_(call);
        return rc;
    }
    call->done = done;
    call->done_arg = arg;
    call->started = 1;
    http_client_started_(c);
    return 0;
}

void http_call_cancel(http_call_t *call)
{
    /* A call inside its own callback is already finished. */
    if (!call || call->finishing) return;
    if (call->started)
        http_call_finish_(call, HTTP_CALL_CANCELLED, CURLE_OK);
    else
        http_call_discard_(call);
}
