/* rsi_model_run_parts: the targets chosen from a part's first row's logits
 * between the forward and the backward. The result must equal
 * rsi_model_run over the same rows with the chosen targets, a chooser's own
 * error must reach the caller as it was raised, several parts in one run must
 * each get their own targets, and each row must say whether it is finite. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rsicam/error.h"
#include "rsicam/model.h"
#include "testkit.h"

#define ROWS 5
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

/* rows random inputs; row nan_row (if >= 0) holds a NaN near its start,
 * row inf_row (if >= 0) minus infinity as its last value */
static rsi_tensor *input_rows(int rows, int nan_row, int inf_row)
{
    static float x[ROWS * 3 * SIDE * SIDE];
    const size_t row = 3 * SIDE * SIDE;
    srand(11);
    for (size_t i = 0; i < sizeof x / sizeof *x; i++)
        x[i] = (float)rand() / (float)RAND_MAX * 2.0f - 1.0f;
    if (nan_row >= 0)
        x[(size_t)nan_row * row + 7] = NAN;
    if (inf_row >= 0)
        x[(size_t)inf_row * row + row - 1] = -INFINITY;
    const int64_t shape[4] = {rows, 3, SIDE, SIDE};
    return rsi_tensor_from_floats(x, shape, 4);
}

static rsi_tensor *input(void)
{
    return input_rows(3, -1, -1);
}

/* One part over all of x, its targets chosen. */
static int run_choosing(rsi_model *m, const rsi_tensor *x, seen *s,
                        rsi_target *targets, int *n, rsi_forward_result *res)
{
    rsi_run_part part = {.rows = rsi_tensor_size(x, 0),
                         .targets = targets,
                         .choose = choose,
                         .user = s};
    *n = 0;
    int slots = rsi_model_run_parts(m, x, &part, 1, 4, res);
    *n = slots < 0 ? 0 : part.n_targets;
    return slots < 0 ? -1 : 0;
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

/* A model, an input and room for a run's result (one layer, up to four
 * targets); res points into the fixture, which therefore stays put. */
typedef struct run_fixture {
    rsi_model *m;
    rsi_tensor *x;
    rsi_tensor *acts[1], *grads[4], *scores[4];
    rsi_forward_result res;
} run_fixture;

static void fixture_open(run_fixture *f, rsi_tensor *x)
{
    f->m = model();
    f->x = x;
    f->res = (rsi_forward_result){
        .acts = f->acts, .grads = f->grads, .scores = f->scores};
}

static void fixture_close(run_fixture *f)
{
    rsi_tensor_free(f->x);
    rsi_model_free(f->m);
}

START_TEST(first_row_chooses)
{
    run_fixture f;
    fixture_open(&f, input());
    rsi_target targets[4];
    seen s = {0};
    int n = 0;
    ck_assert_msg(run_choosing(f.m, f.x, &s, targets, &n, &f.res) == 0, "%s",
                  rsi_error_message());
    ck_assert_int_eq(s.calls, 1);
    ck_assert_int_eq(n, 2);
    /* the chooser saw row 0's logits */
    rsi_tensor *row0 = rsi_tensor_narrow(f.x, 0, 0, 1);
    rsi_tensor *logits0 = rsi_model_logits(f.m, row0);
    float want[CLASSES];
    ck_assert_int_eq(rsi_tensor_to_floats(logits0, want, CLASSES), 0);
    for (int c = 0; c < CLASSES; c++)
        ck_assert_float_eq_tol(s.logits[c], want[c], 1e-4);
    /* every row, row 0 too, as a plain run with the same targets */
    ck_assert_int_eq(rsi_tensor_size(f.acts[0], 0), 3);
    ck_assert_int_eq(rsi_tensor_size(f.grads[1], 0), 3);
    ck_assert_int_eq(rsi_tensor_size(f.res.logits, 0), 3);
    rsi_tensor *acts2[1], *grads2[2], *scores2[2];
    rsi_forward_result plain = {
        .acts = acts2, .grads = grads2, .scores = scores2};
    ck_assert_int_eq(rsi_model_run(f.m, f.x, targets, 2, &plain), 0);
    assert_close(f.acts[0], acts2[0]);
    for (int t = 0; t < 2; t++) {
        assert_close(f.grads[t], grads2[t]);
        assert_close(f.scores[t], scores2[t]);
    }
    rsi_forward_result_release(&f.res, 1, n);
    rsi_forward_result_release(&plain, 1, 2);
    rsi_tensor_free(row0);
    rsi_tensor_free(logits0);
    fixture_close(&f);
}
END_TEST

START_TEST(chooser_error_stands)
{
    run_fixture f;
    fixture_open(&f, input());
    rsi_target targets[4];
    seen s = {.fail = 1};
    int n = -1;
    ck_assert_int_eq(run_choosing(f.m, f.x, &s, targets, &n, &f.res), -1);
    ck_assert_int_eq(n, 0);
    ck_assert_str_eq(rsi_error_message(), "the chooser says no");
    ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_USAGE);
    ck_assert_ptr_null(f.res.logits);
    ck_assert_ptr_null(f.acts[0]);
    rsi_error_clear();
    fixture_close(&f);
}
END_TEST

/* Rows [first, first + n) of t. */
static rsi_tensor *rows_of(const rsi_tensor *t, int64_t first, int64_t n)
{
    rsi_tensor *v = rsi_tensor_narrow(t, 0, first, n);
    ck_assert_ptr_nonnull(v);
    return v;
}

/* x = [part 0's 3 rows, part 1's 2 rows]: part 0 chooses two targets from
 * its first row, part 1 brings one; each part's rows must come out as a
 * plain run over them with its own targets, part 1 repeating its one
 * target in the second slot. */
START_TEST(parts_get_their_own_targets)
{
    run_fixture f;
    fixture_open(&f, input_rows(ROWS, -1, -1));
    rsi_target chosen[4],
        given[1] = {{.class_index = 3, .kind = RSI_SCORE_SOFTMAX}};
    seen s = {0};
    rsi_run_part parts[2] = {
        {.rows = 3, .targets = chosen, .choose = choose, .user = &s},
        {.rows = 2, .targets = given, .n_targets = 1}};
    ck_assert_msg(rsi_model_run_parts(f.m, f.x, parts, 2, 4, &f.res) == 2, "%s",
                  rsi_error_message());
    ck_assert_int_eq(parts[0].n_targets, 2);
    ck_assert_int_eq(rsi_tensor_size(f.acts[0], 0), ROWS);
    rsi_tensor *acts1[1], *grads1[2], *scores1[2];
    rsi_forward_result plain = {
        .acts = acts1, .grads = grads1, .scores = scores1};
    for (int part = 0; part < 2; part++) {
        const int64_t first = part == 0 ? 0 : 3, rows = part == 0 ? 3 : 2;
        rsi_tensor *in = rows_of(f.x, first, rows);
        const rsi_target *t = part == 0 ? chosen : given;
        const int nt = part == 0 ? 2 : 1;
        ck_assert_int_eq(rsi_model_run(f.m, in, t, nt, &plain), 0);
        rsi_tensor *a = rows_of(f.acts[0], first, rows);
        assert_close(a, acts1[0]);
        for (int slot = 0; slot < 2; slot++) {
            const int own = slot < nt ? slot : nt - 1;
            rsi_tensor *g = rows_of(f.grads[slot], first, rows);
            rsi_tensor *sc = rows_of(f.scores[slot], first, rows);
            assert_close(g, grads1[own]);
            assert_close(sc, scores1[own]);
            rsi_tensor_free(g);
            rsi_tensor_free(sc);
        }
        rsi_tensor_free(a);
        rsi_tensor_free(in);
        rsi_forward_result_release(&plain, 1, nt);
    }
    rsi_forward_result_release(&f.res, 1, 2);
    fixture_close(&f);
}
END_TEST

/* A NaN in one input row, or an infinity as another's last value, marks
 * those rows, and only them, as not finite. */
START_TEST(rows_say_whether_they_are_finite)
{
    run_fixture f;
    fixture_open(&f, input_rows(ROWS, 2, 3));
    const rsi_target t = {.class_index = 1, .kind = RSI_SCORE_LOGIT};
    ck_assert_int_eq(rsi_model_run(f.m, f.x, &t, 1, &f.res), 0);
    float finite[ROWS];
    ck_assert_int_eq(rsi_tensor_to_floats(f.res.finite, finite, ROWS), 0);
    for (int r = 0; r < ROWS; r++)
        ck_assert_float_eq(finite[r], r == 2 || r == 3 ? 0.0f : 1.0f);
    rsi_forward_result_release(&f.res, 1, 1);
    fixture_close(&f);
}
END_TEST

/* Parts that do not add up to the input's rows are refused. */
START_TEST(parts_must_cover_the_input)
{
    run_fixture f;
    fixture_open(&f, input());
    rsi_target t = {.class_index = 1, .kind = RSI_SCORE_LOGIT};
    rsi_run_part part = {.rows = 2, .targets = &t, .n_targets = 1};
    ck_assert_int_eq(rsi_model_run_parts(f.m, f.x, &part, 1, 1, &f.res), -1);
    ck_assert_ptr_nonnull(strstr(rsi_error_message(), "the parts hold 2 rows"));
    rsi_error_clear();
    fixture_close(&f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("model_run");
    TCase *tc = tcase_create("choosing");
    tcase_add_test(tc, first_row_chooses);
    tcase_add_test(tc, chooser_error_stands);
    tcase_add_test(tc, parts_get_their_own_targets);
    tcase_add_test(tc, rows_say_whether_they_are_finite);
    tcase_add_test(tc, parts_must_cover_the_input);
    suite_add_tcase(s, tc);
    return tk_run(s);
}
