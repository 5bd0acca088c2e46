/* Shape arithmetic: values that hold a shape (from Shape, or an integer
 * constant) become List[int] or int expressions in the model's forward,
 * so that reshapes follow the batch size of each run. */
#include "ops.h"

#include <limits.h>
#include <string.h>

static int result(op_ctx *c, ox_kind kind)
{
    c->out_kind = kind;
    return c->expr.failed ? op_fail(c, "out of memory") : 0;
}

/* Shape (with start and end from opset 15). */
static int ints_shape(op_ctx *c)
{
    const ox_tensor *t = op_const(c, 0);
    const char *x = t ? "" : op_tensor(c, 0);
    if (!x)
        return -1;
    if (t) /* a constant's shape is known now */
        sb_int_list(&c->expr, t->dims, (size_t)t->ndim);
    else
        sb_printf(&c->expr, "%s.size()", x);
    const int64_t start = op_attr_int(c, "start", 0),
                  end = op_attr_int(c, "end", INT64_MAX);
    if (start != 0 || end != INT64_MAX)
        sb_printf(&c->expr, "[%lld:%lld]", (long long)start, (long long)end);
    return result(c, OX_INTS);
}

/* Input k as a list: an int becomes [v]. */
static const char *as_list(op_ctx *c, int k, sbuf *b)
{
    const char *v = op_ints(c, k);
    if (!v)
        return NULL;
    b->len = 0;
    if (op_kind(c, k) == OX_INT)
        sb_printf(b, "[%s]", v);
    else
        sb_printf(b, "%s", v);
    return sb_text(b);
}

int ox_ints_concat(op_ctx *c)
{
    sbuf one = {0};
    for (int k = 0; k < c->node->n_inputs; k++) {
        const char *v = as_list(c, k, &one);
        if (!v) {
            sb_free(&one);
            return -1;
        }
        sb_printf(&c->expr, "%s%s", k ? " + " : "", v);
    }
    sb_free(&one);
    return result(c, OX_INTS);
}

int ox_ints_gather(op_ctx *c)
{
    const char *data = op_ints(c, 0);
    const int64_t *idx;
    const long n = op_const_ints(c, 1, &idx);
    if (!data)
        return -1;
    if (n < 0)
        return op_fail(c, "indices into a shape must be constants");
    if (op_attr_int(c, "axis", 0) != 0)
        return op_fail(c, "a shape has one axis; axis must be 0");
    if (op_const(c, 1)->ndim == 0) {
        sb_printf(&c->expr, "%s[%lld]", data, (long long)idx[0]);
        return result(c, OX_INT);
    }
    sb_printf(&c->expr, "[");
    for (long k = 0; k < n; k++)
        sb_printf(&c->expr, "%s%s[%lld]", k ? ", " : "", data,
                  (long long)idx[k]);
    sb_printf(&c->expr, "]");
    return result(c, OX_INTS);
}

/* The axes of Squeeze and Unsqueeze: an attribute before opset 13, an
 * input after. */
static long axes_of(op_ctx *c, const int64_t **axes)
{
    size_t n;
    if (c->opset < 13) {
        *axes = op_attr_ints(c, "axes", &n);
        return *axes ? (long)n : -1;
    }
    return op_has(c, 1) ? op_const_ints(c, 1, axes) : -1;
}

int ox_ints_unsqueeze(op_ctx *c)
{
    const int64_t *axes;
    const long n = axes_of(c, &axes);
    const char *v = op_ints(c, 0);
    if (!v)
        return -1;
    if (op_kind(c, 0) != OX_INT || n != 1 || (axes[0] != 0 && axes[0] != -1))
        return op_fail(c, "only a number can be unsqueezed into a shape");
    sb_printf(&c->expr, "[%s]", v);
    return result(c, OX_INTS);
}

int ox_ints_squeeze(op_ctx *c)
{
    const char *v = op_ints(c, 0);
    if (!v)
        return -1;
    if (op_kind(c, 0) != OX_INTS)
        return op_fail(c, "only a shape of one number can be squeezed");
    sb_printf(&c->expr, "%s[0]", v);
    return result(c, OX_INT);
}

int ox_ints_identity(op_ctx *c)
{
    const char *v = op_ints(c, 0);
    if (!v)
        return -1;
    sb_printf(&c->expr, "%s", v);
    return result(c, op_kind(c, 0));
}

/* Add, Sub, Mul, Div of numbers (integer division, as ONNX's for int64). */
int ox_ints_arith(op_ctx *c)
{
    const char *op = !strcmp(c->node->op_type, "Add")   ? "+"
                     : !strcmp(c->node->op_type, "Sub") ? "-"
                     : !strcmp(c->node->op_type, "Mul") ? "*"
                                                        : "//";
    const char *a = op_ints(c, 0);
    sbuf left = {0};
    if (a)
        sb_printf(&left, "%s", a);
    const char *b = a ? op_ints(c, 1) : NULL;
    if (!b) {
        sb_free(&left);
        return -1;
    }
    if (op_kind(c, 0) != OX_INT || op_kind(c, 1) != OX_INT) {
        sb_free(&left);
        return op_fail(c, "arithmetic on whole shapes is not supported, "
                          "only on single numbers");
    }
    sb_printf(&c->expr, "(%s %s %s)", sb_text(&left), op, b);
    sb_free(&left);
    return result(c, OX_INT);
}

/* Slice of a shape, with constant bounds along its one axis. */
int ox_ints_slice(op_ctx *c)
{
    const char *v = op_ints(c, 0);
    const int64_t *starts, *ends, *steps = NULL;
    long ns, ne, nst = 0;
    size_t n;
    if (!v)
        return -1;
    if (c->opset < 10) {
        starts = op_attr_ints(c, "starts", &n);
        ns = starts ? (long)n : -1;
        ends = op_attr_ints(c, "ends", &n);
        ne = ends ? (long)n : -1;
    } else {
        ns = op_const_ints(c, 1, &starts);
        ne = op_const_ints(c, 2, &ends);
        if (op_has(c, 4))
            nst = op_const_ints(c, 4, &steps);
    }
    if (ns != 1 || ne != 1 || nst < 0 || nst > 1)
        return op_fail(c, "a shape is sliced with one constant start and "
                          "end");
    if (steps && steps[0] != 1)
        sb_printf(&c->expr, "%s[%lld:%lld:%lld]", v, (long long)starts[0],
                  (long long)ends[0], (long long)steps[0]);
    else
        sb_printf(&c->expr, "%s[%lld:%lld]", v, (long long)starts[0],
                  (long long)ends[0]);
    return result(c, OX_INTS);
}

const op_entry ox_ops_shape[] = {
    {"Shape", NULL, ints_shape, 1},
    {NULL, NULL, NULL, 0},
};
