/* Plugin parameters (params.h): every type, defaults, required values,
 * bounds, unknown and repeated keys, malformed text, NAME:k=v splitting. */

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nearest.h"
#include "params.h"
#include "testkit.h"

static const rsi_param_spec specs[] = {
    {"sigma", RSI_PARAM_FLOAT, "8", "blur width in pixels", 0.5, 100, 0},
    {"steps", RSI_PARAM_INT, "50", "points on the path", 1, 10000, 0},
    {"relu", RSI_PARAM_BOOL, "false", "ReLU the gradients", 0, 0, 0},
    {"mode", RSI_PARAM_STRING, "plain", "variant", 0, 0, 0},
    {"file", RSI_PARAM_PATH, "", "optional file", 0, 0, 0},
    {"offset", RSI_PARAM_FLOAT, "-1.5", "unbounded", 0, 0, 0},
    {NULL, 0, NULL, NULL, 0, 0, 0},
};

static const rsi_param_spec required_spec[] = {
    {"model", RSI_PARAM_PATH, NULL, "the VAE file", 0, 0, 0},
    {"scale", RSI_PARAM_INT, "2", NULL, 0, 0, 0},
    {NULL, 0, NULL, NULL, 0, 0, 0},
};

static char tmpfile_path[64];

static void setup(void)
{
    rsi_error_clear();
    strcpy(tmpfile_path, "/tmp/rsicam_params_XXXXXX");
    int fd = mkstemp(tmpfile_path);
    ck_assert_int_ge(fd, 0);
    close(fd);
}

static void teardown(void)
{
    unlink(tmpfile_path);
}

/* Parses text and expects failure with a USAGE message containing want. */
static void expect_fail(const rsi_param_spec *sp, const char *text,
                        const char *want)
{
    rsi_param_value *v = (rsi_param_value *)1;
    rsi_error_clear();
    int rc = rsi_params_parse(sp, text, "baseline 'blur'", &v);
    ck_assert_msg(rc == -1, "'%s' parsed", text);
    ck_assert_ptr_null(v);
    ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_USAGE);
    ck_assert_msg(strstr(rsi_error_message(), want) != NULL,
                  "'%s': message '%s' lacks '%s'", text, rsi_error_message(),
                  want);
    ck_assert_msg(strncmp(rsi_error_message(), "baseline 'blur': ", 17) == 0,
                  "no owner in '%s'", rsi_error_message());
    rsi_error_clear();
}

START_TEST(test_defaults)
{
    rsi_param_value *v;
    ck_assert_int_eq(rsi_params_count(specs), 6);
    ck_assert_int_eq(rsi_params_parse(specs, NULL, "x", &v), 0);
    ck_assert_double_eq(v[0].f, 8.0);
    ck_assert_int_eq(v[0].type, RSI_PARAM_FLOAT);
    ck_assert_int_eq(v[0].is_set, 0);
    ck_assert_int_eq(v[1].i, 50);
    ck_assert_int_eq(v[2].i, 0);
    ck_assert_str_eq(v[3].s, "plain");
    ck_assert_str_eq(v[4].s, ""); /* empty default path: "none", unchecked */
    ck_assert_double_eq(v[5].f, -1.5);
    ck_assert_int_eq(v[6].type, 0); /* the terminator */
    rsi_params_free(v);
    /* Blank text is no text. */
    ck_assert_int_eq(rsi_params_parse(specs, "  ", "x", &v), 0);
    rsi_params_free(v);
}
END_TEST

START_TEST(test_every_type)
{
    char text[256];
    snprintf(text, sizeof text,
             "sigma=2.5, steps = 7,relu=yes,mode=guided,file=%s,offset=-3e2",
             tmpfile_path);
    rsi_param_value *v;
    ck_assert_int_eq(rsi_params_parse(specs, text, "x", &v), 0);
    ck_assert_double_eq(v[0].f, 2.5);
    ck_assert_int_eq(v[1].i, 7);
    ck_assert_int_eq(v[1].type, RSI_PARAM_INT);
    ck_assert_int_eq(v[2].i, 1);
    ck_assert_str_eq(v[3].s, "guided");
    ck_assert_str_eq(v[4].s, tmpfile_path);
    ck_assert_double_eq(v[5].f, -300.0);
    for (int k = 0; k < 6; k++)
        ck_assert_int_eq(v[k].is_set, 1);
    rsi_params_free(v);
}
END_TEST

START_TEST(test_bools)
{
    const char *yes[] = {"true", "1", "yes", "on", "TRUE", "On"};
    const char *no[] = {"false", "0", "no", "off", "False", "OFF"};
    char text[64];
    rsi_param_value *v;
    for (int i = 0; i < 6; i++) {
        snprintf(text, sizeof text, "relu=%s", yes[i]);
        ck_assert_int_eq(rsi_params_parse(specs, text, "x", &v), 0);
        ck_assert_int_eq(v[2].i, 1);
        rsi_params_free(v);
        snprintf(text, sizeof text, "relu=%s", no[i]);
        ck_assert_int_eq(rsi_params_parse(specs, text, "x", &v), 0);
        ck_assert_int_eq(v[2].i, 0);
        rsi_params_free(v);
    }
    expect_fail(specs, "relu=maybe",
                "parameter 'relu': expected true or "
                "false");
}
END_TEST

START_TEST(test_bad_values)
{
    expect_fail(specs, "sigma=abc",
                "parameter 'sigma': expected a number, got 'abc'");
    expect_fail(specs, "sigma=", "expected a number, got ''");
    expect_fail(specs, "sigma=nan", "expected a number");
    expect_fail(specs, "sigma=inf", "expected a number");
    expect_fail(specs, "sigma=1e999", "expected a number");
    expect_fail(specs, "sigma=3x", "expected a number, got '3x'");
    expect_fail(specs, "steps=2.5",
                "parameter 'steps': expected an integer, got '2.5'");
    expect_fail(specs, "steps=0x10", "expected an integer");
    expect_fail(specs, "steps=99999999999999999999", "expected an integer");
    expect_fail(specs, "file=/no/such/file/here",
                "parameter 'file': '/no/such/file/here': No such file");
}
END_TEST

START_TEST(test_bounds)
{
    rsi_param_value *v;
    /* The bounds themselves are inside. */
    ck_assert_int_eq(rsi_params_parse(specs, "sigma=0.5,steps=10000", "x", &v),
                     0);
    rsi_params_free(v);
    expect_fail(specs, "sigma=0.4",
                "parameter 'sigma': 0.4 is out of range [0.5, 100]");
    expect_fail(specs, "sigma=100.5", "out of range [0.5, 100]");
    expect_fail(specs, "steps=0", "parameter 'steps': 0 is out of range");
    expect_fail(specs, "steps=-3", "out of range [1, 10000]");
    /* min == max: no bounds. */
    ck_assert_int_eq(rsi_params_parse(specs, "offset=-1e300", "x", &v), 0);
    rsi_params_free(v);
}
END_TEST

START_TEST(test_required)
{
    rsi_param_value *v;
    expect_fail(required_spec, NULL,
                "parameter 'model' is required (path: the VAE file)");
    expect_fail(required_spec, "scale=3", "parameter 'model' is required");
    char text[128];
    snprintf(text, sizeof text, "model=%s", tmpfile_path);
    ck_assert_int_eq(rsi_params_parse(required_spec, text, "x", &v), 0);
    ck_assert_str_eq(v[0].s, tmpfile_path);
    ck_assert_int_eq(v[1].i, 2);
    ck_assert_int_eq(v[1].is_set, 0);
    rsi_params_free(v);
}
END_TEST

START_TEST(test_unknown_key)
{
    expect_fail(specs, "sigam=3",
                "unknown parameter 'sigam' (did you mean 'sigma'?)");
    expect_fail(specs, "stesp=3", "did you mean 'steps'?");
    expect_fail(specs, "colour=red",
                "unknown parameter 'colour'; "
                "parameters: sigma, steps, relu, mode, "
                "file, offset");
    static const rsi_param_spec none[] = {{NULL, 0, NULL, NULL, 0, 0, 0}};
    expect_fail(none, "a=1", "takes no parameters, got 'a'");
    rsi_param_value *v;
    ck_assert_int_eq(rsi_params_parse(none, "", "x", &v), 0);
    ck_assert_int_eq(v[0].type, 0);
    rsi_params_free(v);
    /* NULL specs declare nothing. */
    ck_assert_int_eq(rsi_params_parse(NULL, NULL, "x", &v), 0);
    rsi_params_free(v);
}
END_TEST

START_TEST(test_duplicate_and_malformed)
{
    expect_fail(specs, "sigma=1,sigma=2", "parameter 'sigma' given twice");
    expect_fail(specs, "sigma", "expected NAME=VALUE, got 'sigma'");
    expect_fail(specs, "sigma=1,,steps=2", "expected NAME=VALUE, got ''");
    expect_fail(specs, "=3", "expected NAME=VALUE, got '=3'");
    expect_fail(specs, "steps=3,relu", "got 'relu'");
}
END_TEST

START_TEST(test_escapes_and_equals)
{
    rsi_param_value *v;
    /* The first '=' splits; later ones and escaped commas are value. */
    ck_assert_int_eq(
        rsi_params_parse(specs, "mode=a=b\\,c\\\\d , steps=3,", "x", &v), 0);
    ck_assert_str_eq(v[3].s, "a=b,c\\d");
    ck_assert_int_eq(v[1].i, 3);
    rsi_params_free(v);
}
END_TEST

START_TEST(test_owner_optional)
{
    rsi_param_value *v;
    rsi_error_clear();
    ck_assert_int_eq(rsi_params_parse(specs, "sigma=x", NULL, &v), -1);
    ck_assert_str_eq(rsi_error_message(),
                     "parameter 'sigma': expected a number, got 'x'");
    rsi_error_clear();
}
END_TEST

/* The host's typed getters: by name, of the declared type, never a
 * crash on a mistake, which is an error naming the parameter. */
START_TEST(test_get)
{
    rsi_param_value *v;
    ck_assert_int_eq(rsi_params_parse(specs, "steps=9,sigma=0.7", "x", &v), 0);
    const rsi_plugin_descriptor d = {
        .kind = RSI_PLUGIN_PATH, .name = "t", .params = specs};
    const rsi_context ctx = {.plugin = &d, .params = v};
    ck_assert_int_eq(rsi_params_get_int(&ctx, "steps"), 9);
    ck_assert_double_eq(rsi_params_get_float(&ctx, "sigma"), 0.7);
    ck_assert_str_eq(v[0].text, "0.7"); /* as typed, for summaries */
    ck_assert_str_eq(rsi_params_get_string(&ctx, "mode"), "plain");
    ck_assert_int_eq(rsi_params_get_bool(&ctx, "relu"), 0);
    ck_assert_int_eq(rsi_params_get_set(&ctx, "mode"), 1);
    rsi_error_clear();
    ck_assert(isnan(rsi_params_get_float(&ctx, "nope")));
    ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_PLUGIN);
    ck_assert_str_eq(rsi_error_message(),
                     "asked for parameter 'nope', which it does not declare");
    rsi_error_clear();
    ck_assert_str_eq(rsi_params_get_string(&ctx, "steps"), "");
    ck_assert_str_eq(rsi_error_message(),
                     "read parameter 'steps' (int) with param_string()");
    rsi_error_clear();
    ck_assert_int_eq(rsi_params_get_int(NULL, "steps"), 0);
    ck_assert(rsi_error_pending());
    rsi_error_clear();
    rsi_params_free(v);
    rsi_params_free(NULL);

    /* optional, no default: no value until given, and none invented */
    static const rsi_param_spec opt[] = {
        {"seed", RSI_PARAM_INT, NULL, "optional", 0, 0, 1},
        {NULL, 0, NULL, NULL, 0, 0, 0}};
    ck_assert_int_eq(rsi_params_check_specs(opt), 0);
    ck_assert_int_eq(rsi_params_parse(opt, NULL, "x", &v), 0);
    const rsi_plugin_descriptor od = {.name = "o", .params = opt};
    const rsi_context octx = {.plugin = &od, .params = v};
    ck_assert_int_eq(rsi_params_get_set(&octx, "seed"), 0);
    ck_assert_int_eq(rsi_params_get_int(&octx, "seed"), 0);
    ck_assert_ptr_nonnull(strstr(rsi_error_message(), "param_set() first"));
    rsi_error_clear();
    rsi_params_free(v);
    ck_assert_int_eq(rsi_params_parse(opt, "seed=7", "x", &v), 0);
    const rsi_context given = {.plugin = &od, .params = v};
    ck_assert_int_eq(rsi_params_get_set(&given, "seed"), 1);
    ck_assert_int_eq(rsi_params_get_int(&given, "seed"), 7);
    rsi_params_free(v);
    static const rsi_param_spec both[] = {
        {"seed", RSI_PARAM_INT, "1", "optional", 0, 0, 1},
        {NULL, 0, NULL, NULL, 0, 0, 0}};
    ck_assert_int_eq(rsi_params_check_specs(both), -1);
    rsi_error_clear();
}
END_TEST

START_TEST(test_check_specs)
{
    ck_assert_int_eq(rsi_params_check_specs(specs), 0);
    ck_assert_int_eq(rsi_params_check_specs(NULL), 0);
    static const rsi_param_spec bad_default[] = {
        {"sigma", RSI_PARAM_FLOAT, "wide", NULL, 0, 0, 0},
        {NULL, 0, 0, 0, 0, 0, 0}};
    static const rsi_param_spec out_of_bounds[] = {
        {"n", RSI_PARAM_INT, "0", NULL, 1, 5, 0}, {NULL, 0, 0, 0, 0, 0, 0}};
    static const rsi_param_spec bad_type[] = {
        {"n", (rsi_param_type)42, "0", NULL, 0, 0, 0},
        {NULL, 0, 0, 0, 0, 0, 0}};
    static const rsi_param_spec twice[] = {
        {"n", RSI_PARAM_INT, "0", 0, 0, 0, 0},
        {"n", RSI_PARAM_INT, "1", 0, 0, 0, 0},
        {NULL, 0, 0, 0, 0, 0, 0}};
    static const rsi_param_spec bad_name[] = {
        {"a=b", RSI_PARAM_INT, "0", NULL, 0, 0, 0}, {NULL, 0, 0, 0, 0, 0, 0}};
    /* A path default need not exist when the plugin is loaded. */
    static const rsi_param_spec later_path[] = {
        {"p", RSI_PARAM_PATH, "/not/yet", NULL, 0, 0, 0},
        {NULL, 0, 0, 0, 0, 0, 0}};
    const struct {
        const rsi_param_spec *sp;
        const char *want;
    } cases[] = {
        {bad_default, "parameter 'sigma': expected a number, got default"},
        {out_of_bounds, "out of range [1, 5]"},
        {bad_type, "parameter 'n': unknown type 42"},
        {twice, "parameter 'n' declared twice"},
        {bad_name, "parameter name 'a=b'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        rsi_error_clear();
        ck_assert_int_eq(rsi_params_check_specs(cases[i].sp), -1);
        ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_PLUGIN);
        ck_assert_msg(strstr(rsi_error_message(), cases[i].want) != NULL,
                      "'%s' lacks '%s'", rsi_error_message(), cases[i].want);
    }
    rsi_error_clear();
    ck_assert_int_eq(rsi_params_check_specs(later_path), 0);
    rsi_param_spec many[RSI_PARAMS_MAX + 2];
    char names[RSI_PARAMS_MAX + 1][8];
    for (int k = 0; k <= RSI_PARAMS_MAX; k++) {
        snprintf(names[k], sizeof names[k], "p%d", k);
        many[k] = (rsi_param_spec){names[k], RSI_PARAM_INT, "0", NULL, 0, 0, 0};
    }
    many[RSI_PARAMS_MAX + 1] = (rsi_param_spec){0};
    ck_assert_int_eq(rsi_params_check_specs(many), -1);
    ck_assert(strstr(rsi_error_message(), "terminator") != NULL);
    rsi_error_clear();
}
END_TEST

START_TEST(test_spec_split)
{
    char *name, *text;
    ck_assert_int_eq(rsi_plugin_spec_split("blur", &name, &text), 0);
    ck_assert_str_eq(name, "blur");
    ck_assert_ptr_null(text);
    free(name);

    ck_assert_int_eq(
        rsi_plugin_spec_split(" blur :sigma=8,mode=a:b", &name, &text), 0);
    ck_assert_str_eq(name, "blur");
    ck_assert_str_eq(text, "sigma=8,mode=a:b"); /* only the first ':' */
    free(name);
    free(text);

    ck_assert_int_eq(rsi_plugin_spec_split("zero:", &name, &text), 0);
    ck_assert_str_eq(name, "zero");
    ck_assert_str_eq(text, "");
    free(name);
    free(text);

    const char *bad[] = {"", "  ", ":sigma=1", NULL};
    for (int i = 0; i < 4; i++) {
        rsi_error_clear();
        ck_assert_int_eq(rsi_plugin_spec_split(bad[i], &name, &text), -1);
        ck_assert_ptr_null(name);
        ck_assert_ptr_null(text);
        ck_assert_int_eq(rsi_error_get_class(), RSI_ERR_USAGE);
    }
    rsi_error_clear();
}
END_TEST

START_TEST(test_type_names)
{
    ck_assert_str_eq(rsi_param_type_name(RSI_PARAM_INT), "int");
    ck_assert_str_eq(rsi_param_type_name(RSI_PARAM_FLOAT), "float");
    ck_assert_str_eq(rsi_param_type_name(RSI_PARAM_BOOL), "bool");
    ck_assert_str_eq(rsi_param_type_name(RSI_PARAM_STRING), "string");
    ck_assert_str_eq(rsi_param_type_name(RSI_PARAM_PATH), "path");
    ck_assert_str_eq(rsi_param_type_name((rsi_param_type)9), "?");
}
END_TEST

/* The "did you mean" helper behind unknown-name messages (nearest.h). */
START_TEST(test_nearest)
{
    ck_assert_uint_eq(rsi_edit_distance("sigma", "sigma"), 0);
    ck_assert_uint_eq(rsi_edit_distance("sigma", "SIGMA"), 0);
    ck_assert_uint_eq(rsi_edit_distance("sigam", "sigma"), 1); /* swap */
    ck_assert_uint_eq(rsi_edit_distance("kitten", "sitting"), 3);
    ck_assert_uint_eq(rsi_edit_distance("", "abc"), 3);

    const char *names[] = {"blur", "zero", NULL, "uniform", "linear"};
    ck_assert_str_eq(rsi_nearest("zer", names, 5), "zero");
    ck_assert_str_eq(rsi_nearest("blurr", names, 5), "blur");
    ck_assert_str_eq(rsi_nearest("unifrom", names, 5), "uniform");
    ck_assert_str_eq(rsi_nearest("lin", names, 5), "linear"); /* prefix */
    ck_assert_ptr_null(rsi_nearest("abc", names, 5));
    ck_assert_ptr_null(rsi_nearest("x", names, 5));
    ck_assert_ptr_null(rsi_nearest("zero", names, 0));

    const char *layers[] = {"layer4.2.conv3", "layer4.2.conv2", "layer3", "fc",
                            "layer4.1.conv3"};
    const char *out[10]; /* k = 10 below: room for k */
    ck_assert_int_eq(rsi_nearest_k("layer4.2.conv", layers, 5, 3, out), 3);
    ck_assert_str_eq(out[0], "layer4.2.conv3"); /* ties: earliest first */
    ck_assert_str_eq(out[1], "layer4.2.conv2");
    ck_assert_str_eq(out[2], "layer4.1.conv3");
    ck_assert_int_eq(rsi_nearest_k("fc", layers, 5, 10, out), 5);
    ck_assert_str_eq(out[0], "fc");
    ck_assert_int_eq(rsi_nearest_k("fc", layers, 5, 0, out), 0);
}
END_TEST

static Suite *params_suite(void)
{
    Suite *s = suite_create("params");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_every_type);
    tcase_add_test(tc, test_bools);
    tcase_add_test(tc, test_bad_values);
    tcase_add_test(tc, test_bounds);
    tcase_add_test(tc, test_required);
    tcase_add_test(tc, test_unknown_key);
    tcase_add_test(tc, test_duplicate_and_malformed);
    tcase_add_test(tc, test_escapes_and_equals);
    tcase_add_test(tc, test_owner_optional);
    tcase_add_test(tc, test_get);
    tcase_add_test(tc, test_check_specs);
    tcase_add_test(tc, test_spec_split);
    tcase_add_test(tc, test_type_names);
    suite_add_tcase(s, tc);
    TCase *near = tcase_create("nearest");
    tcase_add_test(near, test_nearest);
    suite_add_tcase(s, near);
    return s;
}

int main(void)
{
    return tk_run(params_suite());
}
