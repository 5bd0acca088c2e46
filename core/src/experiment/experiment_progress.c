/* rsicam — progress of a long run: maps made of total, the maps of failed
 * units, rate and ETA.
 *
 * On a terminal one line is rewritten in place (\r); into a file or pipe
 * (batch jobs, logs) each unit gets its own line, so that a log shows
 * progress without control characters.
 */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "experiment_internal.h"

double xp_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void xp_progress_start(xp_progress *p, int64_t total, int64_t done, int quiet)
{
    *p = (xp_progress){.tty = isatty(STDERR_FILENO),
                       .quiet = quiet,
                       .total = total,
                       .done = done,
                       .done_at_start = done,
                       .start = xp_now()};
}

static void format_eta(double s, char *buf, size_t n)
{
    if (s < 0 || s > 1e8)
        snprintf(buf, n, "?");
    else if (s < 60)
        snprintf(buf, n, "%.0fs", s);
    else if (s < 3600)
        snprintf(buf, n, "%dm%02ds", (int)s / 60, (int)s % 60);
    else
        snprintf(buf, n, "%dh%02dm", (int)s / 3600, (int)s % 3600 / 60);
}

void xp_progress_unit(xp_progress *p, int64_t maps, int failed,
                      const char *what)
{
    p->done += maps;
    p->failed += failed ? maps : 0;
    if (p->quiet)
        return;
    /* the rate counts only what this run computed, not what it skipped */
    double elapsed = xp_now() - p->start;
    double rate =
        elapsed > 0 ? (double)(p->done - p->done_at_start) / elapsed : 0;
    char eta[32];
    format_eta(rate > 0 ? (double)(p->total - p->done) / rate : -1, eta,
               sizeof eta);
    int pct = p->total ? (int)(100 * p->done / p->total) : 100;
    char failed_text[48] = "";
    if (p->failed)
        snprintf(failed_text, sizeof failed_text, ", %" PRId64 " failed",
                 p->failed);
    const int64_t made = p->done - p->failed;
    if (p->tty) {
        int len = fprintf(stderr,
                          "\rrsicam: %" PRId64 "/%" PRId64
                          " maps (%d%%)%s, %.2f maps/s, ETA %s",
                          made, p->total, pct, failed_text, rate, eta);
        /* blank out what a longer previous line left */
        for (int i = len; i < p->last_len; i++)
            fputc(' ', stderr);
        p->last_len = len;
    } else {
        fprintf(stderr,
                "rsicam: %s: %" PRId64 "/%" PRId64
                " maps (%d%%)%s, %.2f maps/s, ETA %s\n",
                what, made, p->total, pct, failed_text, rate, eta);
    }
    fflush(stderr);
}

void xp_progress_end(xp_progress *p)
{
    if (!p->quiet && p->tty && p->last_len) {
        fputc('\n', stderr);
        fflush(stderr);
    }
    p->last_len = 0;
}
