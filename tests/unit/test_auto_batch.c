/* --batch auto (rsi_explain_auto_batch): the rule for each device and kind
 * of steps. The CPU case runs end to end in test_batching.py; no test
 * machine has a GPU, so its cases are checked here. And the CPU's choice
 * from a measurement (ex_auto_batch_choice), on measurements taken on a
 * 2-core AMD EPYC VM (RSICAM_TRACE, 2026-12-05), and how the measurement
 * runs (ex_measure_candidates) against a simulated network. */
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

/* A simulated network for ex_measure_candidates: each candidate's pace
 * (ms per point), a first run at each shape `cold` ms a point slower, and
 * a slow spell: `spell` calls, from the first call at `spell_rows` rows
 * on, take half again their time. Counts the calls at each shape; fails
 * the call numbered `fail_at` (from 1, 0 never). */
typedef struct simulated {
    double pace[EX_BATCH_CANDIDATES], cold;
    int64_t spell_rows;
    int spell, fail_at;
    int calls, spell_from, at_rows[EX_BATCH_CANDIDATES];
} simulated;

static int candidate_index(int64_t rows)
{
    int i = 0;
    while ((INT64_C(1) << i) < rows)
        i++;
    ck_assert_int_eq(INT64_C(1) << i, rows); /* 1, 2, 4, 8, 16 */
    ck_assert_int_lt(i, EX_BATCH_CANDIDATES);
    return i;
}

static double simulated_run(void *ctx, int64_t rows)
{
    simulated *sim = ctx;
    const int i = candidate_index(rows), call = sim->calls++;
    if (sim->fail_at && sim->calls == sim->fail_at)
        return -1;
    double ms = sim->pace[i] + (sim->at_rows[i]++ == 0 ? sim->cold : 0);
    if (rows == sim->spell_rows && sim->spell_from < 0)
        sim->spell_from = call;
    if (sim->spell_from >= 0 && call < sim->spell_from + sim->spell)
        ms *= 1.5;
    return ms;
}

static simulated network(double p1, double p2, double p4, double p8, double p16)
{
    return (simulated){.pace = {p1, p2, p4, p8, p16}, .spell_from = -1};
}

/* The paces as measured equal the network's, to rounding. */
static void assert_paces(const double *ms, const simulated *sim)
{
    for (int i = 0; i < EX_BATCH_CANDIDATES; i++)
        ck_assert_double_eq_tol(ms[i], sim->pace[i], 1e-9 * sim->pace[i]);
}

/* A slow spell does not decide a pace: not one that takes a candidate's
 * first runs and the next one's (back to back, 8 rows measured half again
 * slower, and 4 chosen), nor one that lasts from there to the end, which
 * no round of timed runs escapes (the rounds compare the candidates among
 * themselves). */
START_TEST(slow_spell_does_not_decide_a_pace)
{
    const int spells[] = {4, 1000};
    for (int k = 0; k < 2; k++) {
        simulated sim = network(50, 40, 34, 30, 31);
        sim.spell_rows = 8;
        sim.spell = spells[k];
        double ms[EX_BATCH_CANDIDATES], once[EX_BATCH_CANDIDATES];
        ck_assert_int_eq(ex_measure_candidates(simulated_run, &sim, ms, once),
                         0);
        if (k == 0)
            assert_paces(ms, &sim);
        else /* the quickest round's speed: the first, half in the spell */
            for (int i = 0; i < EX_BATCH_CANDIDATES; i++)
                ck_assert_double_eq_tol(ms[i] / ms[3], sim.pace[i] / 30, 1e-9);
        ck_assert_int_eq(
            ex_auto_batch_choice(ms, once, EX_BATCH_CANDIDATES, 510), 8);
    }
}
END_TEST

/* Each candidate runs four times (a first run, then one in each of three
 * rounds); what its first run cost beyond the pace is counted once, for
 * all its rows. */
START_TEST(first_runs_cost_once)
{
    simulated sim = network(50, 40, 32, 30, 31);
    sim.cold = 5;
    double ms[EX_BATCH_CANDIDATES], once[EX_BATCH_CANDIDATES];
    ck_assert_int_eq(ex_measure_candidates(simulated_run, &sim, ms, once), 0);
    assert_paces(ms, &sim);
    for (int i = 0; i < EX_BATCH_CANDIDATES; i++) {
        ck_assert_int_eq(sim.at_rows[i], 4);
        ck_assert_double_eq(once[i], 5.0 * (double)(1 << i));
    }
}
END_TEST

/* Past the knee (half again the best pace, and again when both run once
 * more) nothing larger is measured. */
START_TEST(knee_stops_the_measuring)
{
    simulated sim = network(10, 9, 8, 12.5, 6);
    double ms[EX_BATCH_CANDIDATES], once[EX_BATCH_CANDIDATES];
    ck_assert_int_eq(ex_measure_candidates(simulated_run, &sim, ms, once), 0);
    ck_assert_double_eq_tol(ms[3], 12.5, 1e-9);
    ck_assert_double_eq(ms[4], -1);
    ck_assert_double_eq(once[4], -1);
    ck_assert_int_eq(sim.at_rows[3], 5);
    ck_assert_int_eq(sim.at_rows[2], 5); /* the best, run beside it */
    ck_assert_int_eq(sim.at_rows[4], 0);
}
END_TEST

/* A slow spell over a candidate's first runs does not pass for the knee,
 * whether it ends before the run taken again (2 calls) or lasts past the
 * best's (4): 8 rows measured half again 4's pace there, and 16 rows, the
 * fastest, were never measured. */
START_TEST(slow_spell_is_not_the_knee)
{
    const int spells[] = {2, 4};
    for (int k = 0; k < 2; k++) {
        simulated sim = network(10, 9, 8, 8.5, 7);
        sim.spell_rows = 8;
        sim.spell = spells[k];
        double ms[EX_BATCH_CANDIDATES], once[EX_BATCH_CANDIDATES];
        ck_assert_int_eq(ex_measure_candidates(simulated_run, &sim, ms, once),
                         0);
        assert_paces(ms, &sim);
        ck_assert_int_eq(sim.at_rows[3], 5);
        ck_assert_int_eq(sim.at_rows[4], 4);
        ck_assert_int_eq(
            ex_auto_batch_choice(ms, once, EX_BATCH_CANDIDATES, 510), 16);
    }
}
END_TEST

/* A failed run ends the measuring at once. */
START_TEST(failed_run_stops)
{
    /* 20 runs in all; past the knee, 18 (the two taken again among them) */
    const simulated nets[] = {network(50, 40, 32, 30, 31),
                              network(10, 9, 8, 12.5, 6)};
    const int runs[] = {20, 18};
    for (int k = 0; k < 2; k++)
        for (int fail_at = 1; fail_at <= runs[k]; fail_at++) {
            simulated sim = nets[k];
            sim.fail_at = fail_at;
            double ms[EX_BATCH_CANDIDATES], once[EX_BATCH_CANDIDATES];
            ck_assert_int_eq(
                ex_measure_candidates(simulated_run, &sim, ms, once), -1);
            ck_assert_int_eq(sim.calls, fail_at);
        }
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
    tcase_add_test(tc, slow_spell_does_not_decide_a_pace);
    tcase_add_test(tc, first_runs_cost_once);
    tcase_add_test(tc, knee_stops_the_measuring);
    tcase_add_test(tc, slow_spell_is_not_the_knee);
    tcase_add_test(tc, failed_run_stops);
    suite_add_tcase(s, tc);
    return tk_run(s);
}
