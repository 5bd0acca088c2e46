/* rsicam — `--batch auto` on a CPU: the batch measured, not assumed
 * (explain_impl.h).
 *
 * How a forward's cost per point changes with its rows depends on the CPU
 * (caches, vector width, oneDNN's blocking): on an Intel CPU with AVX-512
 * 8 rows beat 1, 16 and 32; on an AMD EPYC with AVX2 a ResNet50 forward
 * cost 110 ms per image at 1 row, 143 ms at 8 and 242 ms at 17. So the
 * first image, repeated, runs forward and backward as the stream will run
 * it (the explainer's layers and score kinds, the model's precision and
 * threads) at each candidate batch. Each candidate's pace is measured and
 * also what its first run cost beyond that pace: once per process, memory
 * touched for the first time and oneDNN's kernels for the new shape. A
 * command then takes the batch that costs least for the points it has
 * queued: on a 2-core AMD EPYC VM, 16 rows of ResNet50 `layer4` ran a
 * point 2-7% faster than 8 once warm, but their first forwards wrote
 * about 100 MB more memory new to the process, and one image's 51 points
 * took 2.02 s at 16 against 1.77 s at 8 (5 runs each, by hand).
 * The measurement is cached per model file, layers, precision, threads,
 * input size, CPU, the graph executor in force, the RSICAM_HEAD /
 * OPENBLAS_THREAD_TIMEOUT / OPENBLAS_CORETYPE settings and whether large
 * blocks sit in huge pages (which changes how much larger batches cost),
 * so that only the first run on a machine pays for it; each command
 * chooses from it.
 *
 * Where the network after the layer is wide (rsi_model_wide_tail), the
 * stream's forwards take up to 64 points with the head run the candidate's
 * rows at a time (ex_settle_forward_rows): the tail then costs the same
 * whatever the candidate, so only the head is timed. Timed whole, VGG19
 * `features.36`'s classifier (about 13 ms a point at 8 rows, 8 at 16)
 * made 16 rows look cheaper than 8, and 16 rows' first runs cost 460-620
 * ms more memory new to the process.
 *
 * A measurement taken while other work shared the cores is used for the
 * command that took it but not cached: the candidates' times then follow
 * the other work (on a 2-core AMD EPYC with one busy loop beside it, 4
 * rows measured 1.2 to 1.3 times 2 and 8, where quietly they tie), and a
 * cached choice would outlive it. libtorch's threads waited for a CPU
 * 0.3-2.3% of the measuring on a quiet machine and 38-52% beside one or
 * two busy loops; more than RSICAM_CALIBRATION_MAX_WAIT (default 10%) is
 * busy.
 */
#include <inttypes.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpu_wait.h"
#include "explain_impl.h"
#include "fileio.h"
#include "numbers.h"
#include "path.h"
#include "regular_file.h"

/* Powers of two: the CPUs measured so far (bench/results, the issue's
 * AMD EPYC) had their best between 1 and 16 rows. */
static const int64_t candidates[EX_BATCH_CANDIDATES] = {1, 2, 4, 8, 16};
/* Rounds of timed runs (ex_measure_candidates): each candidate runs once
 * more than this, its first run untimed. */
#define ROUNDS 3
/* Past the knee: a candidate whose pace is this many times the best. */
#define KNEE 1.5
/* Costs within 1% count as equal, the fewer rows winning. Before the
 * one-time costs were counted the margin was 3% of the pace, which also
 * stood for the memory that more rows hold; counted, that memory's first
 * touch is in the costs, and 3% of them hid a real gain: VGG19
 * `features.36`, one image on a 2-core AMD EPYC, costs 7,040 ms at 16 rows
 * against 7,203 at 8 as measured (2.3%), and ran 6.08 s against 6.35 s (3
 * runs each, by hand). */
#define TIE 0.01
/* The default share of the measuring that libtorch's threads may wait
 * for a CPU, and the setting that changes it (1: cache whatever was
 * measured, as the test suite does, whose tests run side by side). */
#define MAX_WAIT_DEFAULT 0.10
#define MAX_WAIT_ENV "RSICAM_CALIBRATION_MAX_WAIT"
/* 2: measured with OpenBLAS's workers asleep (core/torch/openblas.cpp);
 * format 1's measurements had them spinning, which cost batch 1 most.
 * 3: keyed by huge pages (core/torch/huge_pages.cpp); format 2's were
 * taken with small ones, which cost larger batches most.
 * 4: keyed by the executor in force, which the command now chooses per
 * device; format 3's named only RSICAM_EXECUTOR.
 * 5: stored only when measured on a quiet CPU; format 4's may have been
 * measured beside other work.
 * 6: each candidate's one-time cost too, and no choice: each command
 * chooses for its own points; format 5 stored the fastest pace's batch.
 * 7: the head alone where the tail is wide; format 6 timed the whole run.
 * 8: bf16 heads run channels-last on AVX-512 CPUs (core/torch/split_head.h),
 * which changed their paces; format 7's were measured in NCHW.
 * 9: float32 heads run each relu inside the oneDNN batch norm or sum
 * before it (core/torch/onednn_relu.h), which changed their paces; format
 * 8's were measured with the relus apart.
 * 10: the paces compared within rounds through all the candidates and
 * the first run's cost against its neighbour (ex_measure_candidates);
 * format 9's timed runs were back to back, and one slow spell of the host
 * could decide a candidate's pace. Also VGG-like heads' relus run inside
 * their convolutions since format 10 (onednn_relu.h).
 * 11: keyed by OPENBLAS_CORETYPE; on a CPU that OpenBLAS does not know,
 * rsicam now gives it the kernels the CPU can run (core/torch/openblas.cpp),
 * where format 10's were measured on its SSE3 fallback. */
#define CACHE_FORMAT "rsicam batch calibration 11"

/* The first "model name" of /proc/cpuinfo, or "unknown cpu". */
static void cpu_name(char *out, size_t n)
{
    snprintf(out, n, "unknown cpu");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        const char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon) {
            snprintf(out, n, "%s", colon + 1 + (colon[1] == ' '));
            out[strcspn(out, "\n")] = '\0';
            break;
        }
    }
    fclose(f);
}

/* An environment setting as the key spells it: unset is "default". */
static const char *env_or(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : "default";
}

/* Everything the cost per point depends on, as one line; NULL when the
 * model's file cannot be seen (nothing is cached then). */
static char *cache_key(const rsi_explainer *e, int head_alone)
{
    const char *file = rsi_model_path(e->model);
    struct stat st;
    char *real = file ? realpath(file, NULL) : NULL;
    if (!real || stat(real, &st) != 0) {
        free(real);
        return NULL;
    }
    const rsi_model_info *info = rsi_model_get_info(e->model);
    char cpu[256];
    cpu_name(cpu, sizeof cpu);
    char *key = NULL;
    size_t size;
    FILE *f = open_memstream(&key, &size);
    if (!f) {
        free(real);
        return NULL;
    }
    fprintf(f,
            "%s|model %s|%lld bytes|mtime %lld.%09ld|precision %s|threads "
            "%d|input %lldx%lld|score kinds %d|cpu %s|cores %ld|executor "
            "%s|head %s|openblas timeout %s|openblas kernels %s|huge pages "
            "%d|wide tail %d|layers",
            CACHE_FORMAT, real, (long long)st.st_size,
            (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
            rsi_model_get_precision(e->model), rsi_torch_get_threads(),
            (long long)info->input_h, (long long)info->input_w, e->n_kinds, cpu,
            sysconf(_SC_NPROCESSORS_ONLN), rsi_torch_executor(),
            env_or("RSICAM_HEAD"), env_or("OPENBLAS_THREAD_TIMEOUT"),
            env_or("OPENBLAS_CORETYPE"), rsi_torch_huge_pages(), head_alone);
    for (int l = 0; l < e->opt.n_layers; l++)
        fprintf(f, " %s", e->opt.layers[l]);
    free(real);
    if (fclose(f) != 0) {
        free(key);
        return NULL;
    }
    return key;
}

/* The cache's folder: RSICAM_CACHE_DIR, else $XDG_CACHE_HOME/rsicam, else
 * ~/.cache/rsicam; NULL when none is known. */
static char *cache_dir(void)
{
    const char *dir = getenv("RSICAM_CACHE_DIR");
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    if (dir && *dir)
        return strdup(dir);
    if (xdg && *xdg)
        return rsi_path_join(xdg, "rsicam");
    if (home && *home)
        return rsi_path_join(home, ".cache/rsicam");
    return NULL;
}

/* dir/batch-HASH.json, HASH the key's 64-bit FNV-1a. */
static char *cache_file(const char *dir, const char *key)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *c = key; *c; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211ull;
    char name[64];
    snprintf(name, sizeof name, "batch-%016" PRIx64 ".json", h);
    return rsi_path_join(dir, name);
}

/* A candidate's name in the cache's objects: its rows. */
static void rows_name(int i, char *out, size_t n)
{
    snprintf(out, n, "%lld", (long long)candidates[i]);
}

/* The measurement cached for key into ms and once (-1 past the candidates
 * measured): 1, or 0 when there is none, another key's, one not ours or
 * one that does not read as a measurement. */
static int cached_measurement(const char *path, const char *key, double *ms,
                              double *once, int *ours)
{
    char *text = NULL;
    size_t len;
    const char *why;
    *ours = 0;
    if (rsi_read_regular(path, 1 << 16, &text, &len, &why) < 0)
        return 0;
    json_t *doc = json_loadb(text, len, 0, NULL);
    free(text);
    const char *k = json_string_value(json_object_get(doc, "key"));
    const json_t *per_point = json_object_get(doc, "ms_per_point");
    const json_t *first = json_object_get(doc, "once_ms");
    *ours = k && strncmp(k, CACHE_FORMAT "|", strlen(CACHE_FORMAT) + 1) == 0;
    int n = 0;
    if (*ours && strcmp(k, key) == 0)
        for (; n < EX_BATCH_CANDIDATES; n++) {
            char rows[24];
            rows_name(n, rows, sizeof rows);
            const json_t *m = json_object_get(per_point, rows);
            const json_t *o = json_object_get(first, rows);
            if (!json_is_number(m) || !json_is_number(o) ||
                !(json_number_value(m) > 0) || !(json_number_value(o) >= 0))
                break;
            ms[n] = json_number_value(m);
            once[n] = json_number_value(o);
        }
    for (int i = n; i < EX_BATCH_CANDIDATES; i++)
        ms[i] = once[i] = -1;
    json_decref(doc);
    return n > 0;
}

/* Writes the measurement: 0, or -1 (nothing said: a cache that cannot be
 * written is only slower). */
static int cache_store(const char *dir, const char *path, const char *key,
                       const double *ms, const double *once, int head_alone,
                       double waited)
{
    json_t *per_point = json_object(), *first = json_object();
    for (int i = 0; i < EX_BATCH_CANDIDATES && ms[i] >= 0; i++) {
        char rows[24];
        rows_name(i, rows, sizeof rows);
        json_object_set_new(per_point, rows, json_real(ms[i]));
        json_object_set_new(first, rows, json_real(once[i]));
    }
    json_t *doc = json_pack("{s:s, s:o, s:o, s:b, s:f}", "key", key,
                            "ms_per_point", per_point, "once_ms", first,
                            "head_alone", head_alone, "waited_for_cpu", waited);
    char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
    const int rc = dir && text && rsi_mkdir_p(dir) == 0 &&
                           rsi_write_file_atomic(path, text, strlen(text)) == 0
                       ? 0
                       : -1;
    rsi_error_clear();
    free(text);
    json_decref(doc);
    return rc;
}

/* One run of rows copies of x, forward and backward as the stream runs
 * it: milliseconds per point (of the head alone where the tail is wide),
 * or < 0 on failure (error pending). */
static double run_ms_per_point(rsi_explainer *e, const rsi_tensor *x,
                               int64_t rows, int head_alone)
{
    const rsi_tensor **copies = malloc((size_t)rows * sizeof *copies);
    const int n_layers = e->opt.n_layers, n_targets = e->n_kinds;
    rsi_tensor **acts = calloc((size_t)n_layers, sizeof *acts);
    rsi_tensor **grads = calloc((size_t)(n_layers * n_targets), sizeof *grads);
    rsi_tensor *scores[RSI_SCORE_KINDS];
    rsi_target targets[RSI_SCORE_KINDS];
    rsi_tensor *in = NULL;
    double ms = -1;
    if (!copies || !acts || !grads) {
        rsi_error("out of memory");
        goto done;
    }
    for (int64_t i = 0; i < rows; i++)
        copies[i] = x;
    if (rows > 1 && !(in = rsi_tensor_cat(copies, (int)rows, 0)))
        goto done;
    for (int t = 0; t < n_targets; t++)
        targets[t] = (rsi_target){.class_index = 0, .kind = e->kinds[t]};
    rsi_forward_result out = {.acts = acts, .grads = grads, .scores = scores};
    const double start = ex_now();
    if (rsi_model_run(e->model, in ? in : x, targets, n_targets, &out) < 0)
        goto done;
    const double seconds =
        head_alone ? rsi_model_head_seconds(e->model) : ex_now() - start;
    rsi_forward_result_release(&out, n_layers, n_targets);
    if (seconds < 0)
        rsi_error("the head did not run apart from the rest of the network");
    else
        ms = 1e3 * seconds / (double)rows;
done:
    rsi_tensor_free(in);
    free(copies);
    free(acts);
    free(grads);
    return ms;
}

double ex_calibration_max_wait(void)
{
    const char *v = getenv(MAX_WAIT_ENV);
    if (!v || !*v)
        return MAX_WAIT_DEFAULT;
    double share;
    if (rsi_parse_double(v, &share) != 0 || share < 0 || share > 1) {
        rsi_error_class_set(RSI_ERR_USAGE,
                            MAX_WAIT_ENV ": expected a share of the time in "
                                         "[0, 1], got '%s'",
                            v);
        return -1;
    }
    return share;
}

/* Whether libtorch's threads outnumber the CPUs this process may run on:
 * they then wait for one another (--threads 2 under `taskset -c 0`: 23-36%
 * of the measuring with nothing else running, 43% beside two busy loops),
 * and their wait says nothing certain of other work. */
static int threads_outnumber_cpus(void)
{
    cpu_set_t set;
    return sched_getaffinity(0, sizeof set, &set) == 0 &&
           rsi_torch_get_threads() > CPU_COUNT(&set);
}

/* The median of v[0..n-1] (n <= EX_BATCH_CANDIDATES), v left as it was. */
static double median(const double *v, int n)
{
    double sorted[EX_BATCH_CANDIDATES];
    for (int i = 0; i < n; i++) {
        int j = i;
        for (; j > 0 && sorted[j - 1] > v[i]; j--)
            sorted[j] = sorted[j - 1];
        sorted[j] = v[i];
    }
    return n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
}

/* The logarithm of a time in milliseconds, a nanosecond at least (a
 * clock that did not move). */
static double log_time(double ms)
{
    return log(ms > 1e-6 ? ms : 1e-6);
}

/* Each candidate's pace from ROUNDS rounds of timed runs, lg[r][i] the
 * logarithm of candidate i's time in round r: the host's speed is taken
 * as one per round (the candidates' median), each candidate's pace
 * relative to it as the median over the rounds (a spell that slows one
 * round, or part of it, is outvoted by the other two), and the whole
 * scaled to the quickest round's speed. */
static void paces_from_rounds(double lg[][EX_BATCH_CANDIDATES], int n,
                              double *ms)
{
    double speed[ROUNDS], relative[ROUNDS], quickest = 0;
    for (int r = 0; r < ROUNDS; r++) {
        speed[r] = median(lg[r], n);
        if (r == 0 || speed[r] < quickest)
            quickest = speed[r];
    }
    for (int i = 0; i < n; i++) {
        for (int r = 0; r < ROUNDS; r++)
            relative[r] = lg[r][i] - speed[r];
        ms[i] = exp(quickest + median(relative, ROUNDS));
    }
}

/* What the candidates cost, one forward at a time through probe. The
 * first run at a new shape is slow (memory new to the process, oneDNN's
 * kernels for the shape), so the first round runs each candidate twice
 * in turn, smallest first (each first run then pays for the memory the
 * candidates before it did not touch), and counts what the first run
 * cost beyond the second, its neighbour in time. Two more rounds run each
 * candidate once. A shared VM's host changes speed for seconds at a time
 * (ResNet50 `layer4` at 1 row, 2 cores of an Intel Xeon: 73.0 and 73.4 ms
 * a point back to back, 66.1 a round later; in one calibration every run
 * from the first at 8 rows on took a third longer), so a candidate's
 * timed runs back to back, as before, could measure it in a slow spell
 * and its neighbours outside it; within a round the candidates run close
 * together, and the paces come from comparing them there
 * (paces_from_rounds). The first round stops once a candidate costs half
 * again the best (past the knee the cost per point only grows), as
 * measured once more beside the best run again: a slow spell of the host
 * over the candidate's runs would otherwise end the measuring before the
 * larger candidates, which may be the fastest (VGG19's head at 8 rows
 * took half again 4 rows' time in two timed runs in a row on a 2-core
 * Intel Xeon, then the least of all in the two rounds after). */
int ex_measure_candidates(ex_pace_probe probe, void *ctx, double *ms,
                          double *once)
{
    double lg[ROUNDS][EX_BATCH_CANDIDATES], least = -1;
    int n = 0, best = 0;
    for (int i = 0; i < EX_BATCH_CANDIDATES; i++)
        ms[i] = once[i] = -1;
    while (n < EX_BATCH_CANDIDATES) {
        const int i = n++;
        const double first = probe(ctx, candidates[i]);
        double t = first < 0 ? -1 : probe(ctx, candidates[i]);
        if (t < 0)
            return -1;
        once[i] = first > t ? (first - t) * (double)candidates[i] : 0;
        int past_knee = 0;
        if (least >= 0 && t > KNEE * least) {
            /* the knee, or a slow spell of the host: the candidate and the
             * best so far run again, side by side */
            const double again = probe(ctx, candidates[i]);
            const double best_again =
                again < 0 ? -1 : probe(ctx, candidates[best]);
            if (best_again < 0)
                return -1;
            if (again < t)
                t = again;
            past_knee = t > KNEE * best_again;
        }
        lg[0][i] = log_time(t);
        if (least < 0 || t < least) {
            least = t;
            best = i;
        }
        if (past_knee)
            break;
    }
    for (int r = 1; r < ROUNDS; r++)
        for (int i = 0; i < n; i++) {
            const double t = probe(ctx, candidates[i]);
            if (t < 0)
                return -1;
            lg[r][i] = log_time(t);
        }
    paces_from_rounds(lg, n, ms);
    return 0;
}

/* The stream's forward and backward at `rows` rows (ex_pace_probe). */
typedef struct stream_probe {
    rsi_explainer *e;
    const rsi_tensor *x;
    int head_alone;
} stream_probe;

static double probe_stream(void *ctx, int64_t rows)
{
    const stream_probe *p = ctx;
    return run_ms_per_point(p->e, p->x, rows, p->head_alone);
}

/* ex_measure_candidates on the stream's forwards; *waited: the share of
 * the measuring that libtorch's threads spent waiting for a CPU (0 where
 * the kernel does not say). Returns 0, or -1 with the error pending. */
static int measure(rsi_explainer *e, const rsi_tensor *x, int head_alone,
                   double *ms, double *once, double *waited)
{
    stream_probe probe = {e, x, head_alone};
    const double start = ex_now(), wait0 = rsi_cpu_wait_seconds();
    if (ex_measure_candidates(probe_stream, &probe, ms, once) < 0)
        return -1;
    const double wait1 = rsi_cpu_wait_seconds();
    *waited =
        wait0 >= 0 && wait1 >= 0
            ? (wait1 - wait0) / ((ex_now() - start) * rsi_torch_get_threads())
            : 0;
    return 0;
}

int64_t ex_auto_batch_choice(const double *ms, const double *once, int n,
                             double points)
{
    double cost[EX_BATCH_CANDIDATES], least = -1, fresh = 0;
    if (n > EX_BATCH_CANDIDATES)
        n = EX_BATCH_CANDIDATES;
    for (int i = 0; i < n; i++) {
        fresh += once[i];
        cost[i] = fresh + points * ms[i];
        if (least < 0 || cost[i] < least)
            least = cost[i];
    }
    for (int i = 0; i < n; i++)
        if (cost[i] <= least * (1 + TIE))
            return candidates[i];
    return candidates[0];
}

/* The path points that share the one-time costs: opt.planned_images, else
 * the images queued when the first starts, each with as many as the first
 * image's path (a sequence path's own count; with --steps auto, not yet
 * open, the first steps + 1, the least it runs), one for maps without a
 * path. A Python Explainer that is fed one image at a time chooses for
 * that image, and keeps the choice. */
static double planned_points(const rsi_explainer *e, const flight *first)
{
    const int64_t images = e->opt.planned_images > 0 ? e->opt.planned_images
                                                     : e->n_queued - e->head;
    const int64_t each = !ex_walks_path(e)       ? 1
                         : first->path.total > 0 ? first->path.total
                                                 : e->opt.steps + 1;
    return (double)(images > 1 ? images : 1) * (double)each;
}

/* The candidates measured: those with a pace. */
static int n_measured(const double *ms)
{
    int n = 0;
    while (n < EX_BATCH_CANDIDATES && ms[n] >= 0)
        n++;
    return n;
}

int64_t ex_calibrated_batch(rsi_explainer *e, const flight *first)
{
    const rsi_tensor *x = first->x;
    const int64_t fallback = e->opt.batch;
    const double points = planned_points(e, first);
    const int head_alone = rsi_model_wide_tail(e->model) == 1;
    rsi_error_clear(); /* a model that cannot say is timed whole */
    char *key = cache_key(e, head_alone);
    char *dir = key ? cache_dir() : NULL;
    char *file = dir ? cache_file(dir, key) : NULL;
    int ours = 0;
    double ms[EX_BATCH_CANDIDATES], once[EX_BATCH_CANDIDATES], waited = 0;
    if (file && cached_measurement(file, key, ms, once, &ours)) {
        const int64_t batch =
            ex_auto_batch_choice(ms, once, n_measured(ms), points);
        if (e->trace.on)
            fprintf(stderr,
                    "rsicam: trace: batch auto: %lld for %.0f points, from "
                    "%s\n",
                    (long long)batch, points, file);
        free(key);
        free(dir);
        free(file);
        return batch;
    }
    const int ok = measure(e, x, head_alone, ms, once, &waited) == 0;
    const int judged = !threads_outnumber_cpus();
    int stored = 0;
    const int64_t batch =
        ok ? ex_auto_batch_choice(ms, once, n_measured(ms), points) : fallback;
    if (!ok) {
        fprintf(stderr,
                "rsicam: batch auto: measuring failed (%s); %lld "
                "points per forward\n",
                rsi_error_message(), (long long)fallback);
        rsi_error_clear();
    } else if (judged && waited > e->calibration_max_wait) {
        fprintf(stderr,
                "rsicam: batch auto: other work held the CPU %.0f%% of the "
                "measuring; %lld points per forward for this command, not "
                "cached (RSICAM_CALIBRATION_MAX_WAIT=1 caches it)\n",
                100 * waited, (long long)batch);
    } else if (file && (ours || access(file, F_OK) != 0)) {
        /* a file of that name that is not rsicam's stays as it is */
        stored = cache_store(dir, file, key, ms, once, head_alone, waited) == 0;
    }
    if (e->trace.on) {
        fprintf(stderr, "rsicam: trace: batch auto: %lld for %.0f points",
                (long long)batch, points);
        for (int part = 0; ok && part < 2; part++) {
            fprintf(stderr, part         ? "; once ms:"
                            : head_alone ? "; ms per point of the head:"
                                         : "; ms per point:");
            for (int i = 0; i < n_measured(ms); i++)
                fprintf(stderr, " %lld: %.2f", (long long)candidates[i],
                        part ? once[i] : ms[i]);
        }
        fprintf(stderr, "; waited for a CPU %.1f%%%s; %s%s\n", 100 * waited,
                judged ? "" : " (more threads than CPUs: not judged)",
                stored ? "cached in " : "not cached", stored ? file : "");
    }
    free(key);
    free(dir);
    free(file);
    return batch;
}
