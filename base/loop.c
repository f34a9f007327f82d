/*
 * loop.c - epoll + timer heap + sources. See base_loop.h.
 */
#include "base_loop.h"
#include "base_clock.h"
#include "base_heap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

struct base_loop_timer {
    base_heap_tmr_t h; /* first member: the heap hands back this pointer */
    base_loop_t *loop;
    base_loop_timer_cb cb;
    void *arg;
};

typedef struct {
    base_loop_fd_cb cb;
    void *arg;
    unsigned events;
    int source; /* index + 1 into sources, or 0 */
} fd_slot_t;

typedef struct {
    int fd;
    base_loop_process_cb process;
    base_loop_deadline_cb deadline;
    void *arg;
    int ready;
    int dead;
} source_t;

struct base_loop {
    int epfd;
    fd_slot_t *fds;
    int nfds;
    base_heap_t timers;
    source_t *sources;
    int nsources, cap_sources;
    base_clock_fn clock;
    void *clock_ctx;
    int stop;
};

uint64_t base_clock_monotonic(void *ctx)
{
    (void)ctx;
    return base_clock_ms();
}

base_loop_t *base_loop_new(void)
{
    base_loop_t *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) {
        free(l);
        return NULL;
    }
    l->clock = base_clock_monotonic;
    return l;
}

void base_loop_free(base_loop_t *l)
{
    if (!l) return;
    /* Timers belong to their creators, who free them; drop the heap only. */
    for (size_t i = 0; i < l->timers.n; i++) l->timers.v[i]->slot = 0;
    base_heap_free(&l->timers);
    close(l->epfd);
    free(l->fds);
    free(l->sources);
    free(l);
}

void base_loop_set_clock(base_loop_t *l, base_clock_fn fn, void *ctx)
{
    l->clock = fn ? fn : base_clock_monotonic;
    l->clock_ctx = ctx;
}

uint64_t base_loop_now(base_loop_t *l)
{
    return l->clock(l->clock_ctx);
}

static uint32_t to_epoll(unsigned ev)
{
    return (ev & BASE_LOOP_READ ? EPOLLIN : 0) | (ev & BASE_LOOP_WRITE ? EPOLLOUT : 0);
}

static int grow_fds(base_loop_t *l, int fd)
{
    if (fd < l->nfds) return 0;
    int n = l->nfds ? l->nfds : 64;
    while (n <= fd) n *= 2;
    fd_slot_t *v = realloc(l->fds, (size_t)n * sizeof *v);
    if (!v) return -ENOMEM;
    memset(v + l->nfds, 0, (size_t)(n - l->nfds) * sizeof *v);
    l->fds = v;
    l->nfds = n;
    return 0;
}

int base_loop_add_fd(base_loop_t *l, int fd, unsigned events, base_loop_fd_cb cb, void *arg)
{
    if (fd < 0) return -EBADF;
    int rc = grow_fds(l, fd);
    if (rc) return rc;
    struct epoll_event ev = {.events = to_epoll(events), .data.fd = fd};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) return -errno;
    l->fds[fd] = (fd_slot_t){cb, arg, events, 0};
    return 0;
}

int base_loop_mod_fd(base_loop_t *l, int fd, unsigned events)
{
    if (fd < 0 || fd >= l->nfds) return -EBADF;
    struct epoll_event ev = {.events = to_epoll(events), .data.fd = fd};
    if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0) return -errno;
    l->fds[fd].events = events;
    return 0;
}

void base_loop_del_fd(base_loop_t *l, int fd)
{
    if (fd < 0 || fd >= l->nfds) return;
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
    memset(&l->fds[fd], 0, sizeof l->fds[fd]);
}

base_loop_timer_t *base_loop_timer_new(base_loop_t *l, base_loop_timer_cb cb, void *arg)
{
    base_loop_timer_t *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->loop = l;
    t->cb = cb;
    t->arg = arg;
    return t;
}

void base_loop_timer_arm(base_loop_timer_t *t, uint64_t when)
{
    /* An allocation failure here leaves the timer disarmed; the heap only
     * grows in steps of a doubling, so this is as rare as malloc failing. */
    (void)base_heap_arm(&t->loop->timers, &t->h, when);
}

void base_loop_timer_arm_in(base_loop_timer_t *t, uint64_t delay)
{
    base_loop_timer_arm(t, base_loop_now(t->loop) + delay);
}

void base_loop_timer_disarm(base_loop_timer_t *t)
{
    base_heap_disarm(&t->loop->timers, &t->h);
}

void base_loop_timer_free(base_loop_timer_t *t)
{
    if (!t) return;
    base_loop_timer_disarm(t);
    free(t);
}

int base_loop_add_source(base_loop_t *l, int fd, base_loop_process_cb process,
                         base_loop_deadline_cb deadline, void *arg)
{
    if (l->nsources == l->cap_sources) {
        int cap = l->cap_sources ? l->cap_sources * 2 : 8;
        source_t *v = realloc(l->sources, (size_t)cap * sizeof *v);
        if (!v) return -ENOMEM;
        l->sources = v;
        l->cap_sources = cap;
    }
    if (fd >= 0) {
        int rc = base_loop_add_fd(l, fd, BASE_LOOP_READ, NULL, NULL);
        if (rc) return rc;
        l->fds[fd].source = l->nsources + 1;
    }
    l->sources[l->nsources++] = (source_t){fd, process, deadline, arg, 0, 0};
    return 0;
}

void base_loop_remove_source(base_loop_t *l, void *arg)
{
    for (int i = 0; i < l->nsources; i++) {
        source_t *s = &l->sources[i];
        if (s->arg != arg || s->dead) continue;
        if (s->fd >= 0) base_loop_del_fd(l, s->fd);
        s->dead = 1; /* compacted after dispatch, so indexes stay valid */
    }
}

static void compact_sources(base_loop_t *l)
{
    int w = 0;
    for (int r = 0; r < l->nsources; r++) {
        if (l->sources[r].dead) continue;
        l->sources[w] = l->sources[r];
        if (l->sources[w].fd >= 0) l->fds[l->sources[w].fd].source = w + 1;
        w++;
    }
    l->nsources = w;
}

/* Milliseconds until the earliest timer or source deadline. */
static int wait_ms(base_loop_t *l, uint64_t now, int max_wait)
{
    uint64_t next = BASE_NEVER;
    base_heap_tmr_t *top = base_heap_top(&l->timers);
    if (top) next = top->when;
    for (int i = 0; i < l->nsources; i++) {
        if (l->sources[i].dead || !l->sources[i].deadline) continue;
        uint64_t d = l->sources[i].deadline(l->sources[i].arg);
        if (d < next) next = d;
    }
    int64_t ms = next == BASE_NEVER ? -1 : next <= now ? 0 : (int64_t)(next - now);
    if (ms > 3600000) ms = 3600000;
    if (max_wait >= 0 && (ms < 0 || ms > max_wait)) ms = max_wait;
    return (int)ms;
}

static int run_timers(base_loop_t *l)
{
    int ran = 0;
    uint64_t now = base_loop_now(l);
    /* Bounded: timers re-armed for "now" inside a callback wait for the
     * next iteration instead of spinning here. */
    for (size_t budget = l->timers.n; budget > 0; budget--) {
        base_heap_tmr_t *top = base_heap_top(&l->timers);
        if (!top || top->when > now) break;
        base_loop_timer_t *t = (base_loop_timer_t *)top;
        base_heap_disarm(&l->timers, top);
        t->cb(l, t, t->arg);
        ran++;
    }
    return ran;
}

int base_loop_run_once(base_loop_t *l, int max_wait)
{
    struct epoll_event evs[64];
    int timeout = wait_ms(l, base_loop_now(l), max_wait);
    int n = epoll_wait(l->epfd, evs, 64, timeout);
    if (n < 0) {
        if (errno == EINTR) return 0;
        return -errno;
    }
    int ran = 0;
    for (int i = 0; i < n; i++) {
        int fd = evs[i].data.fd;
        if (fd >= l->nfds) continue;
        fd_slot_t *s = &l->fds[fd];
        if (s->source) {
            l->sources[s->source - 1].ready = 1;
        } else if (s->cb) {
            unsigned ev = (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR) ? BASE_LOOP_READ : 0) |
                          (evs[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR) ? BASE_LOOP_WRITE : 0);
            s->cb(l, fd, ev, s->arg);
            ran++;
        }
    }
    uint64_t now = base_loop_now(l);
    for (int i = 0; i < l->nsources; i++) {
        source_t *s = &l->sources[i];
        if (s->dead) continue;
        int due = s->deadline && s->deadline(s->arg) <= now;
        if (s->ready || due) {
            s->ready = 0;
            s->process(s->arg);
            ran++;
        }
    }
    compact_sources(l);
    ran += run_timers(l);
    return ran;
}

void base_loop_run(base_loop_t *l)
{
    l->stop = 0;
    while (!l->stop)
        if (base_loop_run_once(l, -1) < 0) break;
}

void base_loop_stop(base_loop_t *l)
{
    l->stop = 1;
}

int base_loop_stopped(const base_loop_t *l)
{
    return l->stop;
}
