/*
 * client_opts.c - a request's options and settings before it is sent:
 * payload, the options RFC 7252 §5.10 defines (Content-Format, Accept,
 * ETag, If-Match, If-None-Match, Uri-Query), timeout, body bound,
 * block size (RFC 7959 §2.2, BERT: RFC 8323 §6) and Observe (RFC 7641).
 * Building and sending are in client.c.
 */
#include "client_internal.h"
#include "coap_block.h"

#include <stdlib.h>
#include <string.h>

void coap_req_set_confirmable(coap_req_t *req, int con)
{
    req->con = con != 0;
}

int coap_req_set_payload(coap_req_t *req, const void *data, size_t len)
{
    uint8_t *p = len ? malloc(len) : NULL;
    if (len && !p) return COAP_ERR_NOMEM;
    if (len) memcpy(p, data, len);
    free(req->payload);
    req->payload = p;
    req->payload_len = len;
    return COAP_OK;
}

int coap_req_add_uint(coap_req_t *req, uint16_t num, uint32_t val)
{
    uint8_t b[4];
    return coap_req_add_option(req, num, b, coap_uint_encode(val, b));
}

int coap_req_set_content_format(coap_req_t *req, unsigned cf)
{
    return coap_req_add_uint(req, COAP_OPT_CONTENT_FORMAT, cf);
}

int coap_req_set_accept(coap_req_t *req, unsigned cf)
{
    return coap_req_add_uint(req, COAP_OPT_ACCEPT, cf);
}

int coap_req_add_etag(coap_req_t *req, const void *etag, size_t len)
{
    return len < 1 || len > 8 ? COAP_ERR_OPT_VALUE
                              : coap_req_add_option(req, COAP_OPT_ETAG, etag, len);
}

int coap_req_add_if_match(coap_req_t *req, const void *etag, size_t len)
{
    return len > 8 ? COAP_ERR_OPT_VALUE : coap_req_add_option(req, COAP_OPT_IF_MATCH, etag, len);
}

int coap_req_set_if_none_match(coap_req_t *req)
{
    return coap_req_add_option(req, COAP_OPT_IF_NONE_MATCH, NULL, 0);
}

int coap_req_add_query(coap_req_t *req, const char *arg)
{
    return coap_req_add_option(req, COAP_OPT_URI_QUERY, arg, strlen(arg));
}

void coap_req_set_timeout(coap_req_t *req, uint32_t ms)
{
    req->timeout_ms = ms;
}

void coap_req_set_max_body(coap_req_t *req, size_t max)
{
    req->max_body = max;
}

void coap_req_set_block_szx(coap_req_t *req, unsigned szx, int early_block2)
{
    req->szx = (uint8_t)(szx > 6 ? 6 : szx);
    req->no_bert = szx < COAP_BLOCK_BERT;
    req->early_b2 = early_block2 != 0;
}

void coap_req_set_progress(coap_req_t *req, coap_progress_cb fn, void *arg)
{
    req->progress = fn;
    req->progress_arg = arg;
}

void coap_req_set_observe(coap_req_t *req, uint32_t margin)
{
    req->observe = 1;
    if (margin) req->rereg_margin_ms = margin;
}

const coap_addr_t *coap_req_dest(const coap_req_t *req)
{
    return &req->peer->addr;
}

coap_ep_t *coap_req_ep(const coap_req_t *req)
{
    return req->ep;
}
