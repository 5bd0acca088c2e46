/* The point store behind adaptive steps: the m + 1 points of a coarse path
 * and the m points between them, merged into one store, give the same sums
 * as the 2m + 1 points fed in order through the streaming engine; a split
 * point's local error is the coarse trapezoid's error. */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "engine.h"
#include "rsicam/error.h"
#include "testkit.h"

#define M 3 /* coarse steps: 7 fine points */
#define K 2
#define SIDE 3
#define UNIT (K * SIDE * SIDE)

/* Rows of t (every row when step 1, even rows from 0 when step 2, odd rows
 * when start 1 and step 2), in order. */
static rsi_tensor *rows(const rsi_tensor *t, int64_t start, int64_t step)
{
    rsi_tensor *parts[2 * M + 1];
    int n = 0;
    for (int64_t i = start; i < rsi_tensor_size(t, 0); i += step)
        parts[n++] = rsi_tensor_narrow(t, 0, i, 1);
    rsi_tensor *out = rsi_tensor_cat((const rsi_tensor *const *)parts, n, 0);
    for (int i = 0; i < n; i++)
        rsi_tensor_free(parts[i]);
    return out;
}

static rsi_tensor *random_points(unsigned seed)
{
    static float v[(2 * M + 1) * UNIT];
    srand(seed);
    for (size_t i = 0; i < sizeof v / sizeof *v; i++)
        v[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    const int64_t shape[4] = {2 * M + 1, K, SIDE, SIDE};
    return rsi_tensor_from_floats(v, shape, 4);
}

static void assert_same(const rsi_tensor *a, const rsi_tensor *b)
{
    ck_assert_int_eq(rsi_tensor_numel(a), rsi_tensor_numel(b));
    float x[4 * UNIT], y[4 * UNIT];
    const int64_t n = rsi_tensor_numel(a);
    ck_assert_int_le(n, 4 * UNIT);
    ck_assert_int_eq(rsi_tensor_to_floats(a, x, n), 0);
    ck_assert_int_eq(rsi_tensor_to_floats(b, y, n), 0);
    for (int64_t i = 0; i < n; i++)
        ck_assert_float_eq_tol(x[i], y[i], 1e-6);
}

START_TEST(refined_store_equals_streamed_points)
{
    rsi_tensor *A = random_points(1), *G = random_points(2);
    /* streamed: two batches, 0..M and M+1..2M */
    rsi_rs_layer layer;
    rsi_rs_sum sum;
    rsi_rs_layer_init(&layer);
    rsi_rs_sum_init(&sum, 1);
    for (int half = 0; half < 2; half++) {
        rsi_tensor *a =
            rsi_tensor_narrow(A, 0, half ? M + 1 : 0, half ? M : M + 1);
        rsi_tensor *g =
            rsi_tensor_narrow(G, 0, half ? M + 1 : 0, half ? M : M + 1);
        ck_assert_int_eq(rsi_rs_layer_begin_batch(&layer, a), 0);
        ck_assert_int_eq(rsi_rs_sum_add(&sum, &layer, g), 0);
        ck_assert_int_eq(rsi_rs_layer_end_batch(&layer, a), 0);
        rsi_tensor_free(a);
        rsi_tensor_free(g);
    }
    /* stored: the even points, then the odd ones between them */
    rsi_rs_store all, mid;
    ck_assert_int_eq(rsi_rs_store_init(&all, 1, 1), 0);
    ck_assert_int_eq(rsi_rs_store_init(&mid, 1, 1), 0);
    rsi_tensor *ea = rows(A, 0, 2), *eg = rows(G, 0, 2);
    rsi_tensor *oa = rows(A, 1, 2), *og = rows(G, 1, 2);
    ck_assert_int_eq(rsi_rs_store_append(&all, &ea, &eg), 0);
    ck_assert_int_eq(rsi_rs_store_append(&mid, &oa, &og), 0);
    ck_assert_int_eq(all.points, M + 1);
    unsigned char from_mid[2 * M + 1];
    for (int i = 0; i < 2 * M + 1; i++)
        from_mid[i] = i % 2;
    /* a count that does not add up is refused */
    ck_assert_int_eq(rsi_rs_store_merge(&all, &mid, from_mid, 2 * M), -1);
    ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_INTERNAL);
    rsi_error_clear();
    ck_assert_int_eq(rsi_rs_store_merge(&all, &mid, from_mid, 2 * M + 1), 0);
    ck_assert_int_eq(all.points, 2 * M + 1);
    rsi_rs_layer layer2;
    rsi_rs_sum sum2;
    rsi_rs_layer_init(&layer2);
    rsi_rs_sum_init(&sum2, 1);
    ck_assert_int_eq(rsi_rs_store_sums(&all, &layer2, &sum2), 0);
    assert_same(sum.ig, sum2.ig);
    assert_same(sum.ig_relu, sum2.ig_relu);
    assert_same(sum.last_grad, sum2.last_grad);
    assert_same(layer.first_act, layer2.first_act);
    assert_same(layer.last_act, layer2.last_act);
    /* and the sum is not trivially zero */
    double total = 0;
    ck_assert_int_eq(rsi_tensor_sum_all(sum.ig, &total), 0);
    ck_assert(fabs(total) > 1e-3);
    rsi_tensor *owned[] = {A, G, ea, eg, oa, og};
    for (size_t i = 0; i < sizeof owned / sizeof *owned; i++)
        rsi_tensor_free(owned[i]);
    rsi_rs_store_release(&all);
    rsi_rs_store_release(&mid);
    rsi_rs_layer_release(&layer);
    rsi_rs_layer_release(&layer2);
    rsi_rs_sum_release(&sum);
    rsi_rs_sum_release(&sum2);
}
END_TEST

/* A split's local error is zero where the trapezoid is exact (A linear
 * along the path, G constant) and not where G changes. */
START_TEST(split_error_is_the_trapezoids_local_error)
{
    float a[3 * UNIT], g[3 * UNIT];
    for (int i = 0; i < 3; i++)
        for (int u = 0; u < UNIT; u++) {
            a[i * UNIT + u] = (float)(i * (u + 1));
            g[i * UNIT + u] = 0.5f;
        }
    const int64_t shape[4] = {3, K, SIDE, SIDE};
    rsi_rs_store s;
    ck_assert_int_eq(rsi_rs_store_init(&s, 1, 1), 0);
    rsi_tensor *ta = rsi_tensor_from_floats(a, shape, 4);
    rsi_tensor *tg = rsi_tensor_from_floats(g, shape, 4);
    ck_assert_int_eq(rsi_rs_store_append(&s, &ta, &tg), 0);
    const int64_t row = 1;
    double err = -1;
    ck_assert_int_eq(rsi_rs_store_split_errors(&s, &row, 1, &err), 0);
    ck_assert_double_eq_tol(err, 0.0, 1e-9);
    rsi_rs_store_release(&s);
    rsi_tensor_free(tg);
    /* G rises at the middle point only: the coarse trapezoid misses it by
     * sum_u 0.5 * (g1 - g0) * (a2 - a0) / 2 ... computed exactly below */
    for (int u = 0; u < UNIT; u++)
        g[UNIT + u] = 1.5f;
    tg = rsi_tensor_from_floats(g, shape, 4);
    ck_assert_int_eq(rsi_rs_store_init(&s, 1, 1), 0);
    ck_assert_int_eq(rsi_rs_store_append(&s, &ta, &tg), 0);
    ck_assert_int_eq(rsi_rs_store_split_errors(&s, &row, 1, &err), 0);
    /* per unit: coarse 0.5*(0.5+0.5)*2(u+1) = (u+1); halves
     * 0.5*(0.5+1.5)*(u+1) twice = 2(u+1); difference (u+1) */
    double want = 0;
    for (int u = 0; u < UNIT; u++)
        want += u + 1;
    ck_assert_double_eq_tol(err, want, 1e-6 * want);
    /* a point without two neighbours is refused */
    const int64_t edge = 0;
    ck_assert_int_eq(rsi_rs_store_split_errors(&s, &edge, 1, &err), -1);
    rsi_error_clear();
    rsi_rs_store_release(&s);
    rsi_tensor_free(ta);
    rsi_tensor_free(tg);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("engine_store");
    TCase *tc = tcase_create("store");
    tcase_add_test(tc, refined_store_equals_streamed_points);
    tcase_add_test(tc, split_error_is_the_trapezoids_local_error);
    suite_add_tcase(s, tc);
    return tk_run(s);
}
