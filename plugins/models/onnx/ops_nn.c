/* Activations, normalisation, softmax and dense layers. */
#include "ops.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int emit_relu(op_ctx *c)
{
    return op_map(c, "torch.relu(x)");
}

static int emit_sigmoid(op_ctx *c)
{
    return op_map(c, "torch.sigmoid(x)");
}

static int emit_tanh(op_ctx *c)
{
    return op_map(c, "torch.tanh(x)");
}

static int emit_hard_swish(op_ctx *c)
{
    /* x * max(0, min(1, x / 6 + 1 / 2)), as libtorch's hardswish */
    return op_map(c, "torch.hardswish(x)");
}

/* An activation with float attributes written into its expression. */
static int unary_with(op_ctx *c, const char *fmt, const char *a, double da,
                      const char *b, double db)
{
    char expr[256];
    sbuf va = {0}, vb = {0};
    sb_float(&va, op_attr_float(c, a, da));
    if (b)
        sb_float(&vb, op_attr_float(c, b, db));
    snprintf(expr, sizeof expr, fmt, sb_text(&va), sb_text(&vb));
    sb_free(&va);
    sb_free(&vb);
    return op_map(c, expr);
}

static int emit_leaky_relu(op_ctx *c)
{
    return unary_with(c, "torch.leaky_relu(x, %s)%s", "alpha", 0.01, NULL, 0);
}

static int emit_elu(op_ctx *c)
{
    return unary_with(c, "torch.elu(x, %s)%s", "alpha", 1.0, NULL, 0);
}

static int emit_hard_sigmoid(op_ctx *c)
{
    return unary_with(c, "torch.clamp(x * %s + %s, 0.0, 1.0)", "alpha", 0.2,
                      "beta", 0.5);
}

/* Clip: bounds from attributes before opset 11, from inputs after. */
static int emit_clip(op_ctx *c)
{
    const char *x = op_tensor(c, 0);
    if (!x)
        return -1;
    sbuf lo = {0}, hi = {0};
    for (int k = 1; k <= 2; k++) {
        sbuf *b = k == 1 ? &lo : &hi;
        if (c->opset < 11) {
            const char *name = k == 1 ? "min" : "max";
            const double def = k == 1 ? -INFINITY : INFINITY;
            if (op_attr_float(c, name, def) == def)
                sb_printf(b, "None");
            else
                sb_float(b, op_attr_float(c, name, def));
        } else if (!op_has(c, k)) {
            sb_printf(b, "None");
        } else if (op_const(c, k) && op_const(c, k)->f &&
                   op_const(c, k)->n == 1) {
            sb_float(b, op_const(c, k)->f[0]);
        } else {
            sb_free(&lo);
            sb_free(&hi);
            return op_fail(c, "bound '%s' must be a constant scalar",
                           c->node->inputs[k]);
        }
    }
    if (!strcmp(sb_text(&lo), "None") && !strcmp(sb_text(&hi), "None"))
        op_line(c, "return %s", x); /* no bounds */
    else
        op_line(c, "return torch.clamp(%s, %s, %s)", x, sb_text(&lo),
                sb_text(&hi));
    sb_free(&lo);
    sb_free(&hi);
    return 0;
}

static int emit_batch_norm(op_ctx *c)
{
    if (op_attr_int(c, "training_mode", 0))
        return op_fail(c, "training_mode 1 is not supported");
    const char *x = op_tensor(c, 0), *scale = x ? op_tensor(c, 1) : NULL,
               *bias = scale ? op_tensor(c, 2) : NULL,
               *mean = bias ? op_tensor(c, 3) : NULL,
               *var = mean ? op_tensor(c, 4) : NULL;
    if (!var)
        return -1;
    sbuf eps = {0};
    sb_float(&eps, op_attr_float(c, "epsilon", 1e-5));
    op_line(c,
            "return torch.batch_norm(%s, %s, %s, %s, %s, False, 0.0, %s, "
            "False)",
            x, scale, bias, mean, var, sb_text(&eps));
    sb_free(&eps);
    return 0;
}

void op_coerce_2d(op_ctx *c, const char *y, const char *x, int64_t axis)
{
    op_line(c, "s = %s.size()", x);
    op_line(c, "ax = %lld", (long long)axis);
    op_line(c, "if ax < 0:");
    op_line(c, "    ax += len(s)");
    op_line(c, "p = 1");
    op_line(c, "for i in range(ax):");
    op_line(c, "    p *= s[i]");
    op_line(c, "%s = %s.reshape([p, -1])", y, x);
}

/* Softmax and LogSoftmax: over one axis from opset 13, over the 2-D
 * coercion at axis before. */
static int softmax(op_ctx *c, const char *fn)
{
    const char *x = op_tensor(c, 0);
    if (!x)
        return -1;
    if (c->opset >= 13) {
        op_line(c, "return torch.%s(%s, %lld)", fn, x,
                (long long)op_attr_int(c, "axis", -1));
        return 0;
    }
    op_coerce_2d(c, "y", x, op_attr_int(c, "axis", 1));
    op_line(c, "return torch.%s(y, 1).reshape(%s.size())", fn, x);
    return 0;
}

static int emit_softmax(op_ctx *c)
{
    return softmax(c, "softmax");
}

static int emit_log_softmax(op_ctx *c)
{
    return softmax(c, "log_softmax");
}

static int emit_gemm(op_ctx *c)
{
    const char *a = op_tensor(c, 0), *b = a ? op_tensor(c, 1) : NULL;
    if (!b)
        return -1;
    op_line(c, "a = %s%s", a, op_attr_int(c, "transA", 0) ? ".t()" : "");
    op_line(c, "b = %s%s", b, op_attr_int(c, "transB", 0) ? ".t()" : "");
    sbuf alpha = {0}, beta = {0};
    sb_float(&alpha, op_attr_float(c, "alpha", 1.0));
    sb_float(&beta, op_attr_float(c, "beta", 1.0));
    if (op_has(c, 2)) {
        const char *bias = op_tensor(c, 2);
        if (!bias) {
            sb_free(&alpha);
            sb_free(&beta);
            return -1;
        }
        op_line(c, "return torch.addmm(%s, a, b, beta=%s, alpha=%s)", bias,
                sb_text(&beta), sb_text(&alpha));
    } else {
        op_line(c, "return torch.mm(a, b) * %s", sb_text(&alpha));
    }
    sb_free(&alpha);
    sb_free(&beta);
    return 0;
}

static int emit_matmul(op_ctx *c)
{
    const char *a = op_tensor(c, 0), *b = a ? op_tensor(c, 1) : NULL;
    if (!b)
        return -1;
    op_line(c, "return torch.matmul(%s, %s)", a, b);
    return 0;
}

const op_entry ox_ops_nn[] = {
    {"Relu", emit_relu, NULL, 0},
    {"LeakyRelu", emit_leaky_relu, NULL, 0},
    {"Elu", emit_elu, NULL, 0},
    {"Sigmoid", emit_sigmoid, NULL, 0},
    {"Tanh", emit_tanh, NULL, 0},
    {"HardSigmoid", emit_hard_sigmoid, NULL, 0},
    {"HardSwish", emit_hard_swish, NULL, 0},
    {"Clip", emit_clip, NULL, 0},
    {"BatchNormalization", emit_batch_norm, NULL, 0},
    {"Softmax", emit_softmax, NULL, 0},
    {"LogSoftmax", emit_log_softmax, NULL, 0},
    {"Gemm", emit_gemm, NULL, 0},
    {"MatMul", emit_matmul, NULL, 0},
    {NULL, NULL, NULL, 0},
};
