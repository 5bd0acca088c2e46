/* rsi_tensor_trapezoids_add, the engine's one pass over a batch, against
 * the sums computed here in long double: within the rounding of float64
 * (one rounding per product, then a sum of B terms), at every batch size
 * rsicam runs and one more, with and without the rectified sum, on the CPU
 * loop (points in float64, or a float64 previous point and a float32
 * batch, as the engine passes them) and on the composed path that other
 * layouts take. The raw sum is the same to the bit whether or not the
 * rectified one is kept beside it. Points that do not pair up are a clear
 * error. */
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

/* Random floats [rows, channels, H, W] of both signs (so that relu
 * matters) over six orders of magnitude (so that sums round). */
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

/* The points of v [rows, channels, H, W] narrowed to the first K channels
 * (not contiguous when channels > K), as the engine passes them: with
 * split, the first row alone in float64 (*prev) and the others in float32,
 * else all rows in float64 and no *prev. */
static rsi_tensor *as_points(const float *v, int64_t rows, int64_t channels,
                             int split, rsi_tensor **prev)
{
    const int64_t shape[4] = {rows, channels, H, W};
    rsi_tensor *f = rsi_tensor_from_floats(v, shape, 4);
    rsi_tensor *d = rsi_tensor_to_dtype(f, RSI_FLOAT64);
    rsi_tensor *all = rsi_tensor_narrow(d, 1, 0, K);
    ck_assert_ptr_nonnull(all);
    rsi_tensor_free(f);
    rsi_tensor_free(d);
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

static long double rectified(long double x)
{
    return x > 0 ? x : 0;
}

/* The sum in long double, and half the sum of its terms' magnitudes. */
typedef struct reference {
    long double exact[UNIT];
    double magnitude[UNIT];
} reference;

static void reference_add(reference *ref, const float *g, const float *a,
                          int64_t rows, int64_t plane, int relu)
{
    for (int64_t i = 0; i < UNIT; i++)
        for (int64_t b = 0; b < rows; b++) {
            long double lo = g[b * plane + i], hi = g[(b + 1) * plane + i];
            if (relu) {
                lo = rectified(lo);
                hi = rectified(hi);
            }
            const long double d =
                (long double)a[(b + 1) * plane + i] - a[b * plane + i];
            const long double term = 0.5L * (hi + lo) * d;
            ref->exact[i] += term;
            ref->magnitude[i] += (double)fabsl(term);
        }
}

/* Two batches of rows + 1 points added on, as the engine adds one per
 * forward: the sums with and without relu(g) in one call, the raw one
 * alone in another. */
static void compare(int64_t rows, int strided, int split)
{
    const int64_t channels = strided ? 2 * K : K;
    const int64_t plane = channels * H * W;
    rsi_tensor *sum = NULL, *sum_relu = NULL, *alone = NULL;
    reference *raw = calloc(2, sizeof *raw), *rel = raw + 1;
    ck_assert_ptr_nonnull(raw);
    for (unsigned batch = 0; batch < 2; batch++) {
        float *gv = random_floats(rows + 1, channels, 2 * batch + 1),
              *av = random_floats(rows + 1, channels, 2 * batch + 2);
        rsi_tensor *g_prev, *a_prev;
        rsi_tensor *g = as_points(gv, rows + 1, channels, split, &g_prev),
                   *a = as_points(av, rows + 1, channels, split, &a_prev);
        ck_assert_int_eq(
            rsi_tensor_trapezoids_add(&sum, &sum_relu, g_prev, g, a_prev, a),
            0);
        ck_assert_int_eq(
            rsi_tensor_trapezoids_add(&alone, NULL, g_prev, g, a_prev, a), 0);
        reference_add(raw, gv, av, rows, plane, 0);
        reference_add(rel, gv, av, rows, plane, 1);
        rsi_tensor_free(g_prev);
        rsi_tensor_free(g);
        rsi_tensor_free(a_prev);
        rsi_tensor_free(a);
        free(gv);
        free(av);
    }
    const rsi_tensor *got[2] = {sum, sum_relu};
    const reference *want[2] = {raw, rel};
    for (int s = 0; s < 2; s++) {
        ck_assert_int_eq(rsi_tensor_dtype(got[s]), RSI_FLOAT64);
        ck_assert_int_eq(rsi_tensor_ndim(got[s]), 3);
        ck_assert_int_eq(rsi_tensor_size(got[s], 0), K);
    }
    /* each term rounds once (its product), a float64 sum of n terms is off
     * by at most (n - 1) eps sum |terms|, and each batch is added on once:
     * within (rows + 2) eps of the magnitudes over two batches */
    const double bound = (double)(rows + 2) * DBL_EPSILON;
    for (int s = 0; s < 2; s++)
        for (int64_t i = 0; i < UNIT; i++) {
            const double v = element(got[s], i);
            ck_assert_msg(fabsl((long double)v - want[s]->exact[i]) <=
                              bound * want[s]->magnitude[i],
                          "B %lld, relu %d, strided %d, split %d, element "
                          "%lld: %.17g against %.17Lg",
                          (long long)rows, s, strided, split, (long long)i, v,
                          want[s]->exact[i]);
        }
    for (int64_t i = 0; i < UNIT; i++)
        ck_assert(element(alone, i) == element(sum, i));
    rsi_tensor_free(sum);
    rsi_tensor_free(sum_relu);
    rsi_tensor_free(alone);
    free(raw);
}

START_TEST(the_trapezoid_sums)
{
    /* batches 1 to 16 (--batch auto's candidates and all between), 17 */
    for (int64_t rows = 1; rows <= 17; rows++)
        for (int strided = 0; strided < 2; strided++)
            for (int split = 0; split < 2; split++)
                compare(rows, strided, split);
}
END_TEST

/* The CPU loop works in chunks of elements; a layer larger than one chunk
 * (and not a multiple of it) must sum every element, the last chunk's too. */
START_TEST(every_chunk_is_summed)
{
    const int64_t points = 5, channels = 97, n = channels * H * W;
    float *gv = random_floats(points, channels, 7),
          *av = random_floats(points, channels, 8);
    const int64_t shape[4] = {points, channels, H, W};
    rsi_tensor *g = rsi_tensor_from_floats(gv, shape, 4),
               *a = rsi_tensor_from_floats(av, shape, 4);
    rsi_tensor *sum = NULL, *sum_relu = NULL;
    ck_assert_int_eq(
        rsi_tensor_trapezoids_add(&sum, &sum_relu, NULL, g, NULL, a), 0);
    ck_assert_int_eq(rsi_tensor_numel(sum), n);
    for (int64_t i = 0; i < n; i++)
        for (int relu = 0; relu < 2; relu++) {
            long double exact = 0, magnitude = 0;
            for (int64_t b = 0; b + 1 < points; b++) {
                long double lo = gv[b * n + i], hi = gv[(b + 1) * n + i];
                if (relu) {
                    lo = rectified(lo);
                    hi = rectified(hi);
                }
                const long double term =
                    0.5L * (hi + lo) *
                    ((long double)av[(b + 1) * n + i] - av[b * n + i]);
                exact += term;
                magnitude += fabsl(term);
            }
            const double v = element(relu ? sum_relu : sum, i);
            ck_assert_msg(fabsl(v - exact) <= (long double)(points + 1) *
                                                  DBL_EPSILON * magnitude,
                          "element %lld of %lld, relu %d: %.17g against "
                          "%.17Lg",
                          (long long)i, (long long)n, relu, v, exact);
        }
    rsi_tensor_free(g);
    rsi_tensor_free(a);
    rsi_tensor_free(sum);
    rsi_tensor_free(sum_relu);
    free(gv);
    free(av);
}
END_TEST

START_TEST(points_that_do_not_pair_up)
{
    float *v = random_floats(4, K, 1);
    const int64_t shape[4] = {4, K, H, W};
    rsi_tensor *f = rsi_tensor_from_floats(v, shape, 4);
    rsi_tensor *g = rsi_tensor_to_dtype(f, RSI_FLOAT64);
    rsi_tensor *three = rsi_tensor_narrow(g, 0, 0, 3),
               *one = rsi_tensor_narrow(g, 0, 0, 1),
               *two = rsi_tensor_narrow(g, 0, 0, 2);
    free(v);
    rsi_tensor *acc = NULL;
    /* activations at 3 points, gradients at 4 */
    ck_assert_int_eq(
        rsi_tensor_trapezoids_add(&acc, NULL, NULL, g, NULL, three), -1);
    ck_assert_ptr_null(acc);
    ck_assert_ptr_nonnull(strstr(rsi_error_message(), "same two or more"));
    rsi_error_clear();
    /* a previous point for the gradients only */
    ck_assert_int_eq(rsi_tensor_trapezoids_add(&acc, NULL, one, g, NULL, g),
                     -1);
    rsi_error_clear();
    /* one point: nothing to pair */
    ck_assert_int_eq(
        rsi_tensor_trapezoids_add(&acc, NULL, NULL, one, NULL, one), -1);
    rsi_error_clear();
    /* a previous point of two rows */
    ck_assert_int_eq(rsi_tensor_trapezoids_add(&acc, NULL, two, g, two, g), -1);
    ck_assert_ptr_nonnull(strstr(rsi_error_message(), "previous point"));
    rsi_error_clear();
    /* a sum of another shape */
    rsi_tensor *wrong = rsi_tensor_clone(g);
    ck_assert_int_eq(rsi_tensor_trapezoids_add(&wrong, NULL, NULL, g, NULL, g),
                     -1);
    ck_assert_ptr_nonnull(strstr(rsi_error_message(), "a sum of shape"));
    rsi_error_clear();
    rsi_tensor *all[] = {f, g, three, one, two, wrong};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        rsi_tensor_free(all[i]);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("trapezoids");
    TCase *tc = tcase_create("trapezoids");
    tcase_add_test(tc, the_trapezoid_sums);
    tcase_add_test(tc, every_chunk_is_summed);
    tcase_add_test(tc, points_that_do_not_pair_up);
    suite_add_tcase(s, tc);
    return tk_run(s);
}
