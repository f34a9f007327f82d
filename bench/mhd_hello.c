/*
 * mhd_hello - the HTTP ceiling for bench/run-http.sh: libmicrohttpd with one
 * epoll thread (like coapgw's single loop) answering "hello" to everything.
 * usage: mhd_hello PORT [poll]
 * "poll": one poll() thread instead. libmicrohttpd 0.9.75's internal epoll
 * thread mostly stalls (from under 1 to a few hundred requests/s) when wrk
 * opens 128 or more connections at once; its poll thread does not, so the
 * connection sweep of bench/run-http.sh measures both.
 */
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct MHD_Response *hello;

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *data,
                                 size_t *data_size, void **con_cls)
{
    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    (void)data;
    /* Answer on the second call: answering on the first makes MHD close the
     * connection (no keep-alive), which would understate the ceiling. */
    if (!*con_cls) {
        *con_cls = c;
        return MHD_YES;
    }
    *data_size = 0;
    return MHD_queue_response(c, MHD_HTTP_OK, hello);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: mhd_hello PORT [poll]\n");
        return 2;
    }
    hello = MHD_create_response_from_buffer(5, (void *)"hello", MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(hello, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
    int poll = argc > 2 && !strcmp(argv[2], "poll");
    unsigned flags =
        poll ? MHD_USE_POLL_INTERNAL_THREAD : MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
    struct MHD_Daemon *d =
        MHD_start_daemon(flags, (uint16_t)atoi(argv[1]), NULL, NULL, on_access, NULL,
                         MHD_OPTION_CONNECTION_LIMIT, 20000u, MHD_OPTION_END);
    if (!d) {
        perror("mhd_hello");
        return 1;
    }
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGINT);
    sigaddset(&s, SIGTERM);
    sigprocmask(SIG_BLOCK, &s, NULL);
    int sig;
    sigwait(&s, &sig);
    MHD_stop_daemon(d);
    MHD_destroy_response(hello);
    return 0;
}
