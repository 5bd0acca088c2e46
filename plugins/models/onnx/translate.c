/* Translating an ONNX graph into TorchScript (translate.h): the driver and
 * the helpers emitters use. */
#include "translate.h"
#include "layer_names.h"
#include "translator.h"
#include "values.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- errors ------------------------------------------------------------- */

int tr_fail(translator *tr, const char *fmt, ...)
{
    if (tr->failed)
        return -1;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    tr->host->error_class(RSI_ERR_MODEL, "model '%s': %s", tr->opt->path, msg);
    tr->failed = 1;
    return -1;
}

/* ---- the graph ---------------------------------------------------------- */

static const ox_tensor *find_binding(const ox_import_options *opt,
                                     const char *name)
{
    for (int k = 0; k < opt->n_bind; k++)
        if (!strcmp(opt->bind_names[k], name))
            return opt->bind_values[k];
    return NULL;
}

/* A constant's kind: small integer vectors are shapes, the rest tensors. */
static ox_kind constant_kind(const ox_tensor *t)
{
    if (!t->i)
        return OX_TENSOR;
    return t->ndim == 0 ? OX_INT : t->ndim == 1 ? OX_INTS : OX_TENSOR;
}

static int add_constant(translator *tr, const char *name, const ox_tensor *t)
{
    ox_value *v = vm_put(&tr->values, name);
    if (!v)
        return tr_fail(tr, "out of memory");
    v->constant = t;
    v->kind = constant_kind(t);
    return 0;
}

/* The graph's one runtime input (the image), checked; its index. */
static int find_image_input(translator *tr, ox_import_result *res)
{
    const ox_model *m = tr->m;
    int image = -1, runtime = 0;
    char names[512] = "";
    for (int k = 0; k < m->n_inputs; k++) {
        const char *name = m->inputs[k].name;
        if (vm_find(&tr->values, name))
            continue; /* an initializer or a bound input */
        if (runtime++ < 4)
            snprintf(names + strlen(names), sizeof names - strlen(names),
                     "%s'%s'", runtime > 1 ? ", " : "", name);
        image = k;
    }
    if (runtime != 1)
        return tr_fail(tr,
                       "the graph has %d inputs%s%s; rsicam explains "
                       "models with one image input",
                       runtime, runtime ? " " : "", names);
    const ox_value_info *in = &m->inputs[image];
    snprintf(res->input_name, sizeof res->input_name, "%s", in->name);
    if (in->elem_type && in->elem_type != OX_FLOAT)
        return tr_fail(tr,
                       "input '%s' has element type %d; only float "
                       "inputs are supported",
                       in->name, in->elem_type);
    if (!tr->opt->classifier)
        return image;
    if (in->has_shape && in->ndim != 4)
        return tr_fail(tr,
                       "input '%s' has %d dimensions; an image input "
                       "is [N, C, H, W] or [N, H, W, C]",
                       in->name, in->ndim);
    /* channels last when the last dimension is 3 or 1 and the second is
     * not: what tf2onnx writes for Keras models */
    const int64_t *d = in->dims;
    res->nhwc =
        in->has_shape && (d[3] == 3 || d[3] == 1) && d[1] != 3 && d[1] != 1;
    const int h = res->nhwc ? 1 : 2, w = res->nhwc ? 2 : 3;
    res->input_h = in->has_shape ? d[h] : -1;
    res->input_w = in->has_shape ? d[w] : -1;
    if (res->input_h < 1 || res->input_w < 1) {
        const char *p =
            in->has_shape ? (in->dim_params[res->input_h < 1 ? h : w]) : NULL;
        snprintf(res->dynamic_dim, sizeof res->dynamic_dim, "%s", p ? p : "?");
        res->input_h = res->input_w = -1;
    }
    return image;
}

/* Whether node k runs in ints mode (shape arithmetic). */
static int wants_ints(translator *tr, const ox_node *n, const op_entry *e)
{
    if (!e->ints)
        return 0;
    if (e->always_ints)
        return 1;
    int all_const_ints = 1, any = 0;
    for (int k = 0; k < n->n_inputs; k++) {
        if (!n->inputs[k][0])
            continue;
        const ox_value *v = vm_find(&tr->values, n->inputs[k]);
        if (!v)
            continue;
        any = 1;
        if (!v->constant && v->kind != OX_TENSOR)
            return 1;
        if (!v->constant || !v->constant->i || v->kind == OX_TENSOR)
            all_const_ints = 0;
    }
    return any && all_const_ints;
}

/* Marks a node's outputs after the first as not usable. */
static int mark_extra_outputs(translator *tr, const ox_node *n)
{
    for (int k = 1; k < n->n_outputs; k++) {
        if (!n->outputs[k][0])
            continue;
        ox_value *v = vm_put(&tr->values, n->outputs[k]);
        if (!v)
            return tr_fail(tr, "out of memory");
        v->unavailable = "only a node's first output is supported";
    }
    return 0;
}

/* The root call's arguments: the node's inputs the emitter took as
 * arguments, in order. */
static void call_args(translator *tr, const op_ctx *c, sbuf *b)
{
    int first = 1;
    for (int k = 0; k < c->node->n_inputs && k < OX_MAX_INPUTS; k++) {
        if (c->arg_of[k] != 1)
            continue;
        const ox_value *v = vm_find(&tr->values, c->node->inputs[k]);
        sb_printf(b, "%sv%d", first ? "" : ", ", v->var);
        first = 0;
    }
}

static void param_list(translator *tr, const op_ctx *c, sbuf *b)
{
    for (int k = 0; k < c->node->n_inputs && k < OX_MAX_INPUTS; k++) {
        if (c->arg_of[k] != 1)
            continue;
        const ox_value *v = vm_find(&tr->values, c->node->inputs[k]);
        sb_printf(b, ", a%d: %s", k,
                  v->kind == OX_TENSOR ? "Tensor"
                  : v->kind == OX_INTS ? "List[int]"
                                       : "int");
    }
}

static int translate_node(translator *tr, int index, int *is_module)
{
    const ox_node *n = &tr->m->nodes[index];
    if (n->domain && n->domain[0] && strcmp(n->domain, "ai.onnx"))
        return tr_fail(tr,
                       "node '%s': operator '%s' of domain '%s' is not "
                       "supported (only the default ONNX domain is)",
                       n->name, n->op_type, n->domain);
    if (n->n_outputs < 1)
        return tr_fail(tr, "node '%s' (%s) has no output", n->name, n->op_type);
    if (!strcmp(n->op_type, "Constant")) {
        const ox_attr *a = ox_attr_find(n, "value");
        if (!a || !a->t)
            return tr_fail(tr,
                           "node '%s' (Constant, opset %lld): only the "
                           "'value' attribute is supported",
                           n->name, (long long)tr->m->opset);
        return add_constant(tr, n->outputs[0], a->t);
    }
    /* Identity of a constant (torch.onnx.export writes them for shared
     * weights) is that constant */
    const ox_value *first =
        n->n_inputs ? vm_find(&tr->values, n->inputs[0]) : NULL;
    if (!strcmp(n->op_type, "Identity") && first && first->constant)
        return add_constant(tr, n->outputs[0], first->constant);
    const op_entry *e = ox_find_op(n->op_type);
    if (!e)
        return tr_fail(tr,
                       "unsupported operator '%s' (node '%s', opset "
                       "%lld); supported: %s",
                       n->op_type, n->name, (long long)tr->m->opset,
                       ox_supported_ops());
    op_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return tr_fail(tr, "out of memory");
    c->tr = tr;
    c->node = n;
    c->opset = tr->m->opset;
    c->ints_mode = wants_ints(tr, n, e);
    int rc;
    if (!c->ints_mode && !e->tensor)
        rc = op_fail(c, "supported on shapes only (from Shape or integer "
                        "constants), not on tensors");
    else
        rc = c->ints_mode ? e->ints(c) : e->tensor(c);
    if (rc == 0 && (c->body.failed || c->expr.failed))
        rc = tr_fail(tr, "out of memory");
    ox_value *out = rc == 0 ? vm_put(&tr->values, n->outputs[0]) : NULL;
    if (rc == 0 && !out)
        rc = tr_fail(tr, "out of memory");
    if (rc == 0 && c->ints_mode) {
        sb_printf(&tr->forward, "    v%d = %s\n", index, sb_text(&c->expr));
        out->kind = c->out_kind;
        out->var = index;
    } else if (rc == 0) {
        sbuf src = {0}, call = {0};
        sb_printf(&src, "def forward(self");
        param_list(tr, c, &src);
        sb_printf(&src, ") -> Tensor:\n%s", sb_text(&c->body));
        char name[32];
        snprintf(name, sizeof name, "n%d", index);
        call_args(tr, c, &call);
        if (src.failed || call.failed)
            rc = tr_fail(tr, "out of memory");
        else if (tr->host->script_add_module(tr->builder, name, src.s,
                                             c->buffer_names, c->buffers,
                                             c->n_buffers) < 0) {
            tr->failed = 1;
            rc = -1;
        } else {
            sb_printf(&tr->forward, "    v%d = self.%s.forward(%s)\n", index,
                      name, sb_text(&call));
            out->kind = OX_TENSOR;
            out->var = index;
            *is_module = 1;
        }
        sb_free(&src);
        sb_free(&call);
    }
    sb_free(&c->body);
    sb_free(&c->expr);
    sb_free(&c->args);
    free(c);
    return rc < 0 ? -1 : mark_extra_outputs(tr, n);
}

/* The value the model returns: the graph's first output, or for a
 * classifier the input of a trailing Softmax (through Identity nodes). */
static const char *output_name(translator *tr, ox_import_result *res)
{
    const ox_model *m = tr->m;
    if (m->n_outputs < 1) {
        tr_fail(tr, "the graph has no output");
        return NULL;
    }
    if (tr->opt->classifier && m->n_outputs > 1) {
        tr_fail(tr,
                "the graph has %d outputs; a classifier has one (the "
                "class scores)",
                m->n_outputs);
        return NULL;
    }
    const char *name = m->outputs[0].name;
    for (int k = m->n_nodes - 1; tr->opt->classifier && k >= 0; k--) {
        const ox_node *n = &m->nodes[k];
        if (strcmp(n->outputs[0], name))
            continue;
        if (!strcmp(n->op_type, "Identity") && n->n_inputs == 1) {
            name = n->inputs[0];
            tr->skip[k] = 1; /* run again below when no Softmax comes */
            continue;
        }
        if (!strcmp(n->op_type, "Softmax") && n->n_inputs == 1) {
            name = n->inputs[0];
            res->dropped_softmax = 1;
            tr->skip[k] = 1;
        }
        break;
    }
    if (!res->dropped_softmax) { /* Identity nodes alone stay */
        memset(tr->skip, 0, (size_t)m->n_nodes * sizeof *tr->skip);
        name = m->outputs[0].name;
    }
    return name;
}

static int translate(translator *tr, ox_import_result *res, int *is_module)
{
    const ox_model *m = tr->m;
    const ox_import_options *opt = tr->opt;
    if (m->opset < 1 || m->opset > 18)
        return tr_fail(tr, "opset %lld is not supported (1 to 18 are)",
                       (long long)m->opset);
    for (int k = 0; k < m->n_inits; k++)
        if (add_constant(tr, m->inits[k].name, &m->inits[k]) < 0)
            return -1;
    for (int k = 0; k < m->n_inputs; k++) {
        const ox_tensor *t = find_binding(opt, m->inputs[k].name);
        if (t && add_constant(tr, m->inputs[k].name, t) < 0)
            return -1;
    }
    const int image = find_image_input(tr, res);
    if (image < 0)
        return -1;
    ox_value *in = vm_put(&tr->values, m->inputs[image].name);
    if (!in)
        return tr_fail(tr, "out of memory");
    in->kind = OX_TENSOR;
    in->var = m->n_nodes; /* past every node's variable */
    sb_printf(&tr->forward, "def forward(self, x: Tensor) -> Tensor:\n");
    /* rsicam hands images as [N, C, H, W] */
    sb_printf(&tr->forward, "    v%d = x%s\n", m->n_nodes,
              res->nhwc ? ".permute([0, 2, 3, 1])" : "");
    const char *out_name = output_name(tr, res);
    for (int k = 0; out_name && k < m->n_nodes; k++)
        if (!tr->skip[k] && translate_node(tr, k, &is_module[k]) < 0)
            return -1;
    const ox_value *out = out_name ? vm_find(&tr->values, out_name) : NULL;
    if (out_name && (!out || out->var < 0))
        return tr_fail(tr, "output '%s' is %s", out_name,
                       out ? "a constant" : "computed by no node");
    if (!out)
        return -1;
    if (out->kind == OX_TENSOR)
        sb_printf(&tr->forward, "    return v%d\n", out->var);
    else
        sb_printf(&tr->forward, "    return torch.tensor(v%d)\n", out->var);
    if (tr->forward.failed)
        return tr_fail(tr, "out of memory");
    return 0;
}

/* A classifier whose input height or width is a name needs the size from
 * its metadata. */
static int input_size_known(translator *tr, const ox_import_result *res,
                            const char *const *metadata, int n_metadata)
{
    if (!tr->opt->classifier || res->input_h > 0)
        return 0;
    for (int k = 0; k < n_metadata; k++)
        if (strstr(metadata[k], "\"input_size\""))
            return 0;
    return tr_fail(tr,
                   "input '%s' has a dynamic height or width ('%s') "
                   "and no \"input_size\" in its rsicam.json metadata "
                   "(metadata_props or a sidecar FILE.json) to resolve it",
                   res->input_name, res->dynamic_dim);
}

rsi_model *ox_import(const rsi_host_api *host, const ox_model *m,
                     const ox_import_options *opt, const char *const *metadata,
                     int n_metadata, ox_import_result *res)
{
    translator tr = {.host = host, .m = m, .opt = opt};
    memset(res, 0, sizeof *res);
    res->input_h = res->input_w = -1;
    int *is_module = calloc((size_t)m->n_nodes + 1, sizeof *is_module);
    tr.builder = host->script_new(opt->path);
    rsi_model *model = NULL;
    const char **meta = calloc((size_t)n_metadata + 1, sizeof *meta);
    tr.skip = calloc((size_t)m->n_nodes + 1, sizeof *tr.skip);
    if (!is_module || !meta || !tr.skip)
        tr_fail(&tr, "out of memory");
    else if (tr.builder && translate(&tr, res, is_module) == 0 &&
             ox_add_layer_names(host, tr.builder, m, is_module, opt->path) ==
                 0 &&
             input_size_known(&tr, res, metadata, n_metadata) == 0) {
        /* the graph's own input size first: metadata may override it */
        char size[64];
        int n = 0;
        if (res->input_h > 0) {
            snprintf(size, sizeof size, "{\"input_size\": [%lld, %lld]}",
                     (long long)res->input_h, (long long)res->input_w);
            meta[n++] = size;
        }
        for (int k = 0; k < n_metadata; k++)
            meta[n++] = metadata[k];
        model = host->script_finish(tr.builder, sb_text(&tr.forward), meta, n);
    }
    free(meta);
    free(tr.skip);
    if (tr.builder)
        host->script_free(tr.builder);
    vm_free(&tr.values, host);
    sb_free(&tr.forward);
    free(is_module);
    return model;
}
