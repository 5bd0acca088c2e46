/* rsicam evaluate: localisation metrics of explain's maps against the
 * boxes of a sample list, per setting, with an optional montage. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "evaluate.h"
#include "fileio.h"
#include "image.h"
#include "localize.h"
#include "montage.h"
#include "npy.h"
#include "path.h"
#include "results.h"
#include "results_read.h"
#include "rsicam/error.h"
#include "samples.h"

static const char usage_text[] =
    "usage: rsicam evaluate --results DIR [--results DIR]... --samples FILE "
    "[options]\n"
    "\n"
    "Pointing game and energy-in-box of every map in DIR/results.jsonl whose\n"
    "image has a box in the sample list, aggregated per setting (model,\n"
    "layer, method, variant, score; and target, where records name one).\n"
    "Relative image paths in results.jsonl are read from the current\n"
    "directory: run evaluate where explain ran.\n"
    "\n"
    "  --results DIR       an explain output directory (repeatable)\n"
    "  --samples FILE      CSV list: image,label,x0,y0,x1,y1 (paths relative\n"
    "                      to the list; boxes in the image's own pixels)\n"
    "  --select LIST       only these settings, in this order: METHOD,\n"
    "                      METHOD-VARIANT or METHOD-VARIANT.SCORE, e.g.\n"
    "                      rsi-relu.softmax,gradcam.softmax\n"
    "  --csv FILE          one line per map (box, argmax, hit, energy, ...)\n"
    "  --montage FILE      PNG: rows = images, columns = input | one overlay\n"
    "                      per setting (box drawn on the input)\n"
    "  --montage-rows N    images in the montage (default 8)\n";

static void *grow(void *p, int n, int *cap, size_t size)
{
    if (n < *cap)
        return p;
    int c = *cap ? 2 * *cap : 16;
    void *q = realloc(p, (size_t)c * size);
    if (!q) {
        rsi_error("out of memory");
        return NULL;
    }
    *cap = c;
    return q;
}

/* ---- the sample list, indexed by real path ---------------------------- */

static int cmp_ref(const void *a, const void *b)
{
    return strcmp(((const sample_ref *)a)->real, ((const sample_ref *)b)->real);
}

/* Both sides go through realpath: "./a.png", "x/../a.png" and a symlink
 * all name the same sample. A missing sample image is not an error here
 * (it may have no maps); it just cannot match. */
static int index_samples(evaluation *ev)
{
    int n = ev->samples.n;
    ev->refs = calloc((size_t)n + 1, sizeof *ev->refs);
    ev->src_w = calloc((size_t)n + 1, sizeof(int));
    ev->src_h = calloc((size_t)n + 1, sizeof(int));
    if (!ev->refs || !ev->src_w || !ev->src_h) {
        rsi_error("out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        char *real = realpath(ev->samples.items[i].image, NULL);
        if (real)
            ev->refs[ev->n_refs++] = (sample_ref){real, i};
    }
    if (ev->n_refs > 1) /* refs may be NULL when empty: UB for qsort */
        qsort(ev->refs, (size_t)ev->n_refs, sizeof *ev->refs, cmp_ref);
    for (int i = 1; i < ev->n_refs; i++)
        if (strcmp(ev->refs[i - 1].real, ev->refs[i].real) == 0) {
            const rsi_sample *a = &ev->samples.items[ev->refs[i - 1].index];
            const rsi_sample *b = &ev->samples.items[ev->refs[i].index];
            rsi_error_class_set(
                RSI_ERR_INPUT, "%s:%d: '%s' is listed twice (also line %d)",
                ev->samples.path, a->line > b->line ? a->line : b->line,
                b->image, a->line < b->line ? a->line : b->line);
            return -1;
        }
    return 0;
}

static int find_sample(const evaluation *ev, const char *image)
{
    char *real = realpath(image, NULL);
    if (!real)
        return -1;
    sample_ref key = {real, 0};
    const sample_ref *hit =
        bsearch(&key, ev->refs, (size_t)ev->n_refs, sizeof *ev->refs, cmp_ref);
    free(real);
    return hit ? hit->index : -1;
}

/* The sample's own size, which its box is measured in. */
static int sample_size(evaluation *ev, int s, int *w, int *h)
{
    if (!ev->src_w[s]) {
        rsi_image img = {0};
        if (rsi_image_read(ev->samples.items[s].image, 0, 0, &img) < 0)
            return -1;
        ev->src_w[s] = img.width;
        ev->src_h[s] = img.height;
        rsi_image_release(&img);
    }
    *w = ev->src_w[s];
    *h = ev->src_h[s];
    return 0;
}

/* ---- settings ---------------------------------------------------------- */

/* Position of the first --select item naming this setting; -1 when
 * another item list excludes it, INT_MAX without --select. */
static int select_order(const cli_list *select, const char *method,
                        const char *variant, const char *score)
{
    if (!select->n)
        return INT_MAX;
    char name[256], full[512];
    rsi_map_kind_join(method, variant, name, sizeof name);
    snprintf(full, sizeof full, "%s.%s", name, score);
    for (int i = 0; i < select->n; i++) {
        const char *t = select->items[i];
        if (!strcmp(t, method) || !strcmp(t, name) || !strcmp(t, full))
            return i;
    }
    return -1;
}

static int find_setting(evaluation *ev, const char *const key[6], int order)
{
    for (int i = 0; i < ev->n_settings; i++) {
        setting *s = &ev->settings[i];
        const char *have[6] = {s->model,   s->layer, s->method,
                               s->variant, s->score, s->target};
        int same = 1;
        for (int k = 0; k < 6 && same; k++)
            same = strcmp(have[k], key[k]) == 0;
        if (same)
            return i;
    }
    setting *grown =
        grow(ev->settings, ev->n_settings, &ev->cap_settings, sizeof *grown);
    if (!grown)
        return -1;
    ev->settings = grown;
    setting *s = &ev->settings[ev->n_settings];
    *s = (setting){.order = order};
    char **fields[6] = {&s->model,   &s->layer, &s->method,
                        &s->variant, &s->score, &s->target};
    for (int k = 0; k < 6; k++)
        if (!(*fields[k] = strdup(key[k]))) {
            rsi_error("out of memory");
            return -1;
        }
    return ev->n_settings++;
}

/* Remembers class -> label pairs from the records, to name true labels
 * given as indices. */
static int learn_class_name(evaluation *ev, int64_t cls, const char *label)
{
    if (!label || cls < 0 || cls > 100000)
        return 0;
    if (cls >= ev->n_class_names) {
        char **names =
            realloc(ev->class_names, (size_t)(cls + 1) * sizeof *names);
        if (!names) {
            rsi_error("out of memory");
            return -1;
        }
        for (int64_t i = ev->n_class_names; i <= cls; i++)
            names[i] = NULL;
        ev->class_names = names;
        ev->n_class_names = (int)cls + 1;
    }
    if (!ev->class_names[cls] && !(ev->class_names[cls] = strdup(label))) {
        rsi_error("out of memory");
        return -1;
    }
    return 0;
}

/* ---- one map ----------------------------------------------------------- */

/* Loads the heatmap, maps the box onto it and scores it. */
static int score_map(evaluation *ev, map_row *m)
{
    float *heat = NULL;
    int64_t shape[RSI_MAX_DIMS];
    int ndim = 0, src_w, src_h, rc = -1;
    const rsi_sample *s = &ev->samples.items[m->sample];
    if (rsi_npy_read_f32(m->heatmap, &heat, shape, &ndim) < 0)
        goto out;
    if (ndim != 2 || shape[0] < 1 || shape[1] < 1 || shape[0] > INT_MAX ||
        shape[1] > INT_MAX) {
        rsi_error_class_set(RSI_ERR_INPUT,
                            "heatmap '%s': expected a 2-D "
                            "array",
                            m->heatmap);
        goto out;
    }
    if (sample_size(ev, m->sample, &src_w, &src_h) < 0 ||
        rsi_box_to_pixels(&s->box, src_w, src_h, (int)shape[1], (int)shape[0],
                          &m->box) < 0)
        goto out;
    m->heat_w = (int)shape[1];
    m->heat_h = (int)shape[0];
    rsi_localize(heat, m->heat_w, m->heat_h, &m->box, &m->loc);
    rc = 0;
out:
    if (rc < 0)
        rsi_error_prefix("%s:%d: ", ev->samples.path, s->line);
    free(heat);
    return rc;
}

static void accumulate(setting *st, const map_row *m)
{
    st->maps++;
    st->hits += m->loc.hit;
    st->flat += m->loc.flat;
    if (!isnan(m->loc.energy)) {
        st->energy_sum += m->loc.energy;
        st->energy_n++;
    }
    if (isfinite(m->probability)) {
        st->prob_sum += m->probability;
        st->prob_n++;
    }
    if (m->correct >= 0) {
        st->labelled++;
        st->correct += m->correct;
    }
}

static const char *json_text(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* One results.jsonl record; where says "DIR/results.jsonl:LINE". */
static int add_record(evaluation *ev, const char *dir, json_t *o,
                      const char *where)
{
    const char *status = json_text(o, "status");
    if (!status || strcmp(status, "ok") != 0) {
        ev->failed++;
        return 0;
    }
    static const char *const names[] = {"image",  "model",   "layer",
                                        "method", "variant", "score"};
    const char *v[7];
    for (int k = 0; k < 6; k++)
        if (!(v[k] = json_text(o, names[k]))) {
            rsi_error_class_set(RSI_ERR_INPUT, "%s: no '%s' string", where,
                                names[k]);
            return -1;
        }
    v[6] = json_text(o, "target");
    v[6] = v[6] ? v[6] : "";
    /* explain can be told to write only some files: null names */
    const char *heatmap = json_text(o, "heatmap");
    const char *overlay = json_text(o, "overlay");
    json_t *cls = json_object_get(o, "class");
    int64_t class_index = json_is_integer(cls) ? json_integer_value(cls) : -1;
    const char *label = json_text(o, "label");
    if (learn_class_name(ev, class_index, label) < 0)
        return -1;
    int order = select_order(&ev->select, v[3], v[4], v[5]);
    if (order < 0) {
        ev->filtered++;
        return 0;
    }
    int s = find_sample(ev, v[0]);
    if (s < 0) {
        if (!ev->unmatched++ && !(ev->first_unmatched = strdup(v[0])))
            return -1;
        return 0;
    }
    const rsi_sample *sample = &ev->samples.items[s];
    if (!sample->has_box) {
        ev->no_box++;
        return 0;
    }
    if (!heatmap) {
        ev->no_heatmap++;
        return 0;
    }
    int st = find_setting(ev, v + 1, order);
    map_row *grown =
        st < 0 ? NULL
               : grow(ev->maps, ev->n_maps, &ev->cap_maps, sizeof *grown);
    if (!grown)
        return -1;
    ev->maps = grown;
    map_row *m = &ev->maps[ev->n_maps];
    json_t *prob = json_object_get(o, "probability");
    *m = (map_row){
        .setting = st,
        .sample = s,
        .class_index = class_index,
        .probability = json_is_number(prob) ? json_number_value(prob) : NAN,
        .correct = sample->label >= 0 ? class_index == sample->label
                   : sample->label_name && label
                       ? strcmp(label, sample->label_name) == 0
                       : -1,
    };
    ev->n_maps++; /* counted now so that a failure frees its paths */
    if (!(m->heatmap = rsi_record_file(dir, heatmap, where)) ||
        (overlay && !(m->overlay = rsi_record_file(dir, overlay, where))) ||
        score_map(ev, m) < 0)
        return -1;
    accumulate(&ev->settings[st], m);
    return 0;
}

typedef struct results_reader {
    evaluation *ev;
    const char *dir, *file;
} results_reader;

static int add_line(void *user, json_t *o, int n, const char *error)
{
    const results_reader *r = user;
    char where[4200];
    snprintf(where, sizeof where, "%s:%d", r->file, n);
    if (!o) {
        rsi_error_class_set(RSI_ERR_INPUT, "%s: not a JSON object (%s)", where,
                            error);
        return -1;
    }
    return add_record(r->ev, r->dir, o, where);
}

static int read_results(evaluation *ev, const char *dir)
{
    char *file = rsi_path_join(dir, RSI_RESULTS_FILE);
    results_reader r = {ev, dir, file};
    int rc = file ? rsi_results_read(file, 0, add_line, &r) : -1;
    free(file);
    return rc;
}

/* ---- command ----------------------------------------------------------- */

typedef struct evaluate_args {
    cli_list results;
    const char *samples, *csv, *montage;
    long long montage_rows;
} evaluate_args;

enum {
    OPT_RESULTS = 256,
    OPT_SAMPLES,
    OPT_SELECT,
    OPT_CSV,
    OPT_MONTAGE,
    OPT_MONTAGE_ROWS,
    OPT_HELP
};

static const struct option options[] = {
    {"results", required_argument, NULL, OPT_RESULTS},
    {"samples", required_argument, NULL, OPT_SAMPLES},
    {"select", required_argument, NULL, OPT_SELECT},
    {"csv", required_argument, NULL, OPT_CSV},
    {"montage", required_argument, NULL, OPT_MONTAGE},
    {"montage-rows", required_argument, NULL, OPT_MONTAGE_ROWS},
    {"help", no_argument, NULL, OPT_HELP},
    {0},
};

/* Returns 0, 1 for --help, or -1 with an error. */
static int parse_args(int argc, char **argv, evaluate_args *a, cli_list *select)
{
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
        int rc = 0;
        switch (opt) {
        case OPT_RESULTS:
            rc = cli_list_add(&a->results, optarg);
            break;
        case OPT_SAMPLES:
            a->samples = optarg;
            break;
        case OPT_SELECT:
            rc = cli_list_add_split(select, optarg);
            break;
        case OPT_CSV:
            a->csv = optarg;
            break;
        case OPT_MONTAGE:
            a->montage = optarg;
            break;
        case OPT_MONTAGE_ROWS:
            rc = cli_parse_int("--montage-rows", optarg, 1, 1000,
                               &a->montage_rows);
            break;
        case OPT_HELP:
            return 1;
        default:
            rc = cli_unknown_option("evaluate", argc, argv);
        }
        if (rc < 0)
            return -1;
    }
    if (optind < argc) {
        rsi_error_class_set(RSI_ERR_USAGE,
                            "evaluate: unexpected argument "
                            "'%s'",
                            argv[optind]);
        return -1;
    }
    const char *missing = !a->results.n ? "--results"
                          : !a->samples ? "--samples"
                                        : NULL;
    if (missing) {
        rsi_error_class_set(RSI_ERR_USAGE, "evaluate: %s is required", missing);
        return -1;
    }
    return 0;
}

/* Says on stderr what was left out, so that a table over fewer maps than
 * expected never passes unnoticed. */
static void report_skipped(const evaluation *ev)
{
    if (ev->failed)
        fprintf(stderr,
                "rsicam: evaluate: %d failed image(s) in the results "
                "skipped\n",
                ev->failed);
    if (ev->unmatched)
        fprintf(stderr,
                "rsicam: evaluate: %d map(s) skipped: image not in "
                "the sample list (first: %s)%s\n",
                ev->unmatched, ev->first_unmatched,
                ev->first_unmatched[0] == '/'
                    ? ""
                    : "; relative image paths in results.jsonl are read "
                      "from the current directory: run evaluate where "
                      "explain ran");
    if (ev->no_heatmap)
        fprintf(stderr,
                "rsicam: evaluate: %d map(s) skipped: no heatmap "
                "file recorded\n",
                ev->no_heatmap);
    if (ev->no_box)
        fprintf(stderr,
                "rsicam: evaluate: %d map(s) skipped: their sample "
                "has no box\n",
                ev->no_box);
}

static int run(const evaluate_args *a, evaluation *ev)
{
    int *ord = NULL, rc = -1;
    if (rsi_samples_read(a->samples, &ev->samples) < 0 || index_samples(ev) < 0)
        return -1;
    for (int i = 0; i < a->results.n; i++)
        if (read_results(ev, a->results.items[i]) < 0)
            return -1;
    report_skipped(ev);
    if (!ev->n_maps) {
        rsi_error_class_set(RSI_ERR_INPUT,
                            "evaluate: no map to evaluate (no ok record "
                            "whose image has a box in '%s'%s)",
                            a->samples, ev->select.n ? " and --select" : "");
        return -1;
    }
    if (!(ord = ev_setting_order(ev)))
        return -1;
    ev_print_table(ev, ord, stdout);
    fflush(stdout);
    if ((!a->csv || ev_write_csv(ev, a->csv) == 0) &&
        (!a->montage ||
         ev_write_montage(ev, ord, a->montage, (int)a->montage_rows) == 0))
        rc = 0;
    free(ord);
    return rc;
}

static void evaluation_free(evaluation *ev)
{
    for (int i = 0; i < ev->n_refs; i++)
        free(ev->refs[i].real);
    for (int i = 0; i < ev->n_settings; i++) {
        setting *s = &ev->settings[i];
        free(s->model), free(s->layer), free(s->method);
        free(s->variant), free(s->score), free(s->target);
    }
    for (int i = 0; i < ev->n_maps; i++)
        free(ev->maps[i].heatmap), free(ev->maps[i].overlay);
    for (int i = 0; i < ev->n_class_names; i++)
        free(ev->class_names[i]);
    free(ev->class_names);
    free(ev->refs), free(ev->src_w), free(ev->src_h);
    free(ev->settings), free(ev->maps), free(ev->first_unmatched);
    cli_list_free(&ev->select);
    rsi_samples_free(&ev->samples);
}

int cli_evaluate(int argc, char **argv)
{
    evaluate_args a = {.montage_rows = 8};
    evaluation ev = {0};
    int rc = parse_args(argc, argv, &a, &ev.select);
    if (rc == 1) {
        fputs(usage_text, stdout);
        rc = 0;
    } else if (rc < 0 || run(&a, &ev) < 0) {
        rc = cli_fail();
    }
    cli_list_free(&a.results);
    evaluation_free(&ev);
    return rc;
}
