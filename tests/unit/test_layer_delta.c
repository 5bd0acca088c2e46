/* What each exposed layer's gradient is taken against (core/torch/
 * layer_delta.h): the layer's output itself where nothing writes into it
 * later, a copy of it (A + D) where an in-place operation does. The
 * fixture's network twice, its ReLUs in place or not: every exposed
 * layer's activations and gradients, and the logits, must be the same to
 * the bit, layers alone and together, in float32 and bf16, with the head
 * frozen and as written. An in-place ReLU writing into a convolution's
 * output handed on without a copy would fail the run (autograd refuses to
 * change a leaf in place; rsicam checks the others' versions) or change
 * the activations it returns. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "model_check.h"
#include "testkit.h"

static void make_fixtures(void)
{
    tk_fixtures_make("layer_delta", "make_test_models.py");
}

/* layers chosen so that each kind of tensor is met: the first layer's
 * output (a leaf once detached), a later one's (recorded by autograd),
 * convolutions (written into by the in-place ReLU after them) and ReLUs */
static const char *const layer_sets[][3] = {
    {"features.2"},
    {"features.3"},
    {"features.2", "features.3"},
    {"features.1", "features.2"},
    {"features.1", "features.3", "features.6"},
    {"features.0", "features.4"},
};

static int set_size(const char *const *set)
{
    int n = 0;
    while (n < 3 && set[n])
        n++;
    return n;
}

static void same_runs(const char *precision)
{
    for (size_t s = 0; s < sizeof layer_sets / sizeof *layer_sets; s++) {
        const char *const *layers = layer_sets[s];
        const int n = set_size(layers);
        layer_run copied[3], shared[3];
        layers_run(tk_fixture("classifier_inplace.pt"), precision, layers, n, 0,
                   copied);
        layers_run(tk_fixture("classifier.pt"), precision, layers, n, 0,
                   shared);
        for (int l = 0; l < n; l++) {
            ck_assert_int_eq(copied[l].n_act, shared[l].n_act);
            ck_assert_int_eq(copied[l].n_grad, shared[l].n_grad);
            ck_assert_msg(memcmp(copied[l].act, shared[l].act,
                                 (size_t)copied[l].n_act * sizeof(float)) == 0,
                          "%s: %s's activations differ", precision, layers[l]);
            ck_assert_msg(memcmp(copied[l].grad, shared[l].grad,
                                 (size_t)copied[l].n_grad * sizeof(float)) == 0,
                          "%s: %s's gradients differ", precision, layers[l]);
            ck_assert_msg(memcmp(copied[l].logits, shared[l].logits,
                                 sizeof copied[l].logits) == 0,
                          "%s: the logits differ", precision);
            layer_run_free(&copied[l]);
            layer_run_free(&shared[l]);
        }
    }
}

START_TEST(in_place_after_a_layer_changes_nothing)
{
    same_runs("fp32");
    same_runs("bf16");
}
END_TEST

/* The head as written: the first layer's output comes out of autograd's
 * recording too (RSICAM_HEAD is read once per process; each test runs in
 * a process of its own). */
START_TEST(in_place_after_a_layer_changes_nothing_head_as_written)
{
    setenv("RSICAM_HEAD", "plain", 1);
    same_runs("fp32");
}
END_TEST

/* An in-place ReLU whose input the forward writes again after it, through
 * a view made before it: the ReLU's output is that memory, so it must be
 * copied, or the run fails (its version changed after it was handed out).
 * With the head as written: a frozen head would run the write before the
 * layer's output reaches the tail, since it does not depend on it. */
START_TEST(written_through_its_input_is_copied)
{
    setenv("RSICAM_HEAD", "plain", 1);
    const char *layer = "relu";
    layer_run run;
    layers_run(tk_fixture("written_after.pt"), "fp32", &layer, 1, 0, &run);
    ck_assert_int_gt(run.n_grad, 0);
    layer_run_free(&run);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("layer_delta");
    TCase *tc = tcase_create("layer_delta");
    tcase_add_unchecked_fixture(tc, make_fixtures, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, in_place_after_a_layer_changes_nothing);
    tcase_add_test(tc, in_place_after_a_layer_changes_nothing_head_as_written);
    tcase_add_test(tc, written_through_its_input_is_copied);
    suite_add_tcase(s, tc);
    int rc = tk_run(s);
    tk_scratch_close();
    return rc;
}
