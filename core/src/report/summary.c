/* rsicam — summary.csv (see summary.h). */
#include "summary.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "numbers.h"
#include "results_read.h"
#include "rsicam/error.h"

static const char *const metric_keys[] = {
    "probability", "completeness_gap", "completeness_rel", "pointing",
    "energy",      "deletion_auc",     "insertion_auc",    "drop",
    "increased"};
enum { N_METRICS = sizeof metric_keys / sizeof *metric_keys };

/* Welford's running mean and variance: stable over many images. */
typedef struct stat_acc {
    int64_t n;
    double mean, m2;
} stat_acc;

static void acc_add(stat_acc *a, double v)
{
    a->n++;
    double d = v - a->mean;
    a->mean += d / (double)a->n;
    a->m2 += d * (v - a->mean);
}

typedef struct row {
    char *id;
    json_t *settings;
    int64_t maps;
    stat_acc m[N_METRICS];
} row;

typedef struct table {
    row *rows;
    int n, cap;
    int seen[N_METRICS]; /* a metric with no value anywhere has no column */
} table;

static row *find_row(table *t, const char *id, const json_t *settings)
{
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->rows[i].id, id) == 0)
            return &t->rows[i];
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 32;
        row *rows = realloc(t->rows, (size_t)cap * sizeof *rows);
        if (!rows)
            return NULL;
        t->rows = rows;
        t->cap = cap;
    }
    row *r = &t->rows[t->n];
    *r = (row){.id = strdup(id), .settings = json_incref((json_t *)settings)};
    if (!r->id)
        return NULL;
    t->n++;
    return r;
}

static int add_record(table *t, const json_t *o)
{
    const char *id = json_string_value(json_object_get(o, "setting_id"));
    const char *status = json_string_value(json_object_get(o, "status"));
    if (!id || !status || strcmp(status, "ok") != 0)
        return 0;
    row *r = find_row(t, id, json_object_get(o, "settings"));
    if (!r) {
        rsi_error("out of memory");
        return -1;
    }
    r->maps++;
    for (int k = 0; k < N_METRICS; k++) {
        const json_t *v = json_object_get(o, metric_keys[k]);
        if (json_is_number(v) && isfinite(json_number_value(v)))
            acc_add(&r->m[k], json_number_value(v));
        else if (json_is_boolean(v))
            acc_add(&r->m[k], json_is_true(v) ? 1.0 : 0.0);
        else
            continue;
        t->seen[k] = 1;
    }
    return 0;
}

static int add_line(void *user, json_t *o, int n, const char *error)
{
    (void)n, (void)error;
    return o ? add_record(user, o) : 0; /* foreign lines: not a map */
}

static int read_table(const char *results, table *t)
{
    int rc = rsi_results_read(results, 1, add_line, t);
    if (rc < 0)
        rsi_error_reclass(RSI_ERR_OUTPUT);
    return rc;
}

void rsi_csv_field(FILE *fp, const char *s, int last)
{
    if (strpbrk(s, ",\"\r\n")) {
        fputc('"', fp);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', fp);
            fputc(*s, fp);
        }
        fputc('"', fp);
    } else {
        fputs(s, fp);
    }
    fputc(last ? '\n' : ',', fp);
}

const char *rsi_settings_plugin_text(const json_t *p, char *buf, size_t size)
{
    const char *name = json_string_value(json_object_get(p, "name"));
    if (json_is_string(p)) /* a record's bare plugin name */
        name = json_string_value(p);
    size_t used = (size_t)snprintf(buf, size, "%s", name ? name : "");
    const char *key;
    json_t *v;
    /* the name first, wherever the object holds it */
    json_object_foreach((json_t *)p, key, v)
    {
        if (used >= size || strcmp(key, "name") == 0)
            continue;
        /* numbers as the user wrote them: 0.2, not 0.20000000000000001 */
        char num[32];
        if (json_is_real(v))
            rsi_format_shortest(json_real_value(v), num, sizeof num);
        char *val = json_is_string(v) ? strdup(json_string_value(v))
                    : json_is_real(v) ? strdup(num)
                                      : json_dumps(v, JSON_ENCODE_ANY);
        int w = snprintf(buf + used, size - used, "%s%s=%s", used ? " " : "",
                         key, val ? val : "");
        free(val);
        used = w < 0 ? size : used + (size_t)w;
    }
    return buf;
}

static void number(FILE *fp, double v, int ok)
{
    if (ok)
        fprintf(fp, "%.9g", v);
}

static void write_rows(FILE *fp, const table *t)
{
    fputs("setting_id,layer,method,score,target,baseline,path,steps,maps", fp);
    for (int k = 0; k < N_METRICS; k++)
        if (t->seen[k])
            fprintf(fp, ",%s_mean,%s_std,%s_n", metric_keys[k], metric_keys[k],
                    metric_keys[k]);
    fputc('\n', fp);
    for (int i = 0; i < t->n; i++) {
        const row *r = &t->rows[i];
        const json_t *s = r->settings;
        char b[512], p[512];
        rsi_settings_plugin_text(json_object_get(s, "baseline"), b, sizeof b);
        rsi_settings_plugin_text(json_object_get(s, "path"), p, sizeof p);
        const char *names[] = {"layer", "method", "score", "target"};
        rsi_csv_field(fp, r->id, 0);
        for (int k = 0; k < 4; k++) {
            const char *v = json_string_value(json_object_get(s, names[k]));
            rsi_csv_field(fp, v ? v : "", 0);
        }
        rsi_csv_field(fp, b, 0);
        rsi_csv_field(fp, p, 0);
        char steps[32];
        fprintf(fp, "%s,%lld", rsi_settings_steps(s, steps, sizeof steps),
                (long long)r->maps);
        for (int k = 0; k < N_METRICS; k++) {
            if (!t->seen[k])
                continue;
            const stat_acc *a = &r->m[k];
            fputc(',', fp);
            number(fp, a->mean, a->n > 0);
            fputc(',', fp);
            number(fp, sqrt(a->m2 / (double)(a->n - 1)), a->n > 1);
            fprintf(fp, ",%lld", (long long)a->n);
        }
        fputc('\n', fp);
    }
}

int rsi_summary_write(const char *results, const char *csv)
{
    table t = {0};
    int rc = read_table(results, &t);
    rsi_atomic_file f;
    if (rc == 0 && (rc = rsi_atomic_open(&f, csv)) == 0) {
        write_rows(f.fp, &t);
        rc = rsi_atomic_commit(&f);
    }
    int n = t.n;
    for (int i = 0; i < t.n; i++) {
        free(t.rows[i].id);
        json_decref(t.rows[i].settings);
    }
    free(t.rows);
    return rc < 0 ? -1 : n;
}

const char *rsi_settings_steps(const json_t *settings, char *buf, size_t n)
{
    const json_t *v = json_object_get(settings, "steps");
    if (json_is_string(v))
        snprintf(buf, n, "%s", json_string_value(v));
    else
        snprintf(buf, n, "%lld", (long long)json_integer_value(v));
    return buf;
}
