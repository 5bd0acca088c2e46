/* rsicam — what the experiment loader's and runner's files share; not an
 * API (experiment.h is).
 *
 * Loading goes section by section over one configuration tree. Each
 * section records its problems in the loader's rsi_diag and carries on, so
 * that one run reports everything; a section whose inputs are broken (no
 * model, say) skips the checks that depend on them rather than adding
 * follow-on noise.
 */
#ifndef RSICAM_EXPERIMENT_INTERNAL_H
#define RSICAM_EXPERIMENT_INTERNAL_H

#include <signal.h>

#include "experiment.h"
#include "outdir.h"

typedef struct xp_loader {
    rsi_experiment *xp;
    rsi_cfg *doc;
    rsi_diag *d;
    char *config_dir;    /* absolute; relative paths in the file start here */
    char *cwd;           /* relative paths in overrides start here */
    json_t *target_json; /* resolved targets, in the file's order */
    json_t *metrics_json;
    json_t *images_json;
    json_t *model_json;
    json_t *plugin_path_json;
} xp_loader;

/* ---- generic checks (experiment_schema.c) ----------------------------- */

/* A scalar-or-list's item count and items: a list gives its items, a
 * single value counts as a list of one, null as none. */
int xp_count(const rsi_cfg *n);
rsi_cfg *xp_item(const rsi_cfg *n, int i);

/* The text of a scalar (non-null), or NULL after recording "KEY: expected
 * WHAT, got ...". */
const char *xp_text(xp_loader *ld, const rsi_cfg *n, const char *key,
                    const char *what);
/* An integer within [min, max] (max < min: no upper bound). */
int xp_int(xp_loader *ld, const rsi_cfg *n, const char *key, int64_t min,
           int64_t max, int64_t *out);
/* Records every key of map not in valid[0..n) as unknown, naming the
 * nearest valid one. Returns the number of unknown keys. */
int xp_check_keys(xp_loader *ld, const rsi_cfg *map, const char *section,
                  const char *const *valid, int n);
/* An unknown name among valid ones: "KEY: unknown WHAT 'x' (did you mean
 * 'y'?); valid: a, b". */
/* names[0..n) as "a, b, c" into out (cut to size). */
void xp_join(const char *const *names, int n, char *out, size_t size);
void xp_unknown(xp_loader *ld, const rsi_cfg *at, const char *key,
                const char *what, const char *name, const char *const *valid,
                int n);

/* A path written in node n made absolute: relative to the config file's
 * directory for file nodes, to the working directory for overrides.
 * Lexical ("a/../b" -> "b"); symbolic links are kept. New string. */
char *xp_path(const xp_loader *ld, const rsi_cfg *n, const char *text);
/* dir + "/" + path, normalised lexically, or path when absolute. */
char *xp_absolute(const char *dir, const char *path);

/* ---- sections --------------------------------------------------------- */

/* experiment_override.c: applies one "a.b=value" to the tree. */
void xp_apply_override(xp_loader *ld, const char *assignment);

/* experiment_schema.c: the top-level keys, and the keys that need no
 * plugin or model. */
extern const char *const xp_top_keys[];
extern const int xp_n_top_keys;
void xp_check_top_keys(xp_loader *ld);
void xp_read_simple(xp_loader *ld);

/* experiment_plugins.c: the registry, the model, baselines and paths,
 * layers and classes. */
int xp_open_registry(xp_loader *ld, const char *const *dirs, int n_dirs);
void xp_read_model(xp_loader *ld);
void xp_read_plugin_lists(xp_loader *ld);
void xp_read_layers(xp_loader *ld);

/* experiment_targets.c: targets (class names need the model's labels). */
void xp_read_targets(xp_loader *ld);

/* experiment_images.c: image sources, labels and boxes. */
void xp_read_images(xp_loader *ld);

/* experiment_plan.c: groups, slugs, settings and the resolved config. */
int xp_plan(xp_loader *ld);

/* ---- ids and settings (experiment_plan.c) ----------------------------- */

/* 16 hex digits of a 64-bit FNV-1a hash of v's canonical JSON (sorted
 * keys, compact): the same settings give the same id in every run. */
void xp_hash_json(const json_t *v, char out[17]);
/* The settings of one map record: the group's settings plus its layer,
 * method, variant, score and target (new object). */
json_t *xp_record_settings(const rsi_xp_group *g, const json_t *record);
/* What must not change between a run and its resumption: the resolved
 * config less images, output, batch and threads (16 hex digits). */
void xp_fingerprint(const rsi_experiment *xp, char out[17]);

/* ---- the runner's parts ----------------------------------------------- */

/* experiment_hook.c: per-map metrics, as an rsi_map_hook. user is an
 * xp_hook_state whose image is set before each unit. */
typedef struct xp_hook_state {
    const rsi_experiment *xp;
    const rsi_xp_image *image;
    int src_w, src_h; /* the image's own size, for its box; 0: unknown */
    /* the unit's substrates, made at its first map */
    rsi_tensor *deletion_base, *insertion_base;
} xp_hook_state;
int xp_metrics_hook(void *user, rsi_model *model, const rsi_map_view *view,
                    json_t *record);
/* Before each unit: forgets the last unit's image and substrates. */
void xp_hook_reset(xp_hook_state *hs, const rsi_xp_image *image);
/* Whether xp asks for any metric the hook computes. */
int xp_metrics_need_hook(const rsi_experiment *xp);

/* experiment_montage.c: one PNG per image from its records (rows:
 * settings; columns: input, heatmap, overlay). out is the experiment's
 * output directory, where the records' file names start. */
int xp_write_montage(const char *out, const char *image, const char *stem,
                     const json_t *records);
/* The labels of a montage whose rows are the records in rows, in order:
 * [0] heads the input column, [1..n] label the rows (new strings, NULL on
 * no memory; free with xp_montage_labels_free(labels, n)). */
char **xp_montage_labels(const json_t *rows);
void xp_montage_labels_free(char **labels, size_t n);
/* OUT/montages/STEM.png (new string). */
char *xp_montage_path(const char *out, const char *stem);

/* experiment_state.c: the output directory. */
typedef struct xp_state {
    rsi_out out;   /* the directory's lock and record of temporaries */
    char *results; /* OUT/results.jsonl */
    json_t *done;  /* object: "group\nimage" -> true, for finished units */
} xp_state;
/* Locks out (one run per directory), removes what a killed run left
 * (temporary files, a torn last line), reads the finished units, and
 * checks that the directory holds this experiment or none. */
int xp_state_open(xp_state *st, const rsi_experiment *xp);
void xp_state_close(xp_state *st);
int xp_state_is_done(const xp_state *st, const char *group, const char *image);
int xp_state_mark_done(xp_state *st, const char *group, const char *image);
/* The records of one image in results (new array), for montages of
 * images whose units finished in an earlier run. */
json_t *xp_records_of_image(const char *results, const char *image);

/* experiment_signals.c: SIGINT or SIGTERM during a run is noted, and the
 * run stops after the unit in progress (a second one acts at once). */
typedef struct xp_signals {
    int installed;
    struct sigaction old_int, old_term;
} xp_signals;
void xp_signals_catch(xp_signals *s);
/* The signal caught since xp_signals_catch(), or 0. */
int xp_signals_caught(void);
void xp_signals_restore(xp_signals *s);

/* experiment_progress.c: maps done/total, rate, ETA on stderr. */
typedef struct xp_progress {
    int tty, quiet;
    int64_t total, done, done_at_start; /* maps handled: made or failed */
    int64_t failed;                     /* maps of failed units */
    double start;
    int last_len;
} xp_progress;
void xp_progress_start(xp_progress *p, int64_t total, int64_t done, int quiet);
/* After a unit of maps maps (failed: none of them was made): a \r line on
 * a terminal, else one log line. Failed maps count towards the end (they
 * will not come) but not as maps made. */
void xp_progress_unit(xp_progress *p, int64_t maps, int failed,
                      const char *what);
void xp_progress_end(xp_progress *p);
double xp_now(void);

#endif
