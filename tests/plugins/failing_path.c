/* A test-only path plugin that fails mid-run: its first batches are
 * fine (baseline and image, one point each), the batch numbered 'fail_at'
 * (1-based, default 2) reports an error. test_cli_errors uses it to check
 * that a plugin failing half-way through an image leaves no map behind,
 * records the image as failed and lets the other images go on. */
#include <stdlib.h>

#include "rsicam/plugin.h"

typedef struct failing_state {
    const rsi_host_api *h;
    rsi_tensor *b, *x;
    int64_t batches, fail_at;
} failing_state;

static const rsi_param_spec params[] = {
    {"fail_at", RSI_PARAM_INT, "2", "the batch (1-based) that fails", 1, 1000},
    {NULL, 0, NULL, NULL, 0, 0},
};

static void failing_close(void *state)
{
    failing_state *s = state;
    if (!s)
        return;
    s->h->tensor_free(s->b);
    s->h->tensor_free(s->x);
    free(s);
}

static void *failing_open(const rsi_context *ctx, const rsi_param_value *values,
                          const rsi_tensor *baseline, const rsi_tensor *image,
                          int64_t steps)
{
    const rsi_host_api *h = ctx->host;
    (void)steps;
    const rsi_param_value *v = h->param(params, values, "fail_at");
    if (!v)
        return NULL;
    failing_state *s = calloc(1, sizeof *s);
    if (!s) {
        h->error("out of memory");
        return NULL;
    }
    s->h = h;
    s->fail_at = v->i;
    s->b = h->tensor_clone(baseline);
    s->x = h->tensor_clone(image);
    if (!s->b || !s->x) {
        failing_close(s);
        return NULL;
    }
    return s;
}

static int64_t failing_num_points(void *state)
{
    (void)state;
    return 2;
}

static int failing_next(void *state, int64_t max_points, rsi_tensor **batch)
{
    failing_state *s = state;
    (void)max_points;
    *batch = NULL;
    if (++s->batches == s->fail_at) {
        s->h->error("failing on purpose at batch %lld", (long long)s->batches);
        return -1;
    }
    if (s->batches > 2)
        return 0;
    *batch = s->h->tensor_clone(s->batches == 1 ? s->b : s->x);
    return *batch ? 1 : -1;
}

static const rsi_path_entry entry = {
    .open = failing_open,
    .num_points = failing_num_points,
    .next = failing_next,
    .close = failing_close,
};

RSI_PLUGIN_EXPORT const rsi_plugin_descriptor rsicam_plugin = {
    .abi_major = RSI_ABI_MAJOR,
    .abi_minor = RSI_ABI_MINOR,
    .kind = RSI_PLUGIN_PATH,
    .name = "failing",
    .version = "0.1.0",
    .license = "MIT",
    .description = "test path: fails on purpose at batch 'fail_at'",
    .params = params,
    .entry = &entry,
};
