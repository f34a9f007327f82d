/*
 * log.c - one line per event on stderr, with an RFC 3339 timestamp.
 */
#include "gw.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

static int min_level = CFG_LOG_INFO;

void gw_log_set_level(int level)
{
    min_level = level;
}

void gw_log_set_format(int format)
{
    (void)format; /* JSON lines: not yet */
}

void gw_log(int level, const char *fmt, ...)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    if (level < min_level) return;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[40];
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s.%03ldZ %-5s %s\n", ts, (long)tv.tv_usec / 1000, names[level & 3], line);
}
