/* Nothing a user owns is ever deleted or overwritten (issue 21), through
 * the command line: a failed rerun keeps the earlier run's maps, run and
 * merge leave a user's "*.tmp.N.N" files alone, images of one base name
 * get files of their own, results.jsonl never gains a torn or glued line,
 * merge writes nothing outside its output whatever a record says, and
 * explain respects the lock of a running experiment. Also: a run's
 * progress line does not count a failed unit's maps as made, and SIGTERM
 * stops a run between units, saying so in one line and in run.json.
 *
 * A full disk is simulated with a file size limit (bash's `ulimit -f`, in
 * KiB, with SIGXFSZ ignored so that a write past it fails with EFBIG). The
 * model and images are experiment_fixture.h's (32x32 input, 4 steps), so
 * each run takes about as long as loading libtorch. */

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "experiment_fixture.h"
#include "testkit.h"

enum { INPUT = 3, OUTPUT = 6 };

static char fx[4096];

static void make_fixture(void)
{
    if (fx[0])
        return;
    tk_scratch_open("no_data_loss");
    snprintf(fx, sizeof fx, "%s", tk_path("fx"));
    ck_assert_int_eq(tk_sh(NULL, "mkdir -p '%s'", fx), 0);
    experiment_fixture_make(fx, 2);
    experiment_fixture_write(fx, "tiny.yaml",
                             "model: {file: m.pt}\n"
                             "layers: [conv2]\n"
                             "methods: [rsi]\n"
                             "steps: 2\n"
                             "threads: 1\n"
                             "images: [img0.png, img1.png]\n");
}

/* `cd FX && LIMIT rsicam explain --quiet --steps 4 --model m.pt --out OUT
 * ARGS` under bash; limit: a `ulimit -f` value in KiB (0: none). Returns
 * the exit status; *out gets the output. */
static int explain(char **out, int limit_kib, const char *dir, const char *args)
{
    char limit[64] = "";
    if (limit_kib)
        snprintf(limit, sizeof limit, "trap '' XFSZ; ulimit -f %d; ",
                 limit_kib);
    return tk_sh(out,
                 "cd '%s' && bash -c \"%sexec '%s' explain --quiet --steps 4 "
                 "--threads 1 --model m.pt --out '%s' %s\"",
                 fx, limit, tk_rsicam(), dir, args);
}

/* `cd FX && rsicam ARGS`; returns the exit status. */
static int rsicam(char **out, const char *fmt, const char *a, const char *b,
                  const char *c)
{
    char args[16384];
    snprintf(args, sizeof args, fmt, a, b, c);
    return tk_sh(out, "cd '%s' && '%s' %s", fx, tk_rsicam(), args);
}

/* Every line of dir/results.jsonl is a whole JSON object, ending in a
 * newline; returns them as an array. */
static json_t *records(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/results.jsonl", dir);
    size_t n;
    char *text = tk_read_file(path, &n);
    ck_assert_msg(text != NULL, "no %s", path);
    ck_assert_msg(n == 0 || text[n - 1] == '\n', "%s: torn last line:\n%s",
                  path, text);
    json_t *all = json_array();
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        json_t *o = json_loads(line, 0, NULL);
        ck_assert_msg(json_is_object(o), "%s: not a JSON object: %s", path,
                      line);
        json_array_append_new(all, o);
    }
    free(text);
    return all;
}

/* Every "ok" record of dir names map files that exist (relative to dir);
 * returns the number of ok records. */
static int expect_ok_records_have_files(const char *dir)
{
    static const char *const keys[] = {"cam", "heatmap", "overlay"};
    json_t *all = records(dir), *o;
    size_t i;
    int ok = 0;
    json_array_foreach(all, i, o)
    {
        const char *status = json_string_value(json_object_get(o, "status"));
        if (!status || strcmp(status, "ok") != 0)
            continue;
        ok++;
        for (int k = 0; k < 3; k++) {
            const char *rel = json_string_value(json_object_get(o, keys[k]));
            if (!rel)
                continue;
            char path[8400];
            snprintf(path, sizeof path, "%s/%s", dir, rel);
            ck_assert_msg(access(path, F_OK) == 0,
                          "an ok record names %s, which is gone", path);
        }
    }
    json_decref(all);
    return ok;
}

static int count_status(const char *dir, const char *status)
{
    json_t *all = records(dir), *o;
    size_t i;
    int n = 0;
    json_array_foreach(all, i, o)
    {
        const char *s = json_string_value(json_object_get(o, "status"));
        n += s && strcmp(s, status) == 0;
    }
    json_decref(all);
    return n;
}

/* ---- 1. a failed rerun keeps the earlier run's maps -------------------- */

START_TEST(failed_rerun_keeps_earlier_maps)
{
    const char *dir = tk_path("rerun");
    char *out = NULL;
    ck_assert_int_eq(explain(&out, 0, dir, "img0.png"), 0);
    free(out);
    char heat[4200];
    snprintf(heat, sizeof heat, "%s/img0.conv2.rsi-relu.softmax.heatmap.npy",
             dir);
    size_t n_before;
    char *before = tk_read_file(heat, &n_before);
    ck_assert_ptr_nonnull(before);
    /* 2 KiB: the cam (1.1 KB) fits, the heatmap (4.2 KB) does not */
    int rc = explain(&out, 2, dir, "img0.png");
    ck_assert_msg(rc == OUTPUT, "exit %d:\n%s", rc, out);
    ck_assert_msg(strstr(out, "File too large"), "%s", out);
    free(out);
    ck_assert_int_eq(expect_ok_records_have_files(dir), 1);
    ck_assert_int_eq(count_status(dir, "failed"), 1);
    size_t n_after;
    char *after = tk_read_file(heat, &n_after);
    ck_assert_msg(after && n_after == n_before &&
                      memcmp(before, after, n_before) == 0,
                  "the earlier heatmap was changed or removed");
    free(before);
    free(after);
    /* a failed first run leaves no map: what it made, it removes */
    const char *fresh = tk_path("fresh_fail");
    rc = explain(&out, 2, fresh, "img0.png");
    ck_assert_msg(rc == OUTPUT, "exit %d:\n%s", rc, out);
    free(out);
    ck_assert_int_eq(
        tk_sh(&out, "test -z \"$(ls '%s' | grep -v results.jsonl)\"", fresh),
        0);
    free(out);
}
END_TEST

/* ---- 2. run and merge leave a user's *.tmp.N.N files alone ------------- */

START_TEST(run_and_merge_keep_user_tmp_files)
{
    const char *dir = tk_path("user_tmp"), *merged = tk_path("user_tmp_m");
    char *out = NULL;
    ck_assert_int_eq(tk_sh(&out,
                           "mkdir -p '%s/deep' '%s/deep' && "
                           "echo mine > '%s/deep/backup.tmp.2024.1' && "
                           "echo mine > '%s/t.tex.tmp.1.2' && "
                           "echo mine > '%s/deep/backup.tmp.2024.1' && "
                           "echo mine > '%s/t.tex.tmp.1.2'",
                           dir, merged, dir, dir, merged, merged),
                     0);
    free(out);
    int rc = rsicam(&out, "run tiny.yaml output='%s' --quiet", dir, "", "");
    ck_assert_msg(rc == 0, "run: exit %d\n%s", rc, out);
    free(out);
    rc = rsicam(&out, "merge '%s' '%s' --quiet", merged, dir, "");
    ck_assert_msg(rc == 0, "merge: exit %d\n%s", rc, out);
    free(out);
    const char *dirs[] = {dir, merged};
    for (int d = 0; d < 2; d++) {
        const char *files[] = {"deep/backup.tmp.2024.1", "t.tex.tmp.1.2"};
        for (int i = 0; i < 2; i++) {
            char path[4400];
            snprintf(path, sizeof path, "%s/%s", dirs[d], files[i]);
            char *text = tk_read_file(path, NULL);
            ck_assert_msg(text && strcmp(text, "mine\n") == 0,
                          "%s was removed or changed", path);
            free(text);
        }
    }
}
END_TEST

/* ---- 3. images of one base name get files of their own ----------------- */

START_TEST(same_base_name_images_keep_their_maps)
{
    const char *dir = tk_path("same_name");
    char *out = NULL;
    /* libvips reads by content: a PNG named .jpg is still an image */
    ck_assert_int_eq(tk_sh(&out,
                           "cd '%s' && mkdir -p a b && cp img0.png a/x.png "
                           "&& cp img1.png b/x.png && cp img1.png a/x.jpg",
                           fx),
                     0);
    free(out);
    int rc = explain(&out, 0, dir, "a/x.png b/x.png a/x.jpg");
    ck_assert_msg(rc == 0, "exit %d:\n%s", rc, out);
    free(out);
    ck_assert_int_eq(expect_ok_records_have_files(dir), 3);
    json_t *all = records(dir), *o;
    size_t i;
    json_array_foreach(all, i, o)
    {
        for (size_t j = 0; j < i; j++) {
            const char *a = json_string_value(json_object_get(o, "heatmap"));
            const char *b = json_string_value(
                json_object_get(json_array_get(all, j), "heatmap"));
            ck_assert_msg(a && b && strcmp(a, b) != 0,
                          "two images share the files '%s'", a);
        }
    }
    json_decref(all);
    ck_assert_int_eq(
        tk_sh(&out, "test $(ls '%s' | grep -c '\\.png$') = 3", dir), 0);
    free(out);
}
END_TEST

/* ---- 4. results.jsonl: whole lines only ------------------------------- */

static const char good_line[] =
    "{\"status\": \"failed\", \"image\": \"earlier.png\", \"model\": \"m.pt\", "
    "\"error\": \"kept\", \"error_class\": 3}\n";

START_TEST(torn_tail_is_repaired_not_glued)
{
    const char *dir = tk_path("torn");
    char path[4200], *out = NULL;
    ck_assert_int_eq(tk_sh(&out, "mkdir -p '%s'", dir), 0);
    free(out);
    snprintf(path, sizeof path, "%s/results.jsonl", dir);
    char text[1024];
    snprintf(text, sizeof text, "%s{\"status\": \"ok\", \"ima", good_line);
    tk_write_text(path, text);
    int rc = explain(&out, 0, dir, "img0.png");
    ck_assert_msg(rc == 0, "exit %d:\n%s", rc, out);
    ck_assert_msg(strstr(out, "rsicam: warning:") && strstr(out, path) &&
                      !strchr(strchr(out, '\n') + 1, '\n'),
                  "no one-line warning naming %s:\n%s", path, out);
    free(out);
    json_t *all = records(dir);
    ck_assert_int_eq(json_array_size(all), 2);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_array_get(all, 0), "error")),
        "kept");
    json_decref(all);
    ck_assert_int_eq(expect_ok_records_have_files(dir), 1);
}
END_TEST

START_TEST(short_append_is_undone)
{
    const char *dir = tk_path("short");
    char path[4200], *out = NULL;
    ck_assert_int_eq(tk_sh(&out, "mkdir -p '%s'", dir), 0);
    free(out);
    snprintf(path, sizeof path, "%s/results.jsonl", dir);
    /* whole lines up to 200 bytes short of 8 KiB: the maps fit under the
     * limit, the record does not */
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    long size = 0;
    while (size + (long)strlen(good_line) <= 8192 - 200)
        size += fprintf(fp, "%s", good_line);
    fclose(fp);
    size_t n_before;
    char *before = tk_read_file(path, &n_before);
    int rc = explain(&out, 8, dir, "img0.png");
    ck_assert_msg(rc == OUTPUT, "exit %d:\n%s", rc, out);
    free(out);
    size_t n_after;
    char *after = tk_read_file(path, &n_after);
    ck_assert_msg(n_after == n_before && memcmp(before, after, n_before) == 0,
                  "results.jsonl changed (%zu bytes, was %zu):\n%s", n_after,
                  n_before, after + (n_before < n_after ? n_before : 0));
    free(before);
    free(after);
    /* no map without its record */
    ck_assert_int_eq(
        tk_sh(&out, "test -z \"$(ls '%s' | grep -v results.jsonl)\"", dir), 0);
    free(out);
}
END_TEST

/* ---- 5. merge writes only inside its output --------------------------- */

/* A copy of the shard base whose first record's "cam" is cam. */
static void hostile_shard(const char *base, const char *shard, const char *cam)
{
    char *out = NULL;
    ck_assert_int_eq(tk_sh(&out, "cp -a '%s' '%s'", base, shard), 0);
    free(out);
    char path[4200];
    snprintf(path, sizeof path, "%s/results.jsonl", shard);
    json_t *all = records(shard);
    json_object_set_new(json_array_get(all, 0), "cam", json_string(cam));
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    size_t i;
    json_t *o;
    json_array_foreach(all, i, o)
    {
        char *line = json_dumps(o, JSON_COMPACT);
        fprintf(fp, "%s\n", line);
        free(line);
    }
    fclose(fp);
    json_decref(all);
}

START_TEST(merge_refuses_paths_leaving_the_output)
{
    /* the victim sits beside the merge's output, the attacker's file
     * beside the shard: "../victim.txt" reaches both */
    char victim[4096], base[4096], outside[4096];
    snprintf(victim, sizeof victim, "%s", tk_path("m5/victim.txt"));
    snprintf(base, sizeof base, "%s", tk_path("s5_base"));
    snprintf(outside, sizeof outside, "%s", tk_path("outside"));
    char *out = NULL;
    int rc = rsicam(&out, "run tiny.yaml output='%s' --quiet", base, "", "");
    ck_assert_msg(rc == 0, "run: exit %d\n%s", rc, out);
    free(out);
    ck_assert_int_eq(tk_sh(&out,
                           "mkdir -p '%s' && echo precious > '%s' && "
                           "echo attacker > '%s' && mkdir -p '%s'",
                           tk_path("m5"), victim, tk_path("victim.txt"),
                           outside),
                     0);
    free(out);
    static const char *const cams[] = {
        "../victim.txt",
        "maps/../../victim.txt",
        NULL, /* absolute: the victim itself */
        "escape/x.cam.npy",
    };
    for (int i = 0; i < 4; i++) {
        char shard[64], merged[64];
        snprintf(shard, sizeof shard, "s5_%d", i);
        snprintf(merged, sizeof merged, "m5/merged_%d", i);
        char s[4096], m[4096];
        snprintf(s, sizeof s, "%s", tk_path(shard));
        snprintf(m, sizeof m, "%s", tk_path(merged));
        hostile_shard(base, s, cams[i] ? cams[i] : victim);
        if (i == 3) { /* a symlink in the shard leading out of it */
            ck_assert_int_eq(tk_sh(&out,
                                   "ln -s '%s' '%s/escape' && "
                                   "echo outside > '%s/x.cam.npy'",
                                   outside, s, outside),
                             0);
            free(out);
        }
        rc = rsicam(&out, "merge '%s' '%s' --quiet", m, s, "");
        ck_assert_msg(rc == INPUT, "case %d: exit %d\n%s", i, rc, out);
        ck_assert_msg(strstr(out, "rsicam: ") && strstr(out, "results.jsonl"),
                      "case %d: %s", i, out);
        free(out);
        char *text = tk_read_file(victim, NULL);
        ck_assert_msg(text && strcmp(text, "precious\n") == 0,
                      "case %d: the victim was overwritten", i);
        free(text);
        struct stat st;
        ck_assert_int_eq(stat(victim, &st), 0);
        ck_assert_int_eq((int)st.st_nlink, 1);
        ck_assert_int_eq(
            tk_sh(&out, "test $(ls '%s' | wc -l) -le 1", tk_path("outside")),
            0);
        free(out);
    }
}
END_TEST

/* ---- 6. explain takes the lock a run holds ----------------------------- */

START_TEST(explain_waits_for_no_run)
{
    const char *dir = tk_path("locked");
    char *out = NULL, lock[4200];
    ck_assert_int_eq(tk_sh(&out, "mkdir -p '%s'", dir), 0);
    free(out);
    snprintf(lock, sizeof lock, "%s/.rsicam.lock", dir);
    /* flock(1) holds the lock as a running `rsicam run` would */
    int rc = tk_sh(&out,
                   "cd '%s' && flock '%s' '%s' explain --quiet --steps 4 "
                   "--model m.pt --out '%s' img0.png",
                   fx, lock, tk_rsicam(), dir);
    ck_assert_msg(rc == OUTPUT, "exit %d:\n%s", rc, out);
    ck_assert_msg(strstr(out, "another rsicam run is writing there") &&
                      strstr(out, dir),
                  "%s", out);
    free(out);
    ck_assert_int_eq(tk_sh(&out, "test \"$(ls -A '%s')\" = .rsicam.lock", dir),
                     0);
    free(out);
    ck_assert_int_eq(unlink(lock), 0);
    /* unlocked, it works and leaves no lock file of its own */
    rc = explain(&out, 0, dir, "img0.png");
    ck_assert_msg(rc == 0, "exit %d:\n%s", rc, out);
    free(out);
    ck_assert_int_ne(access(lock, F_OK), 0);
}
END_TEST

/* ---- the progress line counts only the maps made ---------------------- */

START_TEST(progress_does_not_count_failed_maps)
{
    char *out = NULL;
    const char *dir = tk_path("progress");
    ck_assert_int_eq(tk_sh(&out,
                           "cd '%s' && echo 'not an image' > bad.png && "
                           "sed 's/img1.png/bad.png/' tiny.yaml > bad.yaml",
                           fx),
                     0);
    free(out);
    /* into a pipe: one progress line per unit */
    int rc = rsicam(&out, "run bad.yaml output='%s' 2>&1 | cat", dir, "", "");
    ck_assert_msg(rc == 0, "exit %d:\n%s", rc, out);
    ck_assert_msg(strstr(out, ": 1/2 maps (50%),") &&
                      strstr(out, ": 1/2 maps (100%), 1 failed,"),
                  "%s", out);
    free(out);
}
END_TEST

/* ---- SIGTERM stops a run between units -------------------------------- */

START_TEST(signal_stops_run_between_units)
{
    char *out = NULL;
    const char *dir = tk_path("signal");
    /* 4 units of 3000 steps: the signal comes after the first record,
     * while the second runs; the run stops before the third */
    ck_assert_int_eq(tk_sh(&out,
                           "cd '%s' && sed 's/steps: 2/steps: [3000, 3001]/' "
                           "tiny.yaml > long2.yaml",
                           fx),
                     0);
    free(out);
    int rc = tk_sh(
        &out,
        "cd '%s' && { '%s' run long2.yaml output='%s' --quiet & "
        "pid=$!; while [ ! -s '%s/results.jsonl' ] && kill -0 $pid; do sleep "
        "0.02; done; kill -TERM $pid; wait $pid; echo rc=$?; }",
        fx, tk_rsicam(), dir, dir);
    ck_assert_msg(rc == 0 && strstr(out, "rc=143\n"), "%s", out);
    const char *nl = strchr(out, '\n');
    ck_assert_msg(
        strncmp(out, "rsicam: run: interrupted by SIGTERM after ", 42) == 0 &&
            strstr(out, " of 4 units; run it again to resume\n") && nl &&
            strcmp(nl + 1, "rc=143\n") == 0,
        "not one line:\n%s", out);
    free(out);
    char path[4200];
    snprintf(path, sizeof path, "%s/run.json", dir);
    json_t *run = json_load_file(path, 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(run, "state")),
                     "interrupted");
    json_decref(run);
    json_t *all = records(dir);
    ck_assert_int_lt(json_array_size(all), 4);
    json_decref(all);
    rc = rsicam(&out, "run long2.yaml output='%s' --quiet", dir, "", "");
    ck_assert_msg(rc == 0, "rerun: exit %d\n%s", rc, out);
    free(out);
    all = records(dir);
    ck_assert_int_eq(json_array_size(all), 4);
    json_decref(all);
}
END_TEST

static Suite *no_data_loss_suite(void)
{
    Suite *s = suite_create("no_data_loss");
    TCase *tc = tcase_create("core");
    tcase_add_unchecked_fixture(tc, make_fixture, NULL);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, failed_rerun_keeps_earlier_maps);
    tcase_add_test(tc, run_and_merge_keep_user_tmp_files);
    tcase_add_test(tc, same_base_name_images_keep_their_maps);
    tcase_add_test(tc, torn_tail_is_repaired_not_glued);
    tcase_add_test(tc, short_append_is_undone);
    tcase_add_test(tc, merge_refuses_paths_leaving_the_output);
    tcase_add_test(tc, explain_waits_for_no_run);
    tcase_add_test(tc, progress_does_not_count_failed_maps);
    tcase_add_test(tc, signal_stops_run_between_units);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int rc = tk_run(no_data_loss_suite());
    tk_scratch_close();
    return rc;
}
