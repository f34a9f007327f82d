/*
 * call_addr.c - the address check of a call (http_call_set_addr_check),
 * run when curl is about to open a connection (CURLOPT_OPENSOCKETFUNCTION):
 * DNS is done, no socket exists yet, so a refused address is never
 * connected to.
 */
#include "client_internal.h"

#include <sys/socket.h>

void http_call_set_addr_check(http_call_t *call, http_addr_check_cb cb, void *arg)
{
    call->check = cb;
    call->check_arg = arg;
}

/* The address curl is about to connect to. A refusal makes curl try the
 * next address, then fail with COULDNT_CONNECT. */
static curl_socket_t open_cb(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
    http_call_t *call = arg;
    if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
    if (!call->check(&a->addr, a->addrlen, call->check_arg)) {
        call->refused = 1;
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

CURLcode http_call_set_addr_hooks_(http_call_t *call)
{
    if (!call->check) return CURLE_OK;
    CURL *e = call->easy;
    CURLcode rc = curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_cb);
    if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, call);
    return rc;
}
