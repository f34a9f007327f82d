/*
 * dtls_load's sessions (see dtls_load.c): each on its own DTLS transport
 * and UDP socket, opened, pinged (an Empty CON answered by RST, RFC 7252
 * §4.3), loaded with CON GETs and closed; one epoll loop drives them.
 */
#include "coap_msg.h"
#include "dtls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "dtls_load.h"

uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int in_window(const load_t *l, uint64_t t)
{
    return t >= l->win_begin && t < l->win_end;
}

static void sample(load_t *l, uint64_t t0, uint64_t t)
{
    if (in_window(l, t) && l->nlat < MAX_SAMPLES) l->lat[l->nlat++] = (uint32_t)(t - t0);
}

static void mark_reap(slot_t *s, int failed)
{
    if (s->closing) return;
    s->failed |= (uint8_t)failed;
    if (s->reap) return;
    s->reap = 1;
    s->next_reap = s->l->reap_list;
    s->l->reap_list = s;
}

/* --- CoAP: the ping and the GET, written and read by hand --- */

static int send_datagram(slot_t *s, const uint8_t *buf, size_t len)
{
    return s->tr->ops->send(s->tr, &s->l->server, NULL, buf, len);
}

static void send_ping(slot_t *s)
{
    s->ping_mid = s->mid++;
    uint8_t ping[4] = {0x40, 0x00, (uint8_t)(s->ping_mid >> 8), (uint8_t)s->ping_mid};
    if (send_datagram(s, ping, sizeof ping) != COAP_OK) mark_reap(s, 1);
}

void send_request(slot_t *s, flight_t *f)
{
    load_t *l = s->l;
    uint8_t buf[64];
    memcpy(buf, l->req, l->req_len);
    f->mid = s->mid++;
    buf[2] = buf[4] = (uint8_t)(f->mid >> 8);
    buf[3] = buf[5] = (uint8_t)f->mid;
    f->used = 1;
    f->t0 = now_us();
    if (send_datagram(s, buf, l->req_len) != COAP_OK) l->req_failed++; /* then it times out */
}

/* CON GET with a 2-byte token and one Uri-Path option per segment. */
int build_request(load_t *l, const char *path)
{
    uint8_t *p = l->req, *end = l->req + sizeof l->req;
    *p++ = 0x42; /* version 1, CON, TKL 2 */
    *p++ = 0x01; /* GET */
    p += 4;      /* message ID and token, per request */
    unsigned last = 0;
    for (const char *seg = path; *seg;) {
        if (*seg == '/') {
            seg++;
            continue;
        }
        size_t n = strcspn(seg, "/");
        if (n > 12 || p + 1 + n > end) return -1;
        *p++ = (uint8_t)((11 - last) << 4 | n); /* Uri-Path (11), §5.10.1 */
        last = 11;
        memcpy(p, seg, n);
        p += n;
        seg += n;
    }
    l->req_len = (size_t)(p - l->req);
    return 0;
}

static void on_answer(slot_t *s, int type, int code, uint16_t mid)
{
    load_t *l = s->l;
    uint64_t t = now_us();
    if (type == 3 && mid == s->ping_mid && !s->up) { /* RST: the ping's answer */
        s->up = 1;
        l->opening--;
        l->nup++;
        if (l->mode == MODE_HANDSHAKES) mark_reap(s, 0);
        for (int i = 0; i < l->window && l->sending; i++) send_request(s, &s->fl[i]); /* reopened */
        return;
    }
    if (type != 2) return;
    for (int i = 0; i < l->window; i++) {
        flight_t *f = &s->fl[i];
        if (!f->used || f->mid != mid) continue;
        f->used = 0;
        if (code >> 5 == 2) {
            if (in_window(l, t)) l->req_ok++;
            sample(l, f->t0, t);
        } else {
            l->req_failed++;
        }
        if (l->sending) send_request(s, f);
        return;
    }
}

/* --- what the transport tells us --- */

static void on_datagram(void *arg, const coap_addr_t *from, const coap_addr_t *local,
                        const coap_identity_t *id, const uint8_t *buf, size_t len)
{
    (void)from, (void)local, (void)id;
    if (buf && len >= 4 && buf[0] >> 6 == 1)
        on_answer(arg, buf[0] >> 4 & 3, buf[1], (uint16_t)(buf[2] << 8 | buf[3]));
}

static void on_unreachable(void *arg, const coap_addr_t *peer, int err)
{
    (void)peer, (void)err;
    mark_reap(arg, 1);
}

static const coap_transport_up_t up_calls = {.datagram = on_datagram,
                                             .unreachable = on_unreachable};

static void on_event(void *arg, const dtls_event_t *ev)
{
    slot_t *s = arg;
    load_t *l = s->l;
    if (s->closing) return;
    uint64_t t = now_us();
    if (ev->kind == DTLS_EV_ESTABLISHED) {
        if (in_window(l, t)) l->hs_ok++;
        sample(l, s->started, t);
    } else if (ev->kind == DTLS_EV_HANDSHAKE_FAILED) {
        l->hs_failed++;
        fprintf(stderr, "dtls_load: handshake failed: %s\n", ev->reason);
        mark_reap(s, 1);
    } else if (ev->kind == DTLS_EV_CLOSED) {
        mark_reap(s, 1);
    }
}

/* --- sessions --- */

void slot_open(slot_t *s)
{
    load_t *l = s->l;
    dtls_config_t cfg = {.bind = &l->bind, .client = l->creds, .event = on_event, .arg = s};
    cfg.params.handshake_timeout_ms = UP_TIMEOUT_US / 1000;
    int err;
    s->tr = dtls_transport_new(&cfg, &err);
    if (!s->tr) {
        fprintf(stderr, "dtls_load: no transport: %s\n", coap_strerror(err));
        exit(1);
    }
    s->tr->up = &up_calls;
    s->tr->up_arg = s;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = s};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, s->tr->ops->fd(s->tr), &ev) < 0) {
        perror("dtls_load: epoll_ctl");
        exit(1);
    }
    s->up = s->reap = s->failed = s->closing = 0;
    memset(s->fl, 0, sizeof s->fl);
    s->started = now_us();
    l->opening++;
    send_ping(s); /* starts the handshake; goes out once it is done */
}

/* Frees the transport: close_notify to the server when the session is up. */
static void slot_close(slot_t *s)
{
    if (!s->tr) return;
    load_t *l = s->l;
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, s->tr->ops->fd(s->tr), NULL);
    s->closing = 1;
    s->tr->ops->free(s->tr);
    s->tr = NULL;
    if (s->up)
        l->nup--;
    else
        l->opening--;
    s->up = 0;
}

static void reap(load_t *l)
{
    while (l->reap_list) {
        slot_t *s = l->reap_list;
        l->reap_list = s->next_reap;
        int failed = s->failed;
        if (failed && s->up) l->up_failed++; /* an open session lost */
        slot_close(s);
        s->reap = 0;
        /* handshakes: the next fresh session; otherwise try again */
        if (l->mode == MODE_HANDSHAKES ? now_us() < l->win_end : failed && l->retry) slot_open(s);
    }
}

/* Transport timers (flight retransmissions, §4.2.4), sessions that never
 * came up, requests that were never answered. */
static void sweep(load_t *l)
{
    uint64_t t = now_us(), ms = t / 1000;
    for (int i = 0; i < l->nslots; i++) {
        slot_t *s = &l->slots[i];
        if (!s->tr) continue;
        if (s->tr->ops->next_deadline(s->tr) <= ms) s->tr->ops->process(s->tr, ms);
        if (!s->up && t - s->started > UP_TIMEOUT_US) {
            l->up_failed++;
            mark_reap(s, 1);
        }
        for (int j = 0; j < l->window && s->up; j++)
            if (s->fl[j].used && t - s->fl[j].t0 > REQUEST_TIMEOUT_US) {
                l->req_timeouts++;
                s->fl[j].used = 0;
                if (l->sending) send_request(s, &s->fl[j]);
            }
    }
}

/* One turn: what is readable, then the reaped slots, then (every 20 ms)
 * the timers. */
void turn(load_t *l, int wait_ms)
{
    static uint64_t last_sweep;
    struct epoll_event evs[256];
    int n = epoll_wait(l->epfd, evs, 256, wait_ms);
    uint64_t ms = now_us() / 1000;
    for (int i = 0; i < n; i++) {
        slot_t *s = evs[i].data.ptr;
        if (s->tr) s->tr->ops->process(s->tr, ms);
    }
    reap(l);
    if (ms - last_sweep >= 20) {
        last_sweep = ms;
        sweep(l);
        reap(l);
    }
}

/* Opens sessions [next_open, upto) with at most conc handshakes at a time,
 * until all are up, `deadline`, or as many failures as sessions (a server
 * that is not there, a wrong key: failed sessions are tried again). */
void open_upto(load_t *l, int upto, uint64_t deadline)
{
    l->retry = 1;
    while (now_us() < deadline && l->hs_failed + l->up_failed < (uint64_t)upto + 100) {
        while (l->next_open < upto && l->opening < l->conc) slot_open(&l->slots[l->next_open++]);
        if (l->nup >= upto) break;
        turn(l, 5);
    }
    l->retry = 0;
}

void close_all(load_t *l)
{
    for (int i = 0; i < l->nslots; i++) slot_close(&l->slots[i]);
    l->next_open = 0;
}
