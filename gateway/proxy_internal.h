/*
 * proxy_internal.h - what proxy.c (the exchange) and proxy_answer.c (its
 * answers in HTTP) share. Not part of the gateway's API.
 */
#ifndef PROXY_INTERNAL_H
#define PROXY_INTERNAL_H

#include "base_list.h"
#include "gw.h"

typedef struct waiter {
    base_list_t in_exch; /* exch_t.waiters */
    struct exch *x;
    http_req_t *req;
    uint64_t started_us;
    char *device;   /* "NAME\0BASE-URI" when asked through /devices/NAME, else NULL */
    char storage[]; /* device's bytes: one allocation per waiter */
} waiter_t;

/* One CoAP exchange and the HTTP requests waiting for it. */
typedef struct exch {
    gw_t *gw;
    coap_req_t *creq;
    base_list_t waiters; /* waiter_t.in_exch, the newest first */
    char *key;           /* coalescing key (GET only), or NULL */
    char *uri;
    uint8_t method;
    int accept;
    int conditional;   /* the HTTP client asked for validation */
    int revalidating;  /* our own cache entry is being revalidated */
    int client_option; /* the request carried client headers mapped to options */
    int body_ct;       /* coap-ct=N of the request (60 or 112), else -1 */
    coap_addr_t addr;  /* the target, for the registry's online state */
    coap_ep_t *ep;     /* the endpoint it went through */
    char storage[];    /* uri's and key's bytes: one allocation per exchange */
} exch_t;

/* A cache entry's answer (fresh, or revalidated for waiter w, else NULL). */
void gw_proxy_answer_entry_(gw_t *gw, waiter_t *w, http_req_t *req, const char *uri,
                            gw_cache_entry_t *e, const char *note);
/* code: the response code as text; *shared: the answer the exchange's
 * waiters share, or NULL (both made once per exchange; the caller lets go
 * of *shared after the last waiter). */
void gw_proxy_answer_coap_(waiter_t *w, const coap_resp_t *r, const char *code,
                           http_shared_t **shared);
void gw_proxy_answer_error_(waiter_t *w, int err);

#endif
