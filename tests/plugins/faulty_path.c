/* A test-only path that is the linear path until told to be wrong in one
 * way ('fault'), so that each of the host's checks on a path's answer can
 * be seen to catch its fault and name the plugin:
 *   count   one point fewer than asked for
 *   shape   the points at half the width
 *   dtype   float64 points
 *   device  points made in host memory and not moved (only wrong when
 *           the image is on a GPU)
 *   nan     NaN in the points
 *   param   reads a parameter it never declared, and returns points anyway
 * With 'log' set it appends every position it is asked for to that file,
 * one per line, so that a test can count what the host asked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsicam/plugin.h"

static const rsi_param_spec params[] = {
    {"fault", RSI_PARAM_STRING, "none", "the fault to commit", 0, 0, 0},
    {"log", RSI_PARAM_STRING, NULL, "file to append positions to", 0, 0, 1},
    {NULL, 0, NULL, NULL, 0, 0, 0},
};

static rsi_tensor *in_host_memory(const rsi_host_api *h, const rsi_tensor *t)
{
    int64_t shape[4], n = h->tensor_numel(t);
    for (int d = 0; d < 4; d++)
        shape[d] = h->tensor_size(t, d);
    float *data = malloc((size_t)n * sizeof *data);
    rsi_tensor *out = data && h->tensor_to_floats(t, data, n) == 0
                          ? h->tensor_from_floats(data, shape, 4)
                          : NULL;
    free(data);
    return out;
}

static rsi_tensor *faulty_points(const rsi_context *ctx, const double *alpha,
                                 int64_t n)
{
    const rsi_host_api *h = ctx->host;
    const char *fault = h->param_string(ctx, "fault");
    if (h->param_set(ctx, "log")) {
        FILE *f = fopen(h->param_string(ctx, "log"), "a");
        for (int64_t k = 0; f && k < n; k++)
            fprintf(f, "%.17g\n", alpha[k]);
        if (f)
            fclose(f);
    }
    int64_t rows = strcmp(fault, "count") == 0 && n > 1 ? n - 1 : n;
    rsi_tensor *t = h->tensor_lerp(ctx->baseline, ctx->image, alpha, rows);
    rsi_tensor *bad = NULL;
    if (!t || strcmp(fault, "none") == 0 || strcmp(fault, "count") == 0)
        return t;
    if (strcmp(fault, "shape") == 0)
        bad = h->tensor_narrow(t, 3, 0, h->tensor_size(t, 3) / 2);
    else if (strcmp(fault, "dtype") == 0)
        bad = h->tensor_to_dtype(t, RSI_FLOAT64);
    else if (strcmp(fault, "device") == 0)
        bad = in_host_memory(h, t);
    else if (strcmp(fault, "nan") == 0)
        bad = h->tensor_scale(t, 0.0 / 0.0);
    else if (strcmp(fault, "param") == 0)
        bad = h->tensor_scale(t, h->param_float(ctx, "no_such_parameter"));
    h->tensor_free(t);
    return bad;
}

RSI_DECLARE_PATH("faulty", "0.1.0", "MIT",
                 "test path: linear, or wrong in the way 'fault' says", params,
                 .points = faulty_points);
