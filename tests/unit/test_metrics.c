/* Tests: faithfulness metrics (metrics.h) on cases worked out by hand.
 *
 * The model is made at test time: a scripted module whose logits are
 * [s(x), 0] with s(x) = sum(x[0]) + 2 sum(x[1]) - sum(x[2]) over the
 * pixels, so every pixel adds v = x0 + 2 x1 - x2 to s and each point of a
 * deletion or insertion curve is a sum of a few small numbers: exact in
 * float32. The softmax probability of class 0 is then sigmoid(s).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "rsicam/error.h"
#include "rsicam/model.h"
#include "testkit.h"

static char model_path[4096];

static const char model_script[] =
    "import sys, torch\n"
    "class M(torch.nn.Module):\n"
    "    def forward(self, x):\n"
    "        s = x[:, 0].sum(dim=(1, 2)) + 2.0 * x[:, 1].sum(dim=(1, 2)) \\\n"
    "            - x[:, 2].sum(dim=(1, 2))\n"
    "        return torch.stack([s, torch.zeros_like(s)], dim=1)\n"
    "torch.jit.save(torch.jit.script(M()), sys.argv[1])\n";

/* Unchecked fixture (parent process): the model, made once. */
static void make_model(void)
{
    if (model_path[0])
        return;
    tk_scratch_open("metrics");
    const char *script = tk_path("make_model.py");
    FILE *f = fopen(script, "w");
    ck_assert_ptr_nonnull(f);
    fputs(model_script, f);
    fclose(f);
    snprintf(model_path, sizeof model_path, "%s", tk_path("sum.pt"));
    char *out = NULL;
    int rc = tk_sh(&out, "'%s' '%s' '%s'", tk_python(), script, model_path);
    ck_assert_msg(rc == 0, "making the model failed (%d): %s", rc, out);
    free(out);
}

static double sigmoid(double s)
{
    return 1.0 / (1.0 + exp(-s));
}

/* A [1, 3, 2, 2] tensor from 12 values, channel-major. */
static rsi_tensor *image(const float *v)
{
    const int64_t shape[4] = {1, 3, 2, 2};
    rsi_tensor *t = rsi_tensor_from_floats(v, shape, 4);
    ck_assert_ptr_nonnull(t);
    return t;
}

/* Per-pixel contributions v = {6, 3, 1, 1}: s(x) = 11. */
static const float x_vals[12] = {4, 3, 2, 1, /* channel 0 */
                                 1, 0, 0, 0, /* channel 1 */
                                 0, 0, 1, 0};
/* Order by saliency: pixel 1, then 2 and 3 (tie: index), then 0. */
static const float heat[4] = {0.1f, 0.9f, 0.5f, 0.5f};

/* ---- Pure helpers ------------------------------------------------------ */

START_TEST(trapezoid_known_curves)
{
    const double x[3] = {0, 0.5, 1}, y[3] = {1, 0, 1};
    ck_assert_double_eq_tol(rsi_auc_trapezoid(x, y, 3), 0.5, 1e-15);
    /* Non-uniform: (0.25 (2 + 2) + 0.75 (2 + 0)) / 2 */
    const double x2[3] = {0, 0.25, 1}, y2[3] = {2, 2, 0};
    ck_assert_double_eq_tol(rsi_auc_trapezoid(x2, y2, 3), 1.25, 1e-15);
    /* A zero-width segment adds nothing. */
    const double x3[4] = {0, 0.5, 0.5, 1}, y3[4] = {1, 1, 3, 3};
    ck_assert_double_eq_tol(rsi_auc_trapezoid(x3, y3, 4), 2.0, 1e-15);
    ck_assert(isnan(rsi_auc_trapezoid(x, y, 1)));
}
END_TEST

START_TEST(saliency_order_ties_and_nan)
{
    const float h[6] = {0.1f, 0.9f, 0.5f, 0.5f, NAN, 0.9f};
    int64_t order[6];
    ck_assert_int_eq(rsi_saliency_order(h, 6, order), 0);
    const int64_t want[6] = {1, 5, 2, 3, 0, 4};
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(order[i], want[i]);
}
END_TEST

START_TEST(curve_counts)
{
    const int64_t want3[4] = {0, 1, 2, 4}; /* floor(k 4 / 3) */
    for (int k = 0; k <= 3; k++)
        ck_assert_int_eq(rsi_curve_count(k, 3, 4), want3[k]);
    ck_assert_int_eq(rsi_curve_count(32, 32, 50176), 50176);
    ck_assert_int_eq(rsi_curve_count(1, 32, 50176), 1568);
}
END_TEST

START_TEST(confidence_hand_numbers)
{
    rsi_confidence c[4];
    rsi_confidence_from(0.8, 0.6, &c[0]); /* drop 0.25 */
    rsi_confidence_from(0.5, 0.7, &c[1]); /* increase, no drop */
    rsi_confidence_from(0.4, 0.1, &c[2]); /* drop 0.75 */
    rsi_confidence_from(0.3, 0.3, &c[3]); /* equal: neither */
    ck_assert_double_eq_tol(c[0].drop, 0.25, 1e-15);
    ck_assert_int_eq(c[0].increased, 0);
    ck_assert_double_eq(c[1].drop, 0.0);
    ck_assert_int_eq(c[1].increased, 1);
    ck_assert_double_eq_tol(c[2].drop, 0.75, 1e-15);
    ck_assert_double_eq(c[3].drop, 0.0);
    ck_assert_int_eq(c[3].increased, 0);

    rsi_confidence_sum s = {0};
    ck_assert(isnan(rsi_average_drop(&s)));
    ck_assert(isnan(rsi_increase_in_confidence(&s)));
    for (int i = 0; i < 4; i++)
        rsi_confidence_add(&s, &c[i]);
    ck_assert_double_eq_tol(rsi_average_drop(&s), 100.0 * 1.0 / 4, 1e-12);
    ck_assert_double_eq_tol(rsi_increase_in_confidence(&s), 25.0, 1e-12);

    rsi_confidence z; /* an underflowed probability cannot drop */
    rsi_confidence_from(0.0, 0.0, &z);
    ck_assert_double_eq(z.drop, 0.0);
}
END_TEST

START_TEST(substrate_parsing)
{
    rsi_substrate s;
    ck_assert_int_eq(rsi_substrate_parse("black", &s), 0);
    ck_assert_int_eq(s.kind, RSI_SUBSTRATE_BLACK);
    ck_assert_int_eq(rsi_substrate_parse("zero", &s), 0);
    ck_assert_int_eq(s.kind, RSI_SUBSTRATE_ZERO);
    ck_assert_int_eq(rsi_substrate_parse("blur", &s), 0);
    ck_assert_int_eq(s.kind, RSI_SUBSTRATE_BLUR);
    ck_assert_double_eq(s.sigma, 5.0);
    ck_assert_int_eq(rsi_substrate_parse("blur:2.5", &s), 0);
    ck_assert_double_eq(s.sigma, 2.5);
    const char *bad[] = {"blur:", "blur:-1", "blur:0", "blurry",
                         "grey",  "",        "blur:3x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(rsi_substrate_parse(bad[i], &s) < 0, "'%s'", bad[i]);
        ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_USAGE);
        rsi_error_clear();
    }
}
END_TEST

/* ---- With the model ---------------------------------------------------- */

/* One curve through the metrics API, as logits. */
static void curve(rsi_model *m, const rsi_tensor *from, const rsi_tensor *to,
                  int n, int batch, rsi_score_kind kind, double *y, double *auc)
{
    rsi_curve_opts o = {.n_steps = n, .batch = batch, .score = kind};
    ck_assert_msg(rsi_metric_curve(m, from, to, heat, 0, &o, y, auc) == 0, "%s",
                  rsi_error_message());
}

START_TEST(deletion_insertion_by_hand)
{
    rsi_model *m = rsi_model_load(model_path);
    ck_assert_msg(m != NULL, "%s", rsi_error_message());
    rsi_tensor *x = image(x_vals);
    rsi_tensor *zero = rsi_tensor_full_like(x, 0.0);
    double y[9], auc;

    /* Deletion: remove pixels 1, 2, 3, 0 (v = 3, 1, 1, 6) from s = 11. */
    const double del[5] = {11, 8, 7, 6, 0};
    /* Insertion: put them back into zero. */
    const double ins[5] = {0, 3, 4, 5, 11};
    for (int batch = 1; batch <= 6; batch++) {
        curve(m, x, zero, 4, batch, RSI_SCORE_LOGIT, y, &auc);
        for (int k = 0; k < 5; k++)
            ck_assert_double_eq(y[k], del[k]);
        /* 0.25 (9.5 + 7.5 + 6.5 + 3) */
        ck_assert_double_eq_tol(auc, 6.625, 1e-12);
        curve(m, zero, x, 4, batch, RSI_SCORE_LOGIT, y, &auc);
        for (int k = 0; k < 5; k++)
            ck_assert_double_eq(y[k], ins[k]);
        ck_assert_double_eq_tol(auc, 4.375, 1e-12); /* 0.25 (1.5+3.5+4.5+8) */
    }

    /* 3 steps over 4 pixels: 0, 1, 2, 4 pixels at fractions 0, .25, .5, 1. */
    curve(m, x, zero, 3, 2, RSI_SCORE_LOGIT, y, &auc);
    const double del3[4] = {11, 8, 7, 0};
    for (int k = 0; k < 4; k++)
        ck_assert_double_eq(y[k], del3[k]);
    ck_assert_double_eq_tol(auc, 0.25 * 9.5 + 0.25 * 7.5 + 0.5 * 3.5, 1e-12);

    /* More steps than pixels: repeated points, same area. */
    curve(m, x, zero, 8, 3, RSI_SCORE_LOGIT, y, &auc);
    ck_assert_double_eq_tol(auc, 6.625, 1e-12);

    /* A non-zero substrate: every channel 1, so each pixel gives v = 2. */
    rsi_tensor *ones = rsi_tensor_full_like(x, 1.0);
    curve(m, x, ones, 4, 4, RSI_SCORE_LOGIT, y, &auc);
    const double del1[5] = {11, 10, 11, 12, 8};
    for (int k = 0; k < 5; k++)
        ck_assert_double_eq(y[k], del1[k]);

    /* The probability, as RISE uses: sigmoid of the same sums. */
    curve(m, x, zero, 4, 2, RSI_SCORE_SOFTMAX, y, &auc);
    double want = 0;
    for (int k = 0; k < 5; k++) {
        ck_assert_double_eq_tol(y[k], sigmoid(del[k]), 1e-7);
        if (k)
            want += 0.25 * (sigmoid(del[k]) + sigmoid(del[k - 1])) / 2;
    }
    ck_assert_double_eq_tol(auc, want, 1e-7);

    /* Both at once, the RISE way: deletion to one base, insertion from
     * another; NULL skips. */
    rsi_curve_opts o = {.n_steps = 4, .batch = 16, .score = RSI_SCORE_LOGIT};
    double d, i;
    ck_assert_int_eq(
        rsi_metric_deletion_insertion(m, x, zero, zero, heat, 0, &o, &d, &i),
        0);
    ck_assert_double_eq_tol(d, 6.625, 1e-12);
    ck_assert_double_eq_tol(i, 4.375, 1e-12);
    ck_assert_int_eq(
        rsi_metric_deletion_insertion(m, x, NULL, zero, heat, 0, &o, &d, &i),
        0);
    ck_assert(isnan(d));
    ck_assert_double_eq_tol(i, 4.375, 1e-12);

    rsi_tensor_free(ones);
    rsi_tensor_free(zero);
    rsi_tensor_free(x);
    rsi_model_free(m);
}
END_TEST

START_TEST(curve_errors)
{
    rsi_model *m = rsi_model_load(model_path);
    ck_assert_msg(m != NULL, "%s", rsi_error_message());
    rsi_tensor *x = image(x_vals);
    rsi_tensor *zero = rsi_tensor_full_like(x, 0.0);
    double auc;
    rsi_curve_opts o = {.n_steps = 4, .batch = 2, .score = RSI_SCORE_LOGIT};

    /* The model has 2 classes. */
    ck_assert_int_eq(rsi_metric_curve(m, x, zero, heat, 2, &o, NULL, &auc), -1);
    ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_MODEL);
    rsi_error_clear();

    rsi_curve_opts bad = {.n_steps = 0, .batch = 2};
    ck_assert_int_eq(rsi_metric_curve(m, x, zero, heat, 0, &bad, NULL, &auc),
                     -1);
    ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_USAGE);
    rsi_error_clear();

    const int64_t other[4] = {1, 3, 4, 1}; /* same count, other shape */
    rsi_tensor *y = rsi_tensor_full(other, 4, 0.0);
    ck_assert_int_eq(rsi_metric_curve(m, x, y, heat, 0, &o, NULL, &auc), -1);
    ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_USAGE);
    rsi_error_clear();

    rsi_tensor_free(y);
    rsi_tensor_free(zero);
    rsi_tensor_free(x);
    rsi_model_free(m);
}
END_TEST

/* Pixel values p (in [0, 1]) and their normalised form with these
 * mean/std: x = (p - mean) / std. */
static rsi_model_info info = {.input_h = 2,
                              .input_w = 2,
                              .mean = {0.5, 0.25, 0.0},
                              .std = {0.5, 1.0, 2.0}};
static const float conf_x[12] = {1,     0,    -1,    1,    /* p 1 .5 0 1 */
                                 -0.25, 0.75, -0.25, 0.25, /* 0 1 0 .5 */
                                 0.25,  0.25, 0.5,   0};   /* .5 .5 1 0 */

START_TEST(explanation_image_by_hand)
{
    rsi_tensor *x = image(conf_x);
    const float h[4] = {1.0f, 0.5f, 0.0f, 2.0f}; /* 2 is clamped to 1 */
    rsi_tensor *e = rsi_explanation_image(x, h, &info);
    ck_assert_ptr_nonnull(e);
    float got[12];
    ck_assert_int_eq(rsi_tensor_to_floats(e, got, 12), 0);
    /* E in pixels: p h = {1 .25 0 1}, {0 .5 0 .5}, {.5 .25 0 0};
     * normalised again: */
    const float want[12] = {1,     -0.5, -1,   1,     -0.25, 0.25,
                            -0.25, 0.25, 0.25, 0.125, 0,     0};
    for (int i = 0; i < 12; i++)
        ck_assert_float_eq_tol(got[i], want[i], 1e-6f);

    /* Black: pixel 0 in each channel. */
    rsi_substrate s = {RSI_SUBSTRATE_BLACK, 0};
    rsi_tensor *b = rsi_substrate_make(&s, x, &info);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(rsi_tensor_to_floats(b, got, 12), 0);
    for (int i = 0; i < 12; i++)
        ck_assert_float_eq_tol(got[i],
                               i < 4   ? -1.0f
                               : i < 8 ? -0.25f
                                       : 0.0f,
                               1e-7f);
    rsi_tensor_free(b);
    rsi_tensor_free(e);
    rsi_tensor_free(x);
}
END_TEST

START_TEST(confidence_with_model)
{
    rsi_model *m = rsi_model_load(model_path);
    ck_assert_msg(m != NULL, "%s", rsi_error_message());
    rsi_tensor *x = image(conf_x);
    /* s(x) = (1 + 0 - 1 + 1) + 2 (0.5) - 1 = 1; s(E) = 0.5 + 0 - 0.375. */
    const float h[4] = {1.0f, 0.5f, 0.0f, 2.0f};
    rsi_confidence c;
    ck_assert_msg(rsi_metric_confidence(m, &info, x, h, 0, &c) == 0, "%s",
                  rsi_error_message());
    ck_assert_double_eq_tol(c.y, sigmoid(1.0), 1e-7);
    ck_assert_double_eq_tol(c.o, sigmoid(0.125), 1e-7);
    ck_assert_double_eq_tol(
        c.drop, (sigmoid(1.0) - sigmoid(0.125)) / sigmoid(1.0), 1e-6);
    ck_assert_int_eq(c.increased, 0);

    /* Dimming only pixel 2 removes its x2 = 0.5 (normalised 0.5 -> 0): s
     * rises by 0.5, the confidence increases. */
    const float h2[4] = {1.0f, 1.0f, 0.0f, 1.0f};
    ck_assert_int_eq(rsi_metric_confidence(m, &info, x, h2, 0, &c), 0);
    ck_assert_double_eq_tol(c.o, sigmoid(1.5), 1e-7);
    ck_assert_int_eq(c.increased, 1);
    ck_assert_double_eq(c.drop, 0.0);

    rsi_tensor_free(x);
    rsi_model_free(m);
}
END_TEST

static Suite *metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("pure");
    tcase_add_test(tc, trapezoid_known_curves);
    tcase_add_test(tc, saliency_order_ties_and_nan);
    tcase_add_test(tc, curve_counts);
    tcase_add_test(tc, confidence_hand_numbers);
    tcase_add_test(tc, substrate_parsing);
    tcase_add_test(tc, explanation_image_by_hand);
    suite_add_tcase(s, tc);

    tc = tcase_create("model");
    tcase_add_unchecked_fixture(tc, make_model, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, deletion_insertion_by_hand);
    tcase_add_test(tc, curve_errors);
    tcase_add_test(tc, confidence_with_model);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(metrics_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (model_path[0])
        tk_scratch_close();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
