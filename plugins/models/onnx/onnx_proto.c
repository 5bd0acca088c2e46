/* Reading an ONNX ModelProto (onnx_proto.h) with the wire reader (pb.h).
 * Field numbers are those of onnx.proto. */
#include "proto_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ox_fail(parse_state *ps, const char *fmt, ...)
{
    if (!ps->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ps->err, ps->err_size, fmt, ap);
        va_end(ap);
    }
    ps->failed = 1;
    return -1;
}

int ox_reader_failed(parse_state *ps, const pb_reader *r, const char *what)
{
    if (r->bad == PB_PAST_END)
        return ox_fail(ps, "truncated: %s runs past the end of the data", what);
    return ox_fail(ps, "malformed protobuf in %s", what);
}

int ox_no_memory(parse_state *ps)
{
    return ox_fail(ps, "out of memory");
}

/* Appends one zeroed element to a growing array; NULL without memory. */
void *ox_push(void *array_ptr, int *n, size_t elem)
{
    void **array = array_ptr;
    void *p = realloc(*array, (size_t)(*n + 1) * elem);
    if (!p)
        return NULL;
    *array = p;
    void *slot = (char *)p + (size_t)*n * elem;
    memset(slot, 0, elem);
    (*n)++;
    return slot;
}

int ox_push_string(parse_state *ps, char ***list, int *n, const pb_field *f)
{
    char **slot = ox_push(list, n, sizeof **list);
    if (!slot || !(*slot = pb_string(f)))
        return ox_no_memory(ps);
    return 0;
}

/* ---- NodeProto and AttributeProto --------------------------------------- */

static int parse_attr(parse_state *ps, ox_attr *a, pb_reader r)
{
    pb_field f;
    while (!ps->failed && pb_next(&r, &f)) {
        switch (f.number) {
        case 1:
            if (!(a->name = pb_string(&f)))
                ox_no_memory(ps);
            break;
        case 2: {
            uint32_t u = (uint32_t)f.u;
            memcpy(&a->f, &u, 4);
            break;
        }
        case 3:
            a->i = (int64_t)f.u;
            break;
        case 4:
            if (!(a->s = pb_string(&f)))
                ox_no_memory(ps);
            break;
        case 5:
            if (!(a->t = calloc(1, sizeof *a->t)))
                ox_no_memory(ps);
            else
                ox_parse_tensor(ps, a->t, pb_sub(&f));
            break;
        case 7:
            if (pb_floats(&f, &a->floats, &a->n_floats) < 0)
                ox_fail(ps, "malformed attribute '%s'", a->name ? a->name : "");
            break;
        case 8:
            if (pb_ints(&f, &a->ints, &a->n_ints) < 0)
                ox_fail(ps, "malformed attribute '%s'", a->name ? a->name : "");
            break;
        case 20:
            a->type = (int)f.u;
            break;
        }
    }
    if (!ps->failed && r.bad)
        ox_reader_failed(ps, &r, "an attribute");
    return ps->failed ? -1 : 0;
}

static int parse_node(parse_state *ps, ox_node *n, pb_reader r)
{
    pb_field f;
    while (!ps->failed && pb_next(&r, &f)) {
        switch (f.number) {
        case 1:
            ox_push_string(ps, &n->inputs, &n->n_inputs, &f);
            break;
        case 2:
            ox_push_string(ps, &n->outputs, &n->n_outputs, &f);
            break;
        case 3:
            if (!(n->name = pb_string(&f)))
                ox_no_memory(ps);
            break;
        case 4:
            if (!(n->op_type = pb_string(&f)))
                ox_no_memory(ps);
            break;
        case 5: {
            ox_attr *a = ox_push(&n->attrs, &n->n_attrs, sizeof *a);
            if (!a)
                ox_no_memory(ps);
            else
                parse_attr(ps, a, pb_sub(&f));
            break;
        }
        case 7:
            if (!(n->domain = pb_string(&f)))
                ox_no_memory(ps);
            break;
        }
    }
    if (!ps->failed && r.bad)
        ox_reader_failed(ps, &r, "a node");
    if (!ps->failed && !n->op_type)
        ox_fail(ps, "a node without an operator type");
    if (!ps->failed && !n->name && !(n->name = strdup("")))
        ox_no_memory(ps);
    return ps->failed ? -1 : 0;
}

static void release_node(ox_node *n)
{
    for (int k = 0; k < n->n_inputs; k++)
        free(n->inputs[k]);
    for (int k = 0; k < n->n_outputs; k++)
        free(n->outputs[k]);
    for (int k = 0; k < n->n_attrs; k++) {
        ox_attr *a = &n->attrs[k];
        free(a->name);
        free(a->s);
        ox_tensor_release(a->t);
        free(a->t);
        free(a->floats);
        free(a->ints);
    }
    free(n->inputs);
    free(n->outputs);
    free(n->attrs);
    free(n->name);
    free(n->op_type);
    free(n->domain);
}

/* ---- ValueInfoProto ----------------------------------------------------- */

static int parse_shape(parse_state *ps, ox_value_info *v, pb_reader r)
{
    pb_field f;
    v->has_shape = 1;
    while (!ps->failed && pb_next(&r, &f)) {
        if (f.number != 1 || f.wire != 2)
            continue;
        if (v->ndim == OX_MAX_DIMS)
            return ox_fail(ps, "input '%s' has more than %d dimensions",
                           v->name ? v->name : "", OX_MAX_DIMS);
        const int k = v->ndim++;
        v->dims[k] = -1;
        pb_reader dr = pb_sub(&f);
        pb_field d;
        while (!ps->failed && pb_next(&dr, &d)) {
            if (d.number == 1)
                v->dims[k] = (int64_t)d.u;
            else if (d.number == 2 && !(v->dim_params[k] = pb_string(&d)))
                ox_no_memory(ps);
        }
        if (!ps->failed && dr.bad)
            ox_reader_failed(ps, &dr, "a dimension");
    }
    if (!ps->failed && r.bad)
        ox_reader_failed(ps, &r, "a shape");
    return ps->failed ? -1 : 0;
}

static int parse_value_info(parse_state *ps, ox_value_info *v, pb_reader r)
{
    pb_field f;
    while (!ps->failed && pb_next(&r, &f)) {
        if (f.number == 1) {
            if (!(v->name = pb_string(&f)))
                ox_no_memory(ps);
        } else if (f.number == 2) {
            pb_reader tr = pb_sub(&f); /* TypeProto */
            pb_field tf;
            while (!ps->failed && pb_next(&tr, &tf)) {
                if (tf.number != 1) /* tensor_type */
                    continue;
                pb_reader er = pb_sub(&tf);
                pb_field ef;
                while (!ps->failed && pb_next(&er, &ef)) {
                    if (ef.number == 1)
                        v->elem_type = (int)ef.u;
                    else if (ef.number == 2)
                        parse_shape(ps, v, pb_sub(&ef));
                }
            }
            if (!ps->failed && tr.bad)
                ox_reader_failed(ps, &tr, "a type");
        }
    }
    if (!ps->failed && r.bad)
        ox_reader_failed(ps, &r, "a value description");
    if (!ps->failed && !v->name && !(v->name = strdup("")))
        ox_no_memory(ps);
    return ps->failed ? -1 : 0;
}

static void release_value_info(ox_value_info *v)
{
    free(v->name);
    for (int k = 0; k < OX_MAX_DIMS; k++)
        free(v->dim_params[k]);
}

/* ---- GraphProto and ModelProto ------------------------------------------ */

static int parse_graph(parse_state *ps, ox_model *m, pb_reader r)
{
    pb_field f;
    while (!ps->failed && pb_next(&r, &f)) {
        switch (f.number) {
        case 1: {
            ox_node *n = ox_push(&m->nodes, &m->n_nodes, sizeof *n);
            if (!n)
                return ox_no_memory(ps);
            parse_node(ps, n, pb_sub(&f));
            break;
        }
        case 5: {
            ox_tensor *t = ox_push(&m->inits, &m->n_inits, sizeof *t);
            if (!t)
                return ox_no_memory(ps);
            ox_parse_tensor(ps, t, pb_sub(&f));
            break;
        }
        case 11:
        case 12: {
            ox_value_info **list = f.number == 11 ? &m->inputs : &m->outputs;
            int *count = f.number == 11 ? &m->n_inputs : &m->n_outputs;
            ox_value_info *v = ox_push(list, count, sizeof *v);
            if (!v)
                return ox_no_memory(ps);
            parse_value_info(ps, v, pb_sub(&f));
            break;
        }
        case 15:
            return ox_fail(ps, "sparse initializers are not supported");
        }
    }
    if (!ps->failed && r.bad)
        ox_reader_failed(ps, &r, "the graph");
    return ps->failed ? -1 : 0;
}

static int parse_opset(parse_state *ps, ox_model *m, pb_reader r)
{
    pb_field f;
    char *domain = NULL;
    int64_t version = 0;
    while (!ps->failed && pb_next(&r, &f)) {
        if (f.number == 1) {
            free(domain);
            if (!(domain = pb_string(&f)))
                ox_no_memory(ps);
        } else if (f.number == 2) {
            version = (int64_t)f.u;
        }
    }
    if (!ps->failed && r.bad)
        ox_reader_failed(ps, &r, "an opset");
    if (!domain || !*domain || !strcmp(domain, "ai.onnx"))
        m->opset = version;
    free(domain);
    return ps->failed ? -1 : 0;
}

static int parse_meta(parse_state *ps, ox_model *m, pb_reader r)
{
    pb_field f;
    char *key = NULL, *value = NULL;
    while (!ps->failed && pb_next(&r, &f)) {
        char **slot = f.number == 1 ? &key : f.number == 2 ? &value : NULL;
        if (slot) {
            free(*slot);
            if (!(*slot = pb_string(&f)))
                ox_no_memory(ps);
        }
    }
    if (!ps->failed && r.bad)
        ox_reader_failed(ps, &r, "metadata");
    if (!ps->failed && key) {
        int n = m->n_meta;
        char **k = ox_push(&m->meta_keys, &n, sizeof *k);
        n = m->n_meta;
        char **v = k ? ox_push(&m->meta_values, &n, sizeof *v) : NULL;
        if (!v) {
            ox_no_memory(ps);
        } else {
            *k = key;
            *v = value ? value : strdup("");
            m->n_meta = n;
            key = value = NULL;
        }
    }
    free(key);
    free(value);
    return ps->failed ? -1 : 0;
}

int ox_model_parse(ox_model *m, const void *data, size_t len, char *err,
                   size_t err_size)
{
    parse_state ps = {err, err_size, 0};
    memset(m, 0, sizeof *m);
    pb_reader r = pb_open(data, len);
    pb_field f;
    int graphs = 0;
    while (!ps.failed && pb_next(&r, &f)) {
        switch (f.number) {
        case 1:
            m->ir_version = (int64_t)f.u;
            break;
        case 2:
            free(m->producer);
            if (!(m->producer = pb_string(&f)))
                ox_no_memory(&ps);
            break;
        case 7:
            graphs++;
            if (f.wire != 2)
                ox_fail(&ps, "not an ONNX model (field 'graph' is not a "
                             "message)");
            else
                parse_graph(&ps, m, pb_sub(&f));
            break;
        case 8:
            if (f.wire == 2)
                parse_opset(&ps, m, pb_sub(&f));
            break;
        case 14:
            if (f.wire == 2)
                parse_meta(&ps, m, pb_sub(&f));
            break;
        }
    }
    if (!ps.failed && r.bad == PB_PAST_END)
        ox_fail(&ps, "truncated: the file ends inside a field");
    else if (!ps.failed && r.bad)
        ox_fail(&ps, "not an ONNX model (not a protobuf message)");
    else if (!ps.failed && (graphs != 1 || m->ir_version <= 0))
        ox_fail(&ps, "not an ONNX model (%s)",
                graphs ? "no IR version" : "no graph");
    else if (!ps.failed && m->opset <= 0)
        ox_fail(&ps, "no opset for the default domain");
    if (ps.failed) {
        ox_model_release(m);
        return -1;
    }
    if (!m->producer && !(m->producer = strdup(""))) {
        ox_model_release(m);
        return ox_fail(&ps, "out of memory");
    }
    return 0;
}

void ox_model_release(ox_model *m)
{
    for (int k = 0; k < m->n_nodes; k++)
        release_node(&m->nodes[k]);
    for (int k = 0; k < m->n_inits; k++)
        ox_tensor_release(&m->inits[k]);
    for (int k = 0; k < m->n_inputs; k++)
        release_value_info(&m->inputs[k]);
    for (int k = 0; k < m->n_outputs; k++)
        release_value_info(&m->outputs[k]);
    for (int k = 0; k < m->n_meta; k++) {
        free(m->meta_keys[k]);
        free(m->meta_values[k]);
    }
    free(m->nodes);
    free(m->inits);
    free(m->inputs);
    free(m->outputs);
    free(m->meta_keys);
    free(m->meta_values);
    free(m->producer);
    memset(m, 0, sizeof *m);
}

int ox_model_read(ox_model *m, const char *path, char *err, size_t err_size)
{
    size_t len = 0;
    void *data = ox_read_all(path, &len, err, err_size);
    if (!data) {
        memset(m, 0, sizeof *m);
        return -1;
    }
    const int rc = ox_model_parse(m, data, len, err, err_size);
    free(data);
    return rc;
}

const ox_attr *ox_attr_find(const ox_node *n, const char *name)
{
    for (int k = 0; k < n->n_attrs; k++)
        if (n->attrs[k].name && !strcmp(n->attrs[k].name, name))
            return &n->attrs[k];
    return NULL;
}

const char *ox_meta(const ox_model *m, const char *key)
{
    for (int k = 0; k < m->n_meta; k++)
        if (!strcmp(m->meta_keys[k], key))
            return m->meta_values[k];
    return NULL;
}
