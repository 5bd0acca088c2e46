/* rsi_tensor_trapezoids_add, the engine's one-pass sum (and its
 * rsi_tensor_increments, exact), against the sum computed here in long
 * double: within the rounding of a float64 sum of B terms (the terms
 * themselves are exact: sums and products of floats), at every batch size
 * rsicam runs and one more, with and without relu, on the CPU loop
 * (points in float64, or a float64 previous point and a float32 batch, as
 * the engine passes them) and on the composed path that other layouts
 * take; the tensor operations it replaces are held to the same bound.
 * Shapes that do not pair up are a clear error. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsicam/error.h"
#include "rsicam/tensor.h"
#include "testkit.h"

#define K 5 /* channels compared */
#define H 7
#define W 3
#define UNIT (K * H * W)

/* Random floats [rows, channels, H, W]: gradients of both signs, so that
 * relu matters, over six orders of magnitude, so that sums round. */
static float *random_floats(int64_t rows, int64_t channels, unsigned seed)
{
    const int64_t n = rows * channels * H * W;
    float *v = malloc((size_t)n * sizeof *v);
    ck_assert_ptr_nonnull(v);
    srand(seed);
    for (int64_t i = 0; i < n; i++)
        v[i] = ((float)rand() / (float)RAND_MAX - 0.3f) *
               powf(10.0f, (float)(rand() % 7) - 3.0f);
    return v;
}

/* v as float64 [rows, channels, H, W], narrowed to the first K channels
 * (not contiguous when channels > K). */
static rsi_tensor *as_doubles(const float *v, int64_t rows, int64_t channels)
{
    const int64_t shape[4] = {rows, channels, H, W};
    rsi_tensor *f = rsi_tensor_from_floats(v, shape, 4);
    rsi_tensor *d = rsi_tensor_to_dtype(f, RSI_FLOAT64);
    rsi_tensor *out = rsi_tensor_narrow(d, 1, 0, K);
    ck_assert_ptr_nonnull(out);
    rsi_tensor_free(f);
    rsi_tensor_free(d);
    return out;
}

/* The points of v as the engine passes them: with split, the first row
 * alone in float64 (*prev) and the others in float32, else all rows in
 * float64 and no *prev. */
static rsi_tensor *as_points(const float *v, int64_t rows, int64_t channels,
                             int split, rsi_tensor **prev)
{
    rsi_tensor *all = as_doubles(v, rows, channels);
    *prev = NULL;
    if (!split)
        return all;
    *prev = rsi_tensor_narrow(all, 0, 0, 1);
    rsi_tensor *rest = rsi_tensor_narrow(all, 0, 1, rows - 1);
    rsi_tensor *batch = rsi_tensor_to_dtype(rest, RSI_FLOAT32);
    ck_assert_ptr_nonnull(batch);
    rsi_tensor_free(rest);
    rsi_tensor_free(all);
    return batch;
}

/* t[1:] + t[:-1] along dim 0 */
static rsi_tensor *pair_sums(const rsi_tensor *t)
{
    const int64_t n = rsi_tensor_size(t, 0);
    rsi_tensor *hi = rsi_tensor_narrow(t, 0, 1, n - 1),
               *lo = rsi_tensor_narrow(t, 0, 0, n - 1);
    rsi_tensor *out = rsi_tensor_add(hi, lo);
    rsi_tensor_free(hi);
    rsi_tensor_free(lo);
    return out;
}

/* acc += 0.5 * sum_0(pair_sums(f(g)) * d), composed as the engine did. */
static void composed(rsi_tensor **acc, const rsi_tensor *g, const rsi_tensor *d,
                     int relu)
{
    rsi_tensor *f = relu ? rsi_tensor_relu(g) : rsi_tensor_clone(g);
    rsi_tensor *s = pair_sums(f);
    rsi_tensor *prod = rsi_tensor_mul(s, d);
    rsi_tensor *part = rsi_tensor_sum_dim(prod, 0, 0);
    rsi_tensor *half = rsi_tensor_scale(part, 0.5);
    ck_assert_ptr_nonnull(half);
    if (*acc)
        ck_assert_int_eq(rsi_tensor_add_(*acc, half), 0);
    else
        *acc = rsi_tensor_clone(half);
    rsi_tensor_free(f);
    rsi_tensor_free(s);
    rsi_tensor_free(prod);
    rsi_tensor_free(part);
    rsi_tensor_free(half);
}

/* Element i of t (any shape), in float64. */
static double element(const rsi_tensor *t, int64_t i)
{
    const int64_t flat[1] = {rsi_tensor_numel(t)};
    rsi_tensor *all = rsi_tensor_reshape(t, flat, 1);
    rsi_tensor *one = rsi_tensor_narrow(all, 0, i, 1);
    double v = NAN;
    ck_assert_int_eq(rsi_tensor_item(one, &v), 0);
    rsi_tensor_free(all);
    rsi_tensor_free(one);
    return v;
}

static double rectified(double x)
{
    return x > 0 ? x : 0;
}

/* Two batches added on, as the engine adds one per forward. */
static void compare(int64_t rows, int relu, int strided, int split)
{
    const int64_t channels = strided ? 2 * K : K;
    const int64_t plane = channels * H * W;
    rsi_tensor *fused = NULL, *want = NULL;
    long double exact[UNIT] = {0};
    double magnitude[UNIT] = {0}; /* 0.5 * sum of |terms| */
    for (unsigned batch = 0; batch < 2; batch++) {
        float *gv = random_floats(rows + 1, channels, 2 * batch + 1),
              *dv = random_floats(rows, channels, 2 * batch + 2);
        rsi_tensor *g = as_doubles(gv, rows + 1, channels),
                   *d = as_doubles(dv, rows, channels), *prev;
        rsi_tensor *points = as_points(gv, rows + 1, channels, split, &prev);
        ck_assert_int_eq(
            rsi_tensor_trapezoids_add(&fused, prev, points, d, relu), 0);
        composed(&want, g, d, relu);
        /* the increments of the same points: differences of floats, exact
         * in float64 */
        rsi_tensor *inc = rsi_tensor_increments(prev, points);
        ck_assert_ptr_nonnull(inc);
        ck_assert_int_eq(rsi_tensor_size(inc, 0), rows);
        for (int64_t b = 0; b < rows; b++)
            for (int64_t i = 0; i < UNIT; i++)
                ck_assert(element(inc, b * UNIT + i) ==
                          (double)gv[(b + 1) * plane + i] -
                              (double)gv[b * plane + i]);
        rsi_tensor_free(inc);
        rsi_tensor_free(prev);
        rsi_tensor_free(points);
        for (int64_t i = 0; i < UNIT; i++)
            for (int64_t b = 0; b < rows; b++) {
                double lo = gv[b * plane + i], hi = gv[(b + 1) * plane + i];
                if (relu) {
                    lo = rectified(lo);
                    hi = rectified(hi);
                }
                const double term = (hi + lo) * (double)dv[b * plane + i];
                exact[i] += 0.5L * (long double)term;
                magnitude[i] += 0.5 * fabs(term);
            }
        rsi_tensor_free(g);
        rsi_tensor_free(d);
        free(gv);
        free(dv);
    }
    ck_assert_int_eq(rsi_tensor_dtype(fused), RSI_FLOAT64);
    ck_assert_int_eq(rsi_tensor_ndim(fused), 3);
    ck_assert_int_eq(rsi_tensor_size(fused, 0), K);
    /* a float64 sum of n terms is off by at most (n - 1) eps sum |terms|
     * (the terms are exact here); two batches: rows + 1 additions */
    const double bound = (double)(rows + 1) * DBL_EPSILON;
    for (int64_t i = 0; i < UNIT; i++) {
        const double f = element(fused, i), c = element(want, i);
        const double limit = bound * magnitude[i];
        ck_assert_msg(fabsl((long double)f - exact[i]) <= limit,
                      "B %lld, relu %d, strided %d, element %lld: %.17g "
                      "against %.17Lg",
                      (long long)rows, relu, strided, (long long)i, f,
                      exact[i]);
        ck_assert_msg(fabsl((long double)c - exact[i]) <= limit,
                      "composed, B %lld: %.17g against %.17Lg", (long long)rows,
                      c, exact[i]);
    }
    rsi_tensor_free(fused);
    rsi_tensor_free(want);
}

START_TEST(the_trapezoid_sums)
{
    /* batches 1 to 16 (--batch auto's candidates and all between), 17 */
    for (int64_t rows = 1; rows <= 17; rows++)
        for (int relu = 0; relu < 2; relu++)
            for (int strided = 0; strided < 2; strided++)
                for (int split = 0; split < 2; split++)
                    compare(rows, relu, strided, split);
}
END_TEST

START_TEST(shapes_that_do_not_pair_up)
{
    float *gv = random_floats(4, K, 1), *dv = random_floats(4, K, 2);
    rsi_tensor *g = as_doubles(gv, 4, K), *d = as_doubles(dv, 4, K);
    free(gv);
    free(dv);
    rsi_tensor *acc = NULL;
    /* B + 1 gradients for B increments: 4 and 4 do not pair */
    ck_assert_int_eq(rsi_tensor_trapezoids_add(&acc, NULL, g, d, 0), -1);
    ck_assert_ptr_null(acc);
    ck_assert_ptr_nonnull(strstr(rsi_error_message(), "[4, 5, 7, 3]"));
    rsi_error_clear();
    /* increments in float32 */
    rsi_tensor *f = rsi_tensor_to_dtype(d, RSI_FLOAT32),
               *d3 = rsi_tensor_narrow(f, 0, 0, 3);
    ck_assert_int_eq(rsi_tensor_trapezoids_add(&acc, NULL, g, d3, 0), -1);
    ck_assert_ptr_nonnull(strstr(rsi_error_message(), "float64"));
    rsi_error_clear();
    /* a previous point of another shape */
    rsi_tensor *two = rsi_tensor_narrow(g, 0, 0, 2);
    ck_assert_ptr_null(rsi_tensor_increments(two, g));
    ck_assert_ptr_nonnull(strstr(rsi_error_message(), "previous point"));
    rsi_error_clear();
    rsi_tensor_free(two);
    rsi_tensor_free(g);
    rsi_tensor_free(d);
    rsi_tensor_free(f);
    rsi_tensor_free(d3);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trapezoids");
    TCase *tc = tcase_create("trapezoids");
    tcase_add_test(tc, the_trapezoid_sums);
    tcase_add_test(tc, shapes_that_do_not_pair_up);
    suite_add_tcase(s, tc);
    return tk_run(s);
}
