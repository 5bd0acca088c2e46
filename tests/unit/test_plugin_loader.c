/* The plugin loader and registry (plugin_registry.h), the host table
 * (host.c) and the shipped zero and linear plugins, called through
 * plugin_call.h as the engine calls them.
 *
 * Test plugins come from tests/plugins/ (good ones and ones broken in one
 * way each); each broken one must be skipped with a warning naming it,
 * without crashing and without staying loaded. */

#include <check.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"
#include "plugin_call.h"
#include "plugin_registry.h"
#include "testkit.h"

#ifndef RSICAM_TEST_PLUGIN_DIR
#define RSICAM_TEST_PLUGIN_DIR getenv("RSICAM_TEST_PLUGIN_DIR")
#endif
#ifndef RSICAM_TEST_REAL_PLUGIN_DIR
#define RSICAM_TEST_REAL_PLUGIN_DIR getenv("RSICAM_TEST_REAL_PLUGIN_DIR")
#endif

static char dir_buf[4096];

static const char *test_dir(const char *group)
{
    const char *base = RSICAM_TEST_PLUGIN_DIR;
    ck_assert_ptr_nonnull(base);
    snprintf(dir_buf, sizeof dir_buf, "%s/%s", base, group);
    return dir_buf;
}

/* A FILE that collects warnings into memory. */
typedef struct capture {
    char *text;
    size_t size;
    FILE *f;
} capture;

static void capture_open(capture *c)
{
    c->text = NULL;
    c->size = 0;
    c->f = open_memstream(&c->text, &c->size);
    ck_assert_ptr_nonnull(c->f);
}

static void capture_close(capture *c)
{
    fclose(c->f);
    free(c->text);
}

static int count_lines(const char *text)
{
    int n = 0;
    for (const char *p = text; p && *p; p++)
        n += *p == '\n';
    return n;
}

/* The one line of text that contains needle (fails unless exactly one). */
static char *line_with(const char *text, const char *needle)
{
    const char *hit = strstr(text, needle);
    ck_assert_msg(hit != NULL, "no warning mentions '%s' in:\n%s", needle,
                  text);
    const char *start = hit;
    while (start > text && start[-1] != '\n')
        start--;
    const char *end = strchr(hit, '\n');
    ck_assert_ptr_nonnull(end);
    ck_assert_msg(strstr(end, needle) == NULL,
                  "more than one warning mentions '%s'", needle);
    return strndup(start, (size_t)(end - start));
}

static rsi_registry *reg;
static capture warn;

static void load_set(void)
{
    rsi_error_clear();
    reg = rsi_registry_new();
    ck_assert_ptr_nonnull(reg);
    capture_open(&warn);
    int n = rsi_registry_add_dir(reg, test_dir("set"), "test", warn.f);
    fflush(warn.f);
    ck_assert_int_eq(n, 4); /* good, nested, selfish, dup (a) */
}

static void unload_set(void)
{
    rsi_registry_free(reg);
    reg = NULL;
    capture_close(&warn);
}

START_TEST(test_good_plugins_load)
{
    ck_assert_int_eq(rsi_registry_count(reg), 4);
    const rsi_plugin *p = rsi_registry_find(reg, RSI_PLUGIN_BASELINE, "good");
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(p->desc->version, "0.1.0");
    ck_assert_ptr_nonnull(strstr(p->path, "/set/good/good.so"));
    ck_assert_ptr_nonnull(
        rsi_registry_find(reg, RSI_PLUGIN_BASELINE, "nested"));
    /* Load order is search order: sorted within a directory. */
    ck_assert_str_eq(rsi_registry_at(reg, 0)->desc->name, "dup");
    ck_assert_ptr_null(rsi_registry_at(reg, 4));
    ck_assert_ptr_null(rsi_registry_at(reg, -1));
    ck_assert_int_eq(rsi_registry_num_dirs(reg), 1);
    const char *origin;
    ck_assert_str_eq(rsi_registry_dir(reg, 0, &origin), test_dir("set"));
    ck_assert_str_eq(origin, "test");
    ck_assert_int_eq(rsi_error_pending(), 0);
}
END_TEST

static const struct broken_case {
    const char *dir;  /* the case's folder and file name */
    const char *name; /* the plugin name, when the warning can know it */
    const char *why;  /* part of the reason */
} broken[] = {
    /* the ABI cases name versions relative to this header's: {abi} is
     * it, {next-major} and {next-minor} the test plugins' (abi_reason) */
    {"wrongmajor", "wrongmajor",
     "built for plugin ABI {next-major}, but this rsicam has ABI {abi} (the "
     "major version must match): rebuild it against rsicam {abi} headers "
     "(pkg-config --cflags rsicam)"},
    /* a real SDK 1 plugin: named from its 1.0 descriptor */
    {"oldzero", "oldzero",
     "built for plugin ABI 1.0, but this rsicam has ABI {abi} (the major "
     "version must match): rebuild it against rsicam {abi} headers "
     "(pkg-config --cflags rsicam)"},
    {"newerminor", "newerminor",
     "plugin ABI {next-minor}, newer than this rsicam's {abi}"},
    {"nosymbol", NULL, "no 'rsicam_plugin' descriptor exported"},
    {"unresolved", NULL, "rsicam_test_symbol_defined_nowhere"},
    {"initfails", "initfails", "init failed: the frobnicator is missing"},
    {"nullentry", "nullentry", "no entry points (entry is NULL)"},
    {"incomplete", "incomplete", "a required path entry point is NULL"},
    {"badparams", "badparams",
     "bad parameter declaration: parameter 'sigma': expected a number, got "
     "default 'abc'"},
    {"badkind", "badkind", "unknown plugin kind 9"},
    {"nullname", NULL, "the descriptor has no name (NULL)"},
};
enum { N_BROKEN = sizeof broken / sizeof *broken };

/* text with {abi}, {next-major} and {next-minor} written out. */
static void abi_reason(const char *text, char *out, size_t size)
{
    const struct {
        const char *name;
        int major, minor;
    } versions[] = {
        {"{abi}", RSI_ABI_MAJOR, RSI_ABI_MINOR},
        {"{next-major}", RSI_ABI_MAJOR + 1, RSI_ABI_MINOR},
        {"{next-minor}", RSI_ABI_MAJOR, RSI_ABI_MINOR + 1},
    };
    size_t o = 0;
    while (*text && o + 32 < size) {
        int k = 0;
        while (k < 3 &&
               strncmp(text, versions[k].name, strlen(versions[k].name)) != 0)
            k++;
        if (k < 3) {
            o += (size_t)snprintf(out + o, size - o, "%d.%d", versions[k].major,
                                  versions[k].minor);
            text += strlen(versions[k].name);
        } else {
            out[o++] = *text++;
        }
    }
    out[o] = '\0';
}

START_TEST(test_broken_plugin_warned)
{
    const struct broken_case *c = &broken[_i];
    char file[256];
    snprintf(file, sizeof file, "/%s/%s.so", c->dir, c->dir);
    char *line = line_with(warn.text, file);
    ck_assert_msg(strncmp(line, "rsicam: warning: skipping plugin ", 33) == 0,
                  "%s", line);
    char why[512];
    abi_reason(c->why, why, sizeof why);
    ck_assert_msg(strstr(line, why) != NULL, "'%s' lacks '%s'", line, why);
    if (c->name) {
        char quoted[64];
        snprintf(quoted, sizeof quoted, "'%s' (", c->name);
        ck_assert_msg(strstr(line, quoted) != NULL, "no name in '%s'", line);
        /* Not reachable under its name. */
        ck_assert_ptr_null(
            rsi_registry_find(reg, RSI_PLUGIN_BASELINE, c->name));
        rsi_error_clear();
    }
    free(line);

    /* Skipped means unloaded. */
    char path[sizeof dir_buf + sizeof file];
    snprintf(path, sizeof path, "%s%s", test_dir("set"), file);
    void *h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    ck_assert_msg(h == NULL, "%s is still loaded", path);
}
END_TEST

START_TEST(test_warning_count)
{
    /* One line per broken plugin, one for the duplicate, nothing else. */
    ck_assert_int_eq(count_lines(warn.text), N_BROKEN + 1);
}
END_TEST

START_TEST(test_duplicate_first_wins)
{
    const rsi_plugin *p = rsi_registry_find(reg, RSI_PLUGIN_BASELINE, "dup");
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(p->desc->version, "a");
    char *line = line_with(warn.text, "duplicate");
    ck_assert_ptr_nonnull(strstr(line, "'dup' ("));
    ck_assert_ptr_nonnull(strstr(line, "/dup_b/dup_b.so"));
    ck_assert_ptr_nonnull(strstr(line, "/dup_a/dup_a.so"));
    ck_assert_ptr_nonnull(strstr(line, "duplicate baseline plugin"));
    free(line);
}
END_TEST

START_TEST(test_rescan_is_quiet)
{
    /* The same directory again: nothing new, no duplicate warnings. */
    size_t before = warn.size;
    ck_assert_int_eq(
        rsi_registry_add_dir(reg, test_dir("set"), "again", warn.f), 0);
    fflush(warn.f);
    ck_assert_uint_eq(warn.size, before);
    ck_assert_int_eq(rsi_registry_count(reg), 4);
}
END_TEST

START_TEST(test_find_suggests)
{
    rsi_error_clear();
    ck_assert_ptr_null(rsi_registry_find(reg, RSI_PLUGIN_BASELINE, "god"));
    ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_PLUGIN);
    const char *m = rsi_error_message();
    ck_assert_msg(strstr(m, "no baseline plugin 'god' (did you mean "
                            "'good'?)") != NULL,
                  "%s", m);
    ck_assert_msg(strstr(m, "baseline plugins: dup, good, nested, selfish"),
                  "%s", m);
    rsi_error_clear();

    ck_assert_ptr_null(rsi_registry_find(reg, RSI_PLUGIN_BASELINE, "xyzzy"));
    ck_assert_ptr_null(strstr(rsi_error_message(), "did you mean"));
    rsi_error_clear();

    /* Right name, wrong kind. */
    ck_assert_ptr_null(rsi_registry_find(reg, RSI_PLUGIN_PATH, "good"));
    ck_assert_str_eq(rsi_error_message(),
                     "'good' is a baseline plugin, not a path plugin");
    rsi_error_clear();

    ck_assert_ptr_null(rsi_registry_find(reg, RSI_PLUGIN_MODEL, "resnet"));
    ck_assert_ptr_nonnull(
        strstr(rsi_error_message(), "no model plugins were found"));
    rsi_error_clear();
}
END_TEST

START_TEST(test_caller_error_survives_loading)
{
    rsi_registry *r = rsi_registry_new();
    rsi_error_class_set(RSI_ERR_INPUT, "the caller's own error");
    /* initfails sets an error of its own while loading. */
    rsi_registry_add_dir(r, test_dir("set"), "test", NULL);
    ck_assert_str_eq(rsi_error_message(), "the caller's own error");
    ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_INPUT);
    rsi_error_clear();
    rsi_registry_free(r);
}
END_TEST

START_TEST(test_search_order)
{
    char flag[4096], env[4096];
    snprintf(flag, sizeof flag, "%s", test_dir("order_flag"));
    snprintf(env, sizeof env, "%s", test_dir("order_env"));
    const char *flags[] = {flag};

    /* --plugin-path beats RSICAM_PLUGIN_PATH. */
    setenv("RSICAM_PLUGIN_PATH", env, 1);
    rsi_registry *r = rsi_registry_new();
    capture w;
    capture_open(&w);
    ck_assert_int_ge(rsi_registry_discover(r, flags, 1, w.f), 1);
    fflush(w.f);
    const rsi_plugin *p = rsi_registry_find(r, RSI_PLUGIN_BASELINE, "order");
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(p->desc->version, "flag");
    char *line = line_with(w.text, "duplicate");
    ck_assert_ptr_nonnull(strstr(line, "order_env/order/order.so"));
    ck_assert_ptr_nonnull(strstr(line, "order_flag/order/order.so"));
    free(line);
    const char *origin;
    ck_assert_str_eq(rsi_registry_dir(r, 0, &origin), flag);
    ck_assert_str_eq(origin, "--plugin-path");
    ck_assert_str_eq(rsi_registry_dir(r, 1, &origin), env);
    ck_assert_str_eq(origin, "RSICAM_PLUGIN_PATH");
    rsi_registry_free(r);
    capture_close(&w);

    /* Without the flag, the environment's copy is used. */
    r = rsi_registry_new();
    ck_assert_int_ge(rsi_registry_discover(r, NULL, 0, NULL), 1);
    p = rsi_registry_find(r, RSI_PLUGIN_BASELINE, "order");
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(p->desc->version, "env");
    rsi_registry_free(r);

    /* Colon-separated, empty entries ignored, order kept. */
    char both[8200];
    snprintf(both, sizeof both, "::%s:%s:", env, flag);
    setenv("RSICAM_PLUGIN_PATH", both, 1);
    r = rsi_registry_new();
    rsi_registry_discover(r, NULL, 0, NULL);
    p = rsi_registry_find(r, RSI_PLUGIN_BASELINE, "order");
    ck_assert_str_eq(p->desc->version, "env");
    rsi_registry_free(r);
}
END_TEST

START_TEST(test_missing_dirs_warned)
{
    const char *flags[] = {"/no/such/plugin/dir"};
    setenv("RSICAM_PLUGIN_PATH", "/no/such/env/dir", 1);
    rsi_registry *r = rsi_registry_new();
    capture w;
    capture_open(&w);
    ck_assert_int_ge(rsi_registry_discover(r, flags, 1, w.f), 0);
    fflush(w.f);
    char *line = line_with(w.text, "/no/such/plugin/dir");
    ck_assert_ptr_nonnull(strstr(line, "(--plugin-path)"));
    ck_assert_ptr_nonnull(strstr(line, "No such file or directory"));
    free(line);
    line = line_with(w.text, "/no/such/env/dir");
    ck_assert_ptr_nonnull(strstr(line, "(RSICAM_PLUGIN_PATH)"));
    free(line);
    rsi_registry_free(r);
    capture_close(&w);
}
END_TEST

START_TEST(test_print)
{
    capture out;
    capture_open(&out);
    ck_assert_int_eq(rsi_registry_print(reg, out.f), 0);
    fflush(out.f);
    const char *t = out.text;
    ck_assert_ptr_nonnull(strstr(t, "Models (0)\n"));
    ck_assert_ptr_nonnull(strstr(t, "Baselines (4):\n"));
    ck_assert_ptr_nonnull(strstr(t, "Paths (0)\n"));
    ck_assert_ptr_nonnull(strstr(t, "  good 0.1.0 (license: MIT)\n"));
    ck_assert_ptr_nonnull(strstr(t, "    test baseline: a constant image\n"));
    ck_assert_ptr_nonnull(strstr(t, "/set/good/good.so\n"));
    ck_assert_ptr_nonnull(
        strstr(t, "    NAME   TYPE    DEFAULT   RANGE      DESCRIPTION\n"));
    ck_assert_ptr_nonnull(
        strstr(t, "    value  float   0.5       [-10, 10]  the fill value\n"));
    ck_assert_ptr_nonnull(
        strstr(t, "    file   path    required             a file that"));
    ck_assert_ptr_nonnull(
        strstr(t, "    extra  float   optional             optional, no"));
    ck_assert_ptr_nonnull(strstr(t, "Searched, in order"));
    ck_assert_ptr_nonnull(strstr(t, "(test)"));
    capture_close(&out);
}
END_TEST

START_TEST(test_current_registry)
{
    ck_assert_ptr_null(rsi_registry_current());
    rsi_registry *r = rsi_registry_new();
    rsi_registry_set_current(r);
    ck_assert_ptr_eq(rsi_registry_current(), r);
    rsi_registry_free(r); /* clears it */
    ck_assert_ptr_null(rsi_registry_current());
}
END_TEST

START_TEST(test_kind_names)
{
    ck_assert_str_eq(rsi_plugin_kind_name(RSI_PLUGIN_MODEL), "model");
    ck_assert_str_eq(rsi_plugin_kind_name(RSI_PLUGIN_BASELINE), "baseline");
    ck_assert_str_eq(rsi_plugin_kind_name(RSI_PLUGIN_PATH), "path");
    ck_assert_ptr_null(rsi_plugin_kind_name((rsi_plugin_kind)0));
}
END_TEST

/* A failed entry point's error is named after its plugin; a plugin that
 * set none gets one, of the plugin class. */
START_TEST(test_plugin_failed_names_it)
{
    static const rsi_plugin_descriptor d = {.kind = RSI_PLUGIN_PATH,
                                            .name = "curved"};
    const rsi_plugin p = {.desc = &d};
    rsi_error_clear();
    rsi_error_class_set(RSI_ERR_INPUT, "no such file");
    rsi_plugin_failed(&p);
    ck_assert_str_eq(rsi_error_message(), "path 'curved': no such file");
    ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_INPUT);
    rsi_error_clear();
    rsi_plugin_failed(&p);
    ck_assert_str_eq(rsi_error_message(),
                     "path 'curved': failed without saying why");
    ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_PLUGIN);
    rsi_error_clear();
}
END_TEST

START_TEST(test_plugin_params_label)
{
    const rsi_plugin *p = rsi_registry_find(reg, RSI_PLUGIN_BASELINE, "good");
    rsi_param_value *v;
    rsi_error_clear();
    ck_assert_int_eq(rsi_plugin_parse_params(p, "value=abc,file=/", &v), -1);
    ck_assert_str_eq(rsi_error_message(), "baseline 'good': parameter "
                                          "'value': expected a number, got "
                                          "'abc'");
    rsi_error_clear();
    ck_assert_int_eq(rsi_plugin_parse_params(p, "file=/", &v), 0);
    ck_assert_double_eq(v[0].f, 0.5);
    rsi_params_free(v);
}
END_TEST

START_TEST(test_host_table)
{
    const rsi_host_api *h = rsi_host();
    ck_assert_ptr_eq(h, rsi_host());
    ck_assert_uint_eq(h->abi_major, RSI_ABI_MAJOR);
    ck_assert_uint_eq(h->abi_minor, RSI_ABI_MINOR);
    ck_assert_uint_eq(h->size, sizeof(rsi_host_api));
    /* After the header fields the table is function pointers only: none
     * may be missing. */
    size_t first = offsetof(rsi_host_api, error);
    size_t n = (sizeof(rsi_host_api) - first) / sizeof(void (*)(void));
    for (size_t i = 0; i < n; i++) {
        void (*fn)(void);
        memcpy(&fn, (const char *)h + first + i * sizeof fn, sizeof fn);
        ck_assert_msg(fn != NULL, "host table slot %zu is NULL", i);
    }
    /* error() from a plugin is a plugin error, and the first one wins. */
    rsi_error_clear();
    h->error("plugin says %d", 42);
    ck_assert_str_eq(rsi_error_message(), "plugin says 42");
    ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_PLUGIN);
    h->error("second");
    ck_assert_str_eq(rsi_error_message(), "plugin says 42");
    rsi_error_clear();
}
END_TEST

/* ---- Calls into plugins: these need the tensor library. ---- */

static const rsi_model_info imagenet = {
    .input_h = 2,
    .input_w = 2,
    .mean = {0.485, 0.456, 0.406},
    .std = {0.229, 0.224, 0.225},
};

static rsi_context context(const rsi_model_info *info, const rsi_tensor *x)
{
    rsi_context ctx = {.host = rsi_host(), .info = info, .image = x};
    return ctx;
}

static rsi_tensor *image_1x3x2x2(void)
{
    const float px[12] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f,
                          0.7f, 0.8f, 0.9f, 1.0f, -1.f, 2.f};
    const int64_t shape[4] = {1, 3, 2, 2};
    return rsi_tensor_from_floats(px, shape, 4);
}

static void load_real(rsi_registry **r)
{
    const char *dir = RSICAM_TEST_REAL_PLUGIN_DIR;
    ck_assert_ptr_nonnull(dir);
    *r = rsi_registry_new();
    capture w;
    capture_open(&w);
    rsi_registry_add_dir(*r, dir, "build tree", w.f);
    fflush(w.f);
    ck_assert_msg(w.size == 0, "warnings loading shipped plugins:\n%s", w.text);
    capture_close(&w);
}

START_TEST(test_zero_baseline)
{
    rsi_registry *r;
    load_real(&r);
    rsi_registry_set_current(r);
    rsi_tensor *x = image_1x3x2x2();
    rsi_context ctx = context(&imagenet, x);
    rsi_tensor *b = ctx.host->make_baseline(&ctx, "zero");
    ck_assert_msg(b != NULL, "%s", rsi_error_message());
    ck_assert_int_eq(rsi_tensor_ndim(b), 4);
    float got[12];
    ck_assert_int_eq(rsi_tensor_to_floats(b, got, 12), 0);
    for (int c = 0; c < 3; c++)
        for (int k = 0; k < 4; k++)
            ck_assert_float_eq_tol(got[4 * c + k],
                                   -imagenet.mean[c] / imagenet.std[c], 1e-6);
    rsi_tensor_free(b);

    /* Unknown parameters are the user's error, named by plugin. */
    rsi_error_clear();
    ck_assert_ptr_null(ctx.host->make_baseline(&ctx, "zero:level=1"));
    ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_USAGE);
    ck_assert_str_eq(rsi_error_message(),
                     "baseline 'zero': takes no parameters, got 'level'");
    rsi_error_clear();
    ck_assert_ptr_null(ctx.host->make_baseline(&ctx, "zeor"));
    ck_assert_ptr_nonnull(strstr(rsi_error_message(), "did you mean 'zero'"));
    rsi_error_clear();

    /* One channel: the first mean/std. */
    const float grey[4] = {0, 0, 0, 0};
    const int64_t shape[4] = {1, 1, 2, 2};
    rsi_tensor *g = rsi_tensor_from_floats(grey, shape, 4);
    ctx.image = g;
    b = ctx.host->make_baseline(&ctx, "zero");
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(rsi_tensor_to_floats(b, got, 4), 0);
    ck_assert_float_eq_tol(got[3], -imagenet.mean[0] / imagenet.std[0], 1e-6);
    rsi_tensor_free(b);
    rsi_tensor_free(g);
    rsi_tensor_free(x);
    rsi_registry_free(r);
}
END_TEST

START_TEST(test_linear_path)
{
    rsi_registry *r;
    load_real(&r);
    const rsi_plugin *p = rsi_registry_find(r, RSI_PLUGIN_PATH, "linear");
    ck_assert_ptr_nonnull(p);
    rsi_tensor *x = image_1x3x2x2();
    rsi_context run = context(&imagenet, NULL);
    rsi_tensor *b = rsi_tensor_full_like(x, -0.25);
    rsi_param_value *v;
    ck_assert_int_eq(rsi_plugin_parse_params(p, NULL, &v), 0);

    rsi_path_call c;
    ck_assert_msg(rsi_call_path_open(&c, p, v, &run, b, x, 4) == 0, "%s",
                  rsi_error_message());
    ck_assert_int_eq(c.total, 5);
    float xs[12], pts[5 * 12];
    rsi_tensor_to_floats(x, xs, 12);
    int got = 0;
    rsi_tensor *batch;
    int rc;
    int64_t sizes[3];
    int nb = 0;
    while ((rc = rsi_call_path_next(&c, 3, &batch)) == 1) {
        ck_assert_int_lt(nb, 3);
        sizes[nb++] = rsi_tensor_size(batch, 0);
        ck_assert_int_eq(rsi_tensor_size(batch, 1), 3);
        int64_t n = rsi_tensor_numel(batch);
        ck_assert_int_eq(rsi_tensor_to_floats(batch, pts + got * 12, n), 0);
        got += (int)(n / 12);
        rsi_tensor_free(batch);
    }
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(nb, 2);
    ck_assert_int_eq(sizes[0], 3);
    ck_assert_int_eq(sizes[1], 2);
    ck_assert_int_eq(got, 5);
    for (int i = 0; i < 5; i++)
        for (int k = 0; k < 12; k++)
            ck_assert_float_eq_tol(pts[i * 12 + k],
                                   -0.25 + (i / 4.0) * (xs[k] + 0.25), 1e-6);
    /* The path starts at the baseline and ends at the image, exactly. */
    for (int k = 0; k < 12; k++) {
        ck_assert(pts[k] == -0.25f);
        ck_assert(pts[4 * 12 + k] == xs[k]);
    }
    ck_assert_int_eq(rsi_call_path_next(&c, 3, &batch), 0);
    rsi_call_path_close(&c);

    /* One step: just the two ends. */
    ck_assert_int_eq(rsi_call_path_open(&c, p, v, &run, b, x, 1), 0);
    ck_assert_int_eq(rsi_call_path_next(&c, 100, &batch), 1);
    ck_assert_int_eq(rsi_tensor_size(batch, 0), 2);
    rsi_tensor_free(batch);
    rsi_call_path_close(&c);

    rsi_error_clear();
    ck_assert_int_eq(rsi_call_path_open(&c, p, v, &run, b, x, 0), -1);
    ck_assert_str_eq(rsi_error_message(), "steps must be at least 1, got 0");
    rsi_error_clear();

    rsi_params_free(v);
    rsi_tensor_free(b);
    rsi_tensor_free(x);
    rsi_registry_free(r);
}
END_TEST

START_TEST(test_nested_baselines)
{
    rsi_registry_set_current(reg);
    rsi_tensor *x = image_1x3x2x2();
    rsi_context ctx = context(&imagenet, x);
    rsi_tensor *b = ctx.host->make_baseline(&ctx, "nested:file=/");
    ck_assert_msg(b != NULL, "%s", rsi_error_message());
    float got[12];
    rsi_tensor_to_floats(b, got, 12);
    ck_assert_float_eq(got[5], 2.0f);
    rsi_tensor_free(b);

    /* Required parameter missing. */
    rsi_error_clear();
    ck_assert_ptr_null(ctx.host->make_baseline(&ctx, "good"));
    ck_assert_str_eq(rsi_error_message(),
                     "baseline 'good': parameter 'file' is required (path: "
                     "a file that must exist)");
    rsi_error_clear();

    /* A baseline that makes itself is stopped, not a stack overflow. */
    ck_assert_ptr_null(ctx.host->make_baseline(&ctx, "selfish:file=/"));
    ck_assert_ptr_nonnull(strstr(rsi_error_message(), "nested more than"));
    ck_assert_ptr_nonnull(strstr(rsi_error_message(), "baseline 'selfish'"));
    rsi_error_clear();

    /* No current registry: a plain "not found". */
    rsi_registry_set_current(NULL);
    ck_assert_ptr_null(ctx.host->make_baseline(&ctx, "good:file=/"));
    ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_PLUGIN);
    rsi_error_clear();
    rsi_tensor_free(x);
}
END_TEST

static Suite *loader_suite(void)
{
    Suite *s = suite_create("plugin_loader");
    TCase *set = tcase_create("set");
    tcase_add_checked_fixture(set, load_set, unload_set);
    tcase_add_test(set, test_good_plugins_load);
    tcase_add_loop_test(set, test_broken_plugin_warned, 0, N_BROKEN);
    tcase_add_test(set, test_warning_count);
    tcase_add_test(set, test_duplicate_first_wins);
    tcase_add_test(set, test_rescan_is_quiet);
    tcase_add_test(set, test_find_suggests);
    tcase_add_test(set, test_print);
    tcase_add_test(set, test_plugin_params_label);
    tcase_add_test(set, test_nested_baselines);
    suite_add_tcase(s, set);

    TCase *other = tcase_create("discovery");
    tcase_add_test(other, test_caller_error_survives_loading);
    tcase_add_test(other, test_search_order);
    tcase_add_test(other, test_missing_dirs_warned);
    tcase_add_test(other, test_current_registry);
    tcase_add_test(other, test_kind_names);
    tcase_add_test(other, test_plugin_failed_names_it);
    tcase_add_test(other, test_host_table);
    suite_add_tcase(s, other);

    TCase *real = tcase_create("shipped");
    tcase_add_test(real, test_zero_baseline);
    tcase_add_test(real, test_linear_path);
    suite_add_tcase(s, real);
    return s;
}

int main(void)
{
    return tk_run(loader_suite());
}
