/* rsicam — running an experiment (see experiment.h).
 *
 * One explainer per pass group computes every layer, method, score and
 * target of an image in one walk along its path. Units run in order; each
 * appends its records in one write after its map files exist, so a killed
 * run resumes where it stopped (experiment_state.c) and ends with the same
 * results.jsonl as a run that was never stopped.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_emit.h"
#include "experiment_internal.h"
#include "fileio.h"
#include "image.h"
#include "path.h"
#include "report_html.h"
#include "results.h"
#include "rsicam/error.h"
#include "summary.h"

#ifndef RSICAM_VERSION
#define RSICAM_VERSION "unknown"
#endif

/* resolved.yaml: the experiment as run, to rerun or read later. */
static int write_resolved(const char *out, const json_t *resolved)
{
    char *text = rsi_yaml_from_json(
        resolved, "rsicam: the resolved experiment (after overrides and "
                  "defaults).\nRun it again with: rsicam run resolved.yaml");
    char *path = NULL;
    int rc = -1;
    if (text && asprintf(&path, "%s/resolved.yaml", out) >= 0)
        rc = rsi_write_file_atomic(path, text, strlen(text));
    free(text);
    free(path);
    return rc;
}

/* run.json: what the next run into this directory checks (fingerprint),
 * what merge needs (resolved), and how the last run went. */
static int write_run_json(const rsi_experiment *xp, const rsi_run_options *ro,
                          const rsi_run_stats *st, const char *state)
{
    char fp[17], shard[64];
    xp_fingerprint(xp, fp);
    snprintf(shard, sizeof shard, "%d/%d", ro->shard_k, ro->shard_n);
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:s, s:O, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:f}}",
        "rsicam", RSICAM_VERSION, "fingerprint", fp, "state", state, "shard",
        shard, "resolved", xp->resolved, "last_run", "units",
        (json_int_t)st->units, "computed", (json_int_t)st->computed, "skipped",
        (json_int_t)st->skipped, "failed", (json_int_t)st->failed, "maps",
        (json_int_t)st->maps, "forwards", (json_int_t)st->forwards, "seconds",
        st->seconds);
    char *text = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
    char *path = rsi_path_join(xp->output, "run.json");
    int rc =
        text && path ? rsi_write_file_atomic(path, text, strlen(text)) : -1;
    if (!text || !path)
        rsi_error("out of memory");
    json_decref(o);
    free(text);
    free(path);
    return rc;
}

typedef struct runner {
    rsi_experiment *xp;
    const rsi_run_options *ro;
    rsi_run_stats *st;
    xp_state state;
    xp_hook_state hook;
    xp_progress progress;
    rsi_explainer **explainers;
    char **map_dirs, **prefixes;
    int first_failure; /* exit code of the first failed image */
} runner;

static int mine(const runner *r, int64_t unit)
{
    return unit % r->ro->shard_n == r->ro->shard_k - 1;
}

/* The units of group g that this shard runs, done ones included. */
static int64_t group_units(const runner *r, int g)
{
    int64_t n = 0;
    for (int i = 0; i < r->xp->n_images; i++)
        n += mine(r, (int64_t)i * r->xp->n_groups + g);
    return n;
}

static int open_explainers(runner *r)
{
    rsi_experiment *xp = r->xp;
    int n = xp->n_groups;
    r->explainers = calloc((size_t)n, sizeof *r->explainers);
    r->map_dirs = calloc((size_t)n, sizeof *r->map_dirs);
    r->prefixes = calloc((size_t)n, sizeof *r->prefixes);
    if (!r->explainers || !r->map_dirs || !r->prefixes) {
        rsi_error("out of memory");
        return -1;
    }
    for (int g = 0; g < n; g++) {
        const rsi_xp_group *grp = &xp->groups[g];
        if (asprintf(&r->prefixes[g], "maps/%s/", grp->slug) < 0 ||
            !(r->map_dirs[g] = rsi_path_join(xp->output, r->prefixes[g]))) {
            rsi_error("out of memory");
            return -1;
        }
        r->map_dirs[g][strlen(r->map_dirs[g]) - 1] = '\0';
        if (rsi_mkdir_p(r->map_dirs[g]) < 0)
            return -1;
        const rsi_xp_plugin *b = &xp->baselines[grp->baseline];
        const rsi_xp_plugin *p = &xp->paths[grp->path];
        rsi_explain_options opt = {
            .layers = (const char *const *)xp->layers,
            .n_layers = xp->n_layers,
            .methods = xp->methods,
            .variants = xp->variants,
            .score_kinds = xp->score_kinds,
            .steps = grp->steps ? grp->steps : 4, /* auto starts at 4 */
            .tol = grp->steps ? 0 : xp->tol,
            .max_steps = xp->max_steps,
            .batch = xp->batch,
            .baseline = b->plugin,
            .baseline_params = b->params,
            .path = p->plugin,
            .path_params = p->params,
            .out_dir = r->map_dirs[g],
            .model_name = xp->model_name,
            .rules = xp->rules,
            .n_rules = xp->n_rules,
            .results_file = r->state.results,
            .file_prefix = r->prefixes[g],
            .files = xp->outputs & RSI_FILE_ALL,
            .hook = xp_metrics_need_hook(xp) ? xp_metrics_hook : NULL,
            .hook_user = &r->hook,
            /* resume and shards skip units: an image's maps must not
             * depend on the images run before it (explain.h), nor on
             * how many are left */
            .image_per_forward = 1,
            .planned_images = group_units(r, g),
        };
        if (!(r->explainers[g] = rsi_explainer_new(xp->model, &opt)))
            return -1;
    }
    return 0;
}

/* Adds what ties a record to its unit and setting. */
static void decorate(const runner *r, int64_t unit, int g, int i,
                     int64_t forwards, json_t *records)
{
    const rsi_xp_group *grp = &r->xp->groups[g];
    size_t k;
    json_t *o;
    json_array_foreach(records, k, o)
    {
        json_object_set_new(o, "unit", json_integer(unit));
        json_object_set_new(o, "group", json_string(grp->slug));
        json_object_set_new(o, "stem", json_string(r->xp->images[i].stem));
        json_object_set_new(o, "forwards", json_integer(forwards));
        const char *status = json_string_value(json_object_get(o, "status"));
        if (status && strcmp(status, "ok") == 0) {
            json_t *s = xp_record_settings(grp, o);
            char id[17];
            xp_hash_json(s, id);
            json_object_set_new(o, "setting_id", json_string(id));
            json_object_set_new(o, "settings", s);
        }
    }
}

/* Runs one unit. Returns 0 (also for an image that failed and was
 * recorded), or -1 when the run cannot go on. */
static int run_unit(runner *r, int i, int g, json_t *image_records)
{
    rsi_experiment *xp = r->xp;
    const rsi_xp_image *im = &xp->images[i];
    const int64_t unit = (int64_t)i * xp->n_groups + g;
    rsi_explainer *e = r->explainers[g];
    xp_hook_reset(&r->hook, im);
    const int64_t before = rsi_explainer_forwards(e);
    json_t *records = NULL;
    /* the image is the oldest queued (run_units queued them in order) */
    int rc = rsi_explain_next_records(e, &records);
    xp_hook_reset(&r->hook, NULL);
    /* run during this turn, for the totals: each forward counted once */
    const int64_t forwards = rsi_explainer_forwards(e) - before;
    if (rc < 0) {
        rsi_error_class cls = rsi_error_get_class();
        if (cls == RSI_ERR_OUTPUT || !records) {
            json_decref(records); /* the disk, not the image: stop */
            return -1;
        }
        fprintf(stderr, "rsicam: %s\n", rsi_error_message());
        if (!r->first_failure)
            r->first_failure = cls != RSI_ERR_NONE ? (int)cls : 70;
        rsi_error_clear();
        r->st->failed++;
    }
    decorate(r, unit, g, i, rsi_explainer_image_forwards(e), records);
    if (rsi_results_append(r->state.results, records) < 0 ||
        xp_state_mark_done(&r->state, xp->groups[g].slug, im->path) < 0) {
        json_decref(records);
        return -1;
    }
    int64_t maps = rc == 0 ? (int64_t)json_array_size(records) : 0;
    r->st->computed++;
    r->st->maps += maps;
    r->st->forwards += forwards;
    json_array_extend(image_records, records);
    json_decref(records);
    char what[600];
    snprintf(what, sizeof what, "unit %" PRId64 " (%s, %s)", unit, im->stem,
             xp->groups[g].slug);
    /* a failed unit's maps will not come: towards the end, not as made */
    xp_progress_unit(&r->progress, rsi_experiment_maps_per_unit(xp), rc < 0,
                     what);
    return 0;
}

/* The image's montage, when this run holds all of its units and one of
 * them ran now or the montage is missing. */
static int montage(runner *r, int i, int computed, int skipped, json_t *records)
{
    const rsi_xp_image *im = &r->xp->images[i];
    char *path = xp_montage_path(r->xp->output, im->stem);
    if (!path) {
        rsi_error("out of memory");
        return -1;
    }
    int need = computed || access(path, F_OK) != 0;
    free(path);
    if (!need)
        return 0;
    json_t *all = skipped ? xp_records_of_image(r->state.results, im->path)
                          : json_incref(records);
    int rc =
        all ? xp_write_montage(r->xp->output, im->path, im->stem, all) : -1;
    json_decref(all);
    return rc;
}

static int run_units(runner *r)
{
    rsi_experiment *xp = r->xp;
    int64_t total = 0, done = 0;
    for (int i = 0; i < xp->n_images; i++)
        for (int g = 0; g < xp->n_groups; g++) {
            int64_t u = (int64_t)i * xp->n_groups + g;
            if (!mine(r, u))
                continue;
            total++;
            if (xp_state_is_done(&r->state, xp->groups[g].slug,
                                 xp->images[i].path))
                done++;
            /* queued ahead, so that a forward can hold several images'
             * points and the next image is read while one walks */
            else if (rsi_explainer_queue(r->explainers[g], xp->images[i].path,
                                         &(rsi_image_request){
                                             .stem = xp->images[i].stem,
                                             .label = xp->images[i].label}) < 0)
                return -1;
        }
    r->st->units = total;
    const int64_t per_unit = rsi_experiment_maps_per_unit(xp);
    xp_progress_start(&r->progress, total * per_unit, done * per_unit,
                      r->ro->quiet);
    for (int i = 0; i < xp->n_images; i++) {
        int here = 1, computed = 0, skipped = 0;
        json_t *records = json_array();
        for (int g = 0; g < xp->n_groups && records; g++) {
            int64_t u = (int64_t)i * xp->n_groups + g;
            if (!mine(r, u)) {
                here = 0;
            } else if (xp_state_is_done(&r->state, xp->groups[g].slug,
                                        xp->images[i].path)) {
                skipped++;
            } else if (xp_signals_caught()) {
                json_decref(records); /* the rest is for a rerun */
                r->st->skipped += skipped;
                return 1;
            } else if (run_unit(r, i, g, records) < 0) {
                json_decref(records);
                return -1;
            } else {
                computed++;
            }
        }
        r->st->skipped += skipped;
        int rc = records ? 0 : -1;
        if (rc == 0 && here && (xp->outputs & RSI_XP_OUT_MONTAGE))
            rc = montage(r, i, computed, skipped, records);
        json_decref(records);
        if (rc < 0)
            return -1;
    }
    xp_progress_end(&r->progress);
    return 0;
}

/* After SIGINT or SIGTERM: run.json says "interrupted", one line says
 * what to do; returns the exit code (128 + the signal, as the shell's). */
static int interrupted(runner *r, double start)
{
    const int sig = xp_signals_caught();
    xp_progress_end(&r->progress);
    r->st->seconds = xp_now() - start;
    if (write_run_json(r->xp, r->ro, r->st, "interrupted") < 0)
        return -1;
    fprintf(stderr,
            "rsicam: run: interrupted by %s after %" PRId64 " of %" PRId64
            " units; run it again to resume\n",
            sig == SIGTERM ? "SIGTERM" : "SIGINT",
            r->st->skipped + r->st->computed, r->st->units);
    return 128 + sig;
}

static void runner_close(runner *r)
{
    for (int g = 0; g < r->xp->n_groups; g++) {
        if (r->explainers)
            rsi_explainer_free(r->explainers[g]);
        if (r->map_dirs)
            free(r->map_dirs[g]);
        if (r->prefixes)
            free(r->prefixes[g]);
    }
    free(r->explainers);
    free(r->map_dirs);
    free(r->prefixes);
    xp_hook_reset(&r->hook, NULL);
    xp_state_close(&r->state);
}

int rsi_experiment_run(rsi_experiment *xp, const rsi_run_options *ro,
                       rsi_run_stats *stats)
{
    const double start = xp_now();
    *stats = (rsi_run_stats){0};
    runner r = {.xp = xp, .ro = ro, .st = stats, .hook = {.xp = xp}};
    r.state.out.fd = -1;
    int rc = -1, ran = -1;
    xp_signals signals;
    xp_signals_catch(&signals);
    char *summary = rsi_path_join(xp->output, RSI_SUMMARY_FILE);
    if (!summary || rsi_torch_set_threads(xp->threads) < 0)
        goto out;
    /* while the models load; after the threads, which write the
     * environment that its start-up reads, and after the plugin scan's
     * forks (when the experiment was loaded), as rsi_vips_init_ahead asks */
    rsi_vips_init_ahead();
    if (xp_state_open(&r.state, xp) < 0 ||
        write_resolved(xp->output, xp->resolved) < 0 ||
        write_run_json(xp, ro, stats, "running") < 0 ||
        open_explainers(&r) < 0 || (ran = run_units(&r)) < 0)
        goto out;
    if (ran == 1) {
        rc = interrupted(&r, start);
        goto out;
    }
    if (rsi_summary_write(r.state.results, summary) < 0 ||
        rsi_report_html_write(xp->output, "rsicam run") < 0)
        goto out;
    stats->seconds = xp_now() - start;
    if (write_run_json(xp, ro, stats, "done") < 0)
        goto out;
    if (!ro->quiet)
        fprintf(stderr,
                "rsicam: run: %" PRId64 " units (%" PRId64 " computed, %" PRId64
                " skipped, %" PRId64 " failed), %" PRId64 " maps, %" PRId64
                " forward passes, %.1f s\n",
                stats->units, stats->computed, stats->skipped, stats->failed,
                stats->maps, stats->forwards, stats->seconds);
    rc = r.first_failure;
out:
    if (rc < 0)
        xp_progress_end(&r.progress);
    runner_close(&r);
    xp_signals_restore(&signals);
    free(summary);
    return rc;
}
