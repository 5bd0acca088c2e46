/* One forward and backward of a model, kept (model_check.h). */
#include "model_check.h"

#include <check.h>
#include <stdlib.h>

#include "rsicam/error.h"
#include "rsicam/model.h"

#define B MODEL_CHECK_ROWS
#define SIDE MODEL_CHECK_SIDE

static float *copy_out(const rsi_tensor *t, int64_t *n)
{
    *n = rsi_tensor_numel(t);
    float *v = malloc((size_t)*n * sizeof *v);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(rsi_tensor_to_floats(t, v, *n), 0);
    return v;
}

void layers_run(const char *model, const char *precision,
                const char *const *layers, int n, unsigned exact,
                layer_run *out)
{
    rsi_model *m = rsi_model_load(model);
    ck_assert_msg(m, "%s", rsi_error_message());
    ck_assert_int_eq(rsi_model_set_precision(m, precision), 0);
    ck_assert_msg(rsi_model_select_layers(m, layers, n) == 0, "%s",
                  rsi_error_message());
    static float x[B * 3 * SIDE * SIDE];
    srand(7);
    for (size_t i = 0; i < sizeof x / sizeof *x; i++)
        x[i] = (float)rand() / (float)RAND_MAX * 4.0f - 2.0f;
    const int64_t shape[4] = {B, 3, SIDE, SIDE};
    rsi_tensor *t = rsi_tensor_from_floats(x, shape, 4);
    rsi_target target = {.class_index = 3, .kind = RSI_SCORE_LOGIT};
    rsi_tensor **acts = calloc((size_t)n, sizeof *acts),
               **grads = calloc((size_t)n, sizeof *grads), *scores[1];
    rsi_forward_result res = {.acts = acts, .grads = grads, .scores = scores};
    rsi_run_part all = {.rows = B, .targets = &target, .n_targets = 1};
    for (int r = 0; r < B; r++)
        if (exact & 1u << r)
            all.full_precision_at[all.n_full_precision++] = r;
    ck_assert_msg(rsi_model_run_parts(m, t, &all, 1, 1, &res) == 1, "%s",
                  rsi_error_message());
    ck_assert_int_eq(rsi_tensor_numel(res.logits), B * MODEL_CHECK_CLASSES);
    for (int l = 0; l < n; l++) {
        out[l].act = copy_out(acts[l], &out[l].n_act);
        out[l].grad = copy_out(grads[l], &out[l].n_grad);
        ck_assert_int_eq(rsi_tensor_to_floats(res.logits, out[l].logits,
                                              B * MODEL_CHECK_CLASSES),
                         0);
    }
    rsi_forward_result_release(&res, n, 1);
    free(acts);
    free(grads);
    rsi_tensor_free(t);
    rsi_model_free(m);
}

void layer_run_free(layer_run *o)
{
    free(o->act);
    free(o->grad);
}

double rel_sq(const float *a, const float *b, int64_t n)
{
    double diff = 0, norm = 0;
    for (int64_t i = 0; i < n; i++) {
        diff += (a[i] - b[i]) * (double)(a[i] - b[i]);
        norm += b[i] * (double)b[i];
    }
    return diff / norm;
}
