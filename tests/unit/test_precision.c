/* rsi_model_set_precision: bf16 autocast for the network before the layer,
 * float32 from the layer on.
 *
 * A float32 number is a bfloat16 one when its low 16 bits are zero. Under
 * bf16 the layer's activations come out of bfloat16 convolutions, so all
 * of them must be bfloat16 numbers; the gradients flow back through a tail
 * that must run in float32, so many of them must not be (a tail in
 * bfloat16 would hand back bfloat16 gradients). In fp32 the activations
 * are ordinary float32 numbers. A row asked for in full precision is the
 * float32 run's. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_check.h"
#include "rsicam/error.h"
#include "rsicam/model.h"
#include "testkit.h"

#define B MODEL_CHECK_ROWS
#define SIDE MODEL_CHECK_SIDE

/* Of the nonzero values (a ReLU layer holds many zeros, which every
 * format represents), the fraction that are not bfloat16 numbers. */
static double not_bf16(const float *v, int64_t n)
{
    int64_t count = 0, nonzero = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &v[i], sizeof bits);
        nonzero += v[i] != 0.0f;
        count += (bits & 0xffffu) != 0;
    }
    ck_assert_int_gt(nonzero, n / 100);
    return (double)count / (double)nonzero;
}

#define SHIPPED "examples/models/fmnist_cnn.pt"

/* model: a file's path; exact: bit r asks for row r in full precision */
static void run_model(const char *model, const char *precision,
                      const char *layer, unsigned exact, layer_run *o)
{
    layers_run(model, precision, &layer, 1, exact, o);
}

static void run_layer(const char *precision, const char *layer, layer_run *o)
{
    run_model(tk_source(SHIPPED), precision, layer, 0, o);
}

START_TEST(bf16_head_float32_tail)
{
    layer_run lo, hi;
    run_layer("bf16", "features.10", &lo);
    run_layer("fp32", "features.10", &hi);
    ck_assert_double_eq(not_bf16(lo.act, lo.n_act), 0.0);
    ck_assert_double_gt(not_bf16(hi.act, hi.n_act), 0.5);
    ck_assert_double_gt(not_bf16(lo.grad, lo.n_grad), 0.5);
    /* the same network: bf16 moves the activations by a few parts in a
     * thousand, not more */
    const double d = rel_sq(lo.act, hi.act, lo.n_act);
    ck_assert_double_gt(d, 0.0);
    ck_assert_double_lt(d, 1e-4);
    layer_run_free(&lo);
    layer_run_free(&hi);
}
END_TEST

/* The rows in full_precision_at (every subset of the three: the path's
 * ends, the image's own row in front) are the float32 run's, activations
 * and gradients, while the other rows stay bfloat16. */
START_TEST(chosen_rows_in_full_precision)
{
    layer_run hi;
    run_layer("fp32", "features.10", &hi);
    const int64_t row_a = hi.n_act / B, row_g = hi.n_grad / B;
    for (unsigned exact = 1; exact < 1u << B; exact++) {
        layer_run mixed;
        run_model(tk_source(SHIPPED), "bf16", "features.10", exact, &mixed);
        for (int r = 0; r < B; r++) {
            const float *a = mixed.act + r * row_a, *g = mixed.grad + r * row_g;
            if (exact & 1u << r) {
                ck_assert_double_gt(not_bf16(a, row_a), 0.5);
                ck_assert_double_lt(rel_sq(a, hi.act + r * row_a, row_a),
                                    1e-10);
                ck_assert_double_lt(rel_sq(g, hi.grad + r * row_g, row_g),
                                    1e-10);
            } else {
                ck_assert_double_eq(not_bf16(a, row_a), 0.0);
                ck_assert_double_gt(rel_sq(a, hi.act + r * row_a, row_a), 1e-8);
            }
        }
        layer_run_free(&mixed);
    }
    layer_run_free(&hi);
}
END_TEST

/* A row named twice runs once; a row outside the part, or more rows than
 * a part may name, is refused with the model named. */
START_TEST(full_precision_rows_checked)
{
    rsi_model *m = rsi_model_load(tk_source(SHIPPED));
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(rsi_model_set_precision(m, "bf16"), 0);
    const char *layer = "features.10";
    ck_assert_int_eq(rsi_model_select_layers(m, &layer, 1), 0);
    const int64_t shape[4] = {B, 3, SIDE, SIDE};
    rsi_tensor *x = rsi_tensor_full(shape, 4, 0.5);
    ck_assert_ptr_nonnull(x);
    rsi_target target = {.class_index = 3, .kind = RSI_SCORE_LOGIT};
    rsi_tensor *acts[1], *grads[1], *scores[1];
    rsi_forward_result res = {.acts = acts, .grads = grads, .scores = scores};
    rsi_run_part twice = {.rows = B,
                          .targets = &target,
                          .n_targets = 1,
                          .full_precision_at = {2, 0, 2},
                          .n_full_precision = 3};
    ck_assert_msg(rsi_model_run_parts(m, x, &twice, 1, 1, &res) == 1, "%s",
                  rsi_error_message());
    ck_assert_int_eq(res.full_precision_rows, 2);
    rsi_forward_result_release(&res, 1, 1);
    const rsi_run_part bad[] = {
        {.rows = B,
         .targets = &target,
         .n_targets = 1,
         .full_precision_at = {B},
         .n_full_precision = 1},
        {.rows = B,
         .targets = &target,
         .n_targets = 1,
         .full_precision_at = {-1},
         .n_full_precision = 1},
        {.rows = B,
         .targets = &target,
         .n_targets = 1,
         .n_full_precision = RSI_RUN_PART_MAX_FULL_PRECISION + 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rsi_run_part part = bad[i];
        ck_assert_int_eq(rsi_model_run_parts(m, x, &part, 1, 1, &res), -1);
        ck_assert_msg(strstr(rsi_error_message(), "full precision"), "%s",
                      rsi_error_message());
        ck_assert_ptr_nonnull(strstr(rsi_error_message(), "fmnist_cnn.pt"));
        rsi_error_clear();
    }
    rsi_tensor_free(x);
    rsi_model_free(m);
}
END_TEST

/* Traced models call aten::_convolution, which libtorch 1.13's CPU autocast
 * leaves in float32: the exposed forward must still run them in bfloat16,
 * and give the scripted twin's results in both precisions. */
static void make_fixtures(void)
{
    tk_fixtures_make("precision", "make_test_models.py");
}

START_TEST(traced_convolutions_run_in_bf16)
{
    const char *traced = tk_fixture("classifier_traced.pt");
    const char *scripted = tk_fixture("classifier.pt");
    layer_run t_lo, t_hi, s_lo, s_hi;
    run_model(traced, "bf16", "features.3", 0, &t_lo);
    run_model(traced, "fp32", "features.3", 0, &t_hi);
    run_model(scripted, "bf16", "features.3", 0, &s_lo);
    run_model(scripted, "fp32", "features.3", 0, &s_hi);
    ck_assert_double_eq(not_bf16(t_lo.act, t_lo.n_act), 0.0);
    ck_assert_double_gt(not_bf16(t_hi.act, t_hi.n_act), 0.5);
    ck_assert_double_eq(rel_sq(t_lo.act, s_lo.act, t_lo.n_act), 0.0);
    ck_assert_double_eq(rel_sq(t_hi.act, s_hi.act, t_hi.n_act), 0.0);
    ck_assert_double_eq(rel_sq(t_lo.grad, s_lo.grad, t_lo.n_grad), 0.0);
    layer_run_free(&t_lo);
    layer_run_free(&t_hi);
    layer_run_free(&s_lo);
    layer_run_free(&s_hi);
}
END_TEST

START_TEST(bad_precision_is_a_usage_error)
{
    rsi_model *m = rsi_model_load(tk_source(SHIPPED));
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(rsi_model_set_precision(m, "fp16"), -1);
    ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_USAGE);
    ck_assert_ptr_nonnull(strstr(rsi_error_message(), "'fp16'"));
    rsi_error_clear();
    rsi_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("precision");
    TCase *tc = tcase_create("precision");
    tcase_add_test(tc, bf16_head_float32_tail);
    tcase_add_test(tc, chosen_rows_in_full_precision);
    tcase_add_test(tc, full_precision_rows_checked);
    tcase_add_test(tc, bad_precision_is_a_usage_error);
    suite_add_tcase(s, tc);
    TCase *traced = tcase_create("traced");
    tcase_add_unchecked_fixture(traced, make_fixtures, NULL);
    tcase_set_timeout(traced, 120);
    tcase_add_test(traced, traced_convolutions_run_in_bf16);
    suite_add_tcase(s, traced);
    int rc = tk_run(s);
    tk_scratch_close();
    return rc;
}
