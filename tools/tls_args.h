/*
 * tls_args.h - the DTLS options coapgw-client and coapgw-sim share, named
 * as libcoap's tools name them: -k KEY -u IDENTITY (PSK), -c CERTFILE
 * -j KEYFILE -C CAFILE (X.509), -M RPKFILE (raw public key), -n (no peer
 * verification), with long forms and --rpk-pin for the peer's key.
 */
#ifndef TLS_ARGS_H
#define TLS_ARGS_H

#include "dtls.h"

typedef struct {
    const char *psk_key, *identity;
    const char *cert, *key, *ca;
    const char *rpk, *rpk_pin;
    int no_verify;
} tls_args_t;

/* The options' lines for --help. */
extern const char tls_args_usage[];

/* When argv[*i] is one of the options, takes it (and its value, moving *i
 * on) and returns 1; returns 0 for any other argument, -1 when the value
 * is missing. */
int tls_args_take(tls_args_t *a, int argc, char **argv, int *i);
/* Whether any option was given. */
int tls_args_given(const tls_args_t *a);
/* The credentials the options describe; peer_name (may be NULL) is the
 * name the peer's certificate must carry. NULL with the reason in err. */
dtls_creds_t *tls_args_creds(const tls_args_t *a, const char *peer_name, char *err, size_t cap);

#endif
