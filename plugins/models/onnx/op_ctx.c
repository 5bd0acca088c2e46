/* The helpers operator emitters use (translate.h): errors, code lines,
 * inputs as expressions, attributes. */
#include "translator.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int op_fail(op_ctx *c, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tr_fail(c->tr, "node '%s' (%s, opset %lld): %s", c->node->name,
                   c->node->op_type, (long long)c->opset, msg);
}

void op_line(op_ctx *c, const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    const int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line)
        c->body.failed = 1;
    sb_printf(&c->body, "    %s\n", line);
}

void sb_int_list(sbuf *b, const int64_t *v, size_t n)
{
    sb_printf(b, "[");
    for (size_t k = 0; k < n; k++)
        sb_printf(b, "%s%lld", k ? ", " : "", (long long)v[k]);
    sb_printf(b, "]");
}

/* ---- inputs ------------------------------------------------------------- */

static ox_value *input_value(const op_ctx *c, int k)
{
    if (k >= c->node->n_inputs || !c->node->inputs[k][0])
        return NULL;
    return vm_find(&c->tr->values, c->node->inputs[k]);
}

int op_has(const op_ctx *c, int k)
{
    return k < c->node->n_inputs && c->node->inputs[k][0];
}

ox_kind op_kind(const op_ctx *c, int k)
{
    const ox_value *v = input_value(c, k);
    return v ? v->kind : OX_TENSOR;
}

const ox_tensor *op_const(const op_ctx *c, int k)
{
    const ox_value *v = input_value(c, k);
    return v ? v->constant : NULL;
}

long op_const_ints(const op_ctx *c, int k, const int64_t **v)
{
    const ox_tensor *t = op_const(c, k);
    if (!t || !t->i)
        return -1;
    *v = t->i;
    return (long)t->n;
}

/* A float tensor of a constant, made once per value. */
static rsi_tensor *buffer_of(translator *tr, ox_value *v)
{
    if (v->buffer)
        return v->buffer;
    const ox_tensor *t = v->constant;
    float *data = t->f;
    float *converted = NULL;
    if (!data) {
        converted = malloc((t->n ? t->n : 1) * sizeof *converted);
        if (!converted)
            return NULL;
        for (size_t k = 0; k < t->n; k++)
            converted[k] = (float)t->i[k];
        data = converted;
    }
    v->buffer = tr->host->tensor_from_floats(data, t->dims, t->ndim);
    free(converted);
    return v->buffer;
}

/* A runtime input: the submodule's parameter a<k>, or in ints mode the
 * forward's own variable. */
static const char *argument(op_ctx *c, int k, const ox_value *v, char *text,
                            size_t size)
{
    c->arg_of[k] = 1;
    if (c->ints_mode)
        snprintf(text, size, "v%d", v->var);
    else
        snprintf(text, size, "a%d", k);
    return text;
}

const char *op_tensor(op_ctx *c, int k)
{
    static char text[OX_MAX_INPUTS][24];
    ox_value *v = input_value(c, k);
    if (k >= OX_MAX_INPUTS) {
        op_fail(c, "more than %d inputs", OX_MAX_INPUTS);
        return NULL;
    }
    if (!v) {
        op_fail(c, "input %d is %s", k,
                op_has(c, k) ? "not computed by any earlier node" : "missing");
        return NULL;
    }
    if (v->unavailable) {
        op_fail(c, "input '%s': %s", v->name, v->unavailable);
        return NULL;
    }
    if (v->constant && c->ints_mode) {
        op_fail(c, "a constant tensor in shape arithmetic");
        return NULL;
    }
    if (v->constant) {
        snprintf(text[k], sizeof text[k], "self.c%d", k);
        if (c->arg_of[k] == 2) /* registered already */
            return text[k];
        rsi_tensor *t = buffer_of(c->tr, v);
        if (!t) {
            op_fail(c, "out of memory");
            return NULL;
        }
        snprintf(c->buffer_name_text[k], sizeof c->buffer_name_text[k], "c%d",
                 k);
        c->buffer_names[c->n_buffers] = c->buffer_name_text[k];
        c->buffers[c->n_buffers++] = t;
        c->arg_of[k] = 2;
        return text[k];
    }
    if (v->kind != OX_TENSOR) {
        op_fail(c, "input '%s' is a shape, used here as a tensor", v->name);
        return NULL;
    }
    return argument(c, k, v, text[k], sizeof text[k]);
}

const char *op_ints(op_ctx *c, int k)
{
    static char text[OX_MAX_INPUTS][24];
    static sbuf literal[4];
    static int next;
    ox_value *v = input_value(c, k);
    if (!v || k >= OX_MAX_INPUTS) {
        op_fail(c, "input %d is missing", k);
        return NULL;
    }
    if (v->constant) {
        const ox_tensor *t = v->constant;
        if (!t->i) {
            op_fail(c, "input '%s' must be integers", v->name);
            return NULL;
        }
        sbuf *b = &literal[next++ % 4];
        b->len = 0;
        if (t->ndim == 0)
            sb_printf(b, "%lld", (long long)t->i[0]);
        else
            sb_int_list(b, t->i, t->n);
        if (b->failed) {
            op_fail(c, "out of memory");
            return NULL;
        }
        return b->s;
    }
    if (v->unavailable || v->kind == OX_TENSOR) {
        op_fail(c,
                "input '%s' must be a shape known when the model is "
                "built (a constant or computed from Shape)",
                v->name);
        return NULL;
    }
    return argument(c, k, v, text[k], sizeof text[k]);
}

/* ---- attributes --------------------------------------------------------- */

int64_t op_attr_int(const op_ctx *c, const char *name, int64_t def)
{
    const ox_attr *a = ox_attr_find(c->node, name);
    return a ? a->i : def;
}

double op_attr_float(const op_ctx *c, const char *name, double def)
{
    const ox_attr *a = ox_attr_find(c->node, name);
    return a ? a->f : def;
}

const char *op_attr_str(const op_ctx *c, const char *name, const char *def)
{
    const ox_attr *a = ox_attr_find(c->node, name);
    return a && a->s ? a->s : def;
}

const int64_t *op_attr_ints(const op_ctx *c, const char *name, size_t *n)
{
    const ox_attr *a = ox_attr_find(c->node, name);
    *n = a ? a->n_ints : 0;
    return a ? a->ints : NULL;
}

const float *op_attr_floats(const op_ctx *c, const char *name, size_t *n)
{
    const ox_attr *a = ox_attr_find(c->node, name);
    *n = a ? a->n_floats : 0;
    return a ? a->floats : NULL;
}

int op_map(op_ctx *c, const char *expr)
{
    const char *x = op_tensor(c, 0);
    if (!x)
        return -1;
    op_line(c, "x = %s", x);
    op_line(c, "return %s", expr);
    return 0;
}
