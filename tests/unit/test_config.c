/* Experiment files (config.h, experiment.h): YAML trees with lines,
 * writing YAML back, overrides, and validation, where every kind of
 * problem must be reported at once with its FILE:LINE. */

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "config_emit.h"
#include "experiment.h"
#include "experiment_fixture.h"
#include "experiment_internal.h"
#include "testkit.h"

static char fx[4096]; /* the model and images, made once */

static void make_fixture(void)
{
    if (fx[0])
        return;
    tk_scratch_open("config");
    snprintf(fx, sizeof fx, "%s", tk_path("fx"));
    char *out = NULL;
    ck_assert_int_eq(tk_sh(&out, "mkdir -p '%s'", fx), 0);
    free(out);
    experiment_fixture_make(fx, 2);
}

/* fx/name into path[4200], with text written there first unless NULL. */
static void fixture_file(const char *name, const char *text, char *path)
{
    if (text)
        experiment_fixture_write(fx, name, text);
    snprintf(path, 4200, "%s/%s", fx, name);
}

/* Loads text (written to fx/name) as a tree; problems go to d. */
static rsi_cfg *load_text(const char *name, const char *text, rsi_diag *d)
{
    char path[4200];
    fixture_file(name, text, path);
    return rsi_cfg_load_file(path, d);
}

/* Loads fx/name as an experiment with overrides o[n], writing text there
 * first unless it is NULL; problems go to d. */
static rsi_experiment *load_experiment(const char *name, const char *text,
                                       const char *const *o, int n, rsi_diag *d)
{
    char path[4200];
    fixture_file(name, text, path);
    return rsi_experiment_load(path, o, n, NULL, 0, d);
}

/* Whether some problem reads "NAME:LINE: ...want..." (line 0: the origin
 * alone). */
static int has_problem(const rsi_diag *d, const char *origin_end, int line,
                       const char *want)
{
    for (int i = 0; i < d->n; i++) {
        const rsi_diag_item *it = &d->items[i];
        size_t lo = it->origin ? strlen(it->origin) : 0,
               le = strlen(origin_end);
        int origin_ok = it->origin && lo >= le &&
                        strcmp(it->origin + lo - le, origin_end) == 0;
        if (origin_ok && it->line == line && strstr(it->message, want))
            return 1;
    }
    return 0;
}

static void dump(const rsi_diag *d)
{
    for (int i = 0; i < d->n; i++) {
        char *s = rsi_diag_format(d, i);
        fprintf(stderr, "  %s\n", s);
        free(s);
    }
}

#define EXPECT(d, origin, line, want)                                          \
    do {                                                                       \
        if (!has_problem(d, origin, line, want))                               \
            dump(d);                                                           \
        ck_assert_msg(has_problem(d, origin, line, want),                      \
                      "no problem %s:%d: ...%s...", origin, line, want);       \
    } while (0)

/* ---- YAML trees ------------------------------------------------------- */

START_TEST(tree_with_lines)
{
    rsi_diag d = {0};
    rsi_cfg *c = load_text("tree.yaml",
                           "# a comment\n"
                           "model:\n"
                           "  file: m.pt\n"
                           "steps: [4, 8]\n"
                           "name: \"50\"\n"
                           "empty:\n"
                           "list:\n"
                           "  - a\n"
                           "  - {name: b, k: 1}\n"
                           "anchor: &x [1, 2]\n"
                           "copy: *x\n",
                           &d);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(d.n, 0);
    ck_assert_int_eq(c->kind, RSI_CFG_MAP);
    const rsi_cfg *model = rsi_cfg_get(c, "model");
    ck_assert_int_eq(model->kind, RSI_CFG_MAP);
    ck_assert_int_eq(rsi_cfg_key_node(c, "model")->line, 2);
    const rsi_cfg *file = rsi_cfg_get(model, "file");
    ck_assert_str_eq(file->text, "m.pt");
    ck_assert_int_eq(file->line, 3);
    const rsi_cfg *steps = rsi_cfg_get(c, "steps");
    ck_assert_int_eq(steps->kind, RSI_CFG_LIST);
    ck_assert_int_eq(steps->n, 2);
    int64_t v;
    ck_assert_int_eq(rsi_cfg_int(steps->items[1], &v), 0);
    ck_assert_int_eq(v, 8);
    const rsi_cfg *name = rsi_cfg_get(c, "name");
    ck_assert(name->quoted);
    ck_assert(!rsi_cfg_is_null(name));
    ck_assert(rsi_cfg_is_null(rsi_cfg_get(c, "empty")));
    const rsi_cfg *list = rsi_cfg_get(c, "list");
    ck_assert_int_eq(list->items[0]->line, 8);
    ck_assert_int_eq(list->items[1]->line, 9);
    ck_assert_str_eq(rsi_cfg_get(list->items[1], "name")->text, "b");
    ck_assert_int_eq(rsi_cfg_get(c, "copy")->n, 2);
    char where[256];
    rsi_cfg_where(file, where, sizeof where);
    ck_assert_ptr_nonnull(strstr(where, "tree.yaml:3"));
    rsi_cfg_free(c);
    rsi_diag_free(&d);
}
END_TEST

START_TEST(syntax_error_has_line)
{
    rsi_diag d = {0};
    rsi_cfg *c = load_text("syntax.yaml",
                           "model: m.pt\nimages: [a.png\n"
                           "layers: [x]\n",
                           &d);
    ck_assert_ptr_null(c);
    ck_assert_int_eq(d.n, 1);
    EXPECT(&d, "syntax.yaml", 3, "not valid YAML");
    rsi_diag_free(&d);
    c = load_text("list.yaml", "- a\n- b\n", &d);
    ck_assert_ptr_null(c);
    EXPECT(&d, "list.yaml", 1, "must be a mapping");
    rsi_diag_free(&d);
}
END_TEST

START_TEST(duplicate_key)
{
    rsi_diag d = {0};
    rsi_cfg *c = load_text("dup.yaml", "steps: 4\nbatch: 2\nsteps: 5\n", &d);
    ck_assert_ptr_nonnull(c);
    EXPECT(&d, "dup.yaml", 3, "duplicate key 'steps' (first given at line 1)");
    ck_assert_str_eq(rsi_cfg_get(c, "steps")->text, "5");
    rsi_cfg_free(c);
    rsi_diag_free(&d);
}
END_TEST

START_TEST(values_from_text)
{
    rsi_diag d = {0};
    rsi_cfg *v = rsi_cfg_parse_value("[layer4, layer3]", "override 'x'", &d);
    ck_assert_int_eq(v->kind, RSI_CFG_LIST);
    ck_assert_int_eq(v->n, 2);
    ck_assert_str_eq(v->items[1]->text, "layer3");
    ck_assert_str_eq(v->items[1]->origin, "override 'x'");
    ck_assert_int_eq(v->items[1]->line, 0);
    rsi_cfg_free(v);
    v = rsi_cfg_parse_value("", "o", &d);
    ck_assert(rsi_cfg_is_null(v));
    rsi_cfg_free(v);
    v = rsi_cfg_parse_value("{name: blur, sigma: 8}", "o", &d);
    ck_assert_int_eq(v->kind, RSI_CFG_MAP);
    ck_assert_str_eq(rsi_cfg_get(v, "sigma")->text, "8");
    rsi_cfg_free(v);
    ck_assert_ptr_null(rsi_cfg_parse_value("[a, b", "override 'k=[a, b'", &d));
    EXPECT(&d, "override 'k=[a, b'", 0, "not valid YAML");
    ck_assert_int_eq(d.n, 1);
    rsi_diag_free(&d);
}
END_TEST

START_TEST(yaml_written_reads_back)
{
    json_t *j = json_pack("{s:s, s:i, s:s, s:s, s:[i, s], s:{s:f}, s:n, s:b}",
                          "a", "50", "b", 50, "c", "yes", "d", "", "e", 1, "x",
                          "f", "g", 1.5, "h", "i", 1);
    char *text = rsi_yaml_from_json(j, "made by\na test");
    ck_assert_ptr_nonnull(text);
    ck_assert(strncmp(text, "# made by\n# a test\n", 19) == 0);
    rsi_diag d = {0};
    rsi_cfg *c = load_text("emit.yaml", text, &d);
    ck_assert_ptr_nonnull(c);
    const rsi_cfg *a = rsi_cfg_get(c, "a"), *b = rsi_cfg_get(c, "b");
    ck_assert(a->quoted); /* "50" stays a string */
    ck_assert_str_eq(a->text, "50");
    ck_assert(!b->quoted);
    ck_assert(rsi_cfg_get(c, "c")->quoted);
    ck_assert(rsi_cfg_get(c, "d")->quoted);
    ck_assert(!rsi_cfg_is_null(rsi_cfg_get(c, "d")));
    ck_assert_int_eq(rsi_cfg_get(c, "e")->n, 2);
    ck_assert_str_eq(rsi_cfg_get(rsi_cfg_get(c, "f"), "g")->text, "1.5");
    ck_assert(rsi_cfg_is_null(rsi_cfg_get(c, "h")));
    int on = 0;
    ck_assert_int_eq(rsi_cfg_bool(rsi_cfg_get(c, "i"), &on), 0);
    ck_assert(on);
    char num[64];
    rsi_format_double(0.1, num, sizeof num);
    ck_assert_str_eq(num, "0.1");
    rsi_format_double(8, num, sizeof num);
    ck_assert_str_eq(num, "8.0");
    rsi_cfg_free(c);
    rsi_diag_free(&d);
    free(text);
    json_decref(j);
}
END_TEST

START_TEST(absolute_paths)
{
    static const char *const cases[][3] = {
        {"/a/b", "c.png", "/a/b/c.png"}, {"/a/b", "../c", "/a/c"},
        {"/a/b", "./x/./y", "/a/b/x/y"}, {"/a", "/etc//x/", "/etc/x"},
        {"/", "../../x", "/x"},          {"/a/b", "..", "/a"},
        {"rel", "../../x", "../x"},      {"/a", "b/../..", "/"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *p = xp_absolute(cases[i][0], cases[i][1]);
        ck_assert_msg(strcmp(p, cases[i][2]) == 0, "%s + %s: %s, not %s",
                      cases[i][0], cases[i][1], p, cases[i][2]);
        free(p);
    }
}
END_TEST

/* ---- overrides ---------------------------------------------------------- */

static rsi_cfg *override_doc(rsi_diag *d, const char *const *overrides, int n)
{
    rsi_cfg *c = load_text("over.yaml",
                           "model: {file: m.pt}\n"
                           "steps: [4, 8]\n"
                           "baselines:\n"
                           "  - zero\n"
                           "  - {name: blur, sigma: 2}\n"
                           "paths: [linear]\n",
                           d);
    ck_assert_ptr_nonnull(c);
    xp_loader ld = {.doc = c, .d = d};
    for (int i = 0; i < n; i++)
        xp_apply_override(&ld, overrides[i]);
    return c;
}

START_TEST(overrides_apply)
{
    static const char *const o[] = {"steps=100",
                                    "layers=[layer4,layer3]",
                                    "baseline.blur.sigma=8",
                                    "baseline.zero.scale=3",
                                    "paths.0.name=curved",
                                    "model.file=x.pt",
                                    "output=dir"};
    rsi_diag d = {0};
    rsi_cfg *c = override_doc(&d, o, 7);
    if (d.n)
        dump(&d);
    ck_assert_int_eq(d.n, 0);
    const rsi_cfg *steps = rsi_cfg_get(c, "steps");
    ck_assert_str_eq(steps->text, "100");
    ck_assert_str_eq(steps->origin, "override 'steps=100'");
    ck_assert_int_eq(steps->line, 0);
    ck_assert_int_eq(rsi_cfg_get(c, "layers")->n, 2);
    const rsi_cfg *b = rsi_cfg_get(c, "baselines");
    ck_assert_str_eq(rsi_cfg_get(b->items[1], "sigma")->text, "8");
    /* the scalar item became {name: zero, scale: 3} */
    ck_assert_int_eq(b->items[0]->kind, RSI_CFG_MAP);
    ck_assert_str_eq(rsi_cfg_get(b->items[0], "name")->text, "zero");
    ck_assert_str_eq(rsi_cfg_get(b->items[0], "scale")->text, "3");
    const rsi_cfg *p = rsi_cfg_get(c, "paths");
    ck_assert_str_eq(rsi_cfg_get(p->items[0], "name")->text, "curved");
    ck_assert_str_eq(rsi_cfg_get(rsi_cfg_get(c, "model"), "file")->text,
                     "x.pt");
    ck_assert_str_eq(rsi_cfg_get(c, "output")->text, "dir");
    rsi_cfg_free(c);
    rsi_diag_free(&d);
}
END_TEST

/* A key path past the 511 bytes its messages can name is refused. */
START_TEST(override_key_path_too_long)
{
    char assignment[1024] = "model", origin[1100];
    for (int i = 0; i < 300; i++)
        strcat(assignment, ".k");
    strcat(assignment, "=1");
    snprintf(origin, sizeof origin, "override '%s'", assignment);
    const char *const o[] = {assignment};
    rsi_diag d = {0};
    rsi_cfg *c = override_doc(&d, o, 1);
    EXPECT(&d, origin, 0, "key path longer than 511 bytes");
    ck_assert_int_eq(d.n, 1);
    rsi_cfg_free(c);
    rsi_diag_free(&d);
}
END_TEST

START_TEST(overrides_refused)
{
    static const char *const o[] = {"stepz=1", "nokey", "baseline.nope.sigma=1",
                                    "paths.3.name=x", "steps.x=1"};
    rsi_diag d = {0};
    rsi_cfg *c = override_doc(&d, o, 5);
    EXPECT(&d, "override 'stepz=1'", 0,
           "unknown key 'stepz' (did you mean "
           "'steps'?)");
    EXPECT(&d, "override 'nokey'", 0, "expected KEY=VALUE");
    EXPECT(&d, "override 'baseline.nope.sigma=1'", 0, "unknown item 'nope'");
    EXPECT(&d, "override 'paths.3.name=x'", 0, "no item 3");
    EXPECT(&d, "override 'steps.x=1'", 0, "unknown item 'x'");
    ck_assert_int_eq(d.n, 5);
    rsi_cfg_free(c);
    rsi_diag_free(&d);
}
END_TEST

/* ---- validation --------------------------------------------------------- */

/* The directory of the test baseline "good" (tests/plugins), which
 * declares a parameter of every type. */
static const char *good_plugin_dir(void)
{
    static char dir[4096];
    const char *real = getenv("RSICAM_PLUGIN_PATH");
    ck_assert_msg(real && *real, "RSICAM_PLUGIN_PATH is not set");
    snprintf(dir, sizeof dir, "%s/../tests/plugins/testplugins/set/good", real);
    ck_assert_msg(access(dir, F_OK) == 0,
                  "%s is missing: build the test plugins (cmake --build)", dir);
    return dir;
}

START_TEST(every_problem_at_once)
{
    char text[8192];
    snprintf(text, sizeof text,
             "model:\n"                                            /* 1 */
             "  file: m.pt\n"                                      /* 2 */
             "  plugn: x\n"                                        /* 3 */
             "layers: [conv1, conv3]\n"                            /* 4 */
             "targets:\n"                                          /* 5 */
             "  - top_k: 0\n"                                      /* 6 */
             "  - class: zebra\n"                                  /* 7 */
             "  - labell\n"                                        /* 8 */
             "methods: [rsi-relu, gradcamm]\n"                     /* 9 */
             "score: [softmax, softmax]\n"                         /* 10 */
             "baselines:\n"                                        /* 11 */
             "  - name: zeroo\n"                                   /* 12 */
             "  - {name: zero, sigma: 8}\n"                        /* 13 */
             "  - {name: good, value: abc, file: samples.csv}\n"   /* 14 */
             "  - {name: good, value: 50, file: samples.csv}\n"    /* 15 */
             "  - {name: good, valuee: 1}\n"                       /* 16 */
             "  - {name: good, value: 1, file: nofile.txt}\n"      /* 17 */
             "paths: [linear]\n"                                   /* 18 */
             "steps: [abc, 4, 4]\n"                                /* 19 */
             "batch: -1\n"                                         /* 20 */
             "stepz: 3\n"                                          /* 21 */
             "images: [missing.png, img0.png, \"nothing*.png\"]\n" /* 22 */
             "outputs: [montage]\n"                                /* 23 */
             "metrics: [pointing, delet]\n"                        /* 24 */
             "plugin_path: ['%s']\n",                              /* 25 */
             good_plugin_dir());
    static const char *const o[] = {"threads=x", "baseline.blurr.sigma=8"};
    rsi_diag d = {0};
    rsi_experiment *xp = load_experiment("bad.yaml", text, o, 2, &d);
    ck_assert_ptr_null(xp);
    const char *f = "bad.yaml";
    EXPECT(&d, f, 3, "model 'torchscript': unknown parameter 'plugn'");
    EXPECT(&d, f, 4, "unknown layer 'conv3' (did you mean 'conv1'?)");
    EXPECT(&d, f, 6, "top_k: expected an integer in [1, 32], got '0'");
    EXPECT(&d, f, 7, "unknown class 'zebra'; valid: cat, dog, fox, owl");
    EXPECT(&d, f, 8, "unknown target 'labell' (did you mean 'label'?)");
    EXPECT(&d, f, 9, "unknown value 'gradcamm' (did you mean 'gradcam'?)");
    EXPECT(&d, f, 10, "score: 'softmax' given twice");
    EXPECT(&d, f, 12, "'zeroo' (did you mean 'zero'?)");
    EXPECT(&d, f, 13, "baseline 'zero': takes no parameters, got 'sigma'");
    EXPECT(&d, f, 14, "parameter 'value': expected a number, got 'abc'");
    EXPECT(&d, f, 15, "parameter 'value': 50 is out of range");
    EXPECT(&d, f, 16, "unknown parameter 'valuee' (did you mean 'value'?)");
    EXPECT(&d, f, 16, "parameter 'file' is required");
    EXPECT(&d, f, 17, "No such file or directory");
    EXPECT(&d, f, 19, "steps: expected an integer in [1, 1000000], got 'abc'");
    EXPECT(&d, f, 19, "steps: 4 given twice");
    EXPECT(&d, f, 20, "batch: expected an integer");
    EXPECT(&d, f, 21, "unknown key 'stepz' (did you mean 'steps'?)");
    EXPECT(&d, f, 22, "'missing.png': No such file or directory");
    EXPECT(&d, f, 22, "no file matches 'nothing*.png'");
    EXPECT(&d, f, 23, "'montage' is drawn from the heatmaps");
    EXPECT(&d, f, 24, "unknown metric 'delet' (did you mean 'deletion'?)");
    EXPECT(&d, f, 24, "pointing and energy need boxes");
    EXPECT(&d, "override 'threads=x'", 0, "threads: expected an integer");
    EXPECT(&d, "override 'baseline.blurr.sigma=8'", 0, "unknown item 'blurr'");
    if (d.n != 25)
        dump(&d);
    ck_assert_int_eq(d.n, 25);
    rsi_diag_free(&d);
}
END_TEST

START_TEST(needs_of_targets_and_files)
{
    rsi_diag d = {0};
    ck_assert_ptr_null(load_experiment("needs.yaml",
                                       "model: {file: m.pt}\n"
                                       "images: img0.png\n"
                                       "targets: [label, {class: 9}]\n"
                                       "metrics: [energy]\n",
                                       NULL, 0, &d));
    EXPECT(&d, "needs.yaml", 3, "'label' needs every image's label");
    EXPECT(&d, "needs.yaml", 3, "class 9 out of range: the model has 4");
    EXPECT(&d, "needs.yaml", 4, "need boxes");
    ck_assert_int_eq(d.n, 3);
    rsi_diag_free(&d);
    ck_assert_ptr_null(
        load_experiment("nomodel.yaml",
                        "model: {file: nope.pt, labels: nolabels.txt}\n"
                        "images: [samples.csv]\n",
                        NULL, 0, &d));
    EXPECT(&d, "nomodel.yaml", 1, "parameter 'file'");
    EXPECT(&d, "nomodel.yaml", 1, "No such file or directory");
    ck_assert_int_eq(d.n, 1); /* no model: its labels are not read */
    rsi_diag_free(&d);
}
END_TEST

START_TEST(device_and_precision)
{
    rsi_diag d = {0};
    ck_assert_ptr_null(load_experiment("exec_bad.yaml",
                                       "model: m.pt\n"
                                       "device: tpu\n"
                                       "precision: half\n"
                                       "images: [samples.csv]\n",
                                       NULL, 0, &d));
    EXPECT(&d, "exec_bad.yaml", 2, "device: unknown device 'tpu'");
    EXPECT(&d, "exec_bad.yaml", 3, "unknown precision 'half'");
    ck_assert_int_eq(d.n, 2);
    rsi_diag_free(&d);
    rsi_experiment *xp = load_experiment("exec_ok.yaml",
                                         "model: m.pt\n"
                                         "device: cpu\n"
                                         "precision: bf16\n"
                                         "images: [samples.csv]\n",
                                         NULL, 0, &d);
    if (d.n)
        dump(&d);
    ck_assert_ptr_nonnull(xp);
    const json_t *r = xp->resolved;
    ck_assert_str_eq(json_string_value(json_object_get(r, "device")), "cpu");
    ck_assert_str_eq(json_string_value(json_object_get(r, "precision")),
                     "bf16");
    char bf16[17], fp32[17];
    xp_fingerprint(xp, bf16);
    rsi_experiment_free(xp);
    /* precision changes the maps, so a run cannot resume across it; the
     * device may change */
    static const char *const o[] = {"precision=fp32", "device=cpu"};
    xp = load_experiment("exec_ok.yaml", NULL, o, 2, &d);
    ck_assert_ptr_nonnull(xp);
    xp_fingerprint(xp, fp32);
    ck_assert_str_ne(bf16, fp32);
    rsi_experiment_free(xp);
    rsi_diag_free(&d);
}
END_TEST

START_TEST(adaptive_steps)
{
    rsi_diag d = {0};
    ck_assert_ptr_null(load_experiment("auto_bad.yaml",
                                       "model: m.pt\n"
                                       "steps: [8]\n"
                                       "tol: 0.05\n"
                                       "images: [samples.csv]\n",
                                       NULL, 0, &d));
    EXPECT(&d, "auto_bad.yaml", 3, "tol: goes with steps: auto");
    ck_assert_int_eq(d.n, 1);
    rsi_diag_free(&d);
    rsi_experiment *xp = load_experiment("auto.yaml",
                                         "model: m.pt\n"
                                         "steps: [auto, 8]\n"
                                         "tol: 0.05\n"
                                         "images: [samples.csv]\n",
                                         NULL, 0, &d);
    if (d.n)
        dump(&d);
    ck_assert_ptr_nonnull(xp);
    ck_assert_int_eq(xp->n_groups, 2);
    ck_assert_str_eq(xp->groups[0].slug, "zero_linear_sauto");
    ck_assert_str_eq(
        json_string_value(json_object_get(xp->groups[0].settings, "steps")),
        "auto");
    ck_assert_double_eq(xp->tol, 0.05);
    ck_assert_int_eq(xp->max_steps, 256);
    /* the tolerance changes the maps: a run cannot resume across it */
    char a[17], b[17];
    xp_fingerprint(xp, a);
    rsi_experiment_free(xp);
    static const char *const o[] = {"tol=0.01"};
    xp = load_experiment("auto.yaml", NULL, o, 1, &d);
    ck_assert_ptr_nonnull(xp);
    xp_fingerprint(xp, b);
    ck_assert_str_ne(a, b);
    rsi_experiment_free(xp);
    rsi_diag_free(&d);
}
END_TEST

START_TEST(valid_file_resolves)
{
    static const char *const o[] = {"layers=[conv1,conv2]", "output=odir"};
    rsi_diag d = {0};
    rsi_experiment *xp =
        load_experiment("ok.yaml",
                        "model: m.pt\n"
                        "images: [samples.csv]\n"
                        "targets: [{top_k: 2}, label, {class: fox}]\n"
                        "steps: [3, 5]\n",
                        o, 2, &d);
    if (d.n)
        dump(&d);
    ck_assert_ptr_nonnull(xp);
    ck_assert_int_eq(xp->n_images, 2);
    ck_assert_int_eq(xp->images[1].label, 1);
    ck_assert(xp->images[0].has_box);
    ck_assert_int_eq(xp->n_rules, 4); /* top1, top2, label, class:2 */
    ck_assert_str_eq(xp->rules[3].tag, "class:2");
    ck_assert_int_eq(xp->n_groups, 2);
    ck_assert_str_eq(xp->groups[1].slug, "zero_linear_s5");
    ck_assert_int_eq(xp->batch, 0); /* defaults: auto */
    ck_assert_str_eq(json_string_value(json_object_get(xp->resolved, "batch")),
                     "auto");
    ck_assert_int_eq(xp->n_layers, 2);
    const json_t *r = xp->resolved;
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(r, "model"), "plugin")),
                     "torchscript");
    ck_assert_int_eq(json_array_size(json_object_get(r, "methods")), 1);
    const char *out = json_string_value(json_object_get(r, "output"));
    ck_assert(out[0] == '/' && strstr(out, "/odir"));
    /* keys in the schema's order */
    const char *first = NULL;
    void *it = json_object_iter((json_t *)r);
    first = json_object_iter_key(it);
    ck_assert_str_eq(first, "model");
    rsi_experiment_free(xp);
    rsi_diag_free(&d);
}
END_TEST

/* batch: a count, or auto (0: rsi_explain_auto_batch picks by device). */
START_TEST(batch_is_a_count_or_auto)
{
    static const char *const given[] = {"batch=12"};
    static const char *const text = "model: m.pt\n"
                                    "images: [samples.csv]\n"
                                    "layers: [conv1]\n"
                                    "batch: auto\n";
    rsi_diag d = {0};
    rsi_experiment *xp = load_experiment("batch.yaml", text, NULL, 0, &d);
    ck_assert_ptr_nonnull(xp);
    ck_assert_int_eq(xp->batch, 0);
    rsi_experiment_free(xp);
    xp = load_experiment("batch.yaml", text, given, 1, &d);
    ck_assert_ptr_nonnull(xp);
    ck_assert_int_eq(xp->batch, 12);
    ck_assert_int_eq(json_integer_value(json_object_get(xp->resolved, "batch")),
                     12);
    rsi_experiment_free(xp);
    ck_assert_int_eq(d.n, 0);
    rsi_diag_free(&d);
}
END_TEST

START_TEST(cli_reports_and_exits_2)
{
    char *out = NULL;
    int rc =
        tk_sh(&out, "cd '%s' && '%s' run needs.yaml stepz=1", fx, tk_rsicam());
    ck_assert_int_eq(rc, 2);
    ck_assert_msg(strstr(out, "rsicam: needs.yaml:3: targets:"), "%s", out);
    ck_assert_msg(strstr(out, "rsicam: override 'stepz=1': "), "%s", out);
    ck_assert_msg(strstr(out, "4 problems in needs.yaml; nothing was run"),
                  "%s", out);
    free(out);
    rc = tk_sh(&out, "cd '%s' && '%s' run ok.yaml --check", fx, tk_rsicam());
    ck_assert_msg(rc == 0, "%s", out);
    ck_assert_msg(strstr(out, "pass groups: 2"), "%s", out);
    ck_assert_msg(strstr(out, "units: 4"), "%s", out);
    free(out);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("yaml");
    tcase_add_unchecked_fixture(tc, make_fixture, NULL);
    tcase_add_test(tc, tree_with_lines);
    tcase_add_test(tc, syntax_error_has_line);
    tcase_add_test(tc, duplicate_key);
    tcase_add_test(tc, values_from_text);
    tcase_add_test(tc, yaml_written_reads_back);
    tcase_add_test(tc, absolute_paths);
    tcase_add_test(tc, overrides_apply);
    tcase_add_test(tc, overrides_refused);
    tcase_add_test(tc, override_key_path_too_long);
    suite_add_tcase(s, tc);
    TCase *v = tcase_create("validation");
    tcase_add_unchecked_fixture(v, make_fixture, NULL);
    tcase_set_timeout(v, 170);
    tcase_add_test(v, every_problem_at_once);
    tcase_add_test(v, needs_of_targets_and_files);
    tcase_add_test(v, valid_file_resolves);
    tcase_add_test(v, batch_is_a_count_or_auto);
    tcase_add_test(v, device_and_precision);
    tcase_add_test(v, adaptive_steps);
    tcase_add_test(v, cli_reports_and_exits_2);
    suite_add_tcase(s, v);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(config_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (fx[0])
        tk_scratch_close();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
