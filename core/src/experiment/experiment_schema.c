/* rsicam — experiment files: generic checks and the sections that need
 * neither plugins nor the model (steps, batch, threads, methods, score,
 * output, outputs, metrics). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "experiment_internal.h"
#include "nearest.h"
#include "numbers.h"

const char *const xp_top_keys[] = {
    "model",   "device",    "precision", "layers",     "targets",
    "methods", "score",     "baselines", "paths",      "steps",
    "tol",     "max_steps", "batch",     "threads",    "images",
    "output",  "outputs",   "metrics",   "plugin_path"};
const int xp_n_top_keys = sizeof xp_top_keys / sizeof *xp_top_keys;

/* ---- generic checks ---------------------------------------------------- */

int xp_count(const rsi_cfg *n)
{
    if (rsi_cfg_is_null(n))
        return 0;
    return n->kind == RSI_CFG_LIST ? n->n : 1;
}

rsi_cfg *xp_item(const rsi_cfg *n, int i)
{
    return n->kind == RSI_CFG_LIST ? n->items[i] : (rsi_cfg *)n;
}

/* "a scalar 'abc'" or "a list": what was found, for "expected X, got Y". */
static void describe(const rsi_cfg *n, char *buf, size_t size)
{
    if (n && n->kind == RSI_CFG_SCALAR && !rsi_cfg_is_null(n))
        snprintf(buf, size, "'%s'", n->text);
    else
        snprintf(buf, size, "%s", rsi_cfg_kind_name(n));
}

const char *xp_text(xp_loader *ld, const rsi_cfg *n, const char *key,
                    const char *what)
{
    if (n && n->kind == RSI_CFG_SCALAR && !rsi_cfg_is_null(n))
        return n->text;
    char got[64];
    describe(n, got, sizeof got);
    rsi_diag_add(ld->d, n, "%s: expected %s, got %s", key, what, got);
    return NULL;
}

int xp_int(xp_loader *ld, const rsi_cfg *n, const char *key, int64_t min,
           int64_t max, int64_t *out)
{
    int64_t v;
    if (rsi_cfg_int(n, &v) == 0 && v >= min && (max < min || v <= max)) {
        *out = v;
        return 0;
    }
    char got[256];
    describe(n, got, sizeof got);
    if (max < min)
        rsi_diag_add(ld->d, n, "%s: expected an integer >= %lld, got %s", key,
                     (long long)min, got);
    else
        rsi_diag_add(ld->d, n,
                     "%s: expected an integer in [%lld, %lld], "
                     "got %s",
                     key, (long long)min, (long long)max, got);
    return -1;
}

/* Whether a value is the word auto (steps, batch). */
static int is_auto(const rsi_cfg *n)
{
    return n->kind == RSI_CFG_SCALAR && n->text && strcmp(n->text, "auto") == 0;
}

void xp_join(const char *const *names, int n, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < n && used + 1 < size; i++) {
        int w =
            snprintf(out + used, size - used, "%s%s", i ? ", " : "", names[i]);
        used += w > 0 ? (size_t)w : 0;
    }
}

void xp_unknown(xp_loader *ld, const rsi_cfg *at, const char *key,
                const char *what, const char *name, const char *const *valid,
                int n)
{
    const char *near = rsi_nearest(name, valid, n);
    char list[1024];
    xp_join(valid, n, list, sizeof list);
    if (near)
        rsi_diag_add(ld->d, at,
                     "%s: unknown %s '%s' (did you mean '%s'?); "
                     "valid: %s",
                     key, what, name, near, list);
    else
        rsi_diag_add(ld->d, at, "%s: unknown %s '%s'; valid: %s", key, what,
                     name, n ? list : "none");
}

int xp_check_keys(xp_loader *ld, const rsi_cfg *map, const char *section,
                  const char *const *valid, int n)
{
    int bad = 0;
    for (int i = 0; map && map->kind == RSI_CFG_MAP && i < map->n; i++) {
        const char *key = map->keys[i]->text;
        int found = 0;
        for (int k = 0; k < n && !found; k++)
            found = strcmp(key, valid[k]) == 0;
        if (!found) {
            xp_unknown(ld, map->keys[i], section, "key", key, valid, n);
            bad++;
        }
    }
    return bad;
}

char *xp_absolute(const char *dir, const char *path)
{
    char *joined = NULL;
    int rc = path[0] == '/' ? asprintf(&joined, "%s", path)
                            : asprintf(&joined, "%s/%s", dir, path);
    if (rc < 0)
        return NULL;
    /* segments on a stack: "." is dropped, ".." pops one (not past the
     * root of an absolute path, nor another ".." of a relative one) */
    size_t len = strlen(joined);
    char **segs = malloc((len / 2 + 2) * sizeof *segs);
    char *out = malloc(len + 2);
    if (!segs || !out) {
        free(segs);
        free(out);
        free(joined);
        return NULL;
    }
    int absolute = joined[0] == '/', n = 0;
    char *save = NULL;
    for (char *seg = strtok_r(joined, "/", &save); seg;
         seg = strtok_r(NULL, "/", &save)) {
        if (strcmp(seg, ".") == 0)
            continue;
        if (strcmp(seg, "..") == 0 && n > 0 && strcmp(segs[n - 1], "..") != 0) {
            n--;
            continue;
        }
        if (strcmp(seg, "..") == 0 && absolute)
            continue;
        segs[n++] = seg;
    }
    char *o = out;
    if (absolute)
        *o++ = '/';
    for (int i = 0; i < n; i++) {
        if (i)
            *o++ = '/';
        size_t l = strlen(segs[i]);
        memcpy(o, segs[i], l);
        o += l;
    }
    if (o == out)
        *o++ = '.';
    *o = '\0';
    free(segs);
    free(joined);
    return out;
}

char *xp_path(const xp_loader *ld, const rsi_cfg *n, const char *text)
{
    return xp_absolute(n && n->line > 0 ? ld->config_dir : ld->cwd, text);
}

/* ---- top level --------------------------------------------------------- */

void xp_check_top_keys(xp_loader *ld)
{
    xp_check_keys(ld, ld->doc, "experiment", xp_top_keys, xp_n_top_keys);
}

/* Reads a list of names from a scalar-or-list into a bit set: names[i]
 * sets bits[i]. Duplicates and unknown names are problems. Returns the
 * bits, with the canonical names appended to json in order. */
static int read_names(xp_loader *ld, const rsi_cfg *n, const char *key,
                      const char *const *names, const int *bits, int count,
                      const char *const *canon, json_t *json)
{
    int set = 0;
    for (int i = 0; i < xp_count(n); i++) {
        const rsi_cfg *it = xp_item(n, i);
        const char *t = xp_text(ld, it, key, "a name");
        if (!t)
            continue;
        int k = 0;
        while (k < count && strcmp(t, names[k]) != 0)
            k++;
        if (k == count) {
            xp_unknown(ld, it, key, "value", t, names, count);
        } else if (set & bits[k]) {
            rsi_diag_add(ld->d, it, "%s: '%s' given twice", key, t);
        } else {
            set |= bits[k];
            json_array_append_new(json, json_string(canon[k]));
        }
    }
    return set;
}

/* methods: the map kinds by name (map_kinds.h), then each method's own
 * name for its first kind ("rsi" is "rsi-relu"); bit i of the set read is
 * the i-th kind. */
static void read_methods(xp_loader *ld)
{
    const char *names[2 * RSI_MAP_KINDS_MAX], *canon[2 * RSI_MAP_KINDS_MAX];
    int bits[2 * RSI_MAP_KINDS_MAX];
    const int n_kinds = rsi_map_kind_count();
    int count = 0;
    for (int i = 0; i < n_kinds; i++) {
        names[count] = canon[count] = rsi_map_kind_at(i)->name;
        bits[count++] = 1 << i;
    }
    const char *methods[RSI_MAP_KINDS_MAX];
    const int n_methods = rsi_map_methods(methods);
    for (int m = 0; m < n_methods; m++) {
        const int k = rsi_map_method_alias(methods[m]);
        if (k < 0)
            continue;
        names[count] = methods[m];
        canon[count] = rsi_map_kind_at(k)->name;
        bits[count++] = 1 << k;
    }
    rsi_experiment *xp = ld->xp;
    const rsi_cfg *n = rsi_cfg_get(ld->doc, "methods");
    json_t *json = json_array();
    int set =
        n ? read_names(ld, n, "methods", names, bits, count, canon, json) : 0;
    if (!n) {
        set = bits[0];
        json_array_append_new(json, json_string(canon[0]));
    } else if (!xp_count(n)) {
        rsi_diag_add(ld->d, n, "methods: at least one is needed");
    }
    /* the kinds as explain's method and variant bit sets */
    xp->methods = xp->variants = 0;
    for (int i = 0; i < n_kinds; i++) {
        const rsi_map_kind *k = rsi_map_kind_at(i);
        if (!(set & (1 << i)))
            continue;
        xp->methods |= rsi_map_method_bit(k->method);
        xp->variants |= rsi_map_variant_bit(k->variant);
    }
    json_object_set_new(ld->xp->resolved, "methods", json);
}

static void read_scores(xp_loader *ld)
{
    const char *const *names = rsi_score_kind_names();
    int bits[RSI_SCORE_KINDS];
    for (int k = 0; k < RSI_SCORE_KINDS; k++)
        bits[k] = 1 << k;
    const rsi_cfg *n = rsi_cfg_get(ld->doc, "score");
    json_t *json = json_array();
    int set = n ? read_names(ld, n, "score", names, bits, RSI_SCORE_KINDS,
                             names, json)
                : 0;
    if (!n) {
        set = bits[0];
        json_array_append_new(json, json_string(names[0]));
    } else if (!xp_count(n)) {
        char list[256];
        xp_join(names, RSI_SCORE_KINDS, list, sizeof list);
        rsi_diag_add(ld->d, n, "score: at least one of %s is needed", list);
    }
    ld->xp->score_kinds = set;
    json_object_set_new(ld->xp->resolved, "score", json);
}

/* tol: and max_steps:, for steps: auto (explain.h). */
static void read_adaptive(xp_loader *ld, int any_auto)
{
    rsi_experiment *xp = ld->xp;
    const rsi_cfg *tol = rsi_cfg_get(ld->doc, "tol");
    const rsi_cfg *cap = rsi_cfg_get(ld->doc, "max_steps");
    xp->tol = 0.01;
    xp->max_steps = 256;
    if ((tol || cap) && !any_auto)
        rsi_diag_add(ld->d, tol ? tol : cap,
                     "%s: goes with steps: auto, which steps does not list",
                     tol ? "tol" : "max_steps");
    if (tol &&
        (rsi_cfg_float(tol, &xp->tol) < 0 || !(xp->tol > 0) || xp->tol >= 1))
        rsi_diag_add(ld->d, tol, "tol: expected a number in (0, 1), got '%s'",
                     tol->text ? tol->text : "");
    if (cap)
        xp_int(ld, cap, "max_steps", 4, RSI_STEPS_MAX, &xp->max_steps);
    if (any_auto) {
        json_object_set_new(xp->resolved, "tol", json_real(xp->tol));
        json_object_set_new(xp->resolved, "max_steps",
                            json_integer(xp->max_steps));
    }
}

static void read_steps(xp_loader *ld)
{
    rsi_experiment *xp = ld->xp;
    const rsi_cfg *n = rsi_cfg_get(ld->doc, "steps");
    int count = n ? xp_count(n) : 1;
    json_t *json = json_array();
    xp->steps = calloc((size_t)count + 1, sizeof *xp->steps);
    if (!n) {
        xp->steps[xp->n_steps++] = 50;
    } else if (!count) {
        rsi_diag_add(ld->d, n, "steps: at least one step count is needed");
    }
    for (int i = 0; n && i < count; i++) {
        const rsi_cfg *it = xp_item(n, i);
        int64_t v = 0; /* auto */
        if (!is_auto(it) && xp_int(ld, it, "steps", 1, RSI_STEPS_MAX, &v) < 0)
            continue;
        int dup = 0;
        for (int j = 0; j < xp->n_steps; j++)
            dup |= xp->steps[j] == v;
        if (dup)
            rsi_diag_add(ld->d, it, "steps: %s given twice",
                         v ? it->text : "auto");
        else
            xp->steps[xp->n_steps++] = v;
    }
    int any_auto = 0;
    for (int j = 0; j < xp->n_steps; j++) {
        any_auto |= xp->steps[j] == 0;
        json_array_append_new(json, xp->steps[j] ? json_integer(xp->steps[j])
                                                 : json_string("auto"));
    }
    json_object_set_new(xp->resolved, "steps", json);
    read_adaptive(ld, any_auto);
}

static void read_numbers(xp_loader *ld)
{
    rsi_experiment *xp = ld->xp;
    const rsi_cfg *n = rsi_cfg_get(ld->doc, "batch");
    xp->batch = 0; /* auto: rsi_explain_auto_batch */
    if (n && !is_auto(n))
        xp_int(ld, n, "batch", 1, RSI_BATCH_MAX, &xp->batch);
    int64_t threads = 0;
    if ((n = rsi_cfg_get(ld->doc, "threads")) != NULL)
        xp_int(ld, n, "threads", 0, RSI_THREADS_MAX, &threads);
    xp->threads = (int)threads;
    json_object_set_new(xp->resolved, "batch",
                        xp->batch ? json_integer(xp->batch)
                                  : json_string("auto"));
    json_object_set_new(xp->resolved, "threads", json_integer(xp->threads));
}

static void read_output(xp_loader *ld)
{
    rsi_experiment *xp = ld->xp;
    const rsi_cfg *n = rsi_cfg_get(ld->doc, "output");
    const char *t = n ? xp_text(ld, n, "output", "a directory") : NULL;
    if (t) {
        /* outputs go where the command runs, not beside the inputs */
        xp->output = xp_absolute(ld->cwd, t);
    } else if (!n) {
        /* rsicam-out/NAME, NAME the config file's name less ".yaml" */
        const char *base = strrchr(xp->config_path, '/');
        base = base ? base + 1 : xp->config_path;
        char name[256];
        snprintf(name, sizeof name, "%s", base);
        char *dot = strrchr(name, '.');
        if (dot && dot != name)
            *dot = '\0';
        char rel[300];
        snprintf(rel, sizeof rel, "rsicam-out/%s", name);
        xp->output = xp_absolute(ld->cwd, rel);
    }
    if (xp->output)
        json_object_set_new(xp->resolved, "output", json_string(xp->output));
}

static void read_outputs(xp_loader *ld)
{
    static const char *const names[] = {"cam", "heatmap", "overlay", "montage"};
    static const int bits[] = {RSI_XP_OUT_CAM, RSI_XP_OUT_HEATMAP,
                               RSI_XP_OUT_OVERLAY, RSI_XP_OUT_MONTAGE};
    const rsi_cfg *n = rsi_cfg_get(ld->doc, "outputs");
    json_t *json = json_array();
    int set = 15;
    if (n)
        set = read_names(ld, n, "outputs", names, bits, 4, names, json);
    else
        for (int i = 0; i < 4; i++)
            json_array_append_new(json, json_string(names[i]));
    if (n && (set & RSI_XP_OUT_MONTAGE) && !(set & RSI_XP_OUT_HEATMAP))
        rsi_diag_add(ld->d, n,
                     "outputs: 'montage' is drawn from the "
                     "heatmaps; add 'heatmap'");
    ld->xp->outputs = set;
    json_object_set_new(ld->xp->resolved, "outputs", json);
}

/* ---- metrics ----------------------------------------------------------- */

static const char *const metric_names[] = {
    "pointing",  "energy",   "completeness", "deletion",
    "insertion", "avg_drop", "increase"};
enum { N_METRICS = 7 };

/* The options of deletion/insertion: substrate, steps, batch. */
static void read_curve_options(xp_loader *ld, const rsi_cfg *it, int bit,
                               json_t *obj, int *steps_set, int *batch_set)
{
    static const char *const keys[] = {"name", "substrate", "steps", "batch"};
    rsi_xp_curve *c = &ld->xp->curve;
    xp_check_keys(ld, it, "metrics", keys, 4);
    const rsi_cfg *sub = rsi_cfg_get(it, "substrate");
    const char *t = sub ? xp_text(ld, sub, "metrics: substrate",
                                  "black, zero, blur or blur:SIGMA")
                        : NULL;
    rsi_substrate *s = bit == RSI_XP_DELETION ? &c->deletion : &c->insertion;
    if (t && rsi_substrate_parse(t, s) < 0) {
        rsi_diag_add(ld->d, sub, "metrics: substrate: %s", rsi_error_message());
        rsi_error_clear();
    }
    const rsi_cfg *n;
    int64_t v = 0; /* set by xp_int when it succeeds */
    if ((n = rsi_cfg_get(it, "steps")) &&
        xp_int(ld, n, "metrics: steps", 1, 100000, &v) == 0) {
        if (*steps_set && v != c->steps)
            rsi_diag_add(ld->d, n,
                         "metrics: deletion and insertion share "
                         "one step count; got %lld and %d",
                         (long long)v, c->steps);
        c->steps = (int)v;
        *steps_set = 1;
    }
    if ((n = rsi_cfg_get(it, "batch")) &&
        xp_int(ld, n, "metrics: batch", 1, 100000, &v) == 0) {
        if (*batch_set && v != c->batch)
            rsi_diag_add(ld->d, n,
                         "metrics: deletion and insertion share "
                         "one batch size; got %lld and %d",
                         (long long)v, c->batch);
        c->batch = (int)v;
        *batch_set = 1;
    }
    (void)obj;
}

static void read_metrics(xp_loader *ld)
{
    static const int bits[] = {
        RSI_XP_POINTING,  RSI_XP_ENERGY,   RSI_XP_COMPLETENESS, RSI_XP_DELETION,
        RSI_XP_INSERTION, RSI_XP_AVG_DROP, RSI_XP_INCREASE};
    rsi_experiment *xp = ld->xp;
    rsi_xp_curve *c = &xp->curve;
    *c = (rsi_xp_curve){.steps = 32,
                        .batch = 0, /* the experiment's batch, below */
                        .deletion = {RSI_SUBSTRATE_BLACK, 0},
                        .insertion = {RSI_SUBSTRATE_BLUR, 5}};
    const rsi_cfg *n = rsi_cfg_get(ld->doc, "metrics");
    int set = n ? 0 : RSI_XP_COMPLETENESS, steps_set = 0, batch_set = 0;
    for (int i = 0; n && i < xp_count(n); i++) {
        const rsi_cfg *it = xp_item(n, i);
        const rsi_cfg *name_node =
            it->kind == RSI_CFG_MAP ? rsi_cfg_get(it, "name") : it;
        if (!name_node) {
            rsi_diag_add(ld->d, it,
                         "metrics: an item given as a mapping "
                         "needs 'name'");
            continue;
        }
        const char *t = xp_text(ld, name_node, "metrics", "a metric name");
        if (!t)
            continue;
        int k = 0;
        while (k < N_METRICS && strcmp(t, metric_names[k]) != 0)
            k++;
        if (k == N_METRICS) {
            xp_unknown(ld, name_node, "metrics", "metric", t, metric_names,
                       N_METRICS);
            continue;
        }
        if (set & bits[k]) {
            rsi_diag_add(ld->d, name_node, "metrics: '%s' given twice", t);
            continue;
        }
        set |= bits[k];
        if (it->kind == RSI_CFG_MAP) {
            if (bits[k] & (RSI_XP_DELETION | RSI_XP_INSERTION)) {
                read_curve_options(ld, it, bits[k], NULL, &steps_set,
                                   &batch_set);
            } else {
                static const char *const only[] = {"name"};
                xp_check_keys(ld, it, "metrics", only, 1);
            }
        }
    }
    xp->metrics = set;
    if (!c->batch) /* the experiment's; the CPU's auto for auto */
        c->batch = xp->batch ? (int)xp->batch : 8;
    json_t *json = json_array();
    for (int k = 0; k < N_METRICS; k++) {
        if (!(set & bits[k]))
            continue;
        if (bits[k] & (RSI_XP_DELETION | RSI_XP_INSERTION)) {
            const rsi_substrate *s =
                bits[k] == RSI_XP_DELETION ? &c->deletion : &c->insertion;
            static const char *const kinds[] = {"black", "zero", "blur"};
            char sub[64];
            if (s->kind == RSI_SUBSTRATE_BLUR)
                snprintf(sub, sizeof sub, "blur:%g", s->sigma);
            else
                snprintf(sub, sizeof sub, "%s", kinds[s->kind]);
            json_array_append_new(json, json_pack("{s:s, s:s, s:i, s:i}",
                                                  "name", metric_names[k],
                                                  "substrate", sub, "steps",
                                                  c->steps, "batch", c->batch));
        } else {
            json_array_append_new(json, json_string(metric_names[k]));
        }
    }
    json_object_set_new(xp->resolved, "metrics", json);
}

void xp_read_simple(xp_loader *ld)
{
    read_numbers(ld);
    read_steps(ld);
    read_methods(ld);
    read_scores(ld);
    read_output(ld);
    read_outputs(ld);
    read_metrics(ld);
}
