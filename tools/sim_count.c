/*
 * sim_count.c - coapgw-sim's /counter and /ticks (sim_count.h).
 */
#include "sim_count.h"

#include "coap_cf.h"

#include <stdio.h>
#include <string.h>

void sim_log_request(const coap_server_request_t *req)
{
    char peer[COAP_ADDR_STRLEN];
    const char *m = coap_method_name(req->method);
    fprintf(stderr, "coapgw-sim: %s %s%s from %s\n", m ? m : "?", req->path,
            req->observe == 0   ? " (observe)"
            : req->observe == 1 ? " (deregister)"
                                : "",
            coap_addr_str(req->peer, peer, sizeof peer));
}

void sim_counter(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    sim_count_t *c = arg;
    char b[160];
    sim_log_request(req);
    coap_server_response_t r = COAP_RESPONSE(COAP_CONTENT);
    r.content_format = COAP_CF_TEXT_PLAIN;
    r.max_age = 0; /* a count goes stale at once: no cache may keep it */
    if (req->method == COAP_GET) {
        snprintf(b, sizeof b, "%llu", (unsigned long long)c->executed);
    } else {
        /* POST and PUT: one execution per request that reaches us */
        c->executed++;
        int n = (int)(req->payload_len < 128 ? req->payload_len : 128);
        snprintf(b, sizeof b, "%llu %.*s", (unsigned long long)c->executed, n,
                 (const char *)req->payload);
        fprintf(stderr, "coapgw-sim: counter: executed %s\n", b);
        r.code = COAP_CHANGED;
        r.max_age = -1;
    }
    r.payload = b;
    r.payload_len = strlen(b);
    coap_server_respond(srv, req->id, &r);
}

coap_server_response_t sim_ticks_rep(const sim_count_t *c, char *buf, size_t cap)
{
    coap_server_response_t r = COAP_RESPONSE(COAP_CONTENT);
    snprintf(buf, cap, "%llu", (unsigned long long)c->ticks);
    r.payload = buf;
    r.payload_len = strlen(buf);
    r.content_format = COAP_CF_TEXT_PLAIN;
    r.max_age = c->max_age;
    return r;
}

void sim_ticks(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    char b[32];
    sim_log_request(req);
    coap_server_response_t r = sim_ticks_rep(arg, b, sizeof b);
    coap_server_respond(srv, req->id, &r);
}

coap_server_response_t sim_big_ticks_rep(const sim_count_t *c, char *buf, uint8_t etag[4])
{
    char tag[32];
    int n = snprintf(tag, sizeof tag, "ticks %llu", (unsigned long long)c->ticks);
    memset(buf, '.', SIM_BIG_SIZE);
    memcpy(buf, tag, (size_t)n);
    memcpy(buf + SIM_BIG_SIZE - n, tag, (size_t)n);
    for (int i = 0; i < 4; i++) etag[i] = (uint8_t)(c->ticks >> (24 - 8 * i));
    coap_server_response_t r = COAP_RESPONSE(COAP_CONTENT);
    r.payload = buf;
    r.payload_len = SIM_BIG_SIZE;
    r.content_format = COAP_CF_TEXT_PLAIN;
    r.etag = etag;
    r.etag_len = 4;
    r.max_age = c->max_age;
    return r;
}

void sim_big_ticks(coap_server_t *srv, const coap_server_request_t *req, void *arg)
{
    char b[SIM_BIG_SIZE];
    uint8_t etag[4];
    sim_log_request(req);
    coap_server_response_t r = sim_big_ticks_rep(arg, b, etag);
    coap_server_respond(srv, req->id, &r);
}
