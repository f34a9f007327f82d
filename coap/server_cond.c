/*
 * server_cond.c - conditional requests (RFC 7252 §5.10.8), evaluated by the
 * server for resources that declare their current ETag
 * (coap_resource_set_etag), before the handler runs: a handler only sees
 * requests whose conditions hold.
 */
#include "server_internal.h"

#include <string.h>

void coap_resource_set_etag(coap_server_resource_t *res, coap_etag_cb cb, void *arg)
{
    res->etag = cb;
    res->etag_arg = arg;
}

/* §5.10.8.1: met when one of the If-Match options carries the current
 * ETag, or one is empty and the target exists (any representation). */
static int if_match_holds(const coap_msg_t *m, const uint8_t *etag, int etag_len)
{
    for (unsigned i = 0; i < m->opt_count; i++) {
        const coap_msg_opt_t *o = &m->opts[i];
        if (o->num != COAP_OPT_IF_MATCH) continue;
        if (etag_len < 0) return 0; /* nothing to match, not even "exists" */
        if (o->len == 0) return 1;
        if ((int)o->len == etag_len && !memcmp(coap_msg_opt_value(o), etag, o->len)) return 1;
    }
    return 0;
}

int coap_srv_preconditions_(coap_server_t *srv, const coap_server_request_t *req)
{
    const coap_server_resource_t *res = req->resource;
    const coap_msg_t *m = req->msg;
    int im = coap_msg_find_opt(m, COAP_OPT_IF_MATCH) != NULL;
    int inm = coap_msg_find_opt(m, COAP_OPT_IF_NONE_MATCH) != NULL;
    if (!res->etag || (!im && !inm)) return 0;
    uint8_t etag[8];
    int len = res->etag(srv, req, etag, res->etag_arg);
    if (len > 8) len = 8;
    const char *failed = NULL;
    if (im && !if_match_holds(m, etag, len))
        failed = "If-Match: not the current ETag";
    else if (inm && len >= 0) /* §5.10.8.2: met only when the target does not exist */
        failed = "If-None-Match: the target exists";
    if (!failed) return 0;
    coap_server_error_(srv, req->id, COAP_PRECONDITION_FAILED, failed);
    return -1;
}
