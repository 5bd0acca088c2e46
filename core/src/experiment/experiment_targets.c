/* rsicam — experiment files: targets, the classes explained per image.
 *
 *   targets:
 *     - top_k: 2        the two most probable classes ("top1", "top2")
 *     - class: 3        a class by index ("class:3")
 *     - class: Coat     ... or by the model's class name
 *     - label           the image's true label, from its list file
 *
 * Every target is a setting of its own, yet all share one pass: the
 * explainer differentiates each distinct class once.
 */
#include <stdlib.h>
#include <string.h>

#include "experiment_internal.h"
#include "nearest.h"

static int add_rule(xp_loader *ld, const rsi_cfg *at, rsi_target_rule_kind kind,
                    int64_t value, const char *tag)
{
    rsi_experiment *xp = ld->xp;
    for (int i = 0; i < xp->n_rules; i++)
        if (strcmp(xp->rules[i].tag, tag) == 0) {
            rsi_diag_add(ld->d, at, "targets: '%s' given twice", tag);
            return -1;
        }
    if (xp->n_rules == RSI_EXPLAIN_MAX_CLASSES) {
        rsi_diag_add(ld->d, at, "targets: at most %d per image",
                     RSI_EXPLAIN_MAX_CLASSES);
        return -1;
    }
    char *t = strdup(tag);
    if (!t)
        return -1;
    xp->rules[xp->n_rules++] =
        (rsi_target_rule){.kind = kind, .value = value, .tag = t};
    return 0;
}

/* A class given by index or by the model's class name. */
static int class_index(xp_loader *ld, const rsi_cfg *n, int64_t *out)
{
    const rsi_experiment *xp = ld->xp;
    if (rsi_cfg_int(n, out) == 0 && !n->quoted) {
        if (*out < 0 || (xp->num_classes && *out >= xp->num_classes)) {
            rsi_diag_add(ld->d, n,
                         "targets: class %lld out of range: the "
                         "model has %lld classes",
                         (long long)*out, (long long)xp->num_classes);
            return -1;
        }
        return 0;
    }
    const char *t = xp_text(ld, n, "targets: class", "an index or a name");
    if (!t || !xp->model)
        return -1;
    const rsi_model_info *info = rsi_model_get_info(xp->model);
    for (int64_t c = 0; c < info->num_labels; c++)
        if (strcmp(info->labels[c], t) == 0) {
            *out = c;
            return 0;
        }
    if (!info->num_labels) {
        rsi_diag_add(ld->d, n,
                     "targets: class '%s': the model has no class "
                     "names (give an index, or model: labels:)",
                     t);
        return -1;
    }
    xp_unknown(ld, n, "targets", "class", t, (const char *const *)info->labels,
               (int)info->num_labels);
    return -1;
}

static void read_item(xp_loader *ld, const rsi_cfg *it, json_t *json)
{
    static const char *const forms[] = {"top_k", "class", "label"};
    if (it->kind == RSI_CFG_SCALAR && !rsi_cfg_is_null(it)) {
        if (strcmp(it->text, "label") != 0) {
            xp_unknown(ld, it, "targets", "target", it->text, forms, 3);
            return;
        }
        if (add_rule(ld, it, RSI_TARGET_LABEL, -1, "label") == 0)
            json_array_append_new(json, json_string("label"));
        return;
    }
    if (it->kind != RSI_CFG_MAP || it->n != 1) {
        rsi_diag_add(ld->d, it,
                     "targets: expected 'label', {top_k: N} or "
                     "{class: C}, got %s",
                     it->kind == RSI_CFG_MAP ? "a mapping of several keys"
                                             : rsi_cfg_kind_name(it));
        return;
    }
    const char *key = it->keys[0]->text;
    const rsi_cfg *v = it->items[0];
    int64_t n;
    char tag[64];
    if (strcmp(key, "top_k") == 0) {
        if (xp_int(ld, v, "targets: top_k", 1, RSI_EXPLAIN_MAX_CLASSES, &n) < 0)
            return;
        if (ld->xp->num_classes && n > ld->xp->num_classes) {
            rsi_diag_add(ld->d, v,
                         "targets: top_k: %lld, but the model has "
                         "%lld classes",
                         (long long)n, (long long)ld->xp->num_classes);
            return;
        }
        for (int64_t r = 1; r <= n; r++) {
            snprintf(tag, sizeof tag, "top%lld", (long long)r);
            if (add_rule(ld, v, RSI_TARGET_RANK, r, tag) < 0)
                return;
        }
        json_array_append_new(json, json_pack("{s:I}", "top_k", (json_int_t)n));
    } else if (strcmp(key, "class") == 0) {
        if (class_index(ld, v, &n) < 0)
            return;
        snprintf(tag, sizeof tag, "class:%lld", (long long)n);
        if (add_rule(ld, v, RSI_TARGET_CLASS, n, tag) == 0)
            json_array_append_new(json,
                                  json_pack("{s:I}", "class", (json_int_t)n));
    } else if (strcmp(key, "label") == 0) {
        int on;
        if (rsi_cfg_bool(v, &on) < 0 || !on) {
            rsi_diag_add(ld->d, v,
                         "targets: write the label target as "
                         "'- label'");
            return;
        }
        if (add_rule(ld, v, RSI_TARGET_LABEL, -1, "label") == 0)
            json_array_append_new(json, json_string("label"));
    } else {
        xp_unknown(ld, it->keys[0], "targets", "target", key, forms, 3);
    }
}

void xp_read_targets(xp_loader *ld)
{
    rsi_experiment *xp = ld->xp;
    const rsi_cfg *node = rsi_cfg_get(ld->doc, "targets");
    json_t *json = json_array();
    ld->target_json = json;
    xp->rules = calloc(RSI_EXPLAIN_MAX_CLASSES, sizeof *xp->rules);
    if (!xp->rules)
        return;
    if (!node) {
        add_rule(ld, NULL, RSI_TARGET_RANK, 1, "top1");
        json_array_append_new(json, json_pack("{s:i}", "top_k", 1));
    } else if (!xp_count(node)) {
        rsi_diag_add(ld->d, node, "targets: at least one is needed");
    }
    for (int i = 0; node && i < xp_count(node); i++)
        read_item(ld, xp_item(node, i), json);
    json_object_set_new(xp->resolved, "targets", json);
}
