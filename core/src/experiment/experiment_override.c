/* rsicam — command-line overrides of an experiment file.
 *
 *   steps=100                  replaces a top-level value
 *   layers=[layer4,layer3]     the value is YAML: lists and maps work
 *   model.file=other.pt        into a mapping (created when missing)
 *   baseline.blur.sigma=8      into the list item named blur (every one);
 *                              singular names stand for the lists
 *   paths.0.name=linear        into a list item by position
 *
 * The new nodes are tagged "override 'KEY=VALUE'", so that validation
 * reports problems in them with that origin instead of a file line.
 */
#include <stdlib.h>
#include <string.h>

#include "experiment_internal.h"
#include "nearest.h"

/* Singular spellings of list keys, as people type them in overrides. */
static const char *const aliases[][2] = {
    {"baseline", "baselines"}, {"path", "paths"},     {"layer", "layers"},
    {"method", "methods"},     {"target", "targets"}, {"metric", "metrics"},
    {"scores", "score"},       {"image", "images"},   {"step", "steps"}};

static const char *canonical_key(const char *key)
{
    for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++)
        if (strcmp(key, aliases[i][0]) == 0)
            return aliases[i][1];
    return key;
}

/* Turns a scalar list item "blur" into the mapping {name: blur}, so that
 * parameters can be set on it. */
static int to_named_map(rsi_cfg *n)
{
    rsi_cfg *name = rsi_cfg_new_scalar(n->text, n->origin, n->line);
    if (!name)
        return -1;
    free(n->text);
    n->text = NULL;
    n->kind = RSI_CFG_MAP;
    n->quoted = 0;
    if (rsi_cfg_set(n, "name", name) < 0) {
        rsi_cfg_free(name);
        return -1;
    }
    return 0;
}

/* The name of a list item: its text, or its "name" key's. */
static const char *item_name(const rsi_cfg *it)
{
    if (it->kind == RSI_CFG_SCALAR)
        return it->text;
    const rsi_cfg *n = rsi_cfg_get(it, "name");
    return n && n->kind == RSI_CFG_SCALAR ? n->text : NULL;
}

typedef struct override {
    xp_loader *ld;
    const rsi_cfg *value; /* copied into place */
    const char *what;     /* the key as typed, for messages */
    char **segs;
    int n_segs;
} override;

static int apply(override *o, rsi_cfg *node, int i, const char *path);

/* Applies segment i to the items of a list (or a single item) node. */
static int apply_items(override *o, rsi_cfg *node, int i, const char *path)
{
    const char *seg = o->segs[i];
    int count = xp_count(node), matched = 0;
    char *end;
    long index = strtol(seg, &end, 10);
    if (*seg && !*end) {
        if (index < 0 || index >= count) {
            rsi_diag_add(o->ld->d, o->value,
                         "%s: no item %ld in '%s' (%d "
                         "item%s)",
                         o->what, index, path, count, count == 1 ? "" : "s");
            return -1;
        }
        if (i == o->n_segs - 1) { /* "paths.0=linear": the item itself */
            rsi_cfg *v = rsi_cfg_copy(o->value);
            if (!v)
                return -1;
            if (node->kind == RSI_CFG_LIST) {
                rsi_cfg_free(node->items[index]);
                node->items[index] = v;
            } else {
                free(node->text);
                free(node->origin);
                *node = *v; /* a single item stands for the list */
                free(v);
            }
            return 0;
        }
        rsi_cfg *it = xp_item(node, (int)index);
        if (it->kind == RSI_CFG_SCALAR && !rsi_cfg_is_null(it) &&
            to_named_map(it) < 0)
            return -1;
        return apply(o, it, i + 1, path);
    }
    const char *names[64];
    int n_names = 0;
    for (int k = 0; k < count; k++) {
        rsi_cfg *it = xp_item(node, k);
        const char *name = item_name(it);
        if (name && n_names < 64)
            names[n_names++] = name;
        if (!name || strcmp(name, seg) != 0)
            continue;
        matched++;
        if (i == o->n_segs - 1) {
            rsi_diag_add(o->ld->d, o->value,
                         "%s: name a key of item '%s' "
                         "(e.g. %s.%s.KEY=VALUE)",
                         o->what, seg, path, seg);
            return -1;
        }
        if (it->kind == RSI_CFG_SCALAR && to_named_map(it) < 0)
            return -1;
        if (apply(o, it, i + 1, path) < 0)
            return -1;
    }
    if (!matched)
        xp_unknown(o->ld, o->value, o->what, "item", seg, names, n_names);
    return matched ? 0 : -1;
}

/* Applies segments i.. of the override below node (whose path is path). */
static int apply(override *o, rsi_cfg *node, int i, const char *path)
{
    const char *seg = o->segs[i];
    if (node->kind == RSI_CFG_LIST ||
        (node->kind == RSI_CFG_SCALAR && !rsi_cfg_is_null(node) &&
         i < o->n_segs - 1 && rsi_cfg_get(node, seg) == NULL &&
         strcmp(node->text ? node->text : "", seg) == 0))
        return apply_items(o, node, i, path);
    if (node->kind != RSI_CFG_MAP) {
        if (!rsi_cfg_is_null(node)) {
            rsi_diag_add(o->ld->d, o->value, "%s: '%s' is %s, not a mapping",
                         o->what, path, rsi_cfg_kind_name(node));
            return -1;
        }
        node->kind = RSI_CFG_MAP; /* "key:" with nothing: start a mapping */
        free(node->text);
        node->text = NULL;
    }
    if (i == o->n_segs - 1) {
        rsi_cfg *v = rsi_cfg_copy(o->value);
        return v && rsi_cfg_set(node, seg, v) == 0 ? 0 : -1;
    }
    rsi_cfg *child = rsi_cfg_get(node, seg);
    if (!child) {
        child = rsi_cfg_new(RSI_CFG_MAP, o->value->origin, 0);
        if (!child || rsi_cfg_set(node, seg, child) < 0) {
            rsi_cfg_free(child);
            return -1;
        }
    }
    char sub[512];
    if (snprintf(sub, sizeof sub, "%s.%s", path, seg) >= (int)sizeof sub) {
        rsi_diag_add(o->ld->d, o->value, "%s: key path longer than %zu bytes",
                     o->what, sizeof sub - 1);
        return -1;
    }
    return apply(o, child, i + 1, sub);
}

void xp_apply_override(xp_loader *ld, const char *assignment)
{
    char *origin = NULL;
    if (asprintf(&origin, "override '%s'", assignment) < 0)
        return;
    const char *eq = strchr(assignment, '=');
    size_t klen = eq ? (size_t)(eq - assignment) : 0;
    if (!eq || !klen) {
        rsi_diag_add_at(ld->d, origin, 0,
                        "expected KEY=VALUE (e.g. "
                        "steps=100)");
        free(origin);
        return;
    }
    char *key = strndup(assignment, klen);
    rsi_cfg *value = key ? rsi_cfg_parse_value(eq + 1, origin, ld->d) : NULL;
    override o = {.ld = ld, .value = value, .what = key};
    o.segs = calloc(klen + 1, sizeof *o.segs);
    if (!value || !o.segs)
        goto out;
    char *save = NULL;
    for (char *s = strtok_r(key, ".", &save); s; s = strtok_r(NULL, ".", &save))
        o.segs[o.n_segs++] = s;
    if (!o.n_segs) {
        rsi_diag_add(ld->d, value, "expected KEY=VALUE (e.g. steps=100)");
        goto out;
    }
    /* messages name the key as typed; the tree uses canonical keys */
    char *typed = strndup(assignment, klen);
    o.what = typed;
    const char *top = canonical_key(o.segs[0]);
    int known = 0;
    for (int k = 0; k < xp_n_top_keys && !known; k++)
        known = strcmp(top, xp_top_keys[k]) == 0;
    if (!known) {
        xp_unknown(ld, value, "experiment", "key", o.segs[0], xp_top_keys,
                   xp_n_top_keys);
    } else if (o.n_segs == 1) {
        rsi_cfg *v = rsi_cfg_copy(value);
        if (v && rsi_cfg_set(ld->doc, top, v) < 0)
            rsi_cfg_free(v);
    } else {
        rsi_cfg *node = rsi_cfg_get(ld->doc, top);
        if (!node) {
            node = rsi_cfg_new(RSI_CFG_MAP, origin, 0);
            if (node && rsi_cfg_set(ld->doc, top, node) < 0) {
                rsi_cfg_free(node);
                node = NULL;
            }
        }
        if (node)
            apply(&o, node, 1, top);
    }
    free(typed);
out:
    free(o.segs);
    free(key);
    rsi_cfg_free(value);
    free(origin);
}
