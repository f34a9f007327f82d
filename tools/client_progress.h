/*
 * client_progress.h - coapgw-client's progress bar for block-wise
 * transfers (RFC 7959), on stderr when it is a terminal.
 */
#ifndef CLIENT_PROGRESS_H
#define CLIENT_PROGRESS_H

#include "coap_client.h"

#include <stdint.h>
#include <stdio.h>

typedef struct {
    FILE *out;          /* NULL: no bar (not a terminal) */
    uint64_t start_ms;  /* when the request went out */
    uint64_t drawn_ms;  /* when the bar was last drawn */
    coap_progress_t at; /* the latest progress */
    int shown;          /* drawn at least once, not finished yet */
} progress_bar_t;

/* A bar on out, or none when out is NULL or not a terminal. */
void progress_bar_init(progress_bar_t *b, FILE *out, uint64_t now_ms);
/* One more block: redrawn at most every PROGRESS_BAR_MS, and at the end. */
void progress_bar_update(progress_bar_t *b, const coap_progress_t *p, uint64_t now_ms);
/* The transfer is over: the bar drawn a last time and ended by a newline
 * (nothing when none was drawn). */
void progress_bar_finish(progress_bar_t *b, uint64_t now_ms);

enum { PROGRESS_BAR_MS = 100 };

#endif
