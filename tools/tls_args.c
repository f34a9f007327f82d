/*
 * tls_args.c - the DTLS options of coapgw-client and coapgw-sim.
 */
#include "tls_args.h"

#include <stddef.h>
#include <string.h>

const char tls_args_usage[] =
    "DTLS (coaps://), with libcoap's option letters:\n"
    "  -k, --psk-key KEY        pre-shared key: the bytes of KEY, as libcoap takes them\n"
    "  -u, --psk-identity ID    PSK identity (with -k)\n"
    "  -c, --cert CERTFILE      our X.509 certificate (PEM)\n"
    "  -j, --key KEYFILE        its private key (PEM)\n"
    "  -C, --ca CAFILE          CA certificates (PEM) the peer's certificate must chain to\n"
    "  -M, --rpk RPKFILE        our raw public key (RFC 7250): a PEM file with the EC private\n"
    "                           key (libcoap's -M files work as they are)\n"
    "      --rpk-pin SHA256     the peer's raw public key: SHA-256 of its SubjectPublicKeyInfo\n"
    "                           in hex (openssl pkey -pubout -outform DER | sha256sum)\n"
    "  -n, --no-verify          accept any certificate or raw public key from the peer\n";

static const struct {
    char letter;
    const char *name;
    size_t field; /* offset of the const char * in tls_args_t */
} options[] = {
    {'k', "--psk-key", offsetof(tls_args_t, psk_key)},
    {'u', "--psk-identity", offsetof(tls_args_t, identity)},
    {'c', "--cert", offsetof(tls_args_t, cert)},
    {'j', "--key", offsetof(tls_args_t, key)},
    {'C', "--ca", offsetof(tls_args_t, ca)},
    {'M', "--rpk", offsetof(tls_args_t, rpk)},
    {0, "--rpk-pin", offsetof(tls_args_t, rpk_pin)},
};

int tls_args_take(tls_args_t *a, int argc, char **argv, int *i)
{
    const char *o = argv[*i];
    if (!strcmp(o, "-n") || !strcmp(o, "--no-verify")) {
        a->no_verify = 1;
        return 1;
    }
    for (size_t k = 0; k < sizeof options / sizeof options[0]; k++) {
        int short_form = options[k].letter && o[0] == '-' && o[1] == options[k].letter && !o[2];
        if (!short_form && strcmp(o, options[k].name)) continue;
        if (*i + 1 >= argc) return -1;
        *(const char **)(void *)((char *)a + options[k].field) = argv[++*i];
        return 1;
    }
    return 0;
}

int tls_args_given(const tls_args_t *a)
{
    return a->psk_key || a->identity || a->cert || a->key || a->ca || a->rpk || a->rpk_pin ||
           a->no_verify;
}

dtls_creds_t *tls_args_creds(const tls_args_t *a, const char *peer_name, char *err, size_t cap)
{
    dtls_creds_conf_t c = {
        .psk_identity = a->identity,
        .psk_key = (const uint8_t *)a->psk_key,
        .psk_key_len = a->psk_key ? strlen(a->psk_key) : 0,
        .cert_file = a->cert,
        .key_file = a->key,
        .ca_file = a->ca,
        .peer_name = peer_name,
        .rpk_file = a->rpk,
        .rpk_pin = a->rpk_pin,
        .no_verify = a->no_verify,
    };
    return dtls_creds_new(&c, err, cap);
}
