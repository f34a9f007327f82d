/*
 * call_addr.c - the address check of a call (http_call_set_addr_check),
 * run twice over:
 *
 * - when curl is about to open a connection (CURLOPT_OPENSOCKETFUNCTION,
 *   set on every call: the client learns which sockets are connections):
 *   DNS is done, no socket exists yet, so a refused address is never
 *   connected to;
 * - before each request is sent (CURLOPT_PREREQFUNCTION), on the address
 *   and port of the connection it goes out on, new or reused from curl's
 *   cache. A reused connection opens no socket, so without this a check
 *   that narrowed since the connection was opened (a reload of the
 *   allowlist) would not apply to it.
 */
#include "http_client_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
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
    if (call->check && !call->check(&a->addr, a->addrlen, call->check_arg)) {
        call->refused = 1;
        return CURL_SOCKET_BAD;
    }
    curl_socket_t s = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    if (s >= 0) http_client_sock_opened_(call->c, s);
    return s;
}

/* curl's numeric address and port back into a sockaddr. The text has no
 * zone: an IPv6 address gets the URL's, as curl gave it when connecting.
 * Returns the length, or 0 when ip is no address. */
static socklen_t sockaddr_of(const char *ip, int port, unsigned scope, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (port < 0 || port > 65535) return 0;
    struct sockaddr_in *v4 = (struct sockaddr_in *)(void *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)(void *)ss;
    if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        return sizeof *v4;
    }
    if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        v6->sin6_scope_id = scope;
        return sizeof *v6;
    }
    return 0;
}

/* A connection is ready (new or reused) and the request not sent. An
 * abort ends the transfer with CURLE_ABORTED_BY_CALLBACK, and nothing of
 * the request is written. */
static int prereq_cb(void *arg, char *ip, char *local_ip, int port, int local_port)
{
    (void)local_ip;
    (void)local_port;
    http_call_t *call = arg;
    struct sockaddr_storage ss;
    socklen_t len = sockaddr_of(ip, port, call->zone_scope, &ss);
    if (len && call->check((const struct sockaddr *)&ss, len, call->check_arg))
        return CURL_PREREQFUNC_OK;
    call->refused = 1;
    return CURL_PREREQFUNC_ABORT;
}

CURLcode http_call_set_addr_hooks_(http_call_t *call)
{
    CURL *e = call->easy;
    CURLcode rc = curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_cb);
    if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, call);
    /* Set or cleared: a kept handle may hold the previous call's. */
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, call->check ? prereq_cb : NULL);
    if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_PREREQDATA, call);
    return rc;
}
