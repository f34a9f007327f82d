/*
 * healthcheck.c - one blocking GET for `coapgw --healthcheck URL`: a
 * short-lived process of its own (Docker's HEALTHCHECK), so the image
 * needs no curl binary. Never called from the gateway's loop.
 */
#include "http_client.h"

#include <curl/curl.h>
#include <stdio.h>

/* The body is not needed, only the status. */
static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

int http_healthcheck(const char *url, unsigned timeout_ms, char *msg, size_t cap)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(msg, cap, "cannot initialize libcurl");
        return -1;
    }
    CURL *h = curl_easy_init();
    if (!h) {
        curl_global_cleanup();
        snprintf(msg, cap, "out of memory");
        return -1;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    long status = 0;
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK)
        snprintf(msg, cap, "%s: %s", url, curl_easy_strerror(rc));
    else
        snprintf(msg, cap, "%s: HTTP %ld", url, status);
    curl_easy_cleanup(h);
    curl_global_cleanup();
    return rc == CURLE_OK ? (int)status : -1;
}
