/* One forward and backward of a model on fixed random rows, its
 * activations, gradients and logits kept: for the unit suites that compare
 * two runs (test_precision.c, test_layer_delta.c). Needs Check. */
#ifndef RSICAM_MODEL_CHECK_H
#define RSICAM_MODEL_CHECK_H

#include <stdint.h>

#define MODEL_CHECK_ROWS 3
#define MODEL_CHECK_SIDE 96
#define MODEL_CHECK_CLASSES 10

/* One layer's part of a run: its activations and the gradient of class
 * 3's logit, all rows, and the run's logits. */
typedef struct layer_run {
    int64_t n_act, n_grad;
    float *act, *grad;
    float logits[MODEL_CHECK_ROWS * MODEL_CHECK_CLASSES];
} layer_run;

/* Loads model (a file's path) in precision, selects the n layers and runs
 * the same random rows through them, filling out[0..n-1]; exact: bit r
 * asks for row r in full precision. Fails the test on any error. */
void layers_run(const char *model, const char *precision,
                const char *const *layers, int n, unsigned exact,
                layer_run *out);
void layer_run_free(layer_run *o);

/* |a - b|^2 / |b|^2 over n values */
double rel_sq(const float *a, const float *b, int64_t n);

#endif
