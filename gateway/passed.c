/*
 * passed.c - socket activation (gw_passed.h). The protocol of
 * sd_listen_fds(3), done here in a few lines rather than with libsystemd:
 * LISTEN_PID must be our pid, LISTEN_FDS sockets start at descriptor 3
 * (SD_LISTEN_FDS_START), LISTEN_FDNAMES names them, colon-separated
 * (FileDescriptorName= of systemd.socket(5)); the variables are unset so
 * that nothing started later takes them for its own.
 */
#include "coap_addr.h"
#include "gw.h"
#include "gw_passed.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define FIRST_FD 3  /* SD_LISTEN_FDS_START */
#define MAX_FDS  16 /* four listeners; more is a mistake in the unit */

static const struct {
    const char *name, *key;
    int type;
    uint16_t default_port;
} listeners[GW_LISTEN_N] = {
    [GW_LISTEN_HTTP] = {"http", "http.listen", SOCK_STREAM, 8080},
    [GW_LISTEN_HTTPS] = {"https", "http.listen_tls", SOCK_STREAM, 8443},
    [GW_LISTEN_COAP] = {"coap", "coap.listen", SOCK_DGRAM, 5683},
    [GW_LISTEN_COAPS] = {"coaps", "coap.listen_dtls", SOCK_DGRAM, 5684},
};

static const char *configured(const cfg_t *c, gw_listener_t l)
{
    const char *v[GW_LISTEN_N] = {c->http_listen, c->http_listen_tls, c->coap_listen,
                                  c->coap_listen_dtls};
    return v[l];
}

/* One passed socket as the log and messages show it. */
typedef struct {
    int fd, type;
    char name[64]; /* its LISTEN_FDNAMES entry, "" when none */
    coap_addr_t addr;
    char text[COAP_ADDR_STRLEN];
    const char *unusable; /* why a listener cannot serve it, or NULL */
} sock_t;

static int describe(int fd, const char *name, sock_t *s)
{
    socklen_t tl = sizeof s->type, al = sizeof s->addr.u;
    memset(s, 0, sizeof *s);
    s->fd = fd;
    snprintf(s->name, sizeof s->name, "%s", name);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &s->type, &tl) < 0 ||
        getsockname(fd, &s->addr.u.sa, &al) < 0)
        return -1;
    s->addr.len = al;
    if (s->addr.u.sa.sa_family != AF_INET && s->addr.u.sa.sa_family != AF_INET6) return -1;
    /* sd_is_socket_inet(3)'s checks: a TCP socket that is not listening,
     * or a UDP one not bound or connected to one peer, would take no
     * client, or only that peer's datagrams */
    int listening = 0;
    socklen_t ll = sizeof listening;
    coap_addr_t peer;
    socklen_t pl = sizeof peer.u;
    if (s->type == SOCK_STREAM)
        s->unusable = getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ll) < 0 || !listening
                          ? "not listening"
                          : NULL;
    else if (getpeername(fd, &peer.u.sa, &pl) == 0)
        s->unusable = "connected to one peer";
    else if (!coap_addr_port(&s->addr))
        s->unusable = "not bound to a port";
    coap_addr_unmap(&s->addr);
    coap_addr_str(&s->addr, s->text, sizeof s->text);
    return 0;
}

/* The configured address takes the socket: the same port (any for port
 * 0) and address, the two wildcards (0.0.0.0, ::) alike. */
static int address_fits(const sock_t *s, const char *listen, uint16_t default_port)
{
    coap_addr_t want;
    if (cfg_listen_off(listen) || coap_addr_parse(&want, listen, default_port)) return 0;
    coap_addr_unmap(&want);
    if (coap_addr_port(&want) && coap_addr_port(&want) != coap_addr_port(&s->addr)) return 0;
    if (coap_addr_is_any(&want) && coap_addr_is_any(&s->addr)) return 1;
    return coap_addr_same_host(&want, &s->addr);
}

/* The listener a socket serves, or -1 with the reason in err. */
static int match(const cfg_t *c, const sock_t *s, char *err, size_t errlen)
{
    const char *kind = s->type == SOCK_STREAM ? "TCP" : s->type == SOCK_DGRAM ? "UDP" : "other";
    if (s->unusable)
        return snprintf(err, errlen, "socket activation: socket%s%s%s (fd %d, %s %s) is %s",
                        *s->name ? " \"" : "", s->name, *s->name ? "\"" : "", s->fd, kind, s->text,
                        s->unusable),
               -1;
    for (int l = 0; l < GW_LISTEN_N; l++) {
        if (strcmp(s->name, listeners[l].name)) continue;
        if (cfg_listen_off(configured(c, l)))
            return snprintf(err, errlen,
                            "socket activation: socket \"%s\" (fd %d, %s %s) passed "
                            "but %s is off",
                            s->name, s->fd, kind, s->text, listeners[l].key),
                   -1;
        if (s->type != listeners[l].type)
            return snprintf(err, errlen,
                            "socket activation: socket \"%s\" (fd %d) is %s, %s "
                            "needs %s",
                            s->name, s->fd, kind, listeners[l].key,
                            listeners[l].type == SOCK_STREAM ? "TCP" : "UDP"),
                   -1;
        return l;
    }
    for (int l = 0; l < GW_LISTEN_N; l++)
        if (s->type == listeners[l].type &&
            address_fits(s, configured(c, l), listeners[l].default_port))
            return l;
    return snprintf(err, errlen,
                    "socket activation: socket%s%s%s (fd %d, %s %s) matches no "
                    "listener: name it http, https, coap or coaps (FileDescriptorName=) or "
                    "set http.listen, http.listen_tls, coap.listen or coap.listen_dtls to its "
                    "address",
                    *s->name ? " \"" : "", s->name, *s->name ? "\"" : "", s->fd, kind, s->text),
           -1;
}

/* The n-th name of LISTEN_FDNAMES ("a:b:c"), "" when there is none. */
static void nth_name(const char *names, int n, char *out, size_t cap)
{
    const char *p = names;
    *out = 0;
    while (p && n-- > 0) {
        p = strchr(p, ':');
        if (p) p++;
    }
    if (p) snprintf(out, cap, "%.*s", (int)strcspn(p, ":"), p);
}

static int take_one(const cfg_t *c, gw_passed_t *out, int fd, const char *names, char *err,
                    size_t errlen)
{
    sock_t s;
    char name[64];
    nth_name(names, fd - FIRST_FD, name, sizeof name);
    /* not inherited by anything this process might start */
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 || describe(fd, name, &s))
        return snprintf(err, errlen, "socket activation: fd %d is no IPv4/IPv6 socket", fd), -1;
    int l = match(c, &s, err, errlen);
    if (l < 0) return -1;
    if (out->fd[l] >= 0)
        return snprintf(err, errlen, "socket activation: fds %d and %d are both for %s", out->fd[l],
                        fd, listeners[l].key),
               -1;
    out->fd[l] = fd;
    gw_log(CFG_LOG_INFO, "socket activation: fd %d%s%s%s, %s %s, serves %s", fd, *name ? " (" : "",
           name, *name ? ")" : "", s.type == SOCK_STREAM ? "TCP" : "UDP", s.text, listeners[l].key);
    return 0;
}

static void forget_environment(void)
{
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
}

int gw_passed_take(const cfg_t *c, gw_passed_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    for (int l = 0; l < GW_LISTEN_N; l++) out->fd[l] = -1;
    const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
    if (!pid || !fds) return forget_environment(), 0;
    char *end;
    long p = strtol(pid, &end, 10);
    if (*end || !*pid || p <= 0) {
        snprintf(err, errlen, "socket activation: LISTEN_PID \"%.40s\" is not a process id", pid);
        return forget_environment(), -1;
    }
    long n = strtol(fds, &end, 10);
    if (p != (long)getpid()) { /* meant for another process: ours binds */
        gw_log(CFG_LOG_INFO,
               "socket activation: LISTEN_PID %s is not this process (%ld); "
               "binding as configured",
               pid, (long)getpid());
        return forget_environment(), 0;
    }
    if (*end || !*fds || n < 0 || n > MAX_FDS) {
        snprintf(err, errlen,
                 "socket activation: LISTEN_FDS \"%.40s\" is not a number of sockets "
                 "(0-%d)",
                 fds, MAX_FDS);
        return forget_environment(), -1;
    }
    const char *names = getenv("LISTEN_FDNAMES");
    char *copy = names ? strdup(names) : NULL; /* unsetenv may free it */
    forget_environment();
    int rc = names && !copy ? snprintf(err, errlen, "out of memory"), -1 : 0;
    out->passed = n > 0;
    for (int fd = FIRST_FD; !rc && fd < FIRST_FD + n; fd++)
        rc = take_one(c, out, fd, copy, err, errlen);
    free(copy);
    for (int l = 0; !rc && out->passed && l < GW_LISTEN_N; l++)
        if (out->fd[l] < 0 && !cfg_listen_off(configured(c, l)))
            gw_log(CFG_LOG_WARN,
                   "socket activation: no socket passed for %s (%s): bound by "
                   "coapgw itself, so a restart refuses what comes meanwhile",
                   listeners[l].key, configured(c, l));
    return rc;
}

int gw_passed_hand(gw_passed_t *p, gw_listener_t l)
{
    int fd = p->fd[l];
    p->fd[l] = -1;
    if (fd >= 0) p->handed |= 1u << l;
    return fd;
}

void gw_passed_close(gw_passed_t *p)
{
    for (int l = 0; l < GW_LISTEN_N; l++)
        if (p->fd[l] >= 0) close(p->fd[l]);
    for (int l = 0; l < GW_LISTEN_N; l++) p->fd[l] = -1;
}
