/* Element-wise arithmetic, reductions and layout operators. */
#include "ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int emit_identity(op_ctx *c)
{
    return op_map(c, "x");
}

static int emit_dropout(op_ctx *c)
{
    /* inference: the identity (a training_mode input is ignored) */
    return op_map(c, "x");
}

/* Cast of a tensor: to float or double, both computed in float32. */
static int emit_cast(op_ctx *c)
{
    const int64_t to = op_attr_int(c, "to", 0);
    if (to != OX_FLOAT && to != OX_DOUBLE)
        return op_fail(c,
                       "a tensor cast to type %lld; only float and "
                       "double (computed as float) are supported",
                       (long long)to);
    return op_map(c, "x");
}

static int emit_neg(op_ctx *c)
{
    return op_map(c, "torch.neg(x)");
}

static int emit_abs(op_ctx *c)
{
    return op_map(c, "torch.abs(x)");
}

static int emit_exp(op_ctx *c)
{
    return op_map(c, "torch.exp(x)");
}

static int emit_log(op_ctx *c)
{
    return op_map(c, "torch.log(x)");
}

static int emit_sqrt(op_ctx *c)
{
    return op_map(c, "torch.sqrt(x)");
}

static int emit_reciprocal(op_ctx *c)
{
    return op_map(c, "torch.reciprocal(x)");
}

static int emit_erf(op_ctx *c)
{
    return op_map(c, "torch.erf(x)");
}

/* Binary arithmetic with numpy broadcasting, as ONNX's from opset 7;
 * before, broadcast=1 aligned b with a's axes from `axis` on. */
static int binary(op_ctx *c, const char *fmt)
{
    const char *a = op_tensor(c, 0), *b = a ? op_tensor(c, 1) : NULL;
    if (!b)
        return -1;
    op_line(c, "b = %s", b);
    if (c->opset < 7 && op_attr_int(c, "broadcast", 0) &&
        ox_attr_find(c->node, "axis")) {
        op_line(c, "ax = %lld", (long long)op_attr_int(c, "axis", 0));
        op_line(c, "if ax < 0:");
        op_line(c, "    ax += %s.dim()", a);
        op_line(c, "b = b.reshape(b.size() + [1] * (%s.dim() - ax - b.dim()))",
                a);
    }
    char line[256];
    snprintf(line, sizeof line, fmt, a, "b");
    op_line(c, "return %s", line);
    return 0;
}

static int emit_add(op_ctx *c)
{
    return binary(c, "%s + %s");
}

static int emit_sub(op_ctx *c)
{
    return binary(c, "%s - %s");
}

static int emit_mul(op_ctx *c)
{
    return binary(c, "%s * %s");
}

static int emit_div(op_ctx *c)
{
    return binary(c, "%s / %s");
}

static int emit_pow(op_ctx *c)
{
    return binary(c, "torch.pow(%s, %s)");
}

/* Sum, Mean, Max, Min of any number of inputs. */
static int variadic(op_ctx *c, const char *fn, int mean)
{
    const char *x = op_tensor(c, 0);
    if (!x)
        return -1;
    op_line(c, "y = %s", x);
    for (int k = 1; k < c->node->n_inputs; k++) {
        const char *v = op_tensor(c, k);
        if (!v)
            return -1;
        op_line(c, "y = %s(y, %s)", fn, v);
    }
    if (mean)
        op_line(c, "y = y / %d.0", c->node->n_inputs);
    op_line(c, "return y");
    return 0;
}

static int emit_sum(op_ctx *c)
{
    return variadic(c, "torch.add", 0);
}

static int emit_mean(op_ctx *c)
{
    return variadic(c, "torch.add", 1);
}

static int emit_max(op_ctx *c)
{
    return variadic(c, "torch.maximum", 0);
}

static int emit_min(op_ctx *c)
{
    return variadic(c, "torch.minimum", 0);
}

static int emit_concat(op_ctx *c)
{
    sbuf list = {0};
    for (int k = 0; k < c->node->n_inputs; k++) {
        const char *v = op_tensor(c, k);
        if (!v) {
            sb_free(&list);
            return -1;
        }
        sb_printf(&list, "%s%s", k ? ", " : "", v);
    }
    op_line(c, "return torch.cat([%s], %lld)", sb_text(&list),
            (long long)op_attr_int(c, "axis", 0));
    sb_free(&list);
    return 0;
}

static int emit_flatten(op_ctx *c)
{
    const char *x = op_tensor(c, 0);
    if (!x)
        return -1;
    op_coerce_2d(c, "y", x, op_attr_int(c, "axis", 1));
    op_line(c, "return y");
    return 0;
}

/* Reshape: the shape from an attribute (opset < 5) or an input; a 0 copies
 * the input's size there (unless allowzero). */
static int emit_reshape(op_ctx *c)
{
    const char *x = op_tensor(c, 0);
    if (!x)
        return -1;
    const char *shape;
    size_t n;
    sbuf lit = {0};
    if (c->opset < 5) {
        const int64_t *v = op_attr_ints(c, "shape", &n);
        sb_int_list(&lit, v, n);
        shape = sb_text(&lit);
    } else if (!(shape = op_ints(c, 1))) {
        return -1;
    }
    op_line(c, "s: List[int] = list(%s)", shape); /* a copy to change */
    sb_free(&lit);
    if (!op_attr_int(c, "allowzero", 0)) {
        op_line(c, "for i in range(len(s)):");
        op_line(c, "    if s[i] == 0:");
        op_line(c, "        s[i] = %s.size(i)", x);
    }
    op_line(c, "return %s.reshape(s)", x);
    return 0;
}

static int emit_transpose(op_ctx *c)
{
    const char *x = op_tensor(c, 0);
    if (!x)
        return -1;
    size_t n;
    const int64_t *perm = op_attr_ints(c, "perm", &n);
    if (!perm) { /* the axes reversed */
        op_line(c, "p: List[int] = []");
        op_line(c, "for i in range(%s.dim()):", x);
        op_line(c, "    p.insert(0, i)");
    } else {
        sbuf lit = {0};
        sb_int_list(&lit, perm, n);
        op_line(c, "p: List[int] = %s", sb_text(&lit));
        sb_free(&lit);
    }
    op_line(c, "return %s.permute(p)", x);
    return 0;
}

/* The constant axes of Squeeze, Unsqueeze and the reductions: attribute
 * before opset (attr_until), input 1 from then on. Returns the count, or
 * -1 when absent; -2 after reporting a non-constant input. */
static long const_axes(op_ctx *c, int64_t attr_until, const int64_t **axes)
{
    size_t n;
    if (c->opset < attr_until) {
        *axes = op_attr_ints(c, "axes", &n);
        return *axes ? (long)n : -1;
    }
    if (!op_has(c, 1))
        return -1;
    const long k = op_const_ints(c, 1, axes);
    if (k < 0) {
        op_fail(c, "axes must be constant");
        return -2;
    }
    return k;
}

/* ax = the axes made non-negative for rank r, sorted. */
static void axes_line(op_ctx *c, const int64_t *axes, long n, const char *r)
{
    sbuf lit = {0};
    sb_int_list(&lit, axes, (size_t)n);
    op_line(c, "ax: List[int] = %s", sb_text(&lit));
    sb_free(&lit);
    op_line(c, "r = %s", r);
    op_line(c, "for i in range(len(ax)):");
    op_line(c, "    if ax[i] < 0:");
    op_line(c, "        ax[i] += r");
    op_line(c, "ax.sort()");
}

static int emit_squeeze(op_ctx *c)
{
    const int64_t *axes;
    const char *x = op_tensor(c, 0);
    const long n = x ? const_axes(c, 13, &axes) : -2;
    if (n == -2)
        return -1;
    if (n < 0) {
        op_line(c, "return %s.squeeze()", x);
        return 0;
    }
    op_line(c, "y = %s", x);
    axes_line(c, axes, n, "y.dim()");
    op_line(c, "for i in range(len(ax)):");
    op_line(c, "    y = y.squeeze(ax[len(ax) - 1 - i])");
    op_line(c, "return y");
    return 0;
}

static int emit_unsqueeze(op_ctx *c)
{
    const int64_t *axes;
    const char *x = op_tensor(c, 0);
    const long n = x ? const_axes(c, 13, &axes) : -2;
    if (n == -2)
        return -1;
    if (n < 0)
        return op_fail(c, "axes are missing");
    op_line(c, "y = %s", x);
    char rank[64];
    snprintf(rank, sizeof rank, "y.dim() + %ld", n);
    axes_line(c, axes, n, rank);
    op_line(c, "for i in range(len(ax)):");
    op_line(c, "    y = y.unsqueeze(ax[i])");
    op_line(c, "return y");
    return 0;
}

/* ReduceMean, ReduceSum, ReduceMax, ReduceMin: axes an attribute until
 * opset 13 (ReduceSum) or 18 (the others), keepdims 1 by default; no axes:
 * every axis. */
static int reduce(op_ctx *c, const char *fn, int64_t attr_until)
{
    const int64_t *axes;
    const char *x = op_tensor(c, 0);
    const long n = x ? const_axes(c, attr_until, &axes) : -2;
    if (n == -2)
        return -1;
    const char *keep = op_attr_int(c, "keepdims", 1) ? "True" : "False";
    if (n <= 0 && op_attr_int(c, "noop_with_empty_axes", 0)) {
        op_line(c, "return %s", x);
        return 0;
    }
    if (n <= 0) { /* every axis */
        op_line(c, "ax: List[int] = []");
        op_line(c, "for i in range(%s.dim()):", x);
        op_line(c, "    ax.append(i)");
    } else {
        sbuf lit = {0};
        sb_int_list(&lit, axes, (size_t)n);
        op_line(c, "ax: List[int] = %s", sb_text(&lit));
        sb_free(&lit);
    }
    op_line(c, "return torch.%s(%s, ax, %s)", fn, x, keep);
    return 0;
}

static int emit_reduce_mean(op_ctx *c)
{
    return reduce(c, "mean", 18);
}

static int emit_reduce_sum(op_ctx *c)
{
    return reduce(c, "sum", 13);
}

static int emit_reduce_max(op_ctx *c)
{
    return reduce(c, "amax", 18);
}

static int emit_reduce_min(op_ctx *c)
{
    return reduce(c, "amin", 18);
}

/* Pad: pads (and value) an attribute before opset 11, inputs after;
 * ONNX's [b_1, ..., b_n, e_1, ..., e_n] becomes libtorch's last axis
 * first. */
static int emit_pad(op_ctx *c)
{
    const char *x = op_tensor(c, 0);
    if (!x)
        return -1;
    const char *mode = op_attr_str(c, "mode", "constant");
    const int64_t *pads;
    long n;
    double value = 0;
    if (c->opset < 11) {
        size_t sn;
        pads = op_attr_ints(c, "pads", &sn);
        n = pads ? (long)sn : -1;
        value = op_attr_float(c, "value", 0);
    } else {
        n = op_const_ints(c, 1, &pads);
        if (op_has(c, 2)) {
            const ox_tensor *v = op_const(c, 2);
            if (!v || !v->f || v->n != 1)
                return op_fail(c, "the pad value must be a constant scalar");
            value = v->f[0];
        }
        if (op_has(c, 3))
            return op_fail(c, "the axes input is not supported");
    }
    if (n < 0 || n % 2)
        return op_fail(c, "pads must be constant, two per axis");
    const long r = n / 2;
    /* the trailing axes that are padded at all (reflect and edge pad only
     * the last 1 to 3 in libtorch) */
    long first = 0;
    while (first < r && !pads[first] && !pads[first + r])
        first++;
    sbuf list = {0};
    for (long d = r - 1; d >= (strcmp(mode, "constant") ? first : 0); d--)
        sb_printf(&list, "%s%lld, %lld", d == r - 1 ? "" : ", ",
                  (long long)pads[d], (long long)pads[d + r]);
    int rc = 0;
    if (!strcmp(mode, "constant")) {
        sbuf v = {0};
        sb_float(&v, value);
        op_line(c, "return torch.constant_pad_nd(%s, [%s], %s)", x,
                sb_text(&list), sb_text(&v));
        sb_free(&v);
    } else if ((!strcmp(mode, "reflect") || !strcmp(mode, "edge")) &&
               r - first >= 1 && r - first <= 3) {
        op_line(c, "return torch.%s_pad%ldd(%s, [%s])",
                !strcmp(mode, "reflect") ? "reflection" : "replication",
                r - first < 1 ? 1 : r - first, x, sb_text(&list));
    } else {
        rc = op_fail(c, "mode '%s' on these axes is not supported", mode);
    }
    sb_free(&list);
    return rc;
}

/* Gather from a tensor at constant indices (negative ones count from the
 * end), of any shape: the result has the indices' shape at axis. */
static int emit_gather(op_ctx *c)
{
    const char *x = op_tensor(c, 0);
    const int64_t *idx;
    if (!x)
        return -1;
    if (op_const_ints(c, 1, &idx) < 0)
        return op_fail(c, "indices must be constants");
    const char *i = op_tensor(c, 1);
    if (!i)
        return -1;
    op_line(c, "ax = %lld", (long long)op_attr_int(c, "axis", 0));
    op_line(c, "if ax < 0:");
    op_line(c, "    ax += %s.dim()", x);
    op_line(c, "i = %s.long()", i);
    op_line(c, "i = torch.where(i < 0, i + %s.size(ax), i)", x);
    op_line(c, "y = torch.index_select(%s, ax, i.flatten())", x);
    op_line(c, "s = %s.size()", x);
    op_line(c, "return y.reshape(s[:ax] + i.size() + s[ax + 1:])");
    return 0;
}

/* Slice of a tensor with constant starts, ends, axes and steps, clamped
 * as ONNX says; a step other than 1 picks indices with arange. */
static int emit_slice(op_ctx *c)
{
    const char *x = op_tensor(c, 0);
    if (!x)
        return -1;
    const int64_t *starts, *ends, *axes = NULL, *steps = NULL;
    long n, ne, na = -1, ns = -1;
    size_t sz;
    if (c->opset < 10) {
        starts = op_attr_ints(c, "starts", &sz);
        n = starts ? (long)sz : -1;
        ends = op_attr_ints(c, "ends", &sz);
        ne = ends ? (long)sz : -1;
        axes = op_attr_ints(c, "axes", &sz);
        na = axes ? (long)sz : -1;
    } else {
        n = op_const_ints(c, 1, &starts);
        ne = op_const_ints(c, 2, &ends);
        if (op_has(c, 3) && (na = op_const_ints(c, 3, &axes)) < 0)
            return op_fail(c, "axes must be constant");
        if (op_has(c, 4) && (ns = op_const_ints(c, 4, &steps)) < 0)
            return op_fail(c, "steps must be constant");
    }
    if (n < 0 || ne != n || (axes && na != n) || (steps && ns != n))
        return op_fail(c, "starts, ends, axes and steps must be constants "
                          "of one length");
    op_line(c, "y = %s", x);
    for (long k = 0; k < n; k++) {
        const long long st = steps ? (long long)steps[k] : 1;
        if (st == 0)
            return op_fail(c, "a step of 0");
        op_line(c, "a = %lld", axes ? (long long)axes[k] : (long long)k);
        op_line(c, "if a < 0:");
        op_line(c, "    a += y.dim()");
        op_line(c, "n = y.size(a)");
        op_line(c, "s = %lld", (long long)starts[k]);
        op_line(c, "e = %lld", (long long)ends[k]);
        op_line(c, "if s < 0:");
        op_line(c, "    s += n");
        op_line(c, "if e < 0:");
        op_line(c, "    e += n");
        if (st > 0) {
            op_line(c, "s = min(max(s, 0), n)");
            op_line(c, "e = min(max(e, 0), n)");
        } else {
            op_line(c, "s = min(max(s, -1), n - 1)");
            op_line(c, "e = min(max(e, -1), n - 1)");
        }
        if (st == 1)
            op_line(c, "y = y.narrow(a, s, max(e - s, 0))");
        else
            op_line(c,
                    "y = torch.index_select(y, a, torch.arange(s, e, %lld, "
                    "device=y.device))",
                    st);
    }
    op_line(c, "return y");
    return 0;
}

const op_entry ox_ops_tensor[] = {
    {"Identity", emit_identity, ox_ints_identity, 0},
    {"Dropout", emit_dropout, NULL, 0},
    {"Neg", emit_neg, NULL, 0},
    {"Abs", emit_abs, NULL, 0},
    {"Exp", emit_exp, NULL, 0},
    {"Log", emit_log, NULL, 0},
    {"Sqrt", emit_sqrt, NULL, 0},
    {"Reciprocal", emit_reciprocal, NULL, 0},
    {"Erf", emit_erf, NULL, 0},
    {"Add", emit_add, ox_ints_arith, 0},
    {"Sub", emit_sub, ox_ints_arith, 0},
    {"Mul", emit_mul, ox_ints_arith, 0},
    {"Div", emit_div, ox_ints_arith, 0},
    {"Pow", emit_pow, NULL, 0},
    {"Sum", emit_sum, NULL, 0},
    {"Mean", emit_mean, NULL, 0},
    {"Max", emit_max, NULL, 0},
    {"Min", emit_min, NULL, 0},
    {"Concat", emit_concat, ox_ints_concat, 0},
    {"Flatten", emit_flatten, NULL, 0},
    {"Reshape", emit_reshape, NULL, 0},
    {"Transpose", emit_transpose, NULL, 0},
    {"Squeeze", emit_squeeze, ox_ints_squeeze, 0},
    {"Unsqueeze", emit_unsqueeze, ox_ints_unsqueeze, 0},
    {"ReduceMean", emit_reduce_mean, NULL, 0},
    {"ReduceSum", emit_reduce_sum, NULL, 0},
    {"ReduceMax", emit_reduce_max, NULL, 0},
    {"ReduceMin", emit_reduce_min, NULL, 0},
    {"Pad", emit_pad, NULL, 0},
    {"Gather", emit_gather, ox_ints_gather, 0},
    {"Slice", emit_slice, ox_ints_slice, 0},
    {"Cast", emit_cast, ox_ints_identity, 0},
    {NULL, NULL, NULL, 0},
};
