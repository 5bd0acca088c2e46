/* rsicam — what explaining reports about itself (explain_impl.h):
 * RSICAM_TRACE's lines (each forward, each image's phases, the stream's
 * pace) and RSICAM_PROFILE's recording. The environment is read once,
 * when an explainer is made.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "explain_impl.h"
#include "fileio.h"
#include "host_services.h"

double ex_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void ex_trace_init(ex_trace *t)
{
    const char *profile = getenv("RSICAM_PROFILE");
    *t = (ex_trace){.on = getenv("RSICAM_TRACE") != NULL,
                    .profile_file = profile && *profile ? profile : NULL};
}

/* A profiler that cannot start or stop leaves the run alone. */
static void profile_failed(const char *file)
{
    fprintf(stderr, "rsicam: RSICAM_PROFILE '%s': %s\n", file,
            rsi_error_message());
    rsi_error_clear();
}

/* Starts the profile unless its file exists: a file rsicam did not make
 * is never replaced, so the recording would be for nothing. */
static int profile_start(const char *file)
{
    struct stat st;
    if (lstat(file, &st) == 0) {
        rsi_error_class_set(RSI_ERR_OUTPUT,
                            "it exists, and rsicam replaces no file: "
                            "no profile recorded");
        return -1;
    }
    return rsi_torch_profile_start();
}

/* libtorch writes the trace into a temporary file of rsicam's, which then
 * takes the file's name if it is still free. */
static int profile_stop(const char *file)
{
    rsi_atomic_file f;
    if (rsi_atomic_open(&f, file) != 0) {
        rsi_torch_profile_stop(NULL);
        return -1;
    }
    if (rsi_torch_profile_stop(f.tmp_path) != 0) {
        rsi_atomic_abort(&f);
        return -1;
    }
    return rsi_atomic_commit_new(&f);
}

void ex_trace_forward(ex_trace *t, int64_t forwards, int64_t rows,
                      int image_rows, int images, int64_t full_precision_rows)
{
    const double end = ex_now();
    /* after the first, the time since the last forward ended: this one's
     * share of the stream, one-time costs (a graph optimised anew) showing
     * alone */
    if (t->on) {
        fprintf(stderr,
                "rsicam: trace: forward: %lld points and %d image row(s) of "
                "%d image(s), %lld in float32",
                (long long)rows, image_rows, images,
                (long long)full_precision_rows);
        if (forwards > 1)
            fprintf(stderr, ", %.1f ms after the last",
                    1e3 * (end - t->last_forward_end));
        fputc('\n', stderr);
    }
    if (forwards > 1) {
        t->points_after_first += rows;
    } else {
        /* the pace and the profile start once the first forward has paid
         * for start-up (cuDNN's tuning, the graph executor's profiling
         * runs) */
        t->first_forward_end = end;
        if (t->profile_file && profile_start(t->profile_file) == 0)
            t->profiling = 1;
        else if (t->profile_file)
            profile_failed(t->profile_file);
    }
    t->last_forward_end = end;
}

void ex_trace_image(const ex_trace *t, const flight *fl, double end)
{
    if (t->on)
        fprintf(stderr,
                "rsicam: trace: %s: read %.2f ms, baseline %.2f ms, walk "
                "%.2f ms\n",
                fl->f.path, 1e3 * (fl->t_read - fl->start),
                1e3 * (fl->t_baseline - fl->t_read),
                1e3 * (end - fl->t_baseline));
}

void ex_trace_files(const ex_trace *t, const char *image, double start,
                    double ran)
{
    if (t->on)
        fprintf(stderr,
                "rsicam: trace: %s: next forward %.2f ms, then files %.2f ms "
                "more\n",
                image, 1e3 * (ran - start), 1e3 * (ex_now() - ran));
}

void ex_trace_finish(ex_trace *t, int64_t forwards)
{
    if (t->profiling && profile_stop(t->profile_file) < 0)
        profile_failed(t->profile_file);
    t->profiling = 0;
    /* the pace once started: process start, model load, device start-up
     * and the first forward's tuning left out */
    if (t->on && t->points_after_first > 0)
        fprintf(stderr,
                "rsicam: trace: stream: %lld points in %lld forwards after "
                "the first, %.3f s: %.4f ms per point\n",
                (long long)t->points_after_first, (long long)forwards - 1,
                t->last_forward_end - t->first_forward_end,
                1e3 * (t->last_forward_end - t->first_forward_end) /
                    (double)t->points_after_first);
}
