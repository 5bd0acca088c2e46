/* Layer names of an imported ONNX model (layer_names.h). */
#include "layer_names.h"
#include "values.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* f(path with '/' as '.'): torch.onnx.export names a submodule of a
 * named Sequential "features/norm5", its PyTorch module path being
 * "features.norm5". */
static int dotted(const char *path, int (*f)(const char *, void *), void *user)
{
    char *copy = strdup(path);
    if (!copy)
        return -1;
    for (char *c = copy; *c; c++)
        if (*c == '/')
            *c = '.';
    const int rc = f(copy, user);
    free(copy);
    return rc;
}

/* Calls f(scope, user) for each scope of a node name: every prefix of its
 * '/'-separated parts but the last (the operation), as a path and as its
 * last part alone. */
static int each_scope(const char *node_name,
                      int (*f)(const char *scope, void *user), void *user)
{
    char *copy = strdup(node_name);
    if (!copy)
        return -1;
    char *last = strrchr(copy, '/');
    if (last)
        *last = '\0';
    int rc = 0;
    char *start = copy + (copy[0] == '/');
    for (char *p = start; last && rc == 0;) {
        char *slash = strchr(p, '/');
        if (slash)
            *slash = '\0';
        if (*p) {
            rc = f(start, user); /* the path so far */
            if (rc == 0 && p != start)
                rc = f(p, user); /* its last part */
            if (rc == 0 && p != start)
                rc = dotted(start, f, user);
        }
        if (!slash)
            break;
        *slash = '/';
        p = slash + 1;
    }
    free(copy);
    return rc;
}

typedef struct scope_pass {
    value_map *last; /* scope -> the last module node in it (var) */
    char **owned;
    size_t n_owned;
    int node;
    const rsi_host_api *host;
    rsi_script_model *b;
} scope_pass;

static int note_last(const char *scope, void *user)
{
    scope_pass *sp = user;
    ox_value *v = vm_find(sp->last, scope);
    if (!v) {
        char *name = strdup(scope);
        char **owned = realloc(sp->owned, (sp->n_owned + 1) * sizeof *owned);
        if (!name || !owned) {
            free(name);
            if (owned)
                sp->owned = owned;
            return -1;
        }
        sp->owned = owned;
        owned[sp->n_owned++] = name;
        if (!(v = vm_put(sp->last, name)))
            return -1;
    }
    v->var = sp->node;
    return 0;
}

static int register_if_last(const char *scope, void *user)
{
    scope_pass *sp = user;
    const ox_value *v = vm_find(sp->last, scope);
    if (!v || v->var != sp->node)
        return 0;
    char module[32];
    snprintf(module, sizeof module, "n%d", sp->node);
    return sp->host->script_add_layer_name(sp->b, scope, module);
}

/* The text whose scopes a node has: its name, else its output's name. */
static const char *scoped_name(const ox_node *n)
{
    return n->name[0] ? n->name : n->outputs[0];
}

int ox_add_layer_names(const rsi_host_api *host, rsi_script_model *b,
                       const ox_model *m, const int *is_module,
                       const char *path)
{
    value_map last = {0};
    scope_pass sp = {.last = &last, .host = host, .b = b};
    int rc = 0;
    for (int k = 0; k < m->n_nodes && rc == 0; k++) {
        sp.node = k;
        if (is_module[k])
            rc = each_scope(scoped_name(&m->nodes[k]), note_last, &sp);
    }
    if (rc < 0)
        host->error_class(RSI_ERR_MODEL, "model '%s': out of memory", path);
    for (int k = 0; k < m->n_nodes && rc == 0; k++) {
        if (!is_module[k])
            continue;
        const ox_node *n = &m->nodes[k];
        char module[32];
        snprintf(module, sizeof module, "n%d", k);
        rc = host->script_add_layer_name(b, n->outputs[0], module);
        if (rc == 0 && n->name[0])
            rc = host->script_add_layer_name(b, n->name, module);
        sp.node = k;
        if (rc == 0)
            rc = each_scope(scoped_name(n), register_if_last, &sp);
    }
    for (size_t k = 0; k < sp.n_owned; k++)
        free(sp.owned[k]);
    free(sp.owned);
    vm_free(&last, host);
    return rc;
}
