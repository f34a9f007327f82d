/*
 * base_loop.h - one event loop for one thread: epoll plus a min-heap of
 * timers, in the spirit of Redis's ae.c. The gateway, the tools and the
 * tests all run on it. Nothing registered with it may block.
 *
 * Three kinds of things can be registered:
 *  - file descriptors with a callback (curl's sockets, a listening socket);
 *  - timers (one-shot, re-armable);
 *  - sources: a component that exposes a file descriptor, its next deadline
 *    and a process() call (a CoAP endpoint, libmicrohttpd). The loop waits
 *    for the fd or the deadline, whichever comes first, then calls process().
 *
 * Time is milliseconds on a monotonic clock that tests can replace.
 */
#ifndef BASE_LOOP_H
#define BASE_LOOP_H

#include <stdint.h>

typedef struct base_loop base_loop_t;
typedef struct base_loop_timer base_loop_timer_t;

enum { BASE_LOOP_READ = 1, BASE_LOOP_WRITE = 2 };
#define BASE_NEVER UINT64_MAX

typedef void (*base_loop_fd_cb)(base_loop_t *loop, int fd, unsigned events, void *arg);
typedef void (*base_loop_timer_cb)(base_loop_t *loop, base_loop_timer_t *t, void *arg);
/* A source's process call; `now` is the loop's clock. */
typedef void (*base_loop_process_cb)(void *arg);
/* A source's next deadline in ms on the loop clock, or BASE_NEVER. */
typedef uint64_t (*base_loop_deadline_cb)(void *arg);
typedef uint64_t (*base_clock_fn)(void *ctx);

base_loop_t *base_loop_new(void);
/* Frees the loop. Timers stay their creators' to free (after this, only
 * base_loop_timer_free() may be called on them); fds are not closed. */
void base_loop_free(base_loop_t *loop);

/* Replaces the clock (tests). NULL restores CLOCK_MONOTONIC. */
void base_loop_set_clock(base_loop_t *loop, base_clock_fn fn, void *ctx);
uint64_t base_loop_now(base_loop_t *loop);
/* The default clock: CLOCK_MONOTONIC in ms. */
uint64_t base_clock_monotonic(void *ctx);

/* fd callbacks; events is a BASE_LOOP_* mask. add returns 0 or -errno. */
int base_loop_add_fd(base_loop_t *loop, int fd, unsigned events, base_loop_fd_cb cb, void *arg);
int base_loop_mod_fd(base_loop_t *loop, int fd, unsigned events);
void base_loop_del_fd(base_loop_t *loop, int fd);

/* Timers: created disarmed; the callback may re-arm or free its timer. */
base_loop_timer_t *base_loop_timer_new(base_loop_t *loop, base_loop_timer_cb cb, void *arg);
void base_loop_timer_arm(base_loop_timer_t *t, uint64_t when_ms);
void base_loop_timer_arm_in(base_loop_timer_t *t, uint64_t delay_ms);
void base_loop_timer_disarm(base_loop_timer_t *t);
void base_loop_timer_free(base_loop_timer_t *t);

/* Sources (see above). fd may be -1 for a deadline-only source. Returns
 * 0 or -errno. remove is safe from inside any callback. */
int base_loop_add_source(base_loop_t *loop, int fd, base_loop_process_cb process,
                         base_loop_deadline_cb deadline, void *arg);
void base_loop_remove_source(base_loop_t *loop, void *arg);

/* One iteration: waits at most max_wait_ms (-1: no limit but the next
 * deadline), dispatches ready fds, sources and due timers. Returns the number
 * of callbacks run, or -errno. */
int base_loop_run_once(base_loop_t *loop, int max_wait_ms);
/* Runs until base_loop_stop(). */
void base_loop_run(base_loop_t *loop);
void base_loop_stop(base_loop_t *loop);
int base_loop_stopped(const base_loop_t *loop);

#endif
