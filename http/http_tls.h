/*
 * http_tls.h - what an HTTPS listener (http_server.h) presents: a
 * certificate chain and its private key, read from PEM files with GnuTLS
 * (the TLS library libmicrohttpd is built with), and the CA certificates
 * that client certificates must chain to (mutual TLS).
 *
 * Credentials are shared by reference: the server holds one, and every
 * connection holds the one its handshake used, so a server given new
 * credentials (a reload) uses them for new handshakes while connections
 * already open keep theirs until they close.
 */
#ifndef HTTP_TLS_H
#define HTTP_TLS_H

#include <stddef.h>

typedef struct http_tls_creds http_tls_creds_t;

/* Reads a PEM certificate chain (the server's certificate first, then its
 * intermediates) and the PEM private key that goes with the first one
 * (PKCS#1, PKCS#8 or SEC1, not encrypted). Refuses a key that does not
 * match the certificate. Returns credentials holding one reference, or
 * NULL with a message naming the file in err. */
http_tls_creds_t *http_tls_creds_load(const char *cert_file, const char *key_file, char *err,
                                      size_t errlen);
/* Drops one reference; the last frees the credentials (NULL: nothing). */
void http_tls_creds_release(http_tls_creds_t *c);
/* A line for the logs: "subject CN=gw.lan, serial 0a1b..., valid until
 * 2027-03-01T00:00:00Z" (the first certificate of the chain). */
const char *http_tls_creds_describe(const http_tls_creds_t *c);
/* Whether the first certificate's validity period has ended (1) or not
 * begun (-1) at the time now (seconds since the epoch); 0 inside it. */
int http_tls_creds_expired(const http_tls_creds_t *c, long long now);

/* Checks that a PEM file holds at least one CA certificate (what
 * http_server_params_t.tls_client_ca will read). Returns the number of
 * certificates, or -1 with a message naming the file in err. */
int http_tls_check_ca(const char *file, char *err, size_t errlen);

#endif
