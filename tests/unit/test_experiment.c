/* rsicam run and merge (experiment.h): sweep expansion, one pass shared by
 * every layer, variant and score of a group, the outputs, resume after
 * SIGKILL, and shards merged into what one run gives. */

#include <check.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "experiment.h"
#include "experiment_fixture.h"
#include "testkit.h"

static char fx[4096];

/* A sweep long enough to be killed in the middle of: 2 pass groups of
 * many path points, one map per unit. */
static const char long_yaml[] = "model: {file: m.pt}\n"
                                "layers: [conv2]\n"
                                "targets: [label]\n"
                                "methods: [rsi]\n"
                                "score: softmax\n"
                                "steps: [40, 56]\n"
                                "batch: 1\n"
                                "threads: 1\n"
                                "images: [samples.csv]\n"
                                "metrics: [completeness, pointing]\n";

static void make_fixture(void)
{
    if (fx[0])
        return;
    tk_scratch_open("experiment");
    snprintf(fx, sizeof fx, "%s", tk_path("fx"));
    char *out = NULL;
    ck_assert_int_eq(tk_sh(&out, "mkdir -p '%s'", fx), 0);
    free(out);
    experiment_fixture_make(fx, 4);
    experiment_fixture_write(fx, "long.yaml", long_yaml);
    experiment_fixture_write(fx, "sweep.yaml",
                             "model: {file: m.pt}\n"
                             "layers: [conv1, conv2]\n"
                             "targets: [{top_k: 2}]\n"
                             "methods: [rsi-relu, rsi-plain, gradcam]\n"
                             "score: [softmax, logit]\n"
                             "baselines: [zero]\n"
                             "paths: [linear]\n"
                             "steps: [4, 8]\n"
                             "images: [samples.csv]\n");
    experiment_fixture_write(fx, "shared.yaml",
                             "model: {file: m.pt}\n"
                             "layers: [conv1, conv2]\n"
                             "methods: [rsi-relu, rsi-plain]\n"
                             "score: [softmax, logit]\n"
                             "steps: 8\n"
                             "batch: 4\n"
                             "threads: 1\n"
                             "images: [img0.png, img1.png]\n");
}

/* `cd FX && rsicam ARGS` (quiet); returns the exit status. */
static int rsicam(char **out, const char *args)
{
    return tk_sh(out, "cd '%s' && '%s' %s", fx, tk_rsicam(), args);
}

static void rsicam_ok(const char *args)
{
    char *out = NULL;
    int rc = rsicam(&out, args);
    ck_assert_msg(rc == 0, "rsicam %s: %d\n%s", args, rc, out);
    free(out);
}

/* The records of dir/results.jsonl, timings removed, each as canonical
 * JSON text, one per line. */
static char *records_without_timings(const char *dir, int *n)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/results.jsonl", dir);
    FILE *fp = fopen(path, "r");
    ck_assert_msg(fp != NULL, "no %s", path);
    size_t cap = 0, used = 0;
    char *all = NULL, *line = NULL;
    size_t lcap = 0;
    *n = 0;
    while (getline(&line, &lcap, fp) >= 0) {
        json_error_t err;
        json_t *o = json_loads(line, 0, &err);
        ck_assert_msg(o != NULL, "%s: bad line: %s", path, err.text);
        json_object_del(o, "seconds");
        char *s = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
        size_t len = strlen(s);
        if (used + len + 2 > cap) {
            cap = 2 * (used + len + 2);
            all = realloc(all, cap);
        }
        memcpy(all + used, s, len);
        used += len;
        all[used++] = '\n';
        all[used] = '\0';
        free(s);
        json_decref(o);
        (*n)++;
    }
    free(line);
    fclose(fp);
    return all ? all : strdup("");
}

static char *file_text(const char *path)
{
    FILE *fp = fopen(path, "rb");
    ck_assert_msg(fp != NULL, "no %s", path);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    rewind(fp);
    char *s = malloc((size_t)n + 1);
    ck_assert_int_eq(fread(s, 1, (size_t)n, fp), (size_t)n);
    s[n] = '\0';
    fclose(fp);
    return s;
}

static int count_lines(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return 0;
    int n = 0, c;
    while ((c = fgetc(fp)) != EOF)
        n += c == '\n';
    fclose(fp);
    return n;
}

/* Both directories hold the same results (timings aside) and summary. */
static void assert_same_results(const char *a, const char *b)
{
    int na, nb;
    char *ra = records_without_timings(a, &na);
    char *rb = records_without_timings(b, &nb);
    ck_assert_int_eq(na, nb);
    ck_assert_msg(strcmp(ra, rb) == 0, "results of %s and %s differ", a, b);
    free(ra);
    free(rb);
    char pa[4200], pb[4200];
    snprintf(pa, sizeof pa, "%s/summary.csv", a);
    snprintf(pb, sizeof pb, "%s/summary.csv", b);
    char *sa = file_text(pa), *sb = file_text(pb);
    ck_assert_str_eq(sa, sb);
    free(sa);
    free(sb);
}

/* Every file a record names exists in dir, and no temporary is left. */
static void assert_files_complete(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/results.jsonl", dir);
    FILE *fp = fopen(path, "r");
    ck_assert_ptr_nonnull(fp);
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, fp) >= 0) {
        json_t *o = json_loads(line, 0, NULL);
        static const char *const keys[] = {"cam", "heatmap", "overlay"};
        for (int k = 0; k < 3; k++) {
            const char *rel = json_string_value(json_object_get(o, keys[k]));
            char f[4600];
            snprintf(f, sizeof f, "%s/%s", dir, rel ? rel : "?");
            struct stat st;
            ck_assert_msg(rel && stat(f, &st) == 0 && st.st_size > 0,
                          "missing %s", f);
        }
        json_decref(o);
    }
    free(line);
    fclose(fp);
    char *out = NULL;
    tk_sh(&out, "find '%s' -name '*.tmp.*'", dir);
    ck_assert_msg(out && !*out, "temporaries left: %s", out);
    free(out);
}

/* ---- expansion -------------------------------------------------------- */

START_TEST(sweep_expands_to_the_product)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/sweep.yaml", fx);
    rsi_diag d = {0};
    rsi_experiment *xp = rsi_experiment_load(path, NULL, 0, NULL, 0, &d);
    ck_assert_ptr_nonnull(xp);
    /* groups: 1 baseline x 1 path x 2 steps; per pass: 2 layers x
     * 3 methods x 2 scores x 2 targets */
    ck_assert_int_eq(xp->n_groups, 2);
    ck_assert_int_eq(rsi_experiment_maps_per_unit(xp), 24);
    ck_assert_int_eq(rsi_experiment_settings(xp), 48);
    ck_assert_int_eq(rsi_experiment_units(xp), 4 * 2);
    rsi_experiment_free(xp);
    /* overrides change the product */
    static const char *const o[] = {"steps=[2,3,4]", "layers=[conv2]",
                                    "score=softmax"};
    xp = rsi_experiment_load(path, o, 3, NULL, 0, &d);
    ck_assert_ptr_nonnull(xp);
    ck_assert_int_eq(xp->n_groups, 3);
    ck_assert_int_eq(rsi_experiment_maps_per_unit(xp), 6);
    rsi_experiment_free(xp);
    rsi_diag_free(&d);
    char *out = NULL;
    ck_assert_int_eq(rsicam(&out, "run sweep.yaml --check --shard 2/3"), 0);
    ck_assert_msg(strstr(out, "settings: 48") && strstr(out, "units: 8") &&
                      strstr(out, "shard 2/3: 3 units") &&
                      strstr(out, "maps: 72"),
                  "%s", out);
    free(out);
}
END_TEST

/* ---- one pass per group ---------------------------------------------- */

START_TEST(one_pass_serves_layers_variants_scores)
{
    /* 2 layers x 2 variants x 2 scores in one group: 8 maps per image from
     * ceil(8 / 6) = 2 forward passes, not 8 x 2: the image's own row and
     * its path's first 8 points (its 9th point, the image, is that row) */
    const char *out_dir = tk_path("shared");
    char args[4400];
    snprintf(args, sizeof args, "run shared.yaml batch=6 output='%s' --quiet",
             out_dir);
    rsicam_ok(args);
    char path[4400];
    snprintf(path, sizeof path, "%s/results.jsonl", out_dir);
    FILE *fp = fopen(path, "r");
    ck_assert_ptr_nonnull(fp);
    char *line = NULL;
    size_t cap = 0;
    int n = 0;
    json_t *ids = json_object();
    while (getline(&line, &cap, fp) >= 0) {
        json_t *o = json_loads(line, 0, NULL);
        ck_assert_str_eq(json_string_value(json_object_get(o, "status")), "ok");
        ck_assert_int_eq(json_integer_value(json_object_get(o, "forwards")), 2);
        ck_assert_int_eq(json_integer_value(json_object_get(o, "points")), 9);
        ck_assert(json_is_object(json_object_get(o, "settings")));
        json_object_set(ids,
                        json_string_value(json_object_get(o, "setting_id")),
                        json_true());
        json_decref(o);
        n++;
    }
    free(line);
    fclose(fp);
    ck_assert_int_eq(n, 2 * 8);
    ck_assert_int_eq(json_object_size(ids), 8); /* 8 settings, 2 images */
    json_decref(ids);
    snprintf(path, sizeof path, "%s/run.json", out_dir);
    json_t *run = json_load_file(path, 0, NULL);
    json_t *last = json_object_get(run, "last_run");
    /* each image's points in forwards of its own (which resume needs:
     * explain.h's image_per_forward): 2 x 2, not ceil(16 / 6) = 3 */
    ck_assert_int_eq(json_integer_value(json_object_get(last, "forwards")), 4);
    ck_assert_int_eq(json_integer_value(json_object_get(last, "maps")), 16);
    json_decref(run);
    /* a summary row per setting, a montage per image, a rerunnable
     * resolved config */
    snprintf(path, sizeof path, "%s/summary.csv", out_dir);
    ck_assert_int_eq(count_lines(path), 1 + 8);
    snprintf(path, sizeof path, "%s/montages/img1.png", out_dir);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    assert_files_complete(out_dir);
    snprintf(args, sizeof args, "run '%s/resolved.yaml' --check", out_dir);
    rsicam_ok(args);
    /* run again: every unit is found finished */
    char *out = NULL;
    snprintf(args, sizeof args, "run shared.yaml output='%s'", out_dir);
    ck_assert_int_eq(rsicam(&out, args), 0);
    ck_assert_msg(strstr(out, "(0 computed, 2 skipped, 0 failed)"), "%s", out);
    free(out);
    snprintf(path, sizeof path, "%s/results.jsonl", out_dir);
    ck_assert_int_eq(count_lines(path), 16);
    /* another experiment into the same directory is refused */
    snprintf(args, sizeof args, "run shared.yaml output='%s' layers=[conv1]",
             out_dir);
    ck_assert_int_eq(rsicam(&out, args), 2);
    ck_assert_msg(strstr(out, "different experiment"), "%s", out);
    free(out);
}
END_TEST

/* ---- resume and shards -------------------------------------------------- */

/* The uninterrupted run the others are compared with. */
static const char *reference_run(void)
{
    static char dir[4096];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "%s", tk_path("whole"));
        char args[4400];
        snprintf(args, sizeof args, "run long.yaml output='%s' --quiet", dir);
        rsicam_ok(args);
        assert_files_complete(dir);
    }
    return dir;
}

START_TEST(resume_after_sigkill)
{
    const char *whole = reference_run();
    const char *dir = tk_path("killed");
    char results[4400], cmd[9000];
    snprintf(results, sizeof results, "%s/results.jsonl", dir);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && exec '%s' run long.yaml "
             "output='%s' --quiet",
             fx, tk_rsicam(), dir);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    /* kill -9 as soon as the first unit is recorded */
    int status = 0, exited = 0;
    for (int i = 0; i < 120000 && !count_lines(results); i++) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            exited = 1;
            break;
        }
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    ck_assert_msg(!exited, "the run ended before it could be killed");
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    int at_kill = count_lines(results);
    ck_assert_int_ge(at_kill, 1);
    ck_assert_msg(at_kill < 8, "the run had finished (%d records)", at_kill);
    /* what a kill mid-write leaves: a temporary file, named in the
     * killed run's record of its temporaries (outdir.h) */
    char stale[4600];
    snprintf(stale, sizeof stale, "%s/maps/zero_linear_s56/x.cam.npy.tmp.1.0",
             dir);
    char *out = NULL;
    tk_sh(&out,
          "mkdir -p '%s/maps/zero_linear_s56' && echo x > '%s' && "
          "echo maps/zero_linear_s56/x.cam.npy.tmp.1.0 >> "
          "'%s/.rsicam.temporaries'",
          dir, stale, dir);
    free(out);
    char args[4400];
    snprintf(args, sizeof args, "run long.yaml output='%s'", dir);
    ck_assert_int_eq(rsicam(&out, args), 0);
    ck_assert_msg(strstr(out, " skipped, 0 failed)"), "%s", out);
    free(out);
    assert_same_results(whole, dir);
    assert_files_complete(dir);
}
END_TEST

/* Resume skips the units recorded, so the stream restarts at the first
 * unit left; with forwards that hold points of several images (batch 17,
 * 9 points per image) that once shifted every later forward's rows and
 * moved the maps in their last bits. A run of the first two images, then
 * the whole experiment into the same directory (which skips them), must
 * equal one uninterrupted run byte for byte: records and map files. */
START_TEST(resume_with_batches_across_images)
{
    static const char spans[] = "run long.yaml steps=8 batch=17 "
                                "layers=[conv1,conv2] "
                                "methods=[rsi-relu,rsi-plain] "
                                "score=[softmax,logit] outputs=[cam] "
                                "metrics=[completeness]";
    const char *whole = tk_path("spans_whole");
    const char *resumed = tk_path("spans_resumed");
    char args[8800];
    snprintf(args, sizeof args, "%s output='%s' --quiet", spans, whole);
    rsicam_ok(args);
    /* stopped after 2 of the 4 units, then resumed */
    char *out = NULL;
    ck_assert_int_eq(
        tk_sh(&out, "head -n 3 '%s/samples.csv' > '%s/first2.csv'", fx, fx), 0);
    free(out);
    snprintf(args, sizeof args, "%s output='%s' images=[first2.csv] --quiet",
             spans, resumed);
    rsicam_ok(args);
    snprintf(args, sizeof args, "%s output='%s'", spans, resumed);
    ck_assert_int_eq(rsicam(&out, args), 0);
    ck_assert_msg(strstr(out, "(2 computed, 2 skipped, 0 failed)"), "%s", out);
    free(out);
    assert_same_results(whole, resumed);
    ck_assert_msg(tk_sh(&out, "diff -r '%s/maps' '%s/maps'", whole, resumed) ==
                      0,
                  "the maps differ:\n%s", out);
    free(out);
}
END_TEST

/* --batch auto charges each batch's one-time costs to the units the run
 * plans, those a resume skips included: the batch, and so the maps, do
 * not depend on how many units are left. */
START_TEST(resume_plans_auto_batch_for_every_unit)
{
    static const char plan[] = "run long.yaml steps=8 batch=auto "
                               "outputs=[cam] metrics=[completeness]";
    const char *dir = tk_path("planned");
    char *out = NULL;
    ck_assert_int_eq(
        tk_sh(&out, "head -n 3 '%s/samples.csv' > '%s/first2.csv'", fx, fx), 0);
    free(out);
    /* 2 of the 4 images, 9 points each, then all 4, 2 of them skipped */
    const char *scopes[] = {"images=[first2.csv]", ""};
    const char *said[] = {" for 18 points", " for 36 points"};
    for (int run = 0; run < 2; run++) {
        ck_assert_int_eq(tk_sh(&out,
                               "cd '%s' && RSICAM_TRACE=1 '%s' %s output='%s' "
                               "%s",
                               fx, tk_rsicam(), plan, dir, scopes[run]),
                         0);
        ck_assert_msg(strstr(out, said[run]), "%s", out);
        free(out);
    }
}
END_TEST

START_TEST(shards_merge_into_one_run)
{
    const char *whole = reference_run();
    char args[16384], s1[4096], s2[4096], merged[4096];
    snprintf(s1, sizeof s1, "%s", tk_path("shard1"));
    snprintf(s2, sizeof s2, "%s", tk_path("shard2"));
    snprintf(merged, sizeof merged, "%s", tk_path("merged"));
    snprintf(args, sizeof args, "run long.yaml output='%s' --shard 1/2 --quiet",
             s1);
    rsicam_ok(args);
    snprintf(args, sizeof args, "run long.yaml output='%s' --shard 2/2 --quiet",
             s2);
    rsicam_ok(args);
    char p[4400];
    snprintf(p, sizeof p, "%s/results.jsonl", s1);
    ck_assert_int_eq(count_lines(p), 4); /* 8 units, one map each */
    snprintf(args, sizeof args, "merge '%s' '%s' '%s' --quiet", merged, s2, s1);
    rsicam_ok(args);
    assert_same_results(whole, merged);
    assert_files_complete(merged);
    /* the same montage as one run draws */
    char a[4400], b[4400];
    snprintf(a, sizeof a, "%s/montages/img2.png", whole);
    snprintf(b, sizeof b, "%s/montages/img2.png", merged);
    char *out = NULL;
    ck_assert_int_eq(tk_sh(&out, "cmp '%s' '%s'", a, b), 0);
    free(out);
    /* shards of another experiment do not merge */
    snprintf(args, sizeof args, "merge '%s' '%s' '%s'", tk_path("bad_merge"),
             s1, tk_path("shared"));
    ck_assert_int_ne(rsicam(&out, args), 0);
    ck_assert_msg(strstr(out, "different experiments"), "%s", out);
    free(out);
}
END_TEST

/* ---- the report -----------------------------------------------------------
 */

/* Two baselines that differ only in a parameter are two settings in the
 * HTML report, each named with its parameters, none of their maps hidden;
 * unit and seconds are not averaged as if they were metrics. */
START_TEST(report_tells_plugin_parameters_apart)
{
    const char *out_dir = tk_path("sigmas");
    char args[4400];
    snprintf(args, sizeof args,
             "run shared.yaml output='%s' layers=[conv2] methods=[rsi-relu] "
             "score=[softmax] steps=4 "
             "baselines='[{name: blur, sigma: 0.2}, {name: blur, sigma: 2}]'",
             out_dir);
    rsicam_ok(args);
    char path[4200];
    snprintf(path, sizeof path, "%s/index.html", out_dir);
    char *page = file_text(path);
    ck_assert_msg(strstr(page, "4 maps of 2 images in 2 settings"), "%.300s",
                  strstr(page, "<p"));
    /* 0.2 is not exact in binary: as typed, not 0.20000000000000001 */
    ck_assert(strstr(page, "<td>blur sigma=0.2</td>"));
    /* numbers as the user wrote them (sigma: 2), not as a double */
    ck_assert(strstr(page, "<td>blur sigma=2</td>"));
    ck_assert(strstr(page, "softmax blur sigma=0.2</th>"));
    ck_assert(strstr(page, "softmax blur sigma=2</th>"));
    const char *thumbs = strstr(page, "id=\"thumbs\"");
    ck_assert_ptr_nonnull(thumbs);
    int imgs = 0;
    for (const char *p = thumbs; (p = strstr(p, "<img ")) != NULL; p++)
        imgs++;
    ck_assert_int_eq(imgs, 4);
    ck_assert_ptr_null(strstr(page, ">unit<"));
    ck_assert_ptr_null(strstr(page, ">seconds<"));
    free(page);
}
END_TEST

static Suite *experiment_suite(void)
{
    Suite *s = suite_create("experiment");
    TCase *tc = tcase_create("run");
    tcase_add_unchecked_fixture(tc, make_fixture, NULL);
    tcase_set_timeout(tc, 170);
    tcase_add_test(tc, sweep_expands_to_the_product);
    tcase_add_test(tc, one_pass_serves_layers_variants_scores);
    tcase_add_test(tc, resume_after_sigkill);
    tcase_add_test(tc, resume_with_batches_across_images);
    tcase_add_test(tc, resume_plans_auto_batch_for_every_unit);
    tcase_add_test(tc, shards_merge_into_one_run);
    tcase_add_test(tc, report_tells_plugin_parameters_apart);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(experiment_suite());
    /* no fork: the reference run is made once and shared */
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (fx[0])
        tk_scratch_close();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
