/*
 * sim_args.c - coapgw-sim's command line (sim_args.h).
 */
#include "sim_args.h"

#include "coap_uri.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fputs(
        "usage: coapgw-sim [--listen ADDR:PORT] [--period-ms N] [--slow-ms N] [--seed N]\n"
        "                  [--register coap[s|+tcp]://GATEWAY[:PORT] [--name NAME] [--lifetime "
        "S]\n"
        "                   [--base URI]]\n"
        "                  [--simple-register coap://GATEWAY[:PORT] [--name NAME] [--lifetime S]]\n"
        "                  [--listen-dtls ADDR:PORT [-k KEY -u IDENTITY] [-c CERTFILE -j KEYFILE]\n"
        "                   [-C CAFILE] [-M RPKFILE] [--rpk-pin SHA256] [-n]] [--group "
        "ADDR[%IF]]...\n"
        "                  [--listen-tcp ADDR:PORT] [--listen-tls ADDR:PORT [DTLS options]]\n"
        "A simulated CoAP device (default listen 127.0.0.1:5783). Resources:\n"
        "  /sensors/temperature  observable, text/plain, changes every period\n"
        "  /sensors/humidity     observable, application/json {\"value\": .., \"unit\": \"%RH\"}\n"
        "  /actuators/led        GET; PUT \"on\" or \"off\" (else 4.00); observable\n"
        "  /firmware             65,536 bytes, application/octet-stream, ETag (Block2)\n"
        "  /echo                 POST, PUT, FETCH, PATCH, iPATCH: returns payload and format\n"
        "  /slow                 answers after --slow-ms (default 3000) as a separate response\n"
        "  /ticks                observable, text/plain: sensor periods since start (increasing)\n"
        "  /counter              GET: POSTs and PUTs executed; POST or PUT: one more, answered\n"
        "                        2.04 \"N PAYLOAD\" and logged (\"counter: executed N PAYLOAD\")\n"
        "  /cbor                 observable, application/cbor: the readings as a map (ticks\n"
        "                        also under tag 1); PUT, POST: returns payload and format\n"
        "  /senml                observable, application/senml+cbor: the readings as SenML\n"
        "  /cbor-intkey          observable, application/cbor {1: \"one\"}: a map key JSON\n"
        "                        cannot have\n"
        "  /big-ticks            observable, text/plain: /ticks in 5,120 bytes (\"ticks N\" at\n"
        "                        both ends, ETag N): notifications go block-wise\n"
        "  /cbor-bad             application/cbor 82 01: malformed (an array one item short)\n"
        "  /.well-known/core     the list of the above (RFC 6690)\n"
        "  --listen ADDR:PORT    where the device listens (default 127.0.0.1:5783)\n"
        "  --period-ms N         sensor update and notification period (default 1000)\n"
        "  --slow-ms N           how late /slow answers (default 3000)\n"
        "  --seed N              seed of the simulated values (default 1)\n"
        "  --register URI        register with a Resource Directory (RFC 9176), such as\n"
        "                        coapgw's CoAP port: POST URI/rd?ep=NAME&lt=S from the listen\n"
        "                        address, refreshed at 2/3 of the lifetime, removed at exit\n"
        "  --simple-register URI  simple registration (RFC 9176 §5.1) instead: POST\n"
        "                        URI/.well-known/rd?ep=NAME&lt=S with no payload (the RD\n"
        "                        fetches our /.well-known/core), repeated at 2/3 of S\n"
        "  --name NAME           endpoint name (default \"sim\"): /devices/NAME/ on coapgw\n"
        "  --lifetime S          registration lifetime in seconds (default 60)\n"
        "  --base URI            base=URI in the (simple) registration (RFC 9176 §5.3): where\n"
        "                        the directory reaches us, when it sees another source\n"
        "                        (a UDP balancer or NAT in between), such as\n"
        "                        coap://192.0.2.7:5783\n"
        "  --listen-dtls ADDR:PORT  listen for coaps:// too (DTLS 1.2), with the credentials\n"
        "                        below: a client must show the PSK identity and key, a\n"
        "                        certificate from -C's CA, or a raw public key (any with -M\n"
        "                        alone; --rpk-pin names the one allowed). A coaps:// --register\n"
        "                        goes from this listener, with the same credentials.\n",
        f);
    fputs(/* two strings: C11 promises only 4,095 characters in one */
          "  --group ADDR[%IF]     join multicast group ADDR (224.0.1.187, ff02::fd) on\n"
          "                        interface IF (default: by route), repeatable: a member of\n"
          "                        group requests and multicast discovery (RFC 7252 §8); needs\n"
          "                        --listen on a wildcard address (0.0.0.0 or [::]) and the\n"
          "                        group's port\n"
          "  --listen-tcp ADDR:PORT  serve the same resources over TCP too (coap+tcp://,\n"
          "                        RFC 8323); a coap+tcp:// --register connects out from\n"
          "                        it and is answered and reached back over that connection\n"
          "                        (without --listen-tcp it connects out from no listener)\n"
          "  --listen-tls ADDR:PORT  serve them over TLS too (coaps+tcp://, RFC 8323 §9; TLS\n"
          "                        1.3 or 1.2), with the credentials below as for --listen-dtls\n"
          "  --register coaps+tcp://HOST[:PORT]  connects out over TLS with the credentials\n"
          "                        below (client role) from no listener, and is reached back\n"
          "                        over that connection\n"
          "  -h, --help            this text\n",
          f);
    fputs(tls_args_usage, f);
    fputs("Logs one line per request and per DTLS event on stderr; SIGUSR1 prints the DTLS\n"
          "counters; SIGINT or SIGTERM end it.\n",
          f);
}

/* RFC 9176 §5.3: base is a URI with scheme and authority (here a CoAP
 * one), no query or fragment; it goes into our query as it is, so none of
 * "&?# " either. */
static int valid_base(const char *v)
{
    coap_parsed_uri_t u;
    return strlen(v) < 200 && !strpbrk(v, "&?# ") && !coap_uri_parse_ex(&u, v, COAP_URI_TCP);
}

int sim_args_parse(int argc, char **argv, sim_reg_t *g, sim_opts_t *o)
{
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        if (!strcmp(f, "-h") || !strcmp(f, "--help")) return usage(stdout), -1;
        int tls = tls_args_take(&o->tls, argc, argv, &i);
        if (tls > 0) continue;
        if (tls < 0 || i + 1 >= argc) {
            fprintf(stderr, "coapgw-sim: unknown option or missing value: %s (see --help)\n", f);
            return 2;
        }
        const char *v = argv[++i];
        char *end;
        unsigned long n = strtoul(v, &end, 10);
        if (!strcmp(f, "--listen"))
            o->listen = v;
        else if (!strcmp(f, "--listen-dtls"))
            o->listen_dtls = v;
        else if (!strcmp(f, "--listen-tcp"))
            o->listen_tcp = v;
        else if (!strcmp(f, "--listen-tls"))
            o->listen_tls = v;
        else if (!strcmp(f, "--period-ms") && !*end && n > 0)
            o->period_ms = (uint32_t)n;
        else if (!strcmp(f, "--slow-ms") && !*end)
            o->slow_ms = (uint32_t)n;
        else if (!strcmp(f, "--seed") && !*end)
            o->seed = n;
        else if (!strcmp(f, "--register") && !coap_uri_parse_ex(&g->uri, v, COAP_URI_TCP))
            o->rd_uri = v;
        else if (!strcmp(f, "--simple-register") && !coap_uri_parse(&g->uri, v) && !g->uri.secure)
            o->rd_uri = v, g->simple = 1;
        else if (!strcmp(f, "--name") && strlen(v) < 64 && *v && !strpbrk(v, "&?/ "))
            g->name = v;
        else if (!strcmp(f, "--group") && o->ngroups < SIM_MAX_GROUPS)
            o->groups[o->ngroups++] = v;
        else if (!strcmp(f, "--base") && valid_base(v))
            g->base = v;
        else if (!strcmp(f, "--lifetime") && !*end && n > 0 && n <= UINT32_MAX)
            g->lifetime_s = (uint32_t)n;
        else {
            fprintf(stderr, "coapgw-sim: bad option %s %s (see --help)\n", f, v);
            return 2;
        }
    }
    int tls_out = o->rd_uri && g->uri.tcp && g->uri.secure; /* coaps+tcp:// */
    int secured = o->listen_dtls || o->listen_tls || tls_out;
    if (secured != tls_args_given(&o->tls) ||
        (o->rd_uri && g->uri.secure && !g->uri.tcp && !o->listen_dtls)) {
        fprintf(stderr, "coapgw-sim: %s (see --help)\n",
                secured ? "--listen-dtls, --listen-tls and a coaps+tcp:// --register need "
                          "credentials: -k and -u, -c and -j, or -M"
                        : "DTLS options need --listen-dtls, --listen-tls or a coaps+tcp:// "
                          "--register, and a coaps:// --register --listen-dtls");
        return 2;
    }
    return 0;
}
