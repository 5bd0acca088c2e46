/* ONNX's own backend test data (Debian's libonnx-testdata: node/,
 * pytorch-converted/, pytorch-operator/): every test whose operators the
 * onnx plugin claims is imported, run and compared with its expected
 * output. The graph's first input is the one fed at run time; the others
 * (weights, second operands, indices) are bound as constants, as a model's
 * initializers would be. Counts per operator are printed. */
#include "testkit.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_proto.h"
#include "rsicam/error.h"
#include "rsicam/model.h"
#include "rsicam/plugin.h"
#include "translate.h"

/* |got - want| <= ATOL + RTOL |want| */
#define RTOL 1e-4
#define ATOL 1e-5

/* Tests (by name prefix) made only of claimed operators that exercise
 * what the plugin does not do; each says what. Anything else that fails,
 * fails the suite. */
static const char *const excluded[][2] = {
    {"test_cast_FLOAT_to_BFLOAT16", "tensor casts to float16/bfloat16"},
    {"test_cast_FLOAT_to_FLOAT16", "tensor casts to float16/bfloat16"},
    {"test_cast_FLOAT_to_STRING", "tensor casts to strings"},
    {"test_nllloss_", "arithmetic on integer tensors (class indices)"},
    {"test_training_dropout", "Dropout in training mode (random)"},
    {NULL, NULL},
};

static const char *excluded_reason(const char *test)
{
    for (int k = 0; excluded[k][0]; k++)
        if (!strncmp(excluded[k][0], test, strlen(excluded[k][0])))
            return excluded[k][1];
    return NULL;
}

typedef struct op_count {
    char op[64];
    int ran, passed;
} op_count;

static op_count counts[128];
static int n_counts;
static int failures, skipped, ran_total, excluded_total;

static op_count *count_of(const char *op)
{
    for (int k = 0; k < n_counts; k++)
        if (!strcmp(counts[k].op, op))
            return &counts[k];
    if (n_counts == 128)
        return NULL;
    snprintf(counts[n_counts].op, sizeof counts[n_counts].op, "%s", op);
    return &counts[n_counts++];
}

static rsi_tensor *to_tensor(const ox_tensor *t)
{
    float *v = malloc((t->n ? t->n : 1) * sizeof *v);
    for (size_t k = 0; k < t->n; k++)
        v[k] = t->f ? t->f[k] : (float)t->i[k];
    rsi_tensor *r = rsi_tensor_from_floats(v, t->dims, t->ndim);
    free(v);
    return r;
}

/* Compares; returns NULL or why not (static). */
static const char *compare(rsi_tensor *got, const ox_tensor *want)
{
    static char why[256];
    const int nd = rsi_tensor_ndim(got);
    int shape_ok = nd == want->ndim;
    for (int d = 0; shape_ok && d < nd; d++)
        shape_ok = rsi_tensor_size(got, d) == want->dims[d];
    if (!shape_ok) {
        snprintf(why, sizeof why, "shape differs (%d dims, want %d)", nd,
                 want->ndim);
        return why;
    }
    float *g = malloc((want->n ? want->n : 1) * sizeof *g);
    rsi_tensor *f32 = rsi_tensor_to_dtype(got, RSI_FLOAT32);
    rsi_tensor_to_floats(f32, g, (int64_t)want->n);
    rsi_tensor_free(f32);
    const char *res = NULL;
    for (size_t k = 0; k < want->n && !res; k++) {
        const double w = want->f ? want->f[k] : (double)want->i[k];
        if (!(fabs(g[k] - w) <= ATOL + RTOL * fabs(w)) &&
            !(isnan(w) && isnan(g[k]))) {
            snprintf(why, sizeof why, "element %zu: %g, want %g", k, g[k], w);
            res = why;
        }
    }
    free(g);
    return res;
}

/* The input names the graph takes at run time (not initializers). */
static int runtime_inputs(const ox_model *m, const char **names, int max)
{
    int n = 0;
    for (int k = 0; k < m->n_inputs; k++) {
        int init = 0;
        for (int i = 0; i < m->n_inits && !init; i++)
            init = !strcmp(m->inits[i].name, m->inputs[k].name);
        if (!init && n < max)
            names[n++] = m->inputs[k].name;
    }
    return n;
}

static void run_one(const char *dir, const char *test)
{
    char path[8192], err[512];
    ox_model m;
    snprintf(path, sizeof path, "%s/%s/model.onnx", dir, test);
    if (ox_model_read(&m, path, err, sizeof err) < 0) {
        skipped++;
        return;
    }
    /* claimed only when every operator is */
    for (int k = 0; k < m.n_nodes; k++)
        if (strcmp(m.nodes[k].op_type, "Constant") &&
            !ox_find_op(m.nodes[k].op_type)) {
            ox_model_release(&m);
            skipped++;
            return;
        }
    const char *why = excluded_reason(test);
    const char *names[16];
    const int n_in = runtime_inputs(&m, names, 16);
    ox_tensor inputs[16], want;
    memset(inputs, 0, sizeof inputs);
    int read = 0, ok_inputs = n_in >= 1 && m.n_outputs == 1;
    for (int k = 0; k < n_in && ok_inputs; k++, read++) {
        snprintf(path, sizeof path, "%s/%s/test_data_set_0/input_%d.pb", dir,
                 test, k);
        ok_inputs = ox_tensor_read(&inputs[k], path, err, sizeof err) == 0;
    }
    snprintf(path, sizeof path, "%s/%s/test_data_set_0/output_0.pb", dir, test);
    if (ok_inputs && ox_tensor_read(&want, path, err, sizeof err) < 0)
        ok_inputs = 0;
    /* a run-time input of another type than float is not an image */
    if (ok_inputs && inputs[0].dtype != OX_FLOAT) {
        ox_tensor_release(&want);
        ok_inputs = 0;
    }
    if (!ok_inputs) {
        for (int k = 0; k < read; k++)
            ox_tensor_release(&inputs[k]);
        ox_model_release(&m);
        skipped++;
        return;
    }
    if (why) {
        printf("  excluded %-45s %s\n", test, why);
        excluded_total++;
    } else {
        const ox_tensor *bound[16];
        for (int k = 1; k < n_in; k++)
            bound[k - 1] = &inputs[k];
        ox_import_options opt = {.path = test,
                                 .bind_names = names + 1,
                                 .bind_values = bound,
                                 .n_bind = n_in - 1,
                                 .classifier = 0};
        ox_import_result res;
        const char *fail = NULL;
        rsi_model *model = ox_import(rsi_host(), &m, &opt, NULL, 0, &res);
        rsi_tensor *x = model ? to_tensor(&inputs[0]) : NULL;
        rsi_tensor *y = x ? rsi_model_forward(model, x) : NULL;
        if (!y)
            fail = rsi_error_message();
        else
            fail = compare(y, &want);
        ran_total++;
        for (int k = 0; k < m.n_nodes; k++) {
            op_count *c = count_of(m.nodes[k].op_type);
            int seen = 0; /* once per test */
            for (int j = 0; j < k; j++)
                seen = seen || !strcmp(m.nodes[j].op_type, m.nodes[k].op_type);
            if (c && !seen) {
                c->ran++;
                c->passed += !fail;
            }
        }
        if (fail) {
            printf("  FAILED   %-45s %s\n", test, fail);
            failures++;
        }
        rsi_error_clear();
        rsi_tensor_free(x);
        rsi_tensor_free(y);
        rsi_model_free(model);
    }
    for (int k = 0; k < n_in; k++)
        ox_tensor_release(&inputs[k]);
    ox_tensor_release(&want);
    ox_model_release(&m);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_msg(d, "cannot open %s (install libonnx-testdata)", dir);
    char *names[2048];
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) && n < 2048;)
        if (!strncmp(e->d_name, "test_", 5))
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, by_name);
    for (int k = 0; k < n; k++) {
        run_one(dir, names[k]);
        free(names[k]);
    }
}

START_TEST(backend_test_data)
{
    const char *root = getenv("RSICAM_ONNX_TESTDATA");
    if (!root)
        root = "/usr/share/libonnx-testdata/data";
    const char *sets[] = {"node", "pytorch-converted", "pytorch-operator"};
    char dir[4096];
    for (int k = 0; k < 3; k++) {
        snprintf(dir, sizeof dir, "%s/%s", root, sets[k]);
        run_dir(dir);
    }
    printf("onnx backend tests: %d ran, %d failed, %d excluded, %d not "
           "claimed\n",
           ran_total, failures, excluded_total, skipped);
    printf("%-22s %5s %6s\n", "operator", "tests", "passed");
    for (int k = 0; k < n_counts; k++)
        printf("%-22s %5d %6d\n", counts[k].op, counts[k].ran,
               counts[k].passed);
    /* every claimed operator is tested by at least one test */
    const char *list = ox_supported_ops();
    char *copy = strdup(list);
    for (char *op = strtok(copy, ", "); op; op = strtok(NULL, ", ")) {
        const op_count *c = NULL;
        for (int k = 0; k < n_counts; k++)
            if (!strcmp(counts[k].op, op))
                c = &counts[k];
        ck_assert_msg(c && c->ran > 0, "operator %s: no test ran", op);
    }
    free(copy);
    ck_assert_msg(failures == 0, "%d backend tests failed", failures);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("onnx_node");
    TCase *tc = tcase_create("backend");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, backend_test_data);
    suite_add_tcase(s, tc);
    return tk_run(s);
}
