/* The "sequence" path: points supplied by the user, from the baseline to
 * the image (sources.c reads them).
 *
 * points is a .npy array [P, C, H, W] already in the classifier's
 * normalised space, a folder of images or a text file listing images
 * (pixels, resized to the classifier's input and normalised as the image
 * being explained is). The data fixes the number of points: --steps is
 * ignored, and the baseline is used only to say when the first point
 * differs from it. Images are read one batch at a time; a .npy array is
 * read whole (the host reads .npy files in one piece), so keep long paths
 * in folders.
 */
#include <math.h>
#include <stdlib.h>

#include "../../common/pixels.h"
#include "../../common/points.h"
#include "sequence.h"

/* Points farther than this (max abs, normalised units) from the baseline
 * or the image are worth a note: the heatmap then explains the path's own
 * ends. Image files lose about 1/255 / std to 8-bit rounding. */
#define END_TOLERANCE 1e-4

static const rsi_param_spec sequence_params[] = {
    {.name = "points",
     .type = RSI_PARAM_PATH,
     .default_value = NULL,
     .doc = ".npy [P, C, H, W] (normalised), image folder or list file"},
    {.name = NULL},
};

typedef struct seq_state {
    const rsi_host_api *h;
    const rsi_model_info *info;
    seq_source src;
    const rsi_tensor *b, *x; /* borrowed from the context, for the notes */
    int64_t next;
} seq_state;

static void seq_close(const rsi_context *ctx, void *state)
{
    seq_state *s = state;
    if (!s)
        return;
    seq_source_close(&s->src, ctx->host);
    free(s);
}

/* Logs how far point p lies from ref when that is more than rounding. */
static void note_end(seq_state *s, const rsi_tensor *p, const rsi_tensor *ref,
                     const char *which, const char *what)
{
    const rsi_host_api *h = s->h;
    rsi_tensor *d = h->tensor_sub(p, ref);
    double lo = 0, hi = 0;
    if (d && h->tensor_min_max(d, &lo, &hi) == 0) {
        double far = fmax(fabs(lo), fabs(hi));
        if (!(far <= END_TOLERANCE))
            h->log("path 'sequence': the %s point differs from %s by up to "
                   "%.3g (normalised units)",
                   which, what, far);
    }
    h->tensor_free(d);
}

static rsi_tensor *point(void *state, int64_t i)
{
    seq_state *s = state;
    const rsi_host_api *h = s->h;
    rsi_tensor *p = s->src.array
                        ? h->tensor_narrow(s->src.array, 0, i, 1)
                        : px_read_input(h, s->src.files[i], s->info, s->x);
    if (p && !px_same_shape(h, p, s->x)) {
        char got[96], want[96];
        h->error_class(RSI_ERR_USAGE, "point %lld is %s; the image is %s",
                       (long long)i, px_shape_text(h, p, got, sizeof got),
                       px_shape_text(h, s->x, want, sizeof want));
        h->tensor_free(p);
        return NULL;
    }
    if (p && i == 0)
        note_end(s, p, s->b, "first", "the baseline");
    if (p && i == s->src.count - 1)
        note_end(s, p, s->x, "last", "the image");
    return p;
}

static int seq_open(const rsi_context *ctx, void **state)
{
    const rsi_host_api *h = ctx->host;
    seq_state *s = calloc(1, sizeof *s);
    if (!(*state = s)) {
        h->error("out of memory");
        return -1;
    }
    *s = (seq_state){
        .h = h, .info = ctx->info, .b = ctx->baseline, .x = ctx->image};
    if (seq_source_open(&s->src, h, h->param_string(ctx, "points")) < 0)
        return -1;
    if (s->src.array && !(s->src.array = px_follow(h, s->src.array, s->x)))
        return -1;
    return 0;
}

static int64_t seq_num_points(const rsi_context *ctx)
{
    return ((seq_state *)ctx->state)->src.count;
}

static int seq_next(const rsi_context *ctx, int64_t max_points,
                    rsi_tensor **batch)
{
    seq_state *s = ctx->state;
    return pt_next(s->h, point, s, s->src.count, &s->next, max_points, batch);
}

/* Sequential: the list decides the points (no .points). */
RSI_DECLARE_PATH("sequence", "1.0.0", "MIT",
                 "points from a .npy array, image folder or list file "
                 "(ignores --steps)",
                 sequence_params, .open = seq_open, .close = seq_close,
                 .num_points = seq_num_points, .next = seq_next);
