/*
 * coapgw-client - a command-line CoAP client on the engine's public API,
 * in the manner of curl: the payload goes to stdout byte for byte, the
 * code and options to stderr with -v; or the whole response as JSON with
 * --json. A block-wise transfer shows a progress bar when stderr is a
 * terminal.
 */
#include "base_loop.h"
#include "client_json.h"
#include "client_progress.h"
#include "coap_block.h"
#include "coap_cf.h"
#include "coap_client.h"
#include "coap_uri.h"
#include "tls_args.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_EXTRA_OPTS 32

typedef struct {
    int method;
    const char *text, *file, *uri, *proxy;
    int content_format, accept, non, verbose, json, no_bert;
    double observe_s, timeout_s;
    unsigned long tcp_idle_ms, tcp_keepalive_ms;
    struct {
        uint16_t num;
        char *val;
    } opts[MAX_EXTRA_OPTS];
    int nopts;
    tls_args_t tls;
} args_t;

typedef struct {
    base_loop_t *loop;
    coap_req_t *req;
    const args_t *a;
    int exit_code;
    int done;
    int observing;
    progress_bar_t bar;
} run_t;

static void usage(FILE *f)
{
    fputs("usage: coapgw-client [options] URI\n"
          "Sends one CoAP request and writes the response payload to stdout, byte for byte.\n"
          "\n"
          "  -m METHOD    GET (default), POST, PUT, DELETE, FETCH, PATCH, iPATCH in any case,\n"
          "               or a method code such as 0.05\n"
          "  -e TEXT      request payload\n"
          "  -f FILE      request payload read from FILE ('-' for stdin)\n"
          "  -t FORMAT    Content-Format of the payload: a number or a media type\n"
          "  -A FORMAT    Accept: a number or a media type\n"
          "  -O NUM,VAL   add option NUM with VAL (a number for uint options, 0x... for hex\n"
          "               bytes, text otherwise); repeatable\n"
          "  -N           send a non-confirmable (NON) request\n"
          "  -s SECONDS   observe for SECONDS (RFC 7641), printing each notification's\n"
          "               payload followed by a newline, then deregister\n"
          "  -T SECONDS   give up after SECONDS (default 93, the CoAP MAX_TRANSMIT_WAIT)\n"
          "  -P HOST:PORT send the request to this forward proxy with the URI in Proxy-Uri\n"
          "               (the URI may then be http://, https:// or coap://)\n"
          "  -v           print the response code and options to stderr (and the DTLS\n"
          "               session's peer identity)\n"
          "  --json       print the response as one JSON object on a line instead of the\n"
          "               payload: code, code_name, options (number, name, format, value),\n"
          "               content_format, content_type, and payload (a JSON value for JSON\n"
          "               formats, a string for UTF-8 text) or payload_base64; with -s one\n"
          "               object per notification, with its \"observe\" number\n"
          "  --tcp-idle-ms N  with a coap+tcp:// URI, release (RFC 8323 §5.5) and close the\n"
          "               connection after N ms without a request or response (default\n"
          "               120000); an observation then ends\n"
          "  --tcp-keepalive-ms N  with a coap+tcp:// URI, send a Ping (7.02) after N ms\n"
          "               without a byte from the server (default 30000); no Pong within\n"
          "               10 s closes the connection\n"
          "  --no-bert    with a coap+tcp:// URI, leave Block-Wise-Transfer out of our CSM:\n"
          "               no BERT blocks (RFC 8323 §6) either way, only 1024-byte ones\n"
          "  -h, --help   this text\n"
          "\n"
          "A block-wise transfer (RFC 7959) shows a progress bar on stderr when stderr is\n"
          "a terminal: bytes so far of the total (when the server sends Size2), rate, blocks.\n"
          "\n",
          f);
    fputs(tls_args_usage, f);
    fputs("  A coap+tcp:// URI speaks CoAP over TCP (RFC 8323), coaps+tcp:// over TLS 1.3\n"
          "  or 1.2 (§9) with the same options as coaps://.\n",
          f);
    fputs("  A coaps:// URI needs -k and -u; or -C (with -c and -j to present a certificate);\n"
          "  or -M with --rpk-pin (or -n). The server's certificate must name the URI's host.\n"
          "\n"
          "Exit status: 0 on a 2.xx response, 1 on 4.xx/5.xx, 2 on bad arguments,\n"
          "3 on timeout, reset or an unreachable peer, 4 on a failed DTLS or TLS handshake\n"
          "(wrong key or identity, a certificate not trusted, expired or for another name).\n",
          f);
}

static int die_usage(const char *msg, const char *arg)
{
    fprintf(stderr, "coapgw-client: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    return 2;
}

static int is_coaps(const args_t *a)
{
    return !a->proxy && strncasecmp(a->uri, "coaps:", 6) == 0;
}

/* CoAP over TLS (RFC 8323 §9) for a coaps+tcp:// URI. */
static int is_tls(const args_t *a)
{
    return !a->proxy && strncasecmp(a->uri, "coaps+tcp:", 10) == 0;
}

/* CoAP over TCP (RFC 8323) for a coap+tcp:// or coaps+tcp:// URI. */
static int is_tcp(const args_t *a)
{
    return !a->proxy && (strncasecmp(a->uri, "coap+tcp:", 9) == 0 || is_tls(a));
}

/* DTLS options go with a coaps:// (or coaps+tcp://) URI, and must let us
 * verify the server. */
static int check_tls_args(const args_t *a)
{
    const tls_args_t *t = &a->tls;
    if (!is_coaps(a) && !is_tls(a))
        return tls_args_given(t) ? die_usage("DTLS options need a coaps:// or coaps+tcp:// URI "
                                             "(and no -P)",
                                             NULL)
                                 : 0;
    if (!t->psk_key && !t->cert && !t->rpk && !t->ca)
        return die_usage("a coaps:// or coaps+tcp:// URI needs credentials: -k and -u, -c -j -C, "
                         "or -M",
                         NULL);
    if (!t->psk_key != !t->identity) return die_usage("-k and -u go together", NULL);
    if (t->cert && !t->ca && !t->no_verify)
        return die_usage("-c needs -C CAFILE to verify the server with (or -n)", NULL);
    if (t->rpk && !t->rpk_pin && !t->no_verify)
        return die_usage("-M needs --rpk-pin with the server's key (or -n)", NULL);
    return 0;
}

static int parse_args(int argc, char **argv, args_t *a)
{
    memset(a, 0, sizeof *a);
    a->method = COAP_GET;
    a->content_format = a->accept = -1;
    a->timeout_s = 93;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
            usage(stdout);
            exit(0);
        }
        int tls = tls_args_take(&a->tls, argc, argv, &i);
        if (tls < 0) return die_usage("option needs a value", o);
        if (tls) continue;
        if (o[0] != '-' || !o[1]) {
            if (a->uri) return die_usage("more than one URI", o);
            a->uri = o;
            continue;
        }
        if (!strcmp(o, "-N"))
            a->non = 1;
        else if (!strcmp(o, "-v"))
            a->verbose = 1;
        else if (!strcmp(o, "--json"))
            a->json = 1;
        else if (!strcmp(o, "--no-bert"))
            a->no_bert = 1;
        else if (!strcmp(o, "--tcp-idle-ms") || !strcmp(o, "--tcp-keepalive-ms")) {
            char *end;
            if (++i >= argc) return die_usage("option needs a value", o);
            unsigned long ms = strtoul(argv[i], &end, 10);
            if (*end || ms == 0 || ms > 86400000)
                return die_usage("bad number of milliseconds", argv[i]);
            *(o[6] == 'i' ? &a->tcp_idle_ms : &a->tcp_keepalive_ms) = ms;
        } else if (strchr("meftAOsTP", o[1]) && !o[2]) {
            if (++i >= argc) return die_usage("option needs a value", o);
            const char *v = argv[i];
            switch (o[1]) {
            case 'm':
                if ((a->method = coap_method_parse(v)) < 0) return die_usage("unknown method", v);
                break;
            case 'e':
                a->text = v;
                break;
            case 'f':
                a->file = v;
                break;
            case 't':
                if ((a->content_format = coap_cf_parse(v)) < 0)
                    return die_usage("unknown content format", v);
                break;
            case 'A':
                if ((a->accept = coap_cf_parse(v)) < 0)
                    return die_usage("unknown content format", v);
                break;
            case 'O': {
                const char *comma = strchr(v, ',');
                char *end;
                unsigned long num = strtoul(v, &end, 10);
                if (!comma || end != comma || num == 0 || num > 65535 || a->nopts == MAX_EXTRA_OPTS)
                    return die_usage("-O takes NUM,VALUE", v);
                a->opts[a->nopts].num = (uint16_t)num;
                a->opts[a->nopts++].val = (char *)comma + 1;
                break;
            }
            case 's':
            case 'T': {
                char *end;
                double d = strtod(v, &end);
                if (*end || d <= 0 || d > 86400) return die_usage("bad number of seconds", v);
                if (o[1] == 's')
                    a->observe_s = d;
                else
                    a->timeout_s = d;
                break;
            }
            case 'P':
                a->proxy = v;
                break;
            }
        } else {
            return die_usage("unknown option", o);
        }
    }
    if (!a->uri) return die_usage("no URI given (see --help)", NULL);
    if (a->text && a->file) return die_usage("-e and -f exclude each other", NULL);
    return check_tls_args(a);
}

static int read_file(const char *path, uint8_t **out, size_t *len)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) return -1;
    size_t cap = 4096, n = 0;
    uint8_t *b = malloc(cap);
    while (b) {
        n += fread(b + n, 1, cap - n, f);
        if (n < cap) break;
        uint8_t *nb = realloc(b, cap *= 2);
        if (!nb) free(b);
        b = nb;
    }
    int err = ferror(f);
    if (f != stdin) fclose(f);
    if (!b || err) {
        free(b);
        return -1;
    }
    *out = b;
    *len = n;
    return 0;
}

/* -O NUM,VALUE: uint options take a number, 0x... is hex, else text. */
static int add_extra_option(coap_req_t *req, uint16_t num, const char *val)
{
    const coap_opt_def_t *d = coap_opt_def(num);
    if (d && d->format == COAP_FMT_UINT && isdigit((unsigned char)val[0]))
        return coap_req_add_uint(req, num, (uint32_t)strtoul(val, NULL, 0));
    if (!strncmp(val, "0x", 2)) {
        uint8_t buf[512];
        size_t n = 0;
        for (const char *p = val + 2; p[0] && p[1] && n < sizeof buf; p += 2) {
            unsigned b;
            if (sscanf(p, "%2x", &b) != 1) return COAP_ERR_INVALID;
            buf[n++] = (uint8_t)b;
        }
        return coap_req_add_option(req, num, buf, n);
    }
    return coap_req_add_option(req, num, val, strlen(val));
}

static void print_response(const coap_resp_t *r)
{
    char code[48], name[16], value[2 * 1034 + 1];
    const coap_msg_t *m = r->msg;
    fprintf(stderr, "%s", coap_code_str(m->code, code, sizeof code));
    if (r->observing) fprintf(stderr, " (notification %u%s)", r->seq, r->fresh ? "" : ", stale");
    fputc('\n', stderr);
    for (unsigned i = 0; i < m->opt_count; i++) {
        const coap_msg_opt_t *o = &m->opts[i];
        const coap_opt_def_t *d = coap_opt_def(o->num);
        snprintf(name, sizeof name, "%u", o->num);
        fprintf(stderr, "  %s: %s\n", d ? d->name : name, client_opt_text(o, value, sizeof value));
    }
}

static void on_progress(coap_req_t *req, const coap_progress_t *p, void *arg)
{
    (void)req;
    run_t *run = arg;
    progress_bar_update(&run->bar, p, base_loop_now(run->loop));
}

/* The payload byte for byte (a newline after each notification), or the
 * response as JSON. */
static void print_payload(const run_t *run, const coap_resp_t *r)
{
    if (run->a->json) {
        if (client_json_print(stdout, r)) fputs("coapgw-client: cannot write JSON\n", stderr);
    } else {
        if (r->body_len) fwrite(r->body, 1, r->body_len, stdout);
        if (run->observing) fputc('\n', stdout);
    }
    fflush(stdout);
}

static void on_response(coap_req_t *req, const coap_resp_t *r, void *arg)
{
    (void)req;
    run_t *run = arg;
    progress_bar_finish(&run->bar, base_loop_now(run->loop)); /* before any other line */
    if (r->err) {
        if (r->err != COAP_ERR_CANCELLED || !run->observing)
            fprintf(stderr, "coapgw-client: %s\n", coap_strerror(r->err));
        run->exit_code = r->err == COAP_ERR_CANCELLED && run->observing ? 0
                         : COAP_ERR_IS_DTLS(r->err)                     ? 4
                                                                        : 3;
    } else {
        if (run->a->verbose) print_response(r);
        int ok = COAP_CODE_CLASS(r->msg->code) == 2;
        if (r->observing) run->observing = 1;
        /* While observing, stale notifications are dropped (RFC 7641 §3.4)
         * and the deregistration's answer is not printed again. */
        if ((!r->observing || r->fresh) && !(run->observing && r->last && ok))
            print_payload(run, r);
        if (!ok) {
            char code[48];
            fprintf(stderr, "coapgw-client: %s\n", coap_code_str(r->msg->code, code, sizeof code));
        }
        run->exit_code = ok ? 0 : 1;
    }
    if (r->last) {
        run->done = 1;
        run->req = NULL;
    }
}

static volatile sig_atomic_t interrupted;
static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static int resolve_dest(const args_t *a, coap_addr_t *dest)
{
    if (a->proxy) {
        char host[300];
        const char *colon = strrchr(a->proxy, ':');
        const char *h = a->proxy;
        size_t hl = colon ? (size_t)(colon - h) : strlen(h);
        if (h[0] == '[') h++, hl -= 2;
        if (hl >= sizeof host) return -1;
        memcpy(host, h, hl);
        host[hl] = '\0';
        unsigned long port = colon ? strtoul(colon + 1, NULL, 10) : 5683;
        return coap_addr_resolve(dest, host, (uint16_t)port);
    }
    static coap_parsed_uri_t u;
    int rc = coap_uri_parse_ex(&u, a->uri, COAP_URI_TCP);
    if (rc) return rc;
    return coap_addr_resolve(dest, u.host, u.port);
}

static coap_req_t *make_request(coap_ep_t *ep, const args_t *a, const coap_addr_t *dest)
{
    int err;
    coap_req_t *req = a->proxy ? coap_req_new_proxy(ep, (uint8_t)a->method, a->uri, dest, &err)
                               : coap_req_new(ep, (uint8_t)a->method, a->uri, dest, &err);
    if (!req) {
        fprintf(stderr, "coapgw-client: %s: %s\n", a->uri, coap_strerror(err));
        return NULL;
    }
    coap_req_set_confirmable(req, !a->non);
    coap_req_set_timeout(req, (uint32_t)(a->timeout_s * 1000));
    if (a->content_format >= 0) coap_req_set_content_format(req, (unsigned)a->content_format);
    if (a->accept >= 0) coap_req_set_accept(req, (unsigned)a->accept);
    for (int i = 0; i < a->nopts; i++) {
        if (add_extra_option(req, a->opts[i].num, a->opts[i].val)) {
            fprintf(stderr, "coapgw-client: bad value for option %u\n", a->opts[i].num);
            coap_req_cancel(req);
            return NULL;
        }
    }
    if (a->observe_s > 0) coap_req_set_observe(req, 0);
    /* RFC 7959 §4: Size2 0 asks for the size up front (the progress bar's
     * total); to a proxy it also says we fetch a block-wise answer from a
     * separate response ourselves, so it may send the empty ACK at once
     * (README, "The reverse direction"). */
    if (a->proxy && coap_req_add_uint(req, COAP_OPT_SIZE2, 0)) {
        coap_req_cancel(req);
        return NULL;
    }
    return req;
}

static void on_dtls_event(void *arg, const dtls_event_t *ev)
{
    static const char *const kinds[] = {"?", "PSK identity", "certificate", "raw public key"};
    const args_t *a = arg;
    const char *proto = is_tls(a) ? "TLS" : "DTLS";
    char peer[COAP_ADDR_STRLEN];
    coap_addr_str(ev->peer, peer, sizeof peer);
    if (ev->kind == DTLS_EV_HANDSHAKE_FAILED)
        fprintf(stderr, "coapgw-client: %s handshake with %s failed: %s\n", proto, peer,
                ev->reason);
    else if (a->verbose && ev->kind == DTLS_EV_ESTABLISHED)
        fprintf(stderr, "%s session with %s (%s), %s: %s\n", proto, peer, ev->reason,
                kinds[ev->id ? ev->id->kind : 0], ev->id ? ev->id->name : "none");
}

/* TCP, with TLS for a coaps+tcp:// URI (cfg: its credentials); connects
 * on the first request, released when done. */
static coap_ep_t *open_tcp(const args_t *a, const dtls_config_t *cfg, int *rc)
{
    coap_tcp_params_t p = {.connect_out = 1,
                           .idle_ms = (uint32_t)a->tcp_idle_ms,
                           .keepalive_ms = (uint32_t)a->tcp_keepalive_ms,
                           .no_bert = (uint8_t)a->no_bert};
    char why[256];
    if (cfg) {
        /* The handshake gives up before the request does, so its reason shows. */
        p.connect_timeout_ms = (uint32_t)(a->timeout_s * 800);
        p.tls = dtls_tls_ops();
        if (!(p.tls_arg = dtls_tls_new(cfg, why, sizeof why))) {
            fprintf(stderr, "coapgw-client: %s\n", why);
            return *rc = COAP_ERR_NOMEM, NULL;
        }
    }
    coap_transport_t *tr = coap_transport_tcp_new(NULL, &p, rc);
    return tr ? coap_ep_new_on(tr, NULL, rc) : NULL;
}

/* UDP, DTLS for a coaps:// URI, TCP or TLS (its host is the name the
 * server's certificate must carry). NULL with *rc set. */
static coap_ep_t *open_endpoint(const args_t *a, int *rc)
{
    if (is_tcp(a) && !is_tls(a)) return open_tcp(a, NULL, rc);
    if (!is_coaps(a) && !is_tls(a)) return coap_ep_new(NULL, NULL, rc);
    static coap_parsed_uri_t u;
    char why[256];
    coap_uri_parse_ex(&u, a->uri, COAP_URI_TCP);
    dtls_creds_t *c = tls_args_creds(&a->tls, u.host, why, sizeof why);
    if (!c) {
        fprintf(stderr, "coapgw-client: %s\n", why);
        *rc = COAP_ERR_INVALID;
        return NULL;
    }
    dtls_config_t cfg = {.client = c, .event = on_dtls_event, .arg = (void *)(uintptr_t)a};
    if (is_tls(a)) {
        coap_ep_t *ep = open_tcp(a, &cfg, rc);
        dtls_creds_unref(c);
        return ep;
    }
    /* The handshake gives up before the request does, so its reason shows. */
    cfg.params.handshake_timeout_ms = (uint32_t)(a->timeout_s * 800);
    coap_transport_t *tr = dtls_transport_new(&cfg, rc);
    dtls_creds_unref(c);
    return tr ? coap_ep_new_on(tr, NULL, rc) : NULL;
}

int main(int argc, char **argv)
{
    args_t a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc;
    uint8_t *body = NULL;
    size_t body_len = 0;
    if (a.file && read_file(a.file, &body, &body_len)) {
        fprintf(stderr, "coapgw-client: cannot read %s: %s\n", a.file, strerror(errno));
        return 2;
    }
    coap_addr_t dest;
    if (resolve_dest(&a, &dest)) {
        fprintf(stderr, "coapgw-client: cannot resolve the host of %s\n",
                a.proxy ? a.proxy : a.uri);
        free(body);
        return a.proxy || strncmp(a.uri, "coap", 4) == 0 ? 3 : 2;
    }
    coap_ep_t *ep = open_endpoint(&a, &rc);
    if (!ep && rc == COAP_ERR_INVALID) return free(body), 2;
    base_loop_t *loop = base_loop_new();
    if (!ep || !loop || coap_ep_attach(ep, loop)) {
        fprintf(stderr, "coapgw-client: cannot open a UDP socket: %s\n", coap_strerror(rc));
        return 3;
    }
    run_t run = {.loop = loop, .a = &a, .exit_code = 3};
    run.req = make_request(ep, &a, &dest);
    if (!run.req) return 2;
    if (a.text)
        coap_req_set_payload(run.req, a.text, strlen(a.text));
    else if (body)
        coap_req_set_payload(run.req, body, body_len);
    free(body);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    progress_bar_init(&run.bar, stderr, base_loop_now(loop));
    coap_req_set_progress(run.req, on_progress, &run);
    coap_req_send(run.req, on_response, &run);

    uint64_t stop_at = a.observe_s > 0 ? base_loop_now(loop) + (uint64_t)(a.observe_s * 1000) : 0;
    int stopping = 0;
    while (!run.done) {
        base_loop_run_once(loop, 100);
        int time_up = stop_at && base_loop_now(loop) >= stop_at;
        if ((time_up || interrupted) && run.req) {
            if (!stopping) {
                /* RFC 7641 §3.6: deregister explicitly, then wait for the
                 * answer; a second signal or 5 s more end it outright. */
                stopping = 1;
                interrupted = 0;
                stop_at = base_loop_now(loop) + 5000;
                coap_req_observe_stop(run.req, COAP_OBSERVE_DEREGISTER);
            } else {
                coap_req_cancel(run.req);
            }
        }
    }
    coap_ep_detach(ep, loop);
    coap_ep_free(ep);
    base_loop_free(loop);
    return run.exit_code;
}
