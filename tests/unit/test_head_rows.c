/* The frozen head in parts of a run's rows (rsi_model_set_head_rows) and
 * the wide tail that calls for it (rsi_model_wide_tail), on the shipped
 * Fashion-MNIST classifier:
 *   - a run whose head goes in parts gives the activations, gradients,
 *     scores and logits of a run whose head takes all rows, to the bit, in
 *     float32 and in bf16 (where the head's last layer switches autocast
 *     off, so a part that did not switch it on again would run in float32
 *     and round apart: this test caught it), and with rows in float32
 *     under bf16;
 *   - the network after its last convolution (pooling, flattening, one
 *     small fully connected layer) is not wide, nor after an earlier layer
 *     (more convolutions); with no layers selected the question is an
 *     error; a negative number of rows is refused;
 *   - the head's time (rsi_model_head_seconds, which `--batch auto` times
 *     a wide tail's candidates by) is -1 before a run, then more than 0
 *     and no more than the run took. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "rsicam/error.h"
#include "rsicam/model.h"
#include "testkit.h"

#define ROWS 7
#define SIDE 28
#define TARGETS 2

static rsi_model *model_at(const char *layer)
{
    rsi_model *m = rsi_model_load(tk_source("examples/models/fmnist_cnn.pt"));
    ck_assert_msg(m, "%s", rsi_error_message());
    if (layer) /* else none: nothing to cut at */
        ck_assert_int_eq(rsi_model_select_layers(m, &layer, 1), 0);
    return m;
}

static rsi_tensor *input(void)
{
    static float x[ROWS * 3 * SIDE * SIDE];
    srand(5);
    for (size_t i = 0; i < sizeof x / sizeof *x; i++)
        x[i] = (float)rand() / (float)RAND_MAX * 2.0f - 1.0f;
    const int64_t shape[4] = {ROWS, 3, SIDE, SIDE};
    return rsi_tensor_from_floats(x, shape, 4);
}

typedef struct run {
    rsi_tensor *acts[1], *grads[TARGETS], *scores[TARGETS];
    rsi_forward_result res;
} run;

/* One run of x in one part, two targets, rows 0 and 6 in float32 when
 * exact (under bf16). */
static void run_once(rsi_model *m, const rsi_tensor *x, int exact, run *r)
{
    rsi_target t[TARGETS] = {{.class_index = 2, .kind = RSI_SCORE_SOFTMAX},
                             {.class_index = 7, .kind = RSI_SCORE_LOGIT}};
    rsi_run_part part = {.rows = ROWS, .targets = t, .n_targets = TARGETS};
    if (exact) {
        part.full_precision_at[0] = 0;
        part.full_precision_at[1] = ROWS - 1;
        part.n_full_precision = 2;
    }
    r->res = (rsi_forward_result){
        .acts = r->acts, .grads = r->grads, .scores = r->scores};
    ck_assert_msg(rsi_model_run_parts(m, x, &part, 1, TARGETS, &r->res) ==
                      TARGETS,
                  "%s", rsi_error_message());
}

static void assert_same_bits(const rsi_tensor *a, const rsi_tensor *b,
                             const char *what)
{
    const int64_t n = rsi_tensor_numel(a);
    ck_assert_int_eq(n, rsi_tensor_numel(b));
    float *x = malloc((size_t)n * sizeof *x),
          *y = malloc((size_t)n * sizeof *y);
    ck_assert_int_eq(rsi_tensor_to_floats(a, x, n), 0);
    ck_assert_int_eq(rsi_tensor_to_floats(b, y, n), 0);
    ck_assert_msg(memcmp(x, y, (size_t)n * sizeof *x) == 0,
                  "%s differs with the head in parts", what);
    free(x);
    free(y);
}

/* Whole head against parts of 1, 2 and 3 rows (7 rows: 4 + 3 at 3; 3 + 2
 * + 2 at 2; 2 + 2 + 2 + 1 at 1). */
static void parts_match_whole(const char *precision, int exact)
{
    rsi_model *m = model_at("features.17"); /* its last */
    ck_assert_int_eq(rsi_model_set_precision(m, precision), 0);
    rsi_tensor *x = input();
    run whole, part;
    run_once(m, x, exact, &whole);
    ck_assert_int_eq(whole.res.full_precision_rows, exact ? 2 : 0);
    for (int64_t rows = 1; rows <= 3; rows++) {
        ck_assert_int_eq(rsi_model_set_head_rows(m, rows), 0);
        run_once(m, x, exact, &part);
        assert_same_bits(whole.res.logits, part.res.logits, "logits");
        assert_same_bits(whole.acts[0], part.acts[0], "activations");
        for (int t = 0; t < TARGETS; t++) {
            assert_same_bits(whole.grads[t], part.grads[t], "a gradient");
            assert_same_bits(whole.scores[t], part.scores[t], "a score");
        }
        rsi_forward_result_release(&part.res, 1, TARGETS);
    }
    rsi_forward_result_release(&whole.res, 1, TARGETS);
    rsi_tensor_free(x);
    rsi_model_free(m);
}

START_TEST(float32_parts_match_whole)
{
    parts_match_whole("fp32", 0);
}
END_TEST

START_TEST(bf16_parts_match_whole)
{
    parts_match_whole("bf16", 0);
}
END_TEST

START_TEST(bf16_parts_match_whole_with_exact_rows)
{
    parts_match_whole("bf16", 1);
}
END_TEST

/* Fashion-MNIST's classifier after its last convolution is light but
 * small (a 64 x 10 fully connected layer): not wide, nor after an earlier
 * layer (convolutions follow). tests/python/test_wide_tail.py has a
 * network whose tail is wide. */
START_TEST(small_or_convolutional_tails_are_not_wide)
{
    rsi_model *last = model_at("features.17"), *early = model_at("features.10");
    ck_assert_int_eq(rsi_model_wide_tail(last), 0);
    ck_assert_int_eq(rsi_model_wide_tail(early), 0);
    rsi_model_free(last);
    rsi_model_free(early);
}
END_TEST

START_TEST(questions_without_layers_and_bad_rows_refused)
{
    rsi_model *bare = model_at(NULL);
    ck_assert_int_eq(rsi_model_wide_tail(bare), -1);
    ck_assert_ptr_nonnull(strstr(rsi_error_message(), "no layers selected"));
    rsi_error_clear();
    ck_assert_int_eq(rsi_model_set_head_rows(bare, -1), -1);
    ck_assert_ptr_nonnull(strstr(rsi_error_message(), "head rows"));
    rsi_error_clear();
    rsi_model_free(bare);
}
END_TEST

START_TEST(head_time_within_the_run)
{
    rsi_model *m = model_at("features.10");
    rsi_tensor *x = input();
    ck_assert(rsi_model_head_seconds(m) == -1);
    for (int64_t rows = 0; rows <= 2; rows += 2) {
        ck_assert_int_eq(rsi_model_set_head_rows(m, rows), 0);
        run r;
        const double start = tk_now();
        run_once(m, x, 0, &r);
        const double took = tk_now() - start, head = rsi_model_head_seconds(m);
        ck_assert_msg(head > 0 && head <= took,
                      "head %.6f s of a run of %.6f s", head, took);
        rsi_forward_result_release(&r.res, 1, TARGETS);
    }
    rsi_tensor_free(x);
    rsi_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("head_rows");
    TCase *tc = tcase_create("head_rows");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, float32_parts_match_whole);
    tcase_add_test(tc, bf16_parts_match_whole);
    tcase_add_test(tc, bf16_parts_match_whole_with_exact_rows);
    tcase_add_test(tc, small_or_convolutional_tails_are_not_wide);
    tcase_add_test(tc, questions_without_layers_and_bad_rows_refused);
    tcase_add_test(tc, head_time_within_the_run);
    suite_add_tcase(s, tc);
    return tk_run(s);
}
