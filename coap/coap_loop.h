/*
 * coap_loop.h - one event loop for one thread: epoll plus a min-heap of
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
#ifndef COAP_LOOP_H
#define COAP_LOOP_H

#include <stdint.h>

typedef struct coap_loop coap_loop_t;
typedef struct coap_loop_timer coap_loop_timer_t;

enum { COAP_LOOP_READ = 1, COAP_LOOP_WRITE = 2 };
#define COAP_NEVER UINT64_MAX

typedef void (*coap_loop_fd_cb)(coap_loop_t *loop, int fd, unsigned events, void *arg);
typedef void (*coap_loop_timer_cb)(coap_loop_t *loop, coap_loop_timer_t *t, void *arg);
/* A source's process call; `now` is the loop's clock. */
typedef void (*coap_loop_process_cb)(void *arg);
/* A source's next deadline in ms on the loop clock, or COAP_NEVER. */
typedef uint64_t (*coap_loop_deadline_cb)(void *arg);
typedef uint64_t (*coap_clock_fn)(void *ctx);

coap_loop_t *coap_loop_new(void);
/* Frees the loop. Timers stay their creators' to free (after this, only
 * coap_loop_timer_free() may be called on them); fds are not closed. */
void coap_loop_free(coap_loop_t *loop);

/* Replaces the clock (tests). NULL restores CLOCK_MONOTONIC. */
void coap_loop_set_clock(coap_loop_t *loop, coap_clock_fn fn, void *ctx);
uint64_t coap_loop_now(coap_loop_t *loop);
/* The default clock: CLOCK_MONOTONIC in ms. */
uint64_t coap_clock_monotonic(void *ctx);

/* fd callbacks; events is a COAP_LOOP_* mask. add returns 0 or -errno. */
int coap_loop_add_fd(coap_loop_t *loop, int fd, unsigned events, coap_loop_fd_cb cb, void *arg);
int coap_loop_mod_fd(coap_loop_t *loop, int fd, unsigned events);
void coap_loop_del_fd(coap_loop_t *loop, int fd);

/* Timers: created disarmed; the callback may re-arm or free its timer. */
coap_loop_timer_t *coap_loop_timer_new(coap_loop_t *loop, coap_loop_timer_cb cb, void *arg);
void coap_loop_timer_arm(coap_loop_timer_t *t, uint64_t when_ms);
void coap_loop_timer_arm_in(coap_loop_timer_t *t, uint64_t delay_ms);
void coap_loop_timer_disarm(coap_loop_timer_t *t);
void coap_loop_timer_free(coap_loop_timer_t *t);

/* Sources (see above). fd may be -1 for a deadline-only source. Returns
 * 0 or -errno. remove is safe from inside any callback. */
int coap_loop_add_source(coap_loop_t *loop, int fd, coap_loop_process_cb process,
                         coap_loop_deadline_cb deadline, void *arg);
void coap_loop_remove_source(coap_loop_t *loop, void *arg);

/* One iteration: waits at most max_wait_ms (-1: no limit but the next
 * deadline), dispatches ready fds, sources and due timers. Returns the number
 * of callbacks run, or -errno. */
int coap_loop_run_once(coap_loop_t *loop, int max_wait_ms);
/* Runs until coap_loop_stop(). */
void coap_loop_run(coap_loop_t *loop);
void coap_loop_stop(coap_loop_t *loop);
int coap_loop_stopped(const coap_loop_t *loop);

#endif
