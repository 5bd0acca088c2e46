/* rsicam — `--batch auto` on a CPU: the batch measured, not assumed
 * (explain_impl.h).
 *
 * How a forward's cost per point changes with its rows depends on the CPU
 * (caches, vector width, oneDNN's blocking): on an Intel CPU with AVX-512
 * 8 rows beat 1, 16 and 32; on an AMD EPYC with AVX2 a ResNet50 forward
 * cost 110 ms per image at 1 row, 143 ms at 8 and 242 ms at 17. So the
 * first image, repeated, runs forward and backward as the stream will run
 * it (the explainer's layers and score kinds, the model's precision and
 * threads) at each candidate batch, and the least time per point wins.
 * The answer is cached per model file, layers, precision, threads, input
 * size, CPU, the graph executor in force, the RSICAM_HEAD /
 * OPENBLAS_THREAD_TIMEOUT settings and whether large blocks sit in huge
 * pages (which changes how much larger batches cost), so that only the
 * first run on a machine pays for it.
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
static const int64_t candidates[] = {1, 2, 4, 8, 16};
#define N_CANDIDATES (int)(sizeof candidates / sizeof candidates[0])
/* Runs per candidate: warm ones, then timed ones. */
#define WARM 2
#define TIMED 2
/* Per-point times within 3% count as equal (measuring noise). */
#define TIE 0.03
/* The default share of the measuring that libtorch's threads may wait
 * for a CPU, and the setting that changes it (1: cache whatever was
 * measured, as the test suite does, whose tests run side by side). */
#define MAX_WAIT_DEFAULT 0.10
#define MAX_WAIT_ENV "RSICAM_CALIBRATION_MAX_WAIT"
/* 2: measured with OpenBLAS's workers asleep (core/torch/threads.cpp);
 * format 1's measurements had them spinning, which cost batch 1 most.
 * 3: keyed by huge pages (core/torch/huge_pages.cpp); format 2's were
 * taken with small ones, which cost larger batches most.
 * 4: keyed by the executor in force, which the command now chooses per
 * device; format 3's named only RSICAM_EXECUTOR.
 * 5: stored only when measured on a quiet CPU; format 4's may have been
 * measured beside other work. */
#define CACHE_FORMAT "rsicam batch calibration 5"

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
static char *cache_key(const rsi_explainer *e)
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
            "%s|head %s|openblas timeout %s|huge pages %d|layers",
            CACHE_FORMAT, real, (long long)st.st_size,
            (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
            rsi_model_get_precision(e->model), rsi_torch_get_threads(),
            (long long)info->input_h, (long long)info->input_w, e->n_kinds, cpu,
            sysconf(_SC_NPROCESSORS_ONLN), rsi_torch_executor(),
            env_or("RSICAM_HEAD"), env_or("OPENBLAS_THREAD_TIMEOUT"),
            rsi_torch_huge_pages());
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

/* The cached batch for key, or 0: none, another key's, or not ours. */
static int64_t cached_batch(const char *path, const char *key, int *ours)
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
    const json_t *batch = json_object_get(doc, "batch");
    int64_t b = 0;
    *ours = k && strncmp(k, CACHE_FORMAT "|", strlen(CACHE_FORMAT) + 1) == 0;
    if (*ours && strcmp(k, key) == 0 && json_is_integer(batch) &&
        json_integer_value(batch) >= 1 &&
        json_integer_value(batch) <= RSI_BATCH_MAX)
        b = json_integer_value(batch);
    json_decref(doc);
    return b;
}

/* Writes the measurement: 0, or -1 (nothing said: a cache that cannot be
 * written is only slower). */
static int cache_store(const char *dir, const char *path, const char *key,
                       int64_t batch, const double *ms, double waited)
{
    json_t *per_point = json_object();
    for (int i = 0; i < N_CANDIDATES && ms[i] >= 0; i++) {
        char rows[24];
        snprintf(rows, sizeof rows, "%lld", (long long)candidates[i]);
        json_object_set_new(per_point, rows, json_real(ms[i]));
    }
    json_t *doc = json_pack("{s:s, s:I, s:o, s:f}", "key", key, "batch",
                            (json_int_t)batch, "ms_per_point", per_point,
                            "waited_for_cpu", waited);
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
 * it: milliseconds per point, or < 0 on failure (error pending). */
static double run_ms_per_point(rsi_explainer *e, const rsi_tensor *x,
                               int64_t rows)
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
    ms = 1e3 * (ex_now() - start) / (double)rows;
    rsi_forward_result_release(&out, n_layers, n_targets);
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

/* Each candidate's least time per point over TIMED runs, after WARM runs
 * at its shape: the first run at a new shape is slow (the frozen head's
 * oneDNN convolutions lay their weights out for it, and the graph
 * executor profiles and optimises per shape), so the candidates are
 * measured one after the other, never interleaved; the stream, which
 * packs images into full forwards, changes shape about as rarely. Stops
 * once a candidate costs half again the best (past the knee the cost per
 * point only grows) and marks those not measured with -1. *waited: the
 * share of the measuring that libtorch's threads spent waiting for a CPU
 * (0 where the kernel does not say). Returns 0, or -1 with the error
 * pending. */
static int measure(rsi_explainer *e, const rsi_tensor *x, double *ms,
                   double *waited)
{
    double least = -1;
    const double start = ex_now(), wait0 = rsi_cpu_wait_seconds();
    for (int i = 0; i < N_CANDIDATES; i++)
        ms[i] = -1;
    for (int i = 0; i < N_CANDIDATES; i++) {
        for (int run = 0; run < WARM + TIMED; run++) {
            const double t = run_ms_per_point(e, x, candidates[i]);
            if (t < 0)
                return -1;
            if (run >= WARM && (ms[i] < 0 || t < ms[i]))
                ms[i] = t;
        }
        if (least < 0 || ms[i] < least)
            least = ms[i];
        else if (ms[i] > 1.5 * least)
            break;
    }
    const double wait1 = rsi_cpu_wait_seconds();
    *waited =
        wait0 >= 0 && wait1 >= 0
            ? (wait1 - wait0) / ((ex_now() - start) * rsi_torch_get_threads())
            : 0;
    return 0;
}

/* The fewest rows within TIE of the least time per point: more rows cost
 * memory and leave a larger last forward, for nothing. */
static int64_t best_batch(const double *ms)
{
    double least = ms[0];
    for (int i = 1; i < N_CANDIDATES; i++)
        if (ms[i] >= 0 && ms[i] < least)
            least = ms[i];
    for (int i = 0; i < N_CANDIDATES; i++)
        if (ms[i] >= 0 && ms[i] <= least * (1 + TIE))
            return candidates[i];
    return candidates[0];
}

int64_t ex_calibrated_batch(rsi_explainer *e, const rsi_tensor *x)
{
    const int64_t fallback = e->opt.batch;
    char *key = cache_key(e);
    char *dir = key ? cache_dir() : NULL;
    char *file = dir ? cache_file(dir, key) : NULL;
    int ours = 0;
    const int64_t cached = file ? cached_batch(file, key, &ours) : 0;
    if (cached > 0) {
        if (e->trace.on)
            fprintf(stderr, "rsicam: trace: batch auto: %lld, from %s\n",
                    (long long)cached, file);
        free(key);
        free(dir);
        free(file);
        return cached;
    }
    double ms[N_CANDIDATES], waited = 0;
    const int ok = measure(e, x, ms, &waited) == 0;
    const int judged = !threads_outnumber_cpus();
    int stored = 0;
    const int64_t batch = ok ? best_batch(ms) : fallback;
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
        stored = cache_store(dir, file, key, batch, ms, waited) == 0;
    }
    if (e->trace.on) {
        fprintf(stderr, "rsicam: trace: batch auto: %lld; ms per point:",
                (long long)batch);
        for (int i = 0; ok && i < N_CANDIDATES && ms[i] >= 0; i++)
            fprintf(stderr, " %lld: %.2f", (long long)candidates[i], ms[i]);
        fprintf(stderr, "; waited for a CPU %.1f%%%s; %s%s\n", 100 * waited,
                judged ? "" : " (more threads than CPUs: not judged)",
                stored ? "cached in " : "not cached", stored ? file : "");
    }
    free(key);
    free(dir);
    free(file);
    return batch;
}
