/* `rsicam explain` on inputs that once crashed it, hung it or let it take
 * memory without end: models with no class or one, numbers past their
 * bounds, files that are not regular files, TorchScript errors that lost
 * their reason, and arguments the parser misread. Each must end in one
 * clear "rsicam: " line with its exit code, quickly.
 *
 * The models are made once per run by tests/fixtures/make_bound_inputs.py
 * (32x32, so that each run takes about as long as loading libtorch). */

#include <check.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_check.h"
#include "testkit.h"

/* Longer than any of these runs takes; `timeout` gives 124 past it, so a
 * hang fails the test instead of the suite. */
#define LIMIT "60"

static void make_fixtures(void)
{
    tk_fixtures_make("cli_bounds", "make_bound_inputs.py");
}

/* explain with the good image, under `timeout`. */
static void explain_image(run *r, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void explain_image(run *r, const char *tag, const char *fmt, ...)
{
    char args[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    sh_run(r, tag,
           "timeout " LIMIT " '%s' explain --quiet --threads 1 --steps 4 "
           "--batch 3 --out '%s' --image '%s' %s",
           tk_rsicam(), tk_path(tag), tk_fixture("good.png"), args);
}

/* A case of the tables below: a model (or extra arguments alone) and
 * what the output must say. */
typedef struct model_case {
    const char *model, *extra, *words;
} model_case;

/* Runs case i of a table, its out directory named PREFIX_I. */
static void explain_case(run *r, const char *prefix, int i, const model_case *c)
{
    char tag[64];
    snprintf(tag, sizeof tag, "%s_%d", prefix, i);
    explain_image(r, tag, "--model '%s' %s", tk_fixture(c->model), c->extra);
}

/* ---- Models' outputs ---------------------------------------------------- */

/* [N, 0]: softmax read past its buffer (ASan) and the release build exited
 * 0 with nothing written. */
START_TEST(output_without_classes)
{
    run r;
    explain_image(&r, "empty_out", "--model '%s'", tk_fixture("empty_out.pt"));
    expect_error(&r, MODEL, 1, "[N, 0]", "no classes", NULL);
    ck_assert_int_eq(expect_whole_maps(r.out), 0);
    run_free(&r);
}
END_TEST

/* Maps still made, but all zero for a reason the record states. */
static const model_case zero_maps[] = {
    {"one_class.pt", "", "one class"},
    {"const_out.pt", "", "the same at the image and at the baseline"},
    {"const_out.pt", "--method gradcam", "the same at the image"},
};
enum { N_ZERO_MAPS = sizeof zero_maps / sizeof zero_maps[0] };

START_TEST(zero_map_says_why)
{
    const model_case *z = &zero_maps[_i];
    run r;
    explain_case(&r, "zero_map", _i, z);
    expect_success(&r);
    json_t *all = results(r.out);
    ck_assert_int_eq(json_array_size(all), 1);
    const char *warning = str(json_array_get(all, 0), "warning");
    ck_assert_msg(strstr(warning, z->words), "warning '%s' lacks '%s'", warning,
                  z->words);
    json_decref(all);
    run_free(&r);
}
END_TEST

/* A model whose maps are not all zero gets no warning field. */
START_TEST(good_map_has_no_warning)
{
    run r;
    explain_image(&r, "no_warning", "--model '%s'", tk_fixture("tiny.pt"));
    expect_success(&r);
    json_t *all = results(r.out);
    ck_assert_int_eq(json_array_size(all), 1);
    ck_assert_ptr_null(json_object_get(json_array_get(all, 0), "warning"));
    json_decref(all);
    run_free(&r);
}
END_TEST

/* ---- Numbers and arguments ---------------------------------------------- */

/* Usage errors before any work: exit 2, nothing written. */
static const model_case bad_numbers[] = {
    /* signed overflow (UBSan) and a misleading error before */
    {"tiny.pt", "--steps 9223372036854775807",
     "--steps: expected an integer in [1, "
     "1000000]"},
    /* ran unbounded while YAML stopped at 1e6 */
    {"tiny.pt", "--steps 4294967297",
     "--steps: expected an integer in [1, 1000000]"},
    {"tiny.pt", "--steps auto --max-steps 9223372036854775807", "--max-steps"},
    /* wrapped silently */
    {"tiny.pt", "--top-k 2147483648",
     "--top-k: expected an integer in [1, 32]"},
    {"tiny.pt", "--threads 2147483648",
     "--threads: expected an integer in [1, 4096]"},
    {"tiny.pt", "--class 2147483648", "--class"},
    /* an "internal" out-of-memory */
    {"tiny.pt", "--batch 4294967297",
     "--batch: expected an integer in [1, 1000000]"},
    /* exit 70 */
    {"tiny.pt", "--std 1e-300,1e-300,1e-300", "--std: expected 3 numbers in"},
    {"tiny.pt", "--mean 1e300,0,0", "--mean"},
    /* ran 155 s, then exit 70 */
    {"tiny.pt", "--input-size 16384x16384", "--input-size"},
    {"tiny.pt", "--input-size 1.5x32", "--input-size: expected whole numbers"},
    {"tiny.pt", "--steps ' 5'", "--steps"},
    {"tiny.pt", "--steps 5x", "--steps"},
    /* both silently used the default layer */
    {"tiny.pt", "--layer ''", "--layer: no layer named in ''"},
    {"tiny.pt", "--layer ,", "--layer: no layer named in ','"},
    /* 4 records for one set of files */
    {"tiny.pt", "--layer features,features", "--layer: 'features' given twice"},
    {"tiny.pt", "--layer features --layer features", "'features' given twice"},
};
enum { N_BAD_NUMBERS = sizeof bad_numbers / sizeof bad_numbers[0] };

START_TEST(usage_error_first)
{
    run r;
    explain_case(&r, "number", _i, &bad_numbers[_i]);
    expect_error(&r, USAGE, 1, bad_numbers[_i].words, NULL);
    ck_assert_int_le(each_file(r.out, NULL, NULL), 0);
    run_free(&r);
}
END_TEST

/* The experiment file's steps: shares --steps' bound. */
START_TEST(yaml_steps_share_the_bound)
{
    const char *yaml = tk_path("steps.yaml");
    FILE *fp = fopen(yaml, "w");
    ck_assert_ptr_nonnull(fp);
    fprintf(fp, "model: %s\nimages: [%s]\nsteps: 4294967297\n",
            tk_fixture("tiny.pt"), tk_fixture("good.png"));
    fclose(fp);
    run r;
    sh_run(&r, "yaml_steps", "timeout " LIMIT " '%s' run --check '%s'",
           tk_rsicam(), yaml);
    ck_assert_msg(r.rc == USAGE, "exit %d: %s", r.rc, r.text);
    ck_assert_msg(strstr(r.text, "steps: expected an integer in [1, 1000000]"),
                  "%s", r.text);
    run_free(&r);
}
END_TEST

/* ---- Files the user names ----------------------------------------------- */

/* Each must fail fast (a FIFO blocked forever; /dev/zero grew memory
 * without end) with one line naming the file. FIFO stands for a FIFO made
 * here; LABELS7 for a file of 7 names (the model has 4 classes). */
static const struct bad_file {
    const char *option, *file, *words;
    int code;
} bad_files[] = {
    {"--labels", "/dev/zero", "not a regular file (a character device)", INPUT},
    {"--labels", "FIFO", "not a regular file (a FIFO)", INPUT},
    {"--labels", "/", "not a regular file (a directory)", INPUT},
    {"--labels", "LABELS7", "7 lines for the model's 4 classes", INPUT},
    {"--path sequence:points=", "/dev/zero",
     "not a regular file (a character device)", USAGE},
    {"--path sequence:points=", "FIFO", "not a regular file (a FIFO)", USAGE},
};
enum { N_BAD_FILES = sizeof bad_files / sizeof bad_files[0] };

START_TEST(file_not_read_whole)
{
    const struct bad_file *b = &bad_files[_i];
    const char *file = b->file;
    char tag[32], path[4096];
    snprintf(tag, sizeof tag, "file_%d", _i);
    if (strcmp(file, "FIFO") == 0) {
        snprintf(path, sizeof path, "%s", tk_path(tag));
        strcat(path, ".fifo");
        remove(path);
        ck_assert_int_eq(mkfifo(path, 0600), 0);
        file = path;
    } else if (strcmp(file, "LABELS7") == 0) {
        snprintf(path, sizeof path, "%s", tk_path("labels7.txt"));
        FILE *fp = fopen(path, "w");
        ck_assert_ptr_nonnull(fp);
        fputs("a\nb\nc\nd\ne\nf\ng\n", fp);
        fclose(fp);
        file = path;
    }
    const char *sep = b->option[strlen(b->option) - 1] == '=' ? "" : " ";
    run r;
    explain_image(&r, tag, "--model '%s' %s%s'%s'", tk_fixture("tiny.pt"),
                  b->option, sep, file);
    ck_assert_msg(r.rc != 124, "still running after " LIMIT " s");
    expect_error(&r, b->code, 1, file, b->words, NULL);
    ck_assert_int_eq(expect_whole_maps(r.out), 0);
    run_free(&r);
}
END_TEST

/* A labels file with one name per class is taken, and names the class. */
START_TEST(labels_that_fit)
{
    const char *path = tk_path("labels4.txt");
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("w\r\nx\ny\nz\n", fp);
    fclose(fp);
    run r;
    explain_image(&r, "labels4", "--model '%s' --labels '%s'",
                  tk_fixture("tiny.pt"), path);
    expect_success(&r);
    json_t *all = results(r.out);
    const char *label = str(json_array_get(all, 0), "label");
    ck_assert_msg(strchr("wxyz", label[0]) && label[0] && !label[1],
                  "label '%s'", label);
    json_decref(all);
    run_free(&r);
}
END_TEST

/* ---- TorchScript errors keep their reason ------------------------------- */

static const model_case script_errors[] = {
    /* traced at batch 1, fed 3 path points at once */
    {"traced_b1.pt", "", "mat1 and mat2 shapes cannot be multiplied"},
    {"one_channel.pt", "", "to have 1 channels, but got 3 channels"},
    {"pool.pt", "--input-size 1x1", "Output size is too small"},
};
enum { N_SCRIPT_ERRORS = sizeof script_errors / sizeof script_errors[0] };

START_TEST(torchscript_error_says_why)
{
    const model_case *s = &script_errors[_i];
    run r;
    explain_case(&r, "script", _i, s);
    ck_assert_msg(r.rc == MODEL, "exit %d: %s", r.rc, r.text);
    char line[4096] = "";
    error_line(r.text, 0, line, sizeof line);
    ck_assert_msg(strstr(line, s->words), "'%s' not in: %s", s->words, line);
    ck_assert_msg(!strstr(r.text, "The following operation failed"), "%s",
                  r.text);
    run_free(&r);
}
END_TEST

/* An argument that starts with '-' is blamed by its own name, not the
 * --out path before it. */
START_TEST(dash_argument_named)
{
    run r;
    explain_image(&r, "dash", "--model '%s' -dash.png", tk_fixture("tiny.pt"));
    expect_error(&r, USAGE, 1, "'-dash.png'", "./-dash.png", NULL);
    char line[4096] = "";
    error_line(r.text, 0, line, sizeof line);
    ck_assert_msg(!strstr(line, r.out), "blames the out path: %s", line);
    run_free(&r);
}
END_TEST

/* ---- The auto baseline ------------------------------------------------- */

/* With lr=0.1 (the old default) on the shipped classifier, the last
 * iterate took the loss from 0.080 to 0.906 and was used without a word:
 * with a fixed step (patience=0) the result must be no worse than the
 * initial baseline, and a baseline that misses the target is a warning.
 * With the step halved on a stall (the default patience) the same lr
 * reaches the target. */
static void auto_lr_0_1(run *r, const char *tag, const char *patience)
{
    sh_run(r, tag,
           "timeout 300 '%s' explain --quiet --threads 1 --steps 2 --model "
           "'%s' --image '%s' --out '%s' --baseline auto:lr=0.1%s",
           tk_rsicam(), tk_source("examples/models/fmnist_cnn.pt"),
           tk_source("examples/samples/0003.png"), tk_path(tag), patience);
    ck_assert_msg(r->rc == 0, "exit %d: %s", r->rc, r->text);
}

START_TEST(auto_baseline_never_worse)
{
    run r;
    auto_lr_0_1(&r, "auto", ",patience=0");
    const char *p = strstr(r.text, "auto baseline: loss ");
    double before, after;
    ck_assert_msg(p && sscanf(p + 20, "%lf -> %lf", &before, &after) == 2, "%s",
                  r.text);
    ck_assert_msg(after <= before, "loss %g -> %g", before, after);
    ck_assert_msg(strstr(r.text, "rsicam: warning: auto baseline: "
                                 "max|p_k - 1/K| is"),
                  "%s", r.text);
    run_free(&r);

    auto_lr_0_1(&r, "auto-halved", "");
    ck_assert_msg(strstr(r.text, "auto baseline: loss ") &&
                      !strstr(r.text, "warning"),
                  "%s", r.text);
    run_free(&r);
}
END_TEST

static Suite *cli_bounds_suite(void)
{
    Suite *s = suite_create("cli_bounds");
    TCase *tc = tcase_create("bounds");
    tcase_add_unchecked_fixture(tc, make_fixtures, NULL);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, output_without_classes);
    tcase_add_loop_test(tc, zero_map_says_why, 0, N_ZERO_MAPS);
    tcase_add_test(tc, good_map_has_no_warning);
    tcase_add_loop_test(tc, usage_error_first, 0, N_BAD_NUMBERS);
    tcase_add_test(tc, yaml_steps_share_the_bound);
    tcase_add_loop_test(tc, file_not_read_whole, 0, N_BAD_FILES);
    tcase_add_test(tc, labels_that_fit);
    tcase_add_loop_test(tc, torchscript_error_says_why, 0, N_SCRIPT_ERRORS);
    tcase_add_test(tc, dash_argument_named);
    tcase_add_test(tc, auto_baseline_never_worse);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    int rc = tk_run(cli_bounds_suite());
    tk_scratch_close();
    return rc;
}
