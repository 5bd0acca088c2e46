/* rsicam — experiment files: the plugin registry, the model, baselines and
 * paths (checked against each plugin's declared parameters, key by key, so
 * that every bad value gets its own line), and layers. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "experiment_internal.h"
#include "model_info.h"
#include "model_plugin.h"
#include "nearest.h"
#include "numbers.h"
#include "params.h"
#include "plugin_call.h"

/* ---- the registry ------------------------------------------------------ */

int xp_open_registry(xp_loader *ld, const char *const *dirs, int n_dirs)
{
    const rsi_cfg *n = rsi_cfg_get(ld->doc, "plugin_path");
    int count = n ? xp_count(n) : 0;
    const char **all = calloc((size_t)(n_dirs + count) + 1, sizeof *all);
    char **owned = calloc((size_t)count + 1, sizeof *owned);
    ld->plugin_path_json = json_array();
    int n_all = 0, rc = -1;
    if (!all || !owned)
        goto out;
    for (int i = 0; i < n_dirs; i++)
        all[n_all++] = dirs[i];
    for (int i = 0; i < count; i++) {
        const rsi_cfg *it = xp_item(n, i);
        const char *t = xp_text(ld, it, "plugin_path", "a directory");
        struct stat st;
        if (!t || !(owned[i] = xp_path(ld, it, t)))
            continue;
        if (stat(owned[i], &st) != 0 || !S_ISDIR(st.st_mode)) {
            rsi_diag_add(ld->d, it, "plugin_path: '%s' is not a directory", t);
            continue;
        }
        all[n_all++] = owned[i];
        json_array_append_new(ld->plugin_path_json, json_string(owned[i]));
    }
    ld->xp->registry = rsi_registry_new();
    if (ld->xp->registry &&
        rsi_registry_discover(ld->xp->registry, all, n_all, stderr) >= 0) {
        rsi_registry_set_current(ld->xp->registry);
        rc = 0;
    }
out:
    for (int i = 0; owned && i < count; i++)
        free(owned[i]);
    free(owned);
    free(all);
    return rc;
}

/* ---- plugin parameters ------------------------------------------------- */

/* value with the parameter syntax's ',' and '\' escaped, after "name=",
 * appended to *text (comma-separated). */
static int append_param(char **text, const char *name, const char *value)
{
    size_t old = *text ? strlen(*text) : 0;
    size_t n = old + strlen(name) + 2 * strlen(value) + 3;
    char *s = realloc(*text, n);
    if (!s)
        return -1;
    char *p = s + old;
    if (old)
        *p++ = ',';
    p = stpcpy(p, name);
    *p++ = '=';
    for (const char *v = value; *v; v++) {
        if (*v == ',' || *v == '\\')
            *p++ = '\\';
        *p++ = *v;
    }
    *p = '\0';
    *text = s;
    return 0;
}

static json_t *param_json(const rsi_param_value *v)
{
    switch (v->type) {
    case RSI_PARAM_INT:
        return json_integer(v->i);
    case RSI_PARAM_FLOAT:
        return json_real(v->f);
    case RSI_PARAM_BOOL:
        return json_boolean(v->i);
    case RSI_PARAM_STRING:
    case RSI_PARAM_PATH:
        return json_string(v->s ? v->s : "");
    }
    return json_null();
}

/* Checks the keys of map (less skip[0..n_skip)) against p's parameters,
 * one by one, and builds the "k=v" text of the good ones and the resolved
 * JSON (every declared parameter with its value) into *text and json.
 * owner: "baseline 'blur'". Returns 0 when all is well, 1 when there were
 * problems but the good keys still make a usable set (so that a model can
 * be opened and its layers checked in the same run), -1 otherwise. */
static int read_params(xp_loader *ld, const rsi_plugin *p, const rsi_cfg *map,
                       const char *owner, const char *const *skip, int n_skip,
                       char **text, json_t *json)
{
    const rsi_param_spec *specs = p->desc->params;
    const int n_specs = rsi_params_count(specs);
    const char *names[RSI_PARAMS_MAX];
    for (int k = 0; k < n_specs && k < RSI_PARAMS_MAX; k++)
        names[k] = specs[k].name;
    int bad = 0;
    *text = NULL;
    for (int i = 0; map && map->kind == RSI_CFG_MAP && i < map->n; i++) {
        const char *key = map->keys[i]->text;
        int skipped = 0;
        for (int s = 0; s < n_skip; s++)
            skipped |= strcmp(key, skip[s]) == 0;
        if (skipped)
            continue;
        int k = 0;
        while (k < n_specs && strcmp(specs[k].name, key) != 0)
            k++;
        if (k == n_specs && !n_specs) {
            rsi_diag_add(ld->d, map->keys[i],
                         "%s: takes no parameters, got "
                         "'%s'",
                         owner, key);
            bad++;
            continue;
        }
        if (k == n_specs) {
            xp_unknown(ld, map->keys[i], owner, "parameter", key, names,
                       n_specs);
            bad++;
            continue;
        }
        const rsi_cfg *v = map->items[i];
        const char *t = xp_text(ld, v, owner, "a value");
        char *value = NULL;
        if (!t) {
            bad++;
            continue;
        }
        value = specs[k].type == RSI_PARAM_PATH ? xp_path(ld, v, t) : strdup(t);
        /* this parameter alone, so that its own problem gets its own line */
        rsi_param_spec one[2] = {specs[k], {0}};
        one[0].default_value = "";
        char *single = NULL;
        rsi_param_value *vals = NULL;
        if (!value || append_param(&single, key, value) < 0) {
            rsi_diag_add(ld->d, v, "out of memory");
            bad++;
        } else if (rsi_params_parse(one, single, NULL, &vals) < 0) {
            rsi_diag_add(ld->d, v, "%s: %s", owner, rsi_error_message());
            rsi_error_clear();
            bad++;
        } else if (append_param(text, key, value) < 0) {
            rsi_diag_add(ld->d, v, "out of memory");
            bad++;
        }
        rsi_params_free(vals);
        free(single);
        free(value);
    }
    for (int k = 0; k < n_specs; k++) {
        if (specs[k].default_value || specs[k].optional ||
            (map && rsi_cfg_get(map, specs[k].name)))
            continue;
        rsi_diag_add(ld->d, map, "%s: parameter '%s' is required (%s%s%s)",
                     owner, specs[k].name, rsi_param_type_name(specs[k].type),
                     specs[k].doc ? ": " : "",
                     specs[k].doc ? specs[k].doc : "");
        bad++;
    }
    rsi_param_value *vals = NULL;
    if (rsi_params_parse(specs, *text, owner, &vals) < 0) {
        if (!bad) /* else it is one of the problems already recorded */
            rsi_diag_add(ld->d, map, "%s", rsi_error_message());
        rsi_error_clear();
        return -1;
    }
    /* an optional parameter left out stays out: no invented value */
    for (int k = 0; k < n_specs; k++)
        if (vals[k].has_value)
            json_object_set_new(json, specs[k].name, param_json(&vals[k]));
    rsi_params_free(vals);
    return bad ? 1 : 0;
}

/* The plugin of that kind and name, or NULL with a problem at at. */
static const rsi_plugin *find_plugin(xp_loader *ld, rsi_plugin_kind kind,
                                     const char *name, const rsi_cfg *at,
                                     const char *key)
{
    const rsi_plugin *p = rsi_registry_find(ld->xp->registry, kind, name);
    if (!p) {
        rsi_diag_add(ld->d, at, "%s: %s", key, rsi_error_message());
        rsi_error_clear();
    }
    return p;
}

/* ---- the model --------------------------------------------------------- */

static const char *const model_core_keys[] = {
    "plugin", "input_size", "mean", "std", "labels", "channel_order"};

/* n numbers within [min, max] from a list node; -1 with a problem. The
 * bounds are numbers.h's, shared with the command line. */
static int read_numbers(xp_loader *ld, const rsi_cfg *node, const char *key,
                        double *out, int n, double min, double max)
{
    if (!node || node->kind != RSI_CFG_LIST || node->n != n) {
        rsi_diag_add(ld->d, node, "%s: expected a list of %d numbers", key, n);
        return -1;
    }
    for (int i = 0; i < n; i++)
        if (rsi_cfg_float(node->items[i], &out[i]) < 0 || out[i] < min ||
            out[i] > max) {
            rsi_diag_add(ld->d, node->items[i],
                         "%s: expected a number in [%g, %g], got '%s'", key,
                         min, max,
                         node->items[i]->text ? node->items[i]->text : "");
            return -1;
        }
    return 0;
}

/* input_size, mean, std, channel_order and labels over the model file's
 * own. */
static void apply_preprocessing(xp_loader *ld, const rsi_cfg *node,
                                rsi_model_info *info)
{
    const rsi_cfg *n;
    double v[3];
    if ((n = rsi_cfg_get(node, "input_size")) &&
        read_numbers(ld, n, "model: input_size", v, 2, 1, RSI_INPUT_SIDE_MAX) ==
            0) {
        if (v[0] != (int64_t)v[0] || v[1] != (int64_t)v[1])
            rsi_diag_add(ld->d, n,
                         "model: input_size: expected [H, W], whole numbers");
        info->input_h = (int64_t)v[0];
        info->input_w = (int64_t)v[1];
    }
    if ((n = rsi_cfg_get(node, "mean")) &&
        read_numbers(ld, n, "model: mean", v, 3, -RSI_MEAN_ABS_MAX,
                     RSI_MEAN_ABS_MAX) == 0)
        memcpy(info->mean, v, sizeof v);
    if ((n = rsi_cfg_get(node, "std")) &&
        read_numbers(ld, n, "model: std", v, 3, RSI_STD_MIN, RSI_STD_MAX) == 0)
        memcpy(info->std, v, sizeof v);
    const char *t;
    if ((n = rsi_cfg_get(node, "channel_order")) &&
        (t = xp_text(ld, n, "model: channel_order", "rgb or bgr")) &&
        rsi_channel_order_parse(t, &info->bgr) < 0)
        rsi_diag_add(ld->d, n,
                     "model: channel_order: expected rgb or bgr, got '%s'", t);
    if ((n = rsi_cfg_get(node, "labels")) &&
        (t = xp_text(ld, n, "model: labels", "a file of class names"))) {
        char *path = xp_path(ld, n, t);
        if (path && rsi_model_info_read_labels(info, path) < 0) {
            rsi_diag_add(ld->d, n, "model: labels: %s", rsi_error_message());
            rsi_error_clear();
        }
        json_object_set_new(ld->model_json, "labels", json_string(path));
        free(path);
    }
}

/* Classes: from one forward pass of a blank input, so that class indices
 * can be checked before anything runs. */
static void count_classes(xp_loader *ld, const rsi_cfg *node)
{
    if (rsi_model_count_classes(ld->xp->model, &ld->xp->num_classes) < 0) {
        rsi_diag_add(ld->d, node, "model: %s", rsi_error_message());
        rsi_error_clear();
        ld->xp->num_classes = 0;
    }
}

/* device: and precision: — where and how the model runs; applied before
 * the model's first forward (counting its classes). */
static int apply_execution(xp_loader *ld)
{
    static const char *const keys[] = {"device", "precision"};
    static const char *const what[] = {"cpu, cuda or cuda:N", "fp32 or bf16"};
    static const char *const fallback[] = {"cpu", "fp32"};
    int (*const set[])(rsi_model *, const char *) = {rsi_model_set_device,
                                                     rsi_model_set_precision};
    int rc = 0;
    for (int k = 0; k < 2; k++) {
        const rsi_cfg *n = rsi_cfg_get(ld->doc, keys[k]);
        const char *v = n ? xp_text(ld, n, keys[k], what[k]) : fallback[k];
        if (v && set[k](ld->xp->model, v) < 0) {
            rsi_diag_add(ld->d, n, "%s: %s", keys[k], rsi_error_message());
            rsi_error_clear();
            v = NULL;
        }
        if (v)
            json_object_set_new(ld->xp->resolved, keys[k], json_string(v));
        rc = v ? rc : -1;
    }
    return rc;
}

void xp_read_model(xp_loader *ld)
{
    rsi_experiment *xp = ld->xp;
    rsi_cfg *node = rsi_cfg_get(ld->doc, "model");
    ld->model_json = json_object();
    if (!node) {
        rsi_diag_add_at(ld->d, xp->config_path, 1,
                        "model: missing (e.g. model: {plugin: torchscript, "
                        "file: model.pt})");
        return;
    }
    if (node->kind == RSI_CFG_SCALAR && !rsi_cfg_is_null(node)) {
        /* "model: m.pt" is short for {plugin: torchscript, file: m.pt}
         * ({plugin: onnx, ...} for m.onnx) */
        rsi_cfg *file = rsi_cfg_copy(node);
        free(node->text);
        node->text = NULL;
        node->kind = RSI_CFG_MAP;
        if (!file || rsi_cfg_set(node, "file", file) < 0)
            return;
    }
    if (node->kind != RSI_CFG_MAP) {
        rsi_diag_add(ld->d, node,
                     "model: expected a mapping (plugin:, file:, "
                     "...), got %s",
                     rsi_cfg_kind_name(node));
        return;
    }
    const rsi_cfg *pn = rsi_cfg_get(node, "plugin");
    const rsi_cfg *fn = rsi_cfg_get(node, "file");
    const char *name =
        pn ? xp_text(ld, pn, "model: plugin", "a plugin name")
           : rsi_default_model_plugin(
                 fn && fn->kind == RSI_CFG_SCALAR ? fn->text : NULL);
    const rsi_plugin *p =
        name ? find_plugin(ld, RSI_PLUGIN_MODEL, name, pn ? pn : node, "model")
             : NULL;
    char *text = NULL, owner[256];
    snprintf(owner, sizeof owner, "model '%s'", name ? name : "?");
    json_object_set_new(ld->model_json, "plugin",
                        json_string(name ? name : ""));
    json_t *params = json_object();
    if (p && read_params(ld, p, node, owner, model_core_keys, 6, &text,
                         params) >= 0) {
        json_object_update(ld->model_json, params);
        rsi_param_value *values = NULL;
        if (rsi_plugin_parse_params(p, text, &values) == 0)
            xp->model = rsi_call_model_open(p, values);
        if (!xp->model) {
            rsi_diag_add(ld->d, node, "model: %s",
                         rsi_error_pending() ? rsi_error_message()
                                             : "failed to open");
            rsi_error_clear();
        }
        rsi_params_free(values);
        const json_t *file = json_object_get(params, "file");
        xp->model_name =
            strdup(json_is_string(file) ? json_string_value(file) : name);
    }
    json_decref(params);
    free(text);
    if (!xp->model || apply_execution(ld) < 0)
        return;
    rsi_model_info *info = rsi_model_get_info(xp->model);
    apply_preprocessing(ld, node, info);
    json_object_set_new(ld->model_json, "input_size",
                        json_pack("[I, I]", (json_int_t)info->input_h,
                                  (json_int_t)info->input_w));
    json_object_set_new(
        ld->model_json, "mean",
        json_pack("[f, f, f]", info->mean[0], info->mean[1], info->mean[2]));
    json_object_set_new(ld->model_json, "channel_order",
                        json_string(info->bgr ? "bgr" : "rgb"));
    json_object_set_new(
        ld->model_json, "std",
        json_pack("[f, f, f]", info->std[0], info->std[1], info->std[2]));
    count_classes(ld, node);
    if (xp->num_classes && info->num_labels &&
        info->num_labels != xp->num_classes)
        rsi_diag_add(ld->d, node, "model: %lld class names for %lld classes",
                     (long long)info->num_labels, (long long)xp->num_classes);
}

/* ---- baselines and paths ---------------------------------------------- */

/* Reads one list (baselines or paths) into *out. */
static void read_plugin_list(xp_loader *ld, const char *key,
                             rsi_plugin_kind kind, const char *fallback,
                             rsi_xp_plugin **out, int *n_out)
{
    rsi_cfg *node = rsi_cfg_get(ld->doc, key);
    rsi_cfg *made = NULL;
    if (!node) /* the default: one item, the fallback plugin */
        node = made = rsi_cfg_new_scalar(fallback, NULL, 0);
    int count = node ? xp_count(node) : 0;
    *out = calloc((size_t)count + 1, sizeof **out);
    json_t *json = json_array();
    if (node && !count)
        rsi_diag_add(ld->d, node, "%s: at least one is needed", key);
    for (int i = 0; *out && i < count; i++) {
        const rsi_cfg *it = xp_item(node, i);
        const rsi_cfg *nn =
            it->kind == RSI_CFG_MAP ? rsi_cfg_get(it, "name") : it;
        if (!nn) {
            rsi_diag_add(ld->d, it,
                         "%s: an item given as a mapping needs "
                         "'name'",
                         key);
            continue;
        }
        const char *name = xp_text(ld, nn, key, "a plugin name");
        const rsi_plugin *p =
            name ? find_plugin(ld, kind, name, nn, key) : NULL;
        if (!p)
            continue;
        char owner[256];
        snprintf(owner, sizeof owner, "%s '%s'", rsi_plugin_kind_name(kind),
                 name);
        static const char *const skip[] = {"name"};
        rsi_xp_plugin x = {.plugin = p, .json = json_object()};
        json_object_set_new(x.json, "name", json_string(name));
        if (read_params(ld, p, it->kind == RSI_CFG_MAP ? it : NULL, owner, skip,
                        1, &x.params, x.json) != 0) {
            json_decref(x.json);
            free(x.params);
            continue;
        }
        int dup = 0;
        for (int j = 0; j < *n_out && !dup; j++)
            dup = json_equal((*out)[j].json, x.json);
        if (dup) {
            rsi_diag_add(ld->d, it,
                         "%s: '%s' with the same parameters is "
                         "given twice",
                         key, name);
            json_decref(x.json);
            free(x.params);
            continue;
        }
        json_array_append(json, x.json);
        (*out)[(*n_out)++] = x;
    }
    json_object_set_new(ld->xp->resolved, key, json);
    rsi_cfg_free(made);
}

void xp_read_plugin_lists(xp_loader *ld)
{
    rsi_experiment *xp = ld->xp;
    read_plugin_list(ld, "baselines", RSI_PLUGIN_BASELINE, "zero",
                     &xp->baselines, &xp->n_baselines);
    read_plugin_list(ld, "paths", RSI_PLUGIN_PATH, "linear", &xp->paths,
                     &xp->n_paths);
}

/* ---- layers ------------------------------------------------------------ */

static void unknown_layer(xp_loader *ld, const rsi_cfg *at, const char *name,
                          const char *const *paths, int n)
{
    const char *near[5];
    int k = rsi_nearest_k(name, paths, n, 5, near);
    const char *best = rsi_nearest(name, paths, n);
    char list[1024];
    xp_join(near, k, list, sizeof list);
    if (best)
        rsi_diag_add(ld->d, at,
                     "layers: unknown layer '%s' (did you mean "
                     "'%s'?); nearest: %s",
                     name, best, list);
    else
        rsi_diag_add(ld->d, at, "layers: unknown layer '%s'; nearest: %s", name,
                     list);
}

void xp_read_layers(xp_loader *ld)
{
    rsi_experiment *xp = ld->xp;
    const rsi_cfg *node = rsi_cfg_get(ld->doc, "layers");
    json_t *json = json_array();
    json_object_set_new(xp->resolved, "layers", json);
    int count = node ? xp_count(node) : 0;
    xp->layers = calloc((size_t)count + 2, sizeof *xp->layers);
    const rsi_cfg **where = calloc((size_t)count + 2, sizeof *where);
    if (!xp->layers || !where) {
        free(where);
        return;
    }
    for (int i = 0; i < count; i++) {
        const rsi_cfg *it = xp_item(node, i);
        const char *t = xp_text(ld, it, "layers", "a module path");
        int dup = 0;
        for (int j = 0; t && j < xp->n_layers; j++)
            dup |= strcmp(xp->layers[j], t) == 0;
        if (dup)
            rsi_diag_add(ld->d, it, "layers: '%s' given twice", t);
        else if (t) {
            where[xp->n_layers] = it;
            xp->layers[xp->n_layers++] = strdup(t);
        }
    }
    if (node && !count)
        rsi_diag_add(ld->d, node, "layers: at least one is needed");
    if (!xp->model) { /* nothing to check them against */
        free(where);
        return;
    }
    const rsi_model_info *info = rsi_model_get_info(xp->model);
    if (!node) {
        if (!info->default_layer) {
            rsi_diag_add_at(ld->d, xp->config_path, 1,
                            "layers: missing, and the model names no "
                            "default layer");
            free(where);
            return;
        }
        xp->layers[xp->n_layers++] = strdup(info->default_layer);
    }
    int n_paths = 0;
    const char *const *paths = rsi_model_module_paths(xp->model, &n_paths);
    int bad = 0;
    for (int i = 0; i < xp->n_layers; i++) {
        int found = 0;
        for (int k = 0; k < n_paths && !found; k++)
            found = strcmp(paths[k], xp->layers[i]) == 0;
        if (!found) {
            bad++;
            unknown_layer(ld, where[i], xp->layers[i], paths, n_paths);
        }
    }
    if (!bad && xp->n_layers &&
        rsi_model_select_layers(xp->model, (const char *const *)xp->layers,
                                xp->n_layers) < 0) {
        rsi_diag_add(ld->d, node, "layers: %s", rsi_error_message());
        rsi_error_clear();
    }
    for (int i = 0; i < xp->n_layers; i++)
        json_array_append_new(json, json_string(xp->layers[i]));
    free(where);
}
