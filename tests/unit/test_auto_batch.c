/* --batch auto (rsi_explain_auto_batch): the rule for each device and kind
 * of steps. The CPU case runs end to end in test_batching.py; no test
 * machine has a GPU, so its cases are checked here. */
#include <check.h>

#include "explain.h"
#include "testkit.h"

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
    suite_add_tcase(s, tc);
    return tk_run(s);
}
