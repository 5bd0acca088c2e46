/* rsicam-bench-floor: the time floor of an RSI-Grad-CAM pass.
 *
 * Runs steps + 1 path points (a linear path from the normalised black image
 * to a deterministic pseudo-random image) through a TorchScript classifier
 * in batches, with the same library rsicam uses (librsicam), and times only
 * the model calls. Prints one JSON line.
 *
 *   rsicam-bench-floor --model M.pt [--steps 50] [--batch 16] [--threads 2]
 *                      [--size 224] [--passes 1] [--mode floor|exposed|grad]
 *                      [--layer PATH[,PATH...]] [--executor NAME]
 *
 * --mode floor    rsi_model_logits: plain forward, no gradients (the floor)
 * --mode exposed  rsi_model_run with no target: the layer-exposing forward
 *                 with autograd recording the tail, no backward
 * --mode grad     rsi_model_run with one softmax target: forward + the
 *                 layer gradient through the tail (what rsicam's loop does,
 *                 without its Riemann-Stieltjes sums, image I/O and maps)
 *
 * --executor auto|profiling|legacy|simple: how TorchScript runs the graphs
 * (rsi_torch_set_executor; default: auto, what rsicam itself uses).
 *
 * --steps 0 runs the image alone: one batch-of-one forward.
 *
 * Building each batch's input tensor is outside the timed region. Every
 * pass is timed separately: the first one in a process is "cold" (it
 * includes TorchScript's profiling runs, like a single `rsicam explain`),
 * later ones are warm.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strdup, strtok_r */
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "rsicam/error.h"
#include "rsicam/model.h"
#include "rsicam/tensor.h"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static long max_rss_kb(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

static void usage(FILE *f)
{
    fputs("usage: rsicam-bench-floor --model M.pt [--steps 50] [--batch 16] "
          "[--threads 2] [--size 224] [--passes 1]\n"
          "       [--mode floor|exposed|grad] [--layer PATH[,PATH...]]\n"
          "       [--executor auto|profiling|legacy|simple]\n",
          f);
}

static int die(const char *what)
{
    fprintf(stderr, "rsicam-bench-floor: %s: %s\n", what, rsi_error_message());
    return 1;
}

/* A small deterministic generator (xorshift64*), uniform in [0, 1). */
static double uniform(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (double)((*s * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static long parse_long(const char *opt, const char *v, long min)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || n < min) {
        fprintf(stderr,
                "rsicam-bench-floor: %s: expected an integer >= %ld, "
                "got '%s'\n",
                opt, min, v);
        exit(2);
    }
    return n;
}

int main(int argc, char **argv)
{
    const char *model_path = NULL, *mode = "floor", *layer_arg = NULL;
    const char *executor = NULL;
    long steps = 50, batch = 16, threads = 2, size = 224, passes = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            usage(stderr);
            return 2;
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--model"))
            model_path = v;
        else if (!strcmp(a, "--mode"))
            mode = v;
        else if (!strcmp(a, "--layer"))
            layer_arg = v;
        else if (!strcmp(a, "--executor"))
            executor = v;
        else if (!strcmp(a, "--steps"))
            steps = parse_long(a, v, 0);
        else if (!strcmp(a, "--batch"))
            batch = parse_long(a, v, 1);
        else if (!strcmp(a, "--threads"))
            threads = parse_long(a, v, 0);
        else if (!strcmp(a, "--size"))
            size = parse_long(a, v, 8);
        else if (!strcmp(a, "--passes"))
            passes = parse_long(a, v, 1);
        else {
            usage(stderr);
            return 2;
        }
    }
    int is_floor = !strcmp(mode, "floor"),
        is_exposed = !strcmp(mode, "exposed"), is_grad = !strcmp(mode, "grad");
    if (!model_path || !(is_floor || is_exposed || is_grad) ||
        (!is_floor && !layer_arg)) {
        usage(stderr);
        fputs("  (--model is required; --layer with --mode exposed|grad)\n",
              stderr);
        return 2;
    }

    if (rsi_torch_use_huge_pages() < 0 ||
        rsi_torch_set_threads((int)threads) < 0)
        return die("threads");
    if (rsi_torch_set_executor(executor ? executor : "auto") < 0)
        return die("executor");
    double t0 = now_seconds();
    rsi_model *model = rsi_model_load(model_path);
    if (!model)
        return die("load");
    double load_seconds = now_seconds() - t0;

    /* Layers, comma-separated. */
    char *layers_buf = layer_arg ? strdup(layer_arg) : NULL;
    const char *layers[16];
    int n_layers = 0;
    for (char *save = NULL,
              *tok = layers_buf ? strtok_r(layers_buf, ",", &save) : NULL;
         tok && n_layers < 16; tok = strtok_r(NULL, ",", &save))
        layers[n_layers++] = tok;
    double select_seconds = 0;
    if (!is_floor) {
        t0 = now_seconds();
        if (rsi_model_select_layers(model, layers, n_layers) < 0)
            return die("select layers");
        select_seconds = now_seconds() - t0;
    }

    /* The image and the baseline in normalised space. */
    const rsi_model_info *info = rsi_model_get_info(model);
    const int64_t plane = size * size, per = 3 * plane;
    float *image = malloc((size_t)per * sizeof(float));
    float *base = malloc((size_t)per * sizeof(float));
    float *buf = malloc((size_t)(batch * per) * sizeof(float));
    if (!image || !base || !buf) {
        fputs("rsicam-bench-floor: out of memory\n", stderr);
        return 1;
    }
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    for (int c = 0; c < 3; c++)
        for (int64_t k = 0; k < plane; k++) {
            image[c * plane + k] =
                (float)((uniform(&seed) - info->mean[c]) / info->std[c]);
            base[c * plane + k] = (float)((0.0 - info->mean[c]) / info->std[c]);
        }

    const long points = steps + 1;
    double *pass_seconds = calloc((size_t)passes, sizeof(double));
    long calls = 0;
    for (long p = 0; p < passes; p++) {
        double total = 0;
        for (long first = 0; first < points; first += batch) {
            long b = points - first < batch ? points - first : batch;
            for (long j = 0; j < b; j++) {
                double t = steps ? (double)(first + j) / (double)steps : 1.0;
                float *dst = buf + j * per;
                for (int64_t k = 0; k < per; k++)
                    dst[k] = base[k] + (float)t * (image[k] - base[k]);
            }
            int64_t shape[4] = {b, 3, size, size};
            rsi_tensor *x = rsi_tensor_from_floats(buf, shape, 4);
            if (!x)
                return die("input tensor");
            double ts = now_seconds();
            if (is_floor) {
                rsi_tensor *logits = rsi_model_logits(model, x);
                if (!logits)
                    return die("forward");
                rsi_tensor_free(logits);
            } else {
                rsi_tensor *acts[16], *grads[16], *scores[1];
                rsi_forward_result res = {.logits = NULL,
                                          .acts = acts,
                                          .grads = grads,
                                          .scores = scores};
                rsi_target target = {.class_index = 0,
                                     .kind = RSI_SCORE_SOFTMAX};
                if (rsi_model_run(model, x, &target, is_grad ? 1 : 0, &res) < 0)
                    return die("run");
                rsi_forward_result_release(&res, n_layers, is_grad ? 1 : 0);
            }
            total += now_seconds() - ts;
            calls++;
            rsi_tensor_free(x);
        }
        pass_seconds[p] = total;
    }

    printf("{\"mode\": \"%s\", \"model\": \"%s\", \"layers\": \"%s\", "
           "\"steps\": %ld, \"batch\": %ld, \"threads\": %d, \"executor\": "
           "\"%s\", "
           "\"load_seconds\": %.6f, \"select_seconds\": %.6f, "
           "\"calls\": %ld, \"pass_seconds\": [",
           mode, model_path, layer_arg ? layer_arg : "", steps, batch,
           rsi_torch_get_threads(), rsi_torch_executor(), load_seconds,
           select_seconds, calls);
    for (long p = 0; p < passes; p++)
        printf("%s%.6f", p ? ", " : "", pass_seconds[p]);
    printf("], \"max_rss_kb\": %ld}\n", max_rss_kb());

    free(pass_seconds);
    free(image);
    free(base);
    free(buf);
    free(layers_buf);
    rsi_model_free(model);
    return 0;
}
