/* Sliding-window operators: Conv, ConvTranspose, MaxPool, AveragePool and
 * the global pools. ONNX pads every spatial axis at both ends on its own
 * (or "SAME" from the input size); libtorch's operators pad both ends
 * alike, so uneven or SAME padding becomes an explicit pad first. */
#include "ops.h"

#include <math.h>
#include <string.h>

/* The window's spatial rank and attributes, with ONNX's defaults. */
typedef struct window {
    int rank;
    int64_t kernel[3], strides[3], dilations[3], pads[6];
    int64_t sym[3]; /* the padding left for libtorch's operator */
} window;

static int read_ints(op_ctx *c, const char *name, int64_t *out, int want,
                     int64_t def)
{
    size_t n;
    const int64_t *v = op_attr_ints(c, name, &n);
    if (v && n != (size_t)want)
        return op_fail(c, "attribute '%s' has %zu values, expected %d", name, n,
                       want);
    for (int k = 0; k < want; k++)
        out[k] = v ? v[k] : def;
    return 0;
}

/* Reads the window; rank from kernel_shape, else from a constant weight
 * (weight_input >= 0). */
static int read_window(op_ctx *c, window *w, int weight_input)
{
    size_t n;
    const int64_t *k = op_attr_ints(c, "kernel_shape", &n);
    const ox_tensor *wt = weight_input >= 0 ? op_const(c, weight_input) : NULL;
    if (!k && wt && wt->ndim >= 3) {
        n = (size_t)wt->ndim - 2;
        k = wt->dims + 2;
    }
    if (!k)
        return op_fail(c, "the kernel shape is unknown (no kernel_shape and "
                          "no constant weight)");
    if (n < 1 || n > 3)
        return op_fail(c, "%zu spatial dimensions; 1 to 3 are supported", n);
    w->rank = (int)n;
    memcpy(w->kernel, k, n * sizeof *k);
    if (read_ints(c, "strides", w->strides, w->rank, 1) < 0 ||
        read_ints(c, "dilations", w->dilations, w->rank, 1) < 0 ||
        read_ints(c, "pads", w->pads, 2 * w->rank, 0) < 0)
        return -1;
    return 0;
}

static void pad_line(op_ctx *c, const char *x, const sbuf *pads, double value)
{
    sbuf v = {0};
    sb_float(&v, value);
    op_line(c, "%s = torch.constant_pad_nd(%s, [%s], %s)", x, x, sb_text(pads),
            sb_text(&v));
    sb_free(&v);
}

/* Pads x (a variable) as ONNX says, so that libtorch's operator pads by
 * w->sym at both ends: nothing when ONNX's pads are even and within half
 * the window (libtorch's limit), else an explicit pad with value first.
 * Returns 1 when it padded explicitly, 0 when not, -1 on an error. */
static int window_padding(op_ctx *c, window *w, const char *x, double value)
{
    const char *mode = op_attr_str(c, "auto_pad", "NOTSET");
    memset(w->sym, 0, sizeof w->sym);
    sbuf pads = {0};
    if (!strcmp(mode, "SAME_UPPER") || !strcmp(mode, "SAME_LOWER")) {
        /* the total padding that makes ceil(in / stride) outputs; the odd
         * one goes at the end (UPPER) or the start (LOWER) */
        const int upper = !strcmp(mode, "SAME_UPPER");
        for (int d = w->rank - 1; d >= 0; d--) {
            const int64_t span = (w->kernel[d] - 1) * w->dilations[d] + 1,
                          s = w->strides[d];
            op_line(c,
                    "t%d = max(((%s.size(%d) + %lld) // %lld - 1) * %lld + "
                    "%lld - %s.size(%d), 0)",
                    d, x, 2 + d, (long long)(s - 1), (long long)s, (long long)s,
                    (long long)span, x, 2 + d);
            sb_printf(&pads,
                      upper ? "%st%d // 2, t%d - t%d // 2"
                            : "%st%d - t%d // 2, t%d // 2",
                      d == w->rank - 1 ? "" : ", ", d, d, d);
        }
        pad_line(c, x, &pads, value);
        sb_free(&pads);
        return 1;
    }
    if (strcmp(mode, "NOTSET") && strcmp(mode, "VALID"))
        return op_fail(c, "auto_pad '%s' is not supported", mode);
    if (!strcmp(mode, "VALID"))
        return 0;
    int even = 1, any = 0;
    for (int d = 0; d < w->rank; d++) {
        const int64_t b = w->pads[d], e = w->pads[d + w->rank];
        any = any || b || e;
        if (b != e || b < 0 || 2 * b > w->kernel[d])
            even = 0;
    }
    if (!any)
        return 0;
    if (even) {
        for (int d = 0; d < w->rank; d++)
            w->sym[d] = w->pads[d];
        return 0;
    }
    for (int d = w->rank - 1; d >= 0; d--)
        sb_printf(&pads, "%s%lld, %lld", d == w->rank - 1 ? "" : ", ",
                  (long long)w->pads[d], (long long)w->pads[d + w->rank]);
    pad_line(c, x, &pads, value);
    sb_free(&pads);
    return 1;
}

static void list(sbuf *b, const int64_t *v, int n)
{
    sb_int_list(b, v, (size_t)n);
}

static int emit_conv(op_ctx *c)
{
    window w;
    const char *x = op_tensor(c, 0), *wt = x ? op_tensor(c, 1) : NULL;
    const char *bias = op_has(c, 2) ? op_tensor(c, 2) : "None";
    if (!wt || !bias || read_window(c, &w, 1) < 0)
        return -1;
    op_line(c, "x = %s", x);
    if (window_padding(c, &w, "x", 0.0) < 0)
        return -1;
    sbuf b = {0};
    sb_printf(&b, "return torch.conv%dd(x, %s, %s, ", w.rank, wt, bias);
    list(&b, w.strides, w.rank);
    sb_printf(&b, ", ");
    list(&b, w.sym, w.rank);
    sb_printf(&b, ", ");
    list(&b, w.dilations, w.rank);
    sb_printf(&b, ", %lld)", (long long)op_attr_int(c, "group", 1));
    op_line(c, "%s", sb_text(&b));
    sb_free(&b);
    return 0;
}

/* ConvTranspose runs unpadded and crops after: ONNX's pads, or with
 * output_shape or SAME the crop that leaves that size (the odd one at the
 * start, or at the end for SAME_UPPER). */
static int emit_conv_transpose(op_ctx *c)
{
    window w;
    const char *x = op_tensor(c, 0), *wt = x ? op_tensor(c, 1) : NULL;
    const char *bias = op_has(c, 2) ? op_tensor(c, 2) : "None";
    if (!wt || !bias || read_window(c, &w, 1) < 0)
        return -1;
    size_t n_shape;
    const int64_t *shape = op_attr_ints(c, "output_shape", &n_shape);
    const char *mode = op_attr_str(c, "auto_pad", "NOTSET");
    const int same = !strcmp(mode, "SAME_UPPER") || !strcmp(mode, "SAME_LOWER");
    if (!same && strcmp(mode, "NOTSET") && strcmp(mode, "VALID"))
        return op_fail(c, "auto_pad '%s' is not supported", mode);
    if (shape && n_shape != (size_t)w.rank && n_shape != (size_t)w.rank + 2)
        return op_fail(c, "output_shape has %zu values", n_shape);
    int64_t out_pad[3];
    if (read_ints(c, "output_padding", out_pad, w.rank, 0) < 0)
        return -1;
    /* with a size to reach, output padding makes up what the unpadded
     * output lacks of it (it is what crops otherwise) */
    sbuf pad_list = {0};
    for (int d = 0; d < w.rank; d++) {
        if (shape || same) {
            if (shape)
                op_line(c, "want%d = %lld", d,
                        (long long)shape[d + (int)n_shape - w.rank]);
            else
                op_line(c, "want%d = %s.size(%d) * %lld", d, x, 2 + d,
                        (long long)w.strides[d]);
            op_line(c,
                    "op%d = %lld + max(want%d - ((%s.size(%d) - 1) * %lld "
                    "+ %lld + %lld), 0)",
                    d, (long long)out_pad[d], d, x, 2 + d,
                    (long long)w.strides[d],
                    (long long)((w.kernel[d] - 1) * w.dilations[d] + 1),
                    (long long)out_pad[d]);
            sb_printf(&pad_list, "%sop%d", d ? ", " : "", d);
        } else {
            sb_printf(&pad_list, "%s%lld", d ? ", " : "",
                      (long long)out_pad[d]);
        }
    }
    sbuf b = {0};
    sb_printf(&b, "y = torch.conv_transpose%dd(%s, %s, %s, ", w.rank, x, wt,
              bias);
    list(&b, w.strides, w.rank);
    sb_printf(&b, ", ");
    int64_t zero[3] = {0, 0, 0};
    list(&b, zero, w.rank);
    sb_printf(&b, ", [%s], %lld, ", sb_text(&pad_list),
              (long long)op_attr_int(c, "group", 1));
    list(&b, w.dilations, w.rank);
    sb_printf(&b, ")");
    op_line(c, "%s", sb_text(&b));
    sb_free(&b);
    sb_free(&pad_list);
    for (int d = 0; d < w.rank; d++) {
        if (shape || same) {
            op_line(c, "t = y.size(%d) - want%d", 2 + d, d);
            op_line(c, "y = y.narrow(%d, %s, want%d)", 2 + d,
                    !strcmp(mode, "SAME_UPPER") ? "t // 2" : "t - t // 2", d);
        } else if (w.pads[d] || w.pads[d + w.rank]) {
            op_line(c, "y = y.narrow(%d, %lld, y.size(%d) - %lld)", 2 + d,
                    (long long)w.pads[d], 2 + d,
                    (long long)(w.pads[d] + w.pads[d + w.rank]));
        }
    }
    op_line(c, "return y");
    return 0;
}

static int emit_max_pool(op_ctx *c)
{
    window w;
    const char *x = op_tensor(c, 0);
    if (!x || read_window(c, &w, -1) < 0)
        return -1;
    if (op_attr_int(c, "storage_order", 0))
        return op_fail(c, "storage_order 1 is not supported");
    op_line(c, "x = %s", x);
    if (window_padding(c, &w, "x", -INFINITY) < 0)
        return -1;
    sbuf b = {0};
    sb_printf(&b, "return torch.max_pool%dd(x, ", w.rank);
    list(&b, w.kernel, w.rank);
    sb_printf(&b, ", ");
    list(&b, w.strides, w.rank);
    sb_printf(&b, ", ");
    list(&b, w.sym, w.rank);
    sb_printf(&b, ", ");
    list(&b, w.dilations, w.rank);
    sb_printf(&b, ", %s)", op_attr_int(c, "ceil_mode", 0) ? "True" : "False");
    op_line(c, "%s", sb_text(&b));
    sb_free(&b);
    return 0;
}

static int emit_average_pool(op_ctx *c)
{
    window w;
    const char *x = op_tensor(c, 0);
    if (!x || read_window(c, &w, -1) < 0)
        return -1;
    for (int d = 0; d < w.rank; d++)
        if (w.dilations[d] != 1)
            return op_fail(c, "dilations are not supported");
    const int include = (int)op_attr_int(c, "count_include_pad", 0);
    const char *ceil = op_attr_int(c, "ceil_mode", 0) ? "True" : "False";
    op_line(c, "x = %s", x);
    /* without padding counted, an explicitly padded window is divided by
     * the count of its real elements: the same pool over ones */
    if (!include)
        op_line(c, "ones = torch.ones_like(x[:1, :1])");
    const int explicit_pad = window_padding(c, &w, "x", 0.0);
    if (explicit_pad < 0)
        return -1;
    if (explicit_pad && !include) {
        window same = w; /* the ones padded the same way */
        if (window_padding(c, &same, "ones", 0.0) < 0)
            return -1;
    }
    sbuf b = {0}, args = {0};
    list(&args, w.kernel, w.rank);
    sb_printf(&args, ", ");
    list(&args, w.strides, w.rank);
    sb_printf(&args, ", ");
    list(&args, w.sym, w.rank);
    sb_printf(&args, ", %s, %s", ceil, include ? "True" : "False");
    sb_printf(&b, "y = torch.avg_pool%dd(x, %s)", w.rank, sb_text(&args));
    op_line(c, "%s", sb_text(&b));
    if (explicit_pad && !include)
        op_line(c, "y = y / torch.avg_pool%dd(ones, %s)", w.rank,
                sb_text(&args));
    op_line(c, "return y");
    sb_free(&b);
    sb_free(&args);
    return 0;
}

/* Over every axis after the first two, keeping them as size 1. */
static int emit_global_pool(op_ctx *c, const char *reduce)
{
    const char *x = op_tensor(c, 0);
    if (!x)
        return -1;
    op_line(c, "s = %s.size()", x);
    op_line(c, "y = torch.%s(%s.flatten(2), [2], True)", reduce, x);
    op_line(c, "return y.reshape(s[:2] + [1] * (len(s) - 2))");
    return 0;
}

static int emit_global_average_pool(op_ctx *c)
{
    return emit_global_pool(c, "mean");
}

static int emit_global_max_pool(op_ctx *c)
{
    return emit_global_pool(c, "amax");
}

const op_entry ox_ops_window[] = {
    {"Conv", emit_conv, NULL, 0},
    {"ConvTranspose", emit_conv_transpose, NULL, 0},
    {"MaxPool", emit_max_pool, NULL, 0},
    {"AveragePool", emit_average_pool, NULL, 0},
    {"GlobalAveragePool", emit_global_average_pool, NULL, 0},
    {"GlobalMaxPool", emit_global_max_pool, NULL, 0},
    {NULL, NULL, NULL, 0},
};
