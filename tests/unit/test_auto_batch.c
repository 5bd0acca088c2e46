/* --batch auto (rsi_explain_auto_batch): the rule for each device and kind
 * of steps. The CPU case runs end to end in test_batching.py; no test
 * machine has a GPU, so its cases are checked here. And the CPU's choice
 * from a measurement (ex_auto_batch_choice), on measurements taken on a
 * 2-core AMD EPYC VM (RSICAM_TRACE, 2026-12-05). */
#include <check.h>

#include "explain.h"
#include "explain_impl.h"
#include "testkit.h"

/* ResNet50 `layer4`: 16 rows keep the best pace, but their first forward
 * costs the most. */
static const double resnet_ms[] = {36.24, 33.39, 29.51, 28.46, 27.92};
static const double resnet_once[] = {288.31, 32.74, 57.65, 80.49, 168.63};

START_TEST(one_image_takes_fewer_rows)
{
    /* 51 points: 4 rows cost 1,884 ms, 8 1,910 (1.4% more), 16 2,052 */
    ck_assert_int_eq(ex_auto_batch_choice(resnet_ms, resnet_once, 5, 51), 4);
    /* ten images: 8 rows within 1% of 16's cost; a hundred: 16 */
    ck_assert_int_eq(ex_auto_batch_choice(resnet_ms, resnet_once, 5, 510), 8);
    ck_assert_int_eq(ex_auto_batch_choice(resnet_ms, resnet_once, 5, 5100), 16);
}
END_TEST

/* VGG19 `features.36`: 16 rows' pace outweighs their first forward even
 * for one image (7,040 ms against 7,203 at 8 rows). */
START_TEST(pace_outweighs_one_time_costs)
{
    static const double ms[] = {179.82, 154.05, 143.23, 129.20, 118.33};
    static const double once[] = {223.72, 70.22, 123.07, 197.25, 391.23};
    ck_assert_int_eq(ex_auto_batch_choice(ms, once, 5, 51), 16);
    /* two points: one row */
    ck_assert_int_eq(ex_auto_batch_choice(ms, once, 5, 2), 1);
}
END_TEST

START_TEST(ties_go_to_fewer_rows)
{
    /* no one-time costs: the pace alone, the fewest rows within 1% */
    static const double ms[] = {10, 9, 8.5, 8.45, 9};
    static const double none[] = {0, 0, 0, 0, 0};
    ck_assert_int_eq(ex_auto_batch_choice(ms, none, 5, 51), 4);
    static const double apart[] = {10, 9, 8.6, 8.45, 9};
    ck_assert_int_eq(ex_auto_batch_choice(apart, none, 5, 51), 8);
    /* a measurement stopped early chooses among those measured */
    ck_assert_int_eq(ex_auto_batch_choice(resnet_ms, resnet_once, 3, 5100), 4);
}
END_TEST

START_TEST(cpu_runs_eight_points)
{
    rsi_explain_options o = {.steps = 50};
    ck_assert_int_eq(rsi_explain_auto_batch(0, &o), 8);
    o.tol = 0.01; /* adaptive */
    ck_assert_int_eq(rsi_explain_auto_batch(0, &o), 8);
}
END_TEST

/* four images' m points (each image's own row, besides, stands for its
 * last point): test_batching.py runs 4 m end to end */
START_TEST(gpu_runs_four_images)
{
    rsi_explain_options o = {.steps = 50};
    ck_assert_int_eq(rsi_explain_auto_batch(1, &o), 200);
    o.steps = 10;
    ck_assert_int_eq(rsi_explain_auto_batch(1, &o), 40);
}
END_TEST

START_TEST(gpu_adaptive_runs_64_points)
{
    rsi_explain_options o = {.steps = 4, .tol = 0.01};
    ck_assert_int_eq(rsi_explain_auto_batch(1, &o), 64);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("auto_batch");
    TCase *tc = tcase_create("auto_batch");
    tcase_add_test(tc, cpu_runs_eight_points);
    tcase_add_test(tc, gpu_runs_four_images);
    tcase_add_test(tc, gpu_adaptive_runs_64_points);
    tcase_add_test(tc, one_image_takes_fewer_rows);
    tcase_add_test(tc, pace_outweighs_one_time_costs);
    tcase_add_test(tc, ties_go_to_fewer_rows);
    suite_add_tcase(s, tc);
    return tk_run(s);
}
