/*
 * log.c - one line per event on stderr, with an RFC 3339 timestamp (UTC,
 * milliseconds): plain text for people, or one JSON object per line
 * (--log-format json) for log shippers.
 */
#include "gw.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static int min_level = CFG_LOG_INFO;
static int log_format = CFG_LOG_TEXT;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void gw_log_set_level(int level)
{
    min_level = level;
}

void gw_log_set_format(int format)
{
    log_format = format == CFG_LOG_JSON ? CFG_LOG_JSON : CFG_LOG_TEXT;
}

void gw_rfc3339_now(char *buf, size_t cap)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, cap - n, ".%03ldZ", (long)tv.tv_usec / 1000);
}

/* The room sanitize needs to cut at `keep` bytes, never earlier: each byte
 * \xHH at worst, then "..." and the NUL. */
#define ESCAPED_SIZE(keep) (4 * (keep) + 8)

/* Copies src into dst (cap bytes) with control bytes, DEL and non-ASCII
 * written as \xHH: what a client or a device sent can neither break a
 * JSON line (jansson refuses invalid UTF-8) nor send escape sequences to a
 * terminal. Cut with "..." at most `keep` source bytes in. */
static void sanitize(char *dst, size_t cap, const char *src, size_t keep)
{
    size_t o = 0;
    for (size_t i = 0; src[i]; i++) {
        if (i == keep || o + 8 > cap) { /* room for one escape, "..." and NUL */
            memcpy(dst + o, "...", 3);
            o += 3;
            break;
        }
        unsigned char c = (unsigned char)src[i];
        if (c >= 0x20 && c < 0x7f)
            dst[o++] = (char)c;
        else
            o += (size_t)snprintf(dst + o, cap - o, "\\x%02x", c);
    }
    dst[o] = '\0';
}

/* Writes the line; fields (a JSON object, may be NULL) are added to the
 * JSON form, the text form carries everything in msg already. */
static void emit(int level, const char *msg, json_t *fields)
{
    char ts[40], clean[4096];
    gw_rfc3339_now(ts, sizeof ts);
    sanitize(clean, sizeof clean, msg, 3200);
    msg = clean;
    if (log_format == CFG_LOG_TEXT) {
        fprintf(stderr, "%s %-5s %s\n", ts, level_names[level & 3], msg);
        json_decref(fields);
        return;
    }
    json_t *o = json_pack("{s:s, s:s, s:s}", "ts", ts, "level", level_names[level & 3], "msg", msg);
    if (o && fields) json_object_update(o, fields);
    json_decref(fields);
    /* ENSURE_ASCII: a line stays valid whatever bytes a client sent. */
    char *line =
        o ? json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(6)) : NULL;
    json_decref(o);
    if (line) fprintf(stderr, "%s\n", line);
    free(line);
}

void gw_log(int level, const char *fmt, ...)
{
    if (level < min_level) return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    emit(level, line, NULL);
}

/* The path is as sent: any bytes, any length. */
static void set_str(json_t *o, const char *key, const char *v)
{
    if (!v) return;
    char clean[2600];
    sanitize(clean, sizeof clean, v, 1024);
    json_object_set_new(o, key, json_string(clean));
}

void gw_log_request(const http_done_t *d)
{
    int level = d->status >= 500 || d->status == 0 ? CFG_LOG_WARN : CFG_LOG_INFO;
    if (level < min_level) return;
    char msg[3200];
    unsigned long long ms = (unsigned long long)(d->duration_us / 1000);
    /* Each field cleaned and cut first, so the status and time always fit. */
    enum { URI_KEEP = 300, NOTE_KEEP = 90 };
    char path[ESCAPED_SIZE(URI_KEEP)], target[ESCAPED_SIZE(URI_KEEP)],
        note[ESCAPED_SIZE(NOTE_KEEP)];
    sanitize(path, sizeof path, d->path, URI_KEEP);
    sanitize(target, sizeof target, d->target ? d->target : "", URI_KEEP);
    sanitize(note, sizeof note, d->note ? d->note : "", NOTE_KEEP);
    snprintf(msg, sizeof msg, "%s %s %s%s%s %u %llums%s%s", d->client, d->method, path,
             d->target ? " -> " : "", target, d->status, ms, d->note ? " " : "", note);
    json_t *f = NULL;
    if (log_format == CFG_LOG_JSON) {
        f = json_object();
        set_str(f, "method", d->method);
        set_str(f, "path", d->path);
        json_object_set_new(f, "status", json_integer(d->status));
        json_object_set_new(f, "duration_ms", json_real((double)d->duration_us / 1000.0));
        set_str(f, "client", d->client);
        set_str(f, "target", d->target);
        set_str(f, "note", d->note);
        if (d->tls) json_object_set_new(f, "tls", json_true());
    }
    emit(level, msg, f);
}
