/* rsi_model_run_choosing: the targets chosen from the first row's logits
 * between the forward and the backward; with a lead row, that row is only
 * looked at. The result must equal rsi_model_run over the other rows with
 * the chosen targets, and a chooser's own error must reach the caller as it
 * was raised. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rsicam/error.h"
#include "rsicam/model.h"
#include "testkit.h"

#define ROWS 3
#define SIDE 96
#define CLASSES 10

typedef struct seen {
    float logits[CLASSES];
    int calls;
    int fail;
} seen;

/* Picks the top class of the row it is shown, as a logit and a softmax
 * target; or fails with a usage error. */
static int choose(void *user, const rsi_tensor *logits, rsi_target *targets,
                  int max)
{
    seen *s = user;
    s->calls++;
    if (s->fail) {
        rsi_error_class_set(RSI_ERR_USAGE, "the chooser says no");
        return -1;
    }
    ck_assert_int_eq(rsi_tensor_numel(logits), CLASSES);
    ck_assert_int_eq(rsi_tensor_to_floats(logits, s->logits, CLASSES), 0);
    int best = 0;
    for (int c = 1; c < CLASSES; c++)
        best = s->logits[c] > s->logits[best] ? c : best;
    ck_assert_int_ge(max, 2);
    targets[0] = (rsi_target){.class_index = best, .kind = RSI_SCORE_LOGIT};
    targets[1] = (rsi_target){.class_index = best, .kind = RSI_SCORE_SOFTMAX};
    return 2;
}

static rsi_model *model(void)
{
    rsi_model *m = rsi_model_load(tk_source("examples/models/fmnist_cnn.pt"));
    ck_assert_msg(m, "%s", rsi_error_message());
    const char *layer = "features.10";
    ck_assert_int_eq(rsi_model_select_layers(m, &layer, 1), 0);
    return m;
}

static rsi_tensor *input(void)
{
    static float x[ROWS * 3 * SIDE * SIDE];
    srand(11);
    for (size_t i = 0; i < sizeof x / sizeof *x; i++)
        x[i] = (float)rand() / (float)RAND_MAX * 2.0f - 1.0f;
    const int64_t shape[4] = {ROWS, 3, SIDE, SIDE};
    return rsi_tensor_from_floats(x, shape, 4);
}

static void assert_close(const rsi_tensor *a, const rsi_tensor *b)
{
    const int64_t n = rsi_tensor_numel(a);
    ck_assert_int_eq(n, rsi_tensor_numel(b));
    float *x = malloc((size_t)n * sizeof *x),
          *y = malloc((size_t)n * sizeof *y);
    ck_assert_int_eq(rsi_tensor_to_floats(a, x, n), 0);
    ck_assert_int_eq(rsi_tensor_to_floats(b, y, n), 0);
    double scale = 1e-12;
    for (int64_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(y[i]));
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(fabs(x[i] - y[i]) <= 1e-4 * scale, "%g vs %g", x[i],
                      y[i]);
    free(x);
    free(y);
}

START_TEST(lead_row_chooses_and_is_left_out)
{
    rsi_model *m = model();
    rsi_tensor *x = input();
    rsi_tensor *acts[1], *grads[8], *scores[4];
    rsi_forward_result res = {.acts = acts, .grads = grads, .scores = scores};
    rsi_target targets[4];
    seen s = {0};
    int n = 0;
    ck_assert_msg(
        rsi_model_run_choosing(m, x, 1, choose, &s, targets, 4, &n, &res) == 0,
        "%s", rsi_error_message());
    ck_assert_int_eq(s.calls, 1);
    ck_assert_int_eq(n, 2);
    /* the chooser saw row 0's logits */
    rsi_tensor *row0 = rsi_tensor_narrow(x, 0, 0, 1);
    rsi_tensor *logits0 = rsi_model_logits(m, row0);
    float want[CLASSES];
    ck_assert_int_eq(rsi_tensor_to_floats(logits0, want, CLASSES), 0);
    for (int c = 0; c < CLASSES; c++)
        ck_assert_float_eq_tol(s.logits[c], want[c], 1e-4);
    /* rows 1.. only, as a plain run over them with the same targets */
    ck_assert_int_eq(rsi_tensor_size(acts[0], 0), ROWS - 1);
    ck_assert_int_eq(rsi_tensor_size(grads[1], 0), ROWS - 1);
    ck_assert_int_eq(rsi_tensor_size(res.logits, 0), ROWS - 1);
    rsi_tensor *rest = rsi_tensor_narrow(x, 0, 1, ROWS - 1);
    rsi_tensor *acts2[1], *grads2[2], *scores2[2];
    rsi_forward_result plain = {
        .acts = acts2, .grads = grads2, .scores = scores2};
    ck_assert_int_eq(rsi_model_run(m, rest, targets, 2, &plain), 0);
    assert_close(acts[0], acts2[0]);
    for (int t = 0; t < 2; t++) {
        assert_close(grads[t], grads2[t]);
        assert_close(scores[t], scores2[t]);
    }
    rsi_forward_result_release(&res, 1, n);
    rsi_forward_result_release(&plain, 1, 2);
    rsi_tensor *owned[] = {x, row0, logits0, rest};
    for (size_t i = 0; i < sizeof owned / sizeof *owned; i++)
        rsi_tensor_free(owned[i]);
    rsi_model_free(m);
}
END_TEST

START_TEST(without_lead_the_row_is_kept)
{
    rsi_model *m = model();
    rsi_tensor *x = input();
    rsi_tensor *acts[1], *grads[8], *scores[4];
    rsi_forward_result res = {.acts = acts, .grads = grads, .scores = scores};
    rsi_target targets[4];
    seen s = {0};
    int n = 0;
    ck_assert_int_eq(
        rsi_model_run_choosing(m, x, 0, choose, &s, targets, 4, &n, &res), 0);
    ck_assert_int_eq(rsi_tensor_size(acts[0], 0), ROWS);
    ck_assert_int_eq(rsi_tensor_size(scores[0], 0), ROWS);
    rsi_forward_result_release(&res, 1, n);
    rsi_tensor_free(x);
    rsi_model_free(m);
}
END_TEST

START_TEST(chooser_error_stands)
{
    rsi_model *m = model();
    rsi_tensor *x = input();
    rsi_tensor *acts[1], *grads[8], *scores[4];
    rsi_forward_result res = {.acts = acts, .grads = grads, .scores = scores};
    rsi_target targets[4];
    seen s = {.fail = 1};
    int n = -1;
    ck_assert_int_eq(
        rsi_model_run_choosing(m, x, 1, choose, &s, targets, 4, &n, &res), -1);
    ck_assert_int_eq(n, 0);
    ck_assert_str_eq(rsi_error_message(), "the chooser says no");
    ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_USAGE);
    ck_assert_ptr_null(res.logits);
    ck_assert_ptr_null(acts[0]);
    rsi_error_clear();
    rsi_tensor_free(x);
    rsi_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("model_run");
    TCase *tc = tcase_create("choosing");
    tcase_add_test(tc, lead_row_chooses_and_is_left_out);
    tcase_add_test(tc, without_lead_the_row_is_kept);
    tcase_add_test(tc, chooser_error_stands);
    suite_add_tcase(s, tc);
    return tk_run(s);
}
