/*
 * client_progress.c - coapgw-client's progress bar: bytes so far and the
 * total (Size2, RFC 7959 §4, when the server sends it), the rate and the
 * blocks, on one line rewritten in place. At most ten redraws a second,
 * since a fast transfer would otherwise spend its time on the terminal.
 */
#include "client_progress.h"

#include <string.h>
#include <unistd.h>

enum { BAR_WIDTH = 24 };

void progress_bar_init(progress_bar_t *b, FILE *out, uint64_t now_ms)
{
    memset(b, 0, sizeof *b);
    b->out = out && isatty(fileno(out)) ? out : NULL;
    b->start_ms = now_ms;
}

/* "12.3 KiB" */
static void human(double bytes, char *buf, size_t cap)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB"};
    unsigned u = 0;
    while (bytes >= 1024 && u < 3) bytes /= 1024, u++;
    snprintf(buf, cap, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}

static void draw(progress_bar_t *b, uint64_t now_ms)
{
    const coap_progress_t *p = &b->at;
    char bar[BAR_WIDTH + 1], total[32], rate[32];
    double secs = (double)(now_ms - b->start_ms) / 1000.0;
    human(secs > 0 ? (double)p->bytes / secs : 0, rate, sizeof rate);
    if (p->total) {
        size_t fill = p->bytes >= p->total ? BAR_WIDTH : p->bytes * BAR_WIDTH / p->total;
        memset(bar, '#', fill);
        memset(bar + fill, '.', BAR_WIDTH - fill);
        snprintf(total, sizeof total, "%zu", p->total);
    } else { /* no Size2: a marker that moves with each block */
        memset(bar, '.', BAR_WIDTH);
        bar[p->blocks % BAR_WIDTH] = '#';
        snprintf(total, sizeof total, "?");
    }
    bar[BAR_WIDTH] = '\0';
    /* \r back to the line's start, \033[K erases what a longer line left */
    fprintf(b->out, "\r%s [%s] %zu/%s bytes, %s/s, %u block%s\033[K", p->upload ? "up" : "down",
            bar, p->bytes, total, rate, p->blocks, p->blocks == 1 ? "" : "s");
    fflush(b->out);
    b->drawn_ms = now_ms;
    b->shown = 1;
}

void progress_bar_update(progress_bar_t *b, const coap_progress_t *p, uint64_t now_ms)
{
    if (!b->out) return;
    b->at = *p;
    int done = p->total && p->bytes >= p->total;
    if (b->shown && !done && now_ms - b->drawn_ms < PROGRESS_BAR_MS) return;
    draw(b, now_ms);
}

void progress_bar_finish(progress_bar_t *b, uint64_t now_ms)
{
    if (!b->out || !b->shown) return;
    draw(b, now_ms);
    fputc('\n', b->out);
    fflush(b->out);
    b->shown = 0;
    b->out = NULL; /* one transfer: notifications after it draw nothing */
}
