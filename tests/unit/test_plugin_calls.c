/* Calls into plugins (plugin_call.h) and the host's services to them:
 * every check on a path's answer catches its fault in one line that
 * names the plugin; a parameter the plugin never declared is an error,
 * not a crash; adaptive steps ask a path only for new positions; the
 * seeded random numbers do not depend on how positions are batched; a
 * path's last point is known to be the image only bit for bit. */

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_services.h"
#include "params.h"
#include "plugin_call.h"
#include "plugin_registry.h"
#include "testkit.h"

#ifndef RSICAM_TEST_PLUGIN_DIR
#define RSICAM_TEST_PLUGIN_DIR getenv("RSICAM_TEST_PLUGIN_DIR")
#endif
#ifndef RSICAM_TEST_REAL_PLUGIN_DIR
#define RSICAM_TEST_REAL_PLUGIN_DIR getenv("RSICAM_TEST_REAL_PLUGIN_DIR")
#endif

static const rsi_model_info info = {
    .input_h = 4,
    .input_w = 4,
    .mean = {0.5, 0.4, 0.3},
    .std = {0.2, 0.25, 0.3},
};

static rsi_registry *reg;

static void load(void)
{
    char dir[4096];
    rsi_error_clear();
    reg = rsi_registry_new();
    snprintf(dir, sizeof dir, "%s/checks", RSICAM_TEST_PLUGIN_DIR);
    ck_assert_int_eq(rsi_registry_add_dir(reg, dir, "test", stderr), 1);
    snprintf(dir, sizeof dir, "%s/set", RSICAM_TEST_PLUGIN_DIR);
    rsi_registry_add_dir(reg, dir, "test", NULL);
    ck_assert_int_gt(
        rsi_registry_add_dir(reg, RSICAM_TEST_REAL_PLUGIN_DIR, "build", NULL),
        0);
    rsi_registry_set_current(reg);
}

static void unload(void)
{
    rsi_registry_free(reg);
    reg = NULL;
}

/* A [1, 3, 4, 4] image with distinct values. */
static rsi_tensor *image(void)
{
    float px[48];
    for (int i = 0; i < 48; i++)
        px[i] = (float)i / 47.0f - 0.5f;
    const int64_t shape[4] = {1, 3, 4, 4};
    return rsi_tensor_from_floats(px, shape, 4);
}

/* The faulty path with fault=FAULT walked at 4 steps in batches of 5: the
 * error of the first batch, or NULL when it went through. */
static char *walk_faulty(const char *fault, const rsi_tensor *x)
{
    const rsi_plugin *p = rsi_registry_find(reg, RSI_PLUGIN_PATH, "faulty");
    ck_assert_ptr_nonnull(p);
    char text[64];
    snprintf(text, sizeof text, "fault=%s", fault);
    rsi_param_value *v;
    ck_assert_int_eq(rsi_plugin_parse_params(p, text, &v), 0);
    rsi_tensor *b = rsi_tensor_full_like(x, 0.0);
    const rsi_context run = {.info = &info};
    rsi_path_call c;
    ck_assert_int_eq(rsi_call_path_open(&c, p, v, &run, b, x, 4), 0);
    rsi_tensor *batch = NULL;
    int rc = rsi_call_path_next(&c, 5, &batch);
    char *msg = rc < 0 ? strdup(rsi_error_message()) : NULL;
    ck_assert_int_eq(rc < 0 ? RSI_ERR_PLUGIN : RSI_ERR_NONE,
                     rsi_error_get_class());
    if (rc == 1)
        ck_assert_int_eq(rsi_tensor_size(batch, 0), 5);
    rsi_error_clear();
    rsi_tensor_free(batch);
    rsi_call_path_close(&c);
    rsi_params_free(v);
    rsi_tensor_free(b);
    return msg;
}

static const struct check_case {
    const char *fault, *says;
} checks[] = {
    {"count", "path 'faulty': returned 2 points for 3 asked for"},
    {"shape", "path 'faulty': returned points [3, 3, 4, 2] Float on cpu; the "
              "image is [1, 3, 4, 4] Float on cpu: each row must have its "
              "shape"},
    {"dtype", "path 'faulty': returned points [3, 3, 4, 4] Double on cpu; "
              "expected float32"},
    {"nan", "path 'faulty': returned points with NaN or Inf values"},
    {"param", "path 'faulty': asked for parameter 'no_such_parameter', which "
              "it does not declare"},
};

START_TEST(each_check_names_the_plugin)
{
    rsi_tensor *x = image();
    ck_assert_ptr_null(walk_faulty("none", x));
    char *msg = walk_faulty(checks[_i].fault, x);
    ck_assert_msg(msg != NULL, "fault %s went through", checks[_i].fault);
    ck_assert_msg(strncmp(msg, checks[_i].says, strlen(checks[_i].says)) == 0,
                  "'%s' does not start with '%s'", msg, checks[_i].says);
    ck_assert_ptr_null(strchr(msg, '\n'));
    free(msg);
    rsi_tensor_free(x);
}
END_TEST

/* A path's points on the wrong device: only a GPU can show it. */
START_TEST(device_check)
{
    rsi_model *m = rsi_model_load(tk_source("examples/models/fmnist_cnn.pt"));
    ck_assert_msg(m != NULL, "%s", rsi_error_message());
    if (rsi_model_set_device(m, "cuda") < 0) {
        rsi_error_clear();
        rsi_model_free(m);
        fprintf(stderr, "device_check: no GPU here, skipped\n");
        return;
    }
    rsi_tensor *host = image();
    rsi_tensor *x = rsi_model_place(m, host);
    char *msg = walk_faulty("device", x);
    ck_assert_ptr_nonnull(msg);
    ck_assert_msg(strstr(msg, "path 'faulty': returned points") &&
                      strstr(msg, "not on the image's device"),
                  "%s", msg);
    free(msg);
    rsi_tensor_free(x);
    rsi_tensor_free(host);
    rsi_model_free(m);
}
END_TEST

/* good reads an undeclared parameter when label starts with 'u', and
 * returns a tensor anyway: the call fails by name all the same. */
START_TEST(undeclared_parameter)
{
    const rsi_plugin *p = rsi_registry_find(reg, RSI_PLUGIN_BASELINE, "good");
    ck_assert_ptr_nonnull(p);
    rsi_tensor *x = image();
    rsi_param_value *v;
    ck_assert_int_eq(rsi_plugin_parse_params(p, "file=/,label=undeclared", &v),
                     0);
    ck_assert_ptr_null(rsi_call_baseline(p, v, NULL, x));
    ck_assert_str_eq(rsi_error_message(),
                     "baseline 'good': asked for parameter 'valeu', which it "
                     "does not declare");
    ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_PLUGIN);
    rsi_error_clear();
    rsi_params_free(v);

    /* An optional parameter without a default: absent unless given. */
    ck_assert_int_eq(rsi_plugin_parse_params(p, "file=/", &v), 0);
    ck_assert_int_eq(v[5].has_value, 0);
    rsi_tensor *b = rsi_call_baseline(p, v, NULL, x);
    double lo, hi;
    ck_assert_msg(b != NULL, "%s", rsi_error_message());
    rsi_tensor_min_max(b, &lo, &hi);
    ck_assert(lo == 0.5 && hi == 0.5);
    rsi_tensor_free(b);
    rsi_params_free(v);
    ck_assert_int_eq(rsi_plugin_parse_params(p, "file=/,extra=0.25", &v), 0);
    b = rsi_call_baseline(p, v, NULL, x);
    rsi_tensor_min_max(b, &lo, &hi);
    ck_assert(lo == 0.75 && hi == 0.75);
    ck_assert_str_eq(v[5].text, "0.25"); /* as typed */
    rsi_tensor_free(b);
    rsi_params_free(v);
    rsi_tensor_free(x);
}
END_TEST

/* The zero baseline works in pixels; the host normalises: (0 - m) / s. */
START_TEST(pixel_space_baseline)
{
    const rsi_plugin *p = rsi_registry_find(reg, RSI_PLUGIN_BASELINE, "zero");
    rsi_tensor *x = image();
    const rsi_context run = {.info = &info};
    rsi_tensor *b = rsi_call_baseline(p, NULL, &run, x);
    ck_assert_msg(b != NULL, "%s", rsi_error_message());
    float got[48];
    rsi_tensor_to_floats(b, got, 48);
    for (int c = 0; c < 3; c++)
        ck_assert(got[16 * c + 5] ==
                  (float)((0.0 - info.mean[c]) / info.std[c]));
    rsi_tensor_free(b);
    rsi_tensor_free(x);
}
END_TEST

/* draws[k] for positions 0..m cut into batches of `cut`. */
static rsi_tensor *draws(const rsi_context *ctx, rsi_random_kind kind,
                         int64_t m, int64_t cut)
{
    rsi_tensor *parts[64];
    int n = 0;
    for (int64_t first = 0; first <= m; first += cut) {
        const int64_t b = m + 1 - first < cut ? m + 1 - first : cut;
        double alpha[64];
        ck_assert_int_le(b, 64);
        for (int64_t k = 0; k < b; k++)
            alpha[k] = (double)(first + k) / (double)m;
        parts[n] = rsi_host()->random(ctx, kind, 42, alpha, b);
        ck_assert_msg(parts[n] != NULL, "%s", rsi_error_message());
        n++;
    }
    rsi_tensor *all = rsi_tensor_cat((const rsi_tensor *const *)parts, n, 0);
    for (int i = 0; i < n; i++)
        rsi_tensor_free(parts[i]);
    return all;
}

static double max_abs_diff(const rsi_tensor *a, const rsi_tensor *b)
{
    rsi_tensor *d = rsi_tensor_sub(a, b);
    double lo, hi;
    rsi_tensor_min_max(d, &lo, &hi);
    rsi_tensor_free(d);
    return fmax(fabs(lo), fabs(hi));
}

START_TEST(random_same_across_batch_cuts)
{
    rsi_tensor *x = image();
    rsi_context ctx = {.host = rsi_host(), .image = x};
    ctx.image_key = rsi_image_key(x);
    const int64_t m = 9;
    for (int kind = 0; kind < 2; kind++) {
        rsi_tensor *whole = draws(&ctx, (rsi_random_kind)kind, m, m + 1);
        ck_assert_int_eq(rsi_tensor_size(whole, 0), m + 1);
        rsi_tensor *ones = draws(&ctx, (rsi_random_kind)kind, m, 1);
        rsi_tensor *fours = draws(&ctx, (rsi_random_kind)kind, m, 4);
        ck_assert(max_abs_diff(whole, ones) == 0);
        ck_assert(max_abs_diff(whole, fours) == 0);
        /* another image: other numbers */
        rsi_context other = ctx;
        other.image_key ^= 1;
        rsi_tensor *o = draws(&other, (rsi_random_kind)kind, m, m + 1);
        ck_assert(max_abs_diff(whole, o) > 0.1);
        /* sane values: uniform in [0, 1), normal around 0 with sd 1 */
        double lo, hi, sum;
        rsi_tensor_min_max(whole, &lo, &hi);
        rsi_tensor_sum_all(whole, &sum);
        const double mean = sum / (double)rsi_tensor_numel(whole);
        if (kind == RSI_RANDOM_UNIFORM)
            ck_assert(lo >= 0 && hi < 1 && fabs(mean - 0.5) < 0.05);
        else
            ck_assert(lo < -1.5 && hi > 1.5 && fabs(mean) < 0.15);
        rsi_tensor_free(whole);
        rsi_tensor_free(ones);
        rsi_tensor_free(fours);
        rsi_tensor_free(o);
    }
    rsi_tensor_free(x);
}
END_TEST

/* tensor_lerp gives the points the linear path always gave: b + a (x -
 * b) row by row in float32, and exact ends (a baseline of 333.3 makes
 * b + (x - b) round away from x); ends of more than one row are refused. */
START_TEST(lerp_matches_axpby)
{
    const double baselines[2] = {-0.3, 1000.0 / 3.0};
    const double alpha[5] = {0.0, 1.0 / 3.0, 0.7, 1.0, 1e-7};
    for (int i = 0; i < 2; i++) {
        rsi_tensor *x = image();
        rsi_tensor *b = rsi_tensor_full_like(x, baselines[i]);
        rsi_tensor *d = rsi_tensor_sub(x, b);
        rsi_tensor *all = rsi_host()->tensor_lerp(b, x, alpha, 5);
        ck_assert_ptr_nonnull(all);
        for (int k = 0; k < 5; k++) {
            rsi_tensor *row = rsi_tensor_narrow(all, 0, k, 1);
            rsi_tensor *want = k == 0   ? rsi_tensor_clone(b)
                               : k == 3 ? rsi_tensor_clone(x)
                                        : rsi_tensor_axpby(1.0, b, alpha[k], d);
            ck_assert_msg(max_abs_diff(row, want) == 0, "baseline %g, row %d",
                          baselines[i], k);
            rsi_tensor_free(row);
            rsi_tensor_free(want);
        }
        /* ends of several rows: the plugin's mistake, named with shapes */
        ck_assert_ptr_null(rsi_host()->tensor_lerp(all, all, alpha, 5));
        ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_PLUGIN);
        ck_assert_ptr_nonnull(strstr(rsi_error_message(), "[5, 3, "));
        rsi_error_clear();
        rsi_tensor_free(all);
        rsi_tensor_free(d);
        rsi_tensor_free(b);
        rsi_tensor_free(x);
    }
}
END_TEST

/* The stream drops a path's last point when it is the image bit for bit
 * (the image's own row stands in for it): values equal are not enough. */
START_TEST(same_bits_is_bit_for_bit)
{
    const int64_t shape[2] = {2, 3}, other[2] = {3, 2};
    rsi_tensor *zero = rsi_tensor_full(shape, 2, 0.0);
    rsi_tensor *negative_zero = rsi_tensor_full(shape, 2, -0.0);
    rsi_tensor *nan = rsi_tensor_full(shape, 2, NAN);
    rsi_tensor *nan_copy = rsi_tensor_clone(nan);
    rsi_tensor *reshaped = rsi_tensor_full(other, 2, 0.0);
    rsi_tensor *wide = rsi_tensor_to_dtype(zero, RSI_FLOAT64);
    ck_assert_int_eq(rsi_tensor_same_bits(zero, zero), 1);
    ck_assert_int_eq(rsi_tensor_same_bits(zero, negative_zero), 0);
    ck_assert_int_eq(rsi_tensor_same_bits(nan, nan_copy), 1);
    ck_assert_int_eq(rsi_tensor_same_bits(zero, reshaped), 0);
    ck_assert_int_eq(rsi_tensor_same_bits(zero, wide), 0);
    /* the linear path's last point is its image */
    rsi_tensor *x = image();
    rsi_tensor *b = rsi_tensor_full_like(x, 1000.0 / 3.0);
    const double alpha[2] = {0.5, 1.0};
    rsi_tensor *both = rsi_host()->tensor_lerp(b, x, alpha, 2);
    rsi_tensor *last = rsi_tensor_narrow(both, 0, 1, 1);
    ck_assert_int_eq(rsi_tensor_same_bits(last, x), 1);
    rsi_tensor *tensors[] = {
        zero, negative_zero, nan, nan_copy, reshaped, wide, x, b, both, last};
    for (size_t i = 0; i < sizeof tensors / sizeof *tensors; i++)
        rsi_tensor_free(tensors[i]);
}
END_TEST

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Adaptive steps through the faulty path (fault=none: linear) with its
 * log: each position asked once, never an end (the host's), and as many
 * as the points the map was made from less the two ends. */
START_TEST(adaptive_asks_only_new_positions)
{
    tk_scratch_open("plugin_calls");
    const char *log = tk_path("asked.txt");
    char *out = NULL;
    int rc = tk_sh(&out,
                   "'%s' explain --quiet --model '%s' --image '%s' --out "
                   "'%s' --steps auto --tol 0.001 --max-steps 64 --batch 3 "
                   "--variant plain --plugin-path '%s/checks' --path "
                   "faulty:log='%s'",
                   tk_rsicam(), tk_source("examples/models/fmnist_cnn.pt"),
                   tk_source("examples/samples/0003.png"), tk_path("out"),
                   RSICAM_TEST_PLUGIN_DIR, log);
    ck_assert_msg(rc == 0, "%s", out ? out : "");
    free(out);
    FILE *f = fopen(log, "r");
    ck_assert_ptr_nonnull(f);
    double asked[4096];
    int n = 0;
    while (n < 4096 && fscanf(f, "%lf", &asked[n]) == 1)
        n++;
    fclose(f);
    qsort(asked, (size_t)n, sizeof *asked, cmp_double);
    for (int i = 0; i < n; i++) {
        ck_assert_msg(asked[i] > 0 && asked[i] < 1, "asked for %g", asked[i]);
        ck_assert_msg(i == 0 || asked[i] != asked[i - 1], "%g asked twice",
                      asked[i]);
    }
    /* the map's steps: its points less one */
    char *rec = NULL;
    tk_sh(&rec, "grep -o '\"steps\": *[0-9]*' '%s/results.jsonl' | head -1",
          tk_path("out"));
    int steps = 0;
    ck_assert_msg(rec && sscanf(strchr(rec, ':') + 1, "%d", &steps) == 1, "%s",
                  rec ? rec : "");
    free(rec);
    ck_assert_msg(steps > 4, "no refinement happened (%d steps)", steps);
    ck_assert_int_eq(n, steps - 1);
    tk_scratch_close();
}
END_TEST

static Suite *calls_suite(void)
{
    Suite *s = suite_create("plugin_calls");
    TCase *t = tcase_create("calls");
    tcase_add_checked_fixture(t, load, unload);
    tcase_add_loop_test(t, each_check_names_the_plugin, 0,
                        sizeof checks / sizeof *checks);
    tcase_add_test(t, device_check);
    tcase_add_test(t, undeclared_parameter);
    tcase_add_test(t, pixel_space_baseline);
    tcase_add_test(t, random_same_across_batch_cuts);
    tcase_add_test(t, lerp_matches_axpby);
    tcase_add_test(t, same_bits_is_bit_for_bit);
    tcase_add_test(t, adaptive_asks_only_new_positions);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return tk_run(calls_suite());
}
