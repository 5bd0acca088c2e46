/* `rsicam explain` on bad inputs, through the command line: every case
 * must end with one clear "rsicam: " line naming the input and what is
 * wrong, the documented exit code of its error class (error.h; the table
 * in docs/errors.md), no crash, no hang, no temporary or partial output;
 * and in a run over several images the others are still explained while
 * the bad one is recorded as "failed" in results.jsonl.
 *
 * The inputs (tiny models, awkward and broken images) are made once per
 * run by tests/fixtures/make_bad_inputs.py; test plugins come from
 * tests/plugins. Runs use 4 steps on a 32x32 model, so each takes about as
 * long as loading libtorch. */

#include <check.h>
#include <dirent.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_check.h"
#include "testkit.h"

/* Exit status of a shell script that found it cannot set up its case
 * (no mount namespace, say): the test is skipped with a note. */
enum { CANNOT = 99 };

/* ---- Fixtures ----------------------------------------------------------- */

/* Unchecked fixture of every test case, run in the parent process: the
 * fixtures are made once, by the first, and removed by main(). */
static void make_fixtures(void)
{
    tk_fixtures_make("cli_errors", "make_bad_inputs.py");
}

/* ---- Images ------------------------------------------------------------- */

static const struct bad_image {
    const char *file; /* under the fixtures */
    const char *words;
} bad_images[] = {
    {"missing.png", "no such file"},
    {"empty.png", "empty file (0 bytes)"},
    {"text.png", "not an image (no known format)"},
    {"trunc.png", "truncated or corrupt"},
    {"trunc.jpg", "truncated or corrupt"},
    {"corrupt.png", "truncated or corrupt"},
    {"short.pgm", "0 of the 2000000 samples"},
    {"dir.png", "is a directory"},
    {"huge.png", "too large"},
};
enum { N_BAD_IMAGES = sizeof bad_images / sizeof bad_images[0] };

/* Each bad image in a run with a good one, first (read when its turn
 * comes) and second (read ahead on a thread while the good one walks):
 * exit 3, one error line naming it, a failed record, and the good image
 * explained all the same. */
START_TEST(bad_image)
{
    const struct bad_image *b = &bad_images[_i];
    const char *bad = tk_fixture(b->file), *good = tk_fixture("good.png");
    for (int second = 0; second < 2; second++) {
        char tag[64];
        snprintf(tag, sizeof tag, "bad_image_%d_%d", _i, second);
        run r;
        explain(&r, tag, "--model '%s' --image '%s' --image '%s'",
                tk_fixture("tiny.pt"), second ? good : bad,
                second ? bad : good);
        expect_error(&r, INPUT, 1, bad, b->words, NULL);
        expect_failed(r.out, bad, INPUT);
        ck_assert_int_eq(count_records(r.out, good, "ok"), 1);
        ck_assert_int_eq(expect_whole_maps(r.out), 1);
        run_free(&r);
    }
}
END_TEST

/* Refused before decoding: a 30000x30000 RGB image would need 2.7 GB as
 * bytes and 10.8 GB as floats; the run stays far below either. */
START_TEST(huge_image_memory_bounded)
{
    run r;
    explain(&r, "huge", "--model '%s' --image '%s'", tk_fixture("tiny.pt"),
            tk_fixture("huge.png"));
    expect_error(&r, INPUT, 1, tk_fixture("huge.png"), "30000x30000",
                 "too large", NULL);
    ck_assert_msg(r.maxrss_kib < 1024 * 1024, "peak memory %ld KiB",
                  r.maxrss_kib);
    run_free(&r);
}
END_TEST

/* Root reads any file whatever its mode: as root the run drops to the
 * user nobody (setpriv) so that the permission applies; skipped where
 * neither works. */
START_TEST(unreadable_image)
{
    const char *img = tk_fixture("unreadable.png");
    char *out = NULL;
    ck_assert_int_eq(tk_sh(&out, "cp '%s' '%s' && chmod 000 '%s'",
                           tk_fixture("good.png"), img, img),
                     0);
    free(out);
    const char *dir = tk_path("unreadable");
    ck_assert_int_eq(tk_sh(NULL, "mkdir -p '%s' && chmod 777 '%s'", dir, dir),
                     0);
    const char *as = "";
    if (geteuid() == 0) {
        as = "setpriv --reuid=65534 --regid=65534 --clear-groups --";
        if (tk_sh(NULL, "%s test ! -r '%s'", as, img) != 0) {
            fprintf(stderr, "unreadable_image: skipped (root, and cannot "
                            "drop to uid 65534 with setpriv)\n");
            return;
        }
    }
    run r;
    sh_run(&r, "unreadable",
           "%s '%s' explain --quiet --steps 4 --batch 3 --model '%s' "
           "--out '%s' --image '%s' --image '%s'",
           as, tk_rsicam(), tk_fixture("tiny.pt"), dir, img,
           tk_fixture("good.png"));
    expect_error(&r, INPUT, 1, img, "Permission denied", NULL);
    expect_failed(r.out, img, INPUT);
    ck_assert_int_eq(count_records(r.out, tk_fixture("good.png"), "ok"), 1);
    run_free(&r);
}
END_TEST

/* Not bad at all: each must give a map. */
static const char *const awkward_images[] = {
    "gray.png",  "gray_alpha.png", "rgba.png",
    "rgb16.png", "cmyk.jpg",       "one.png",
};
enum { N_AWKWARD = sizeof awkward_images / sizeof awkward_images[0] };

START_TEST(awkward_image_works)
{
    const char *img = tk_fixture(awkward_images[_i]);
    char tag[64];
    snprintf(tag, sizeof tag, "awkward_%d", _i);
    run r;
    explain(&r, tag, "--model '%s' --image '%s'", tk_fixture("tiny.pt"), img);
    expect_success(&r);
    ck_assert_int_eq(count_records(r.out, img, "ok"), 1);
    ck_assert_int_eq(expect_whole_maps(r.out), 1);
    run_free(&r);
}
END_TEST

/* ---- Models ------------------------------------------------------------- */

/* Whole-run model errors: nothing is explained, nothing is written. */
static const struct bad_model {
    const char *file, *extra, *words;
} bad_models[] = {
    {"missing.pt", "", "no such file"},
    {"garbage.pt", "", "not a TorchScript"},
    {"state_dict.pt", "", "not a TorchScript"},
    {"bad_meta.pt", "",
     "\"mean\" is not 3 numbers in [-1e6, 1e6] in rsicam.json"},
    {"tiny.pt", "--layer features.9", "nearest module paths: features"},
};
enum { N_BAD_MODELS = sizeof bad_models / sizeof bad_models[0] };

START_TEST(bad_model)
{
    const struct bad_model *m = &bad_models[_i];
    const char *model = tk_fixture(m->file);
    char tag[64];
    snprintf(tag, sizeof tag, "bad_model_%d", _i);
    run r;
    explain(&r, tag, "--model '%s' %s --image '%s'", model, m->extra,
            tk_fixture("good.png"));
    expect_error(&r, MODEL, 1, m->file, m->words, NULL);
    char line[8192];
    error_line(r.text, 0, line, sizeof line);
    const char *once = strstr(line, model);
    ck_assert_msg(once && !strstr(once + 1, model), "named twice: %s", line);
    ck_assert_int_le(each_file(r.out, NULL, NULL), 0); /* no files */
    run_free(&r);
}
END_TEST

/* Per-image model errors: each image fails with exit 4, is recorded, and
 * no map is written; both images of the run are tried. */
static const struct image_model {
    const char *file, *extra, *words;
} image_models[] = {
    {"tuple.pt", "", "does not return a tensor"},
    {"flat.pt", "", "expected [N, classes]"},
    {"tiny.pt", "--layer classifier", "expected 4-D"},
    {"tiny.pt", "--class 4", "class 4 out of range: the model has 4 classes"},
    {"nan_out.pt", "", "NaN or Inf"},
    {"inf_out.pt", "", "NaN or Inf"},
    {"nan_grad.pt", "", "NaN or Inf"},
    {"nan_grad.pt", "--method gradcam", "NaN or Inf"},
};
enum { N_IMAGE_MODELS = sizeof image_models / sizeof image_models[0] };

START_TEST(model_fails_each_image)
{
    const struct image_model *m = &image_models[_i];
    const char *a = tk_fixture("good.png"), *b = tk_fixture("good2.png");
    char tag[64];
    snprintf(tag, sizeof tag, "image_model_%d", _i);
    run r;
    explain(&r, tag, "--model '%s' %s --image '%s' --image '%s'",
            tk_fixture(m->file), m->extra, a, b);
    expect_error(&r, MODEL, 2, a, m->words, NULL);
    expect_failed(r.out, a, MODEL);
    expect_failed(r.out, b, MODEL);
    ck_assert_int_eq(expect_whole_maps(r.out), 0);
    run_free(&r);
}
END_TEST

/* ---- Parameters --------------------------------------------------------- */

/* Usage errors: exit 2 before anything runs, not even the output folder
 * made. PLUGINS stands for
 * --plugin-path of the good test baseline and the failing test path. */
static const struct bad_param {
    const char *args, *words;
} bad_params[] = {
    {"--steps 0", "--steps: expected an integer in [1, 1000000], got '0'"},
    {"--steps -5", "--steps: expected an integer in [1, 1000000], got '-5'"},
    {"--steps many", "--steps"},
    {"--batch 0", "--batch: expected an integer in [1, 1000000], got '0'"},
    {"--batch -1", "--batch"},
    {"--threads 0", "--threads: expected an integer in [1, 4096], got '0'"},
    {"--threads -2", "--threads"},
    {"--precision fp16", "unknown precision 'fp16' (expected fp32 or bf16)"},
    {"--device tpu", "unknown device 'tpu'"},
    {"--class -1", "--class"},
    {"--class ,", "--class: no class in ','"},
    {"--class 1,x", "--class: expected an integer in [0, 2147483647], got 'x'"},
    {"--class 1 --class 2,1", "explain: class 1: asked twice"},
    {"--class "
     "0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,"
     "26,27,28,29,30,31,32",
     "--class: at most 32 classes"},
    {"--method rsi,fancy", "--method: unknown value 'fancy'"},
    {"--variant smooth", "--variant: unknown value 'smooth'"},
    {"--score prob", "--score: unknown value 'prob'"},
    {"--input-size 0x32", "--input-size"},
    {"--std 1,0,1", "--std"},
    {"--frobnicate", "unknown or incomplete option '--frobnicate'"},
    {"PLUGINS --baseline good:value=abc,file=/",
     "baseline 'good': parameter 'value'"},
    {"PLUGINS --baseline good:value=99,file=/",
     "baseline 'good': parameter 'value'"},
    {"PLUGINS --baseline good:file=/,colour=red", "colour"},
    {"PLUGINS --baseline good", "parameter 'file'"},
    {"PLUGINS --baseline good:file=/no/such/file", "/no/such/file"},
    {"PLUGINS --path failing:fail_at=0", "path 'failing': parameter 'fail_at'"},
    {"--path linear:steps=3", "path 'linear'"},
};
enum { N_BAD_PARAMS = sizeof bad_params / sizeof bad_params[0] };

/* args with "PLUGINS" replaced by the test plugins' --plugin-path flags. */
static void expand_plugins(const char *args, char *out, size_t n)
{
    const char *p = strstr(args, "PLUGINS");
    if (!p) {
        snprintf(out, n, "%s", args);
        return;
    }
    snprintf(out, n, "%.*s--plugin-path '%s' --plugin-path '%s'%s",
             (int)(p - args), args, tk_test_plugin("set/good"),
             tk_test_plugin("midrun/failing"), p + 7);
}

START_TEST(bad_param)
{
    const struct bad_param *b = &bad_params[_i];
    char args[4096], tag[64];
    expand_plugins(b->args, args, sizeof args);
    snprintf(tag, sizeof tag, "bad_param_%d", _i);
    run r;
    explain(&r, tag, "--model '%s' %s --image '%s'", tk_fixture("tiny.pt"),
            args, tk_fixture("good.png"));
    expect_error(&r, USAGE, 1, b->words, NULL);
    ck_assert_int_eq(each_file(r.out, NULL, NULL), -1);
    run_free(&r);
}
END_TEST

/* --class takes several classes, repeated or comma-separated: a map of
 * each, in the order given. */
START_TEST(several_classes)
{
    run r;
    explain(&r, "several_classes",
            "--model '%s' --class 3,0 --class 2 "
            "--image '%s'",
            tk_fixture("tiny.pt"), tk_fixture("good.png"));
    expect_success(&r);
    json_t *all = results(r.out);
    ck_assert_int_eq(json_array_size(all), 3);
    const long long want[] = {3, 0, 2};
    for (size_t i = 0; i < 3; i++)
        ck_assert_int_eq(json_integer_value(
                             json_object_get(json_array_get(all, i), "class")),
                         want[i]);
    json_decref(all);
    ck_assert_int_eq(expect_whole_maps(r.out), 3);
    run_free(&r);
}
END_TEST

START_TEST(missing_required_options)
{
    run r;
    sh_run(&r, "missing_required", "'%s' explain --image '%s' --out '%s'",
           tk_rsicam(), tk_fixture("good.png"), tk_path("missing_required"));
    expect_error(&r, USAGE, 1, "--model is required", NULL);
    run_free(&r);
    sh_run(&r, "missing_required", "'%s' explain --model '%s' --out '%s'",
           tk_rsicam(), tk_fixture("tiny.pt"), tk_path("missing_required"));
    expect_error(&r, USAGE, 1, "--image is required", NULL);
    run_free(&r);
}
END_TEST

/* Plugin names that name nothing: exit 5, the nearest name suggested. */
static const struct unknown_name {
    const char *args, *words;
} unknown_names[] = {
    {"--baseline zeros", "no baseline plugin 'zeros' (did you mean 'zero'?)"},
    {"--path lienar", "no path plugin 'lienar' (did you mean 'linear'?)"},
    {"--model-plugin torchscrip",
     "no model plugin 'torchscrip' (did you mean 'torchscript'?)"},
    {"--baseline linear", "'linear' is a path plugin, not a baseline plugin"},
};
enum { N_UNKNOWN_NAMES = sizeof unknown_names / sizeof unknown_names[0] };

START_TEST(unknown_plugin_name)
{
    const struct unknown_name *u = &unknown_names[_i];
    char tag[64];
    snprintf(tag, sizeof tag, "unknown_name_%d", _i);
    run r;
    explain(&r, tag, "--model '%s' %s --image '%s'", tk_fixture("tiny.pt"),
            u->args, tk_fixture("good.png"));
    expect_error(&r, PLUGIN, 1, u->words, NULL);
    run_free(&r);
}
END_TEST

/* ---- Output ------------------------------------------------------------- */

/* Root may write anywhere, but not below a regular file. */
START_TEST(out_below_a_file)
{
    char out_dir[4200];
    snprintf(out_dir, sizeof out_dir, "%s/sub", tk_fixture("good.png"));
    run r;
    sh_run(&r, "unused", "'%s' explain --quiet --model '%s' --out '%s' '%s'",
           tk_rsicam(), tk_fixture("tiny.pt"), out_dir,
           tk_fixture("good2.png"));
    expect_error(&r, OUTPUT, 1, out_dir, "is not a directory", NULL);
    run_free(&r);
}
END_TEST

/* A read-only bind mount stops root too; made in a private mount
 * namespace (unshare -m) so that nothing outlives the test. */
START_TEST(out_read_only)
{
    const char *dir = tk_path("read_only");
    ck_assert_int_eq(tk_sh(NULL, "mkdir -p '%s'", dir), 0);
    run r;
    sh_run(&r, "read_only",
           "unshare -m sh -c \"mount --bind '%s' '%s' && "
           "mount -o remount,bind,ro '%s' || exit %d; "
           "'%s' explain --quiet --steps 4 --model '%s' --out '%s' "
           "--image '%s' --image '%s'\" 2>&1",
           dir, dir, dir, CANNOT, tk_rsicam(), tk_fixture("tiny.pt"), dir,
           tk_fixture("good.png"), tk_fixture("good2.png"));
    if (r.rc == CANNOT) {
        fprintf(stderr, "out_read_only: skipped (no mount namespace): %s\n",
                r.text);
        run_free(&r);
        return;
    }
    expect_error(&r, OUTPUT, 2, "Read-only file system", NULL);
    ck_assert_int_eq(each_file(dir, NULL, NULL), 0);
    run_free(&r);
}
END_TEST

/* A full disk: a 64 KiB tmpfs (private mount namespace) filled up to the
 * last few pages, so that some files of a map fit and the next do not. The
 * run must fail with exit 6 and leave whole maps or none, no temporary
 * file and only whole lines in results.jsonl; what was written is copied
 * out before the namespace (and the tmpfs) goes away. */
START_TEST(out_disk_full)
{
    const char *mnt = tk_path("full_mnt"), *copy = tk_path("full_copy");
    ck_assert_int_eq(tk_sh(NULL, "mkdir -p '%s'", mnt), 0);
    run r;
    sh_run(&r, "full_copy",
           "unshare -m sh -c \"mount -t tmpfs -o size=64k rsicam-full '%s' "
           "|| exit %d; dd if=/dev/zero of='%s/filler' bs=4k count=13 "
           "2>/dev/null; "
           "'%s' explain --quiet --steps 4 --model '%s' --out '%s/out' "
           "--image '%s' --image '%s'; rc=\\$?; "
           "cp -a '%s/out' '%s'; exit \\$rc\" 2>&1",
           mnt, CANNOT, mnt, tk_rsicam(), tk_fixture("tiny.pt"), mnt,
           tk_fixture("good.png"), tk_fixture("good2.png"), mnt, copy);
    if (r.rc == CANNOT) {
        fprintf(stderr, "out_disk_full: skipped (no tmpfs mount): %s\n",
                r.text);
        run_free(&r);
        return;
    }
    ck_assert_msg(r.rc == OUTPUT, "exit %d; output:\n%s", r.rc, r.text);
    ck_assert_msg(strstr(r.text, "No space left on device"), "output:\n%s",
                  r.text);
    expect_whole_maps(copy);
    /* whole lines only; each image ok or failed for want of space */
    json_t *all = results(copy);
    size_t i;
    json_t *o;
    int failed = 0;
    json_array_foreach(all, i, o)
    {
        if (strcmp(str(o, "status"), "failed") == 0) {
            ck_assert_int_eq(
                json_integer_value(json_object_get(o, "error_class")), OUTPUT);
            failed++;
        }
    }
    json_decref(all);
    ck_assert_int_ge(failed, 1);
    run_free(&r);
}
END_TEST

/* Works without any mount: results.jsonl is /dev/full, so every map is
 * written and then its record cannot be; the map's files must go. */
START_TEST(results_on_full_device)
{
    const char *dir = tk_path("dev_full");
    ck_assert_int_eq(tk_sh(NULL,
                           "mkdir -p '%s' && ln -s /dev/full "
                           "'%s/results.jsonl'",
                           dir, dir),
                     0);
    run r;
    explain(&r, "dev_full", "--model '%s' --image '%s' --image '%s'",
            tk_fixture("tiny.pt"), tk_fixture("good.png"),
            tk_fixture("good2.png"));
    expect_error(&r, OUTPUT, 2, "results.jsonl", "No space left on device",
                 NULL);
    ck_assert_int_eq(each_file(dir, NULL, NULL), 1); /* the link only */
    run_free(&r);
}
END_TEST

/* Standard output that cannot be written fails the command, whichever
 * prints to it (exit 0 before: the buffer was lost at exit). */
START_TEST(stdout_on_full_device)
{
    char *out = NULL;
    int rc = tk_sh(&out, "'%s' version 2>&1 >/dev/full", tk_rsicam());
    ck_assert_int_eq(rc, 6);
    ck_assert_ptr_nonnull(strstr(out, "cannot write standard output"));
    ck_assert_ptr_nonnull(strstr(out, "No space left on device"));
    free(out);
}
END_TEST

/* ---- Plugins ------------------------------------------------------------ */

/* A broken plugin is skipped with a warning naming its file; asking for
 * it then fails with exit 5. */
static const struct broken_plugin {
    const char *name, *warning;
} broken_plugins[] = {
    {"wrongmajor", "the major version must match"},
    {"nosymbol", "no 'rsicam_plugin' descriptor exported"},
    {"initfails", "init failed: the frobnicator is missing"},
    {"badparams", "bad parameter declaration"},
};
enum { N_BROKEN = sizeof broken_plugins / sizeof broken_plugins[0] };

START_TEST(broken_plugin)
{
    const struct broken_plugin *b = &broken_plugins[_i];
    char rel[256], tag[64], want[256];
    snprintf(rel, sizeof rel, "set/%s", b->name);
    snprintf(tag, sizeof tag, "broken_%d", _i);
    run r;
    explain(&r, tag,
            "--model '%s' --plugin-path '%s' --baseline %s "
            "--image '%s'",
            tk_fixture("tiny.pt"), tk_test_plugin(rel), b->name,
            tk_fixture("good.png"));
    snprintf(want, sizeof want, "no baseline plugin '%s'", b->name);
    expect_error(&r, PLUGIN, 1, want, NULL);
    char so[300];
    snprintf(so, sizeof so, "%s.so", b->name);
    const char *w = strstr(r.text, "rsicam: warning: skipping plugin");
    ck_assert_msg(w && strstr(w, so) && strstr(w, b->warning),
                  "no warning naming %s (%s):\n%s", so, b->warning, r.text);
    run_free(&r);
}
END_TEST

/* Two baselines called "dup": the first found is used, the second is
 * skipped with a warning naming both files; the run goes on. */
START_TEST(duplicate_plugin)
{
    run r;
    explain(&r, "duplicate",
            "--model '%s' --plugin-path '%s' --plugin-path '%s' "
            "--baseline dup:file=/ --image '%s'",
            tk_fixture("tiny.pt"), tk_test_plugin("set/dup_a"),
            tk_test_plugin("set/dup_b"), tk_fixture("good.png"));
    expect_success(&r);
    const char *w = strstr(r.text, "rsicam: warning: skipping plugin 'dup'");
    ck_assert_msg(w && strstr(w, "dup_b.so") && strstr(w, "dup_a.so") &&
                      strstr(w, "duplicate baseline plugin"),
                  "output:\n%s", r.text);
    ck_assert_int_eq(expect_whole_maps(r.out), 1);
    run_free(&r);
}
END_TEST

/* A path plugin failing on its second batch: each image fails (exit 5)
 * naming the plugin, no map is left, every image is tried. */
START_TEST(path_fails_mid_run)
{
    const char *a = tk_fixture("good.png"), *b = tk_fixture("good2.png");
    run r;
    explain(&r, "midrun",
            "--model '%s' --plugin-path '%s' --path failing --image '%s' "
            "--image '%s'",
            tk_fixture("tiny.pt"), tk_test_plugin("midrun/failing"), a, b);
    expect_error(&r, PLUGIN, 2, a, "path 'failing'",
                 "failing on purpose at batch 2", NULL);
    expect_failed(r.out, a, PLUGIN);
    expect_failed(r.out, b, PLUGIN);
    ck_assert_int_eq(expect_whole_maps(r.out), 0);
    run_free(&r);
    /* the same plugin, told to fail later than it ends, works */
    explain(&r, "midrun_ok",
            "--model '%s' --plugin-path '%s' --path failing:fail_at=5 "
            "--image '%s'",
            tk_fixture("tiny.pt"), tk_test_plugin("midrun/failing"), a);
    expect_success(&r);
    ck_assert_int_eq(expect_whole_maps(r.out), 1);
    run_free(&r);
}
END_TEST

static Suite *cli_errors_suite(void)
{
    Suite *s = suite_create("cli_errors");
    struct {
        const char *name;
        TCase *tc;
    } cases[5] = {{"images", NULL},
                  {"models", NULL},
                  {"params", NULL},
                  {"output", NULL},
                  {"plugins", NULL}};
    for (int i = 0; i < 5; i++) {
        cases[i].tc = tcase_create(cases[i].name);
        tcase_add_unchecked_fixture(cases[i].tc, make_fixtures, NULL);
        tcase_set_timeout(cases[i].tc, 120);
        suite_add_tcase(s, cases[i].tc);
    }
    TCase *tc = cases[0].tc;
    tcase_add_loop_test(tc, bad_image, 0, N_BAD_IMAGES);
    tcase_add_test(tc, huge_image_memory_bounded);
    tcase_add_test(tc, unreadable_image);
    tcase_add_loop_test(tc, awkward_image_works, 0, N_AWKWARD);
    tc = cases[1].tc;
    tcase_add_loop_test(tc, bad_model, 0, N_BAD_MODELS);
    tcase_add_loop_test(tc, model_fails_each_image, 0, N_IMAGE_MODELS);
    tc = cases[2].tc;
    tcase_add_loop_test(tc, bad_param, 0, N_BAD_PARAMS);
    tcase_add_test(tc, missing_required_options);
    tcase_add_test(tc, several_classes);
    tcase_add_loop_test(tc, unknown_plugin_name, 0, N_UNKNOWN_NAMES);
    tc = cases[3].tc;
    tcase_add_test(tc, out_below_a_file);
    tcase_add_test(tc, out_read_only);
    tcase_add_test(tc, out_disk_full);
    tcase_add_test(tc, results_on_full_device);
    tcase_add_test(tc, stdout_on_full_device);
    tc = cases[4].tc;
    tcase_add_loop_test(tc, broken_plugin, 0, N_BROKEN);
    tcase_add_test(tc, duplicate_plugin);
    tcase_add_test(tc, path_fails_mid_run);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(cli_errors_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    tk_scratch_close();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
