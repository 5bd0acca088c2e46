/* A test-only path plugin that fails mid-run: its first batches are
 * fine (baseline and image, one point each), the batch numbered 'fail_at'
 * (1-based, default 2) reports an error. test_cli_errors uses it to check
 * that a plugin failing half-way through an image leaves no map behind,
 * records the image as failed and lets the other images go on. A fixed
 * list of two points, so sequential: the batches are its own. */
#include <stdlib.h>

#include "rsicam/plugin.h"

static const rsi_param_spec params[] = {
    {"fail_at", RSI_PARAM_INT, "2", "the batch (1-based) that fails", 1, 1000,
     0},
    {NULL, 0, NULL, NULL, 0, 0, 0},
};

static int failing_open(const rsi_context *ctx, void **state)
{
    int64_t *batches = calloc(1, sizeof *batches);
    *state = batches;
    if (!batches)
        ctx->host->error("out of memory");
    return batches ? 0 : -1;
}

static void failing_close(const rsi_context *ctx, void *state)
{
    (void)ctx;
    free(state);
}

static int64_t failing_num_points(const rsi_context *ctx)
{
    (void)ctx;
    return 2;
}

static int failing_next(const rsi_context *ctx, int64_t max_points,
                        rsi_tensor **batch)
{
    const rsi_host_api *h = ctx->host;
    int64_t *batches = ctx->state;
    (void)max_points;
    *batch = NULL;
    if (++*batches == h->param_int(ctx, "fail_at")) {
        h->error("failing on purpose at batch %lld", (long long)*batches);
        return -1;
    }
    if (*batches > 2)
        return 0;
    *batch = h->tensor_clone(*batches == 1 ? ctx->baseline : ctx->image);
    return *batch ? 1 : -1;
}

RSI_DECLARE_PATH("failing", "0.1.0", "MIT",
                 "test path: fails on purpose at batch 'fail_at'", params,
                 .open = failing_open, .close = failing_close,
                 .num_points = failing_num_points, .next = failing_next);
