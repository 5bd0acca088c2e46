/* rsicam — the static HTML report (see report_html.h).
 *
 * Two passes over the records: the first finds the metric columns (any
 * numeric field, so metrics added later by other commands show up without
 * changes here), the second groups the maps into settings and sums each
 * column. Everything is then written in one go into an atomic file.
 */
#include "report_html.h"
#include "path.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "report_page.h"
#include "results.h"
#include "results_read.h"
#include "rsicam/error.h"
#include "summary.h"

/* Numeric fields that are bookkeeping, not a quality of the map: a mean
 * of them says nothing (unit numbers; the seconds and forwards of an
 * image's pass, which its maps share and which vary with the machine). */
static const char *const skipped[] = {"class",
                                      "steps",
                                      "points",
                                      "score_image",
                                      "score_baseline",
                                      "ig_sum",
                                      "completeness_gap",
                                      "error_class",
                                      "unit",
                                      "forwards",
                                      "seconds",
                                      "tol",
                                      NULL};

/* ---- Reading ------------------------------------------------------------ */

static int add_line(void *user, json_t *o, int n, const char *error)
{
    (void)n, (void)error;
    rsi_report *r = user;
    if (o)
        json_array_append(r->records, o);
    else
        r->bad_lines++; /* a foreign line: say so, go on */
    return 0;
}

static int read_records(rsi_report *r, const char *path)
{
    r->records = json_array();
    int rc = rsi_results_read(path, 0, add_line, r);
    if (rc < 0)
        rsi_error_prefix("report: ");
    return rc;
}

static int skip_field(const char *k)
{
    for (int i = 0; skipped[i]; i++)
        if (strcmp(k, skipped[i]) == 0)
            return 1;
    return 0;
}

static int numeric(json_t *v, double *out)
{
    if (json_is_number(v))
        *out = json_number_value(v);
    else if (json_is_boolean(v))
        *out = json_is_true(v);
    else
        return 0;
    return 1;
}

static int find_column(const rsi_report *r, const char *k)
{
    for (int i = 0; i < r->ncols; i++)
        if (strcmp(r->cols[i].name, k) == 0)
            return i;
    return -1;
}

static int by_rank(const void *a, const void *b)
{
    return ((const rsi_report_column *)a)->rank -
           ((const rsi_report_column *)b)->rank;
}

static int find_columns(rsi_report *r)
{
    size_t i;
    json_t *o;
    json_array_foreach(r->records, i, o)
    {
        if (!rsi_report_is_ok(o))
            continue;
        const char *k;
        json_t *v;
        double d;
        json_object_foreach(o, k, v)
        {
            if (skip_field(k) || !numeric(v, &d) || find_column(r, k) >= 0)
                continue;
            rsi_report_column *c =
                realloc(r->cols, (size_t)(r->ncols + 1) * sizeof *c);
            if (!c)
                return -1;
            r->cols = c;
            int rank = rsi_report_known_rank(k);
            if (rank < 0)
                rank = rsi_report_num_known() + r->ncols;
            r->cols[r->ncols++] = (rsi_report_column){k, rank};
        }
    }
    if (r->ncols > 1) /* cols is NULL when there are none: UB for qsort */
        qsort(r->cols, (size_t)r->ncols, sizeof *r->cols, by_rank);
    return 0;
}

/* Key k of record o as the report shows it. An experiment's record names
 * its plugins at the top level by name only; its "settings" hold them
 * whole, parameters and all. */
static void key_text(json_t *o, int k, char *buf, size_t size)
{
    const char *name = rsi_report_key_names[k];
    if (k == RSI_RK_BASELINE || k == RSI_RK_PATH) {
        json_t *p = json_object_get(json_object_get(o, "settings"), name);
        rsi_settings_plugin_text(p ? p : json_object_get(o, name), buf, size);
    } else {
        snprintf(buf, size, "%s", rsi_report_str(o, name));
    }
}

static int new_setting(rsi_report *r, char key[][512], const char *id,
                       json_int_t steps)
{
    rsi_report_setting *grown =
        realloc(r->set, (size_t)(r->nset + 1) * sizeof *grown);
    if (!grown)
        return -1;
    r->set = grown;
    rsi_report_setting *s = &r->set[r->nset];
    *s = (rsi_report_setting){.id = id, .steps = steps};
    int ok = 1;
    for (int k = 0; k < RSI_REPORT_NKEYS; k++) {
        ok &= (s->key[k] = strdup(key[k])) != NULL;
        r->shown[k] |= *key[k] != '\0';
    }
    s->sum = calloc((size_t)r->ncols + 1, sizeof *s->sum);
    s->n = calloc((size_t)r->ncols + 1, sizeof *s->n);
    r->nset++; /* report_free frees what it holds, whole or not */
    return ok && s->sum && s->n ? r->nset - 1 : -1;
}

static int find_setting(rsi_report *r, json_t *o)
{
    char key[RSI_REPORT_NKEYS][512];
    for (int k = 0; k < RSI_REPORT_NKEYS; k++)
        key_text(o, k, key[k], sizeof key[k]);
    const char *id = rsi_report_str(o, "setting_id");
    /* adaptive steps (a tol) differ map by map: no one count */
    json_t *st = json_object_get(o, "steps");
    json_int_t steps = json_is_integer(st) && !json_object_get(o, "tol")
                           ? json_integer_value(st)
                           : -1;
    for (int s = 0; s < r->nset; s++) {
        int same = r->set[s].steps == steps && strcmp(r->set[s].id, id) == 0;
        for (int k = 0; k < RSI_REPORT_NKEYS && same; k++)
            same = strcmp(r->set[s].key[k], key[k]) == 0;
        if (same)
            return s;
    }
    return new_setting(r, key, id, steps);
}

static int find_image(rsi_report *r, const char *image)
{
    for (int i = 0; i < r->nimages; i++)
        if (strcmp(r->images[i], image) == 0)
            return i;
    const char **grown =
        realloc(r->images, (size_t)(r->nimages + 1) * sizeof *grown);
    if (!grown)
        return -1;
    r->images = grown;
    r->images[r->nimages] = image;
    return r->nimages++;
}

static int group(rsi_report *r)
{
    size_t i;
    json_t *o;
    json_array_foreach(r->records, i, o)
    {
        if (!rsi_report_is_ok(o)) {
            r->failures++;
            continue;
        }
        int s = find_setting(r, o);
        if (s < 0 || find_image(r, rsi_report_str(o, "image")) < 0)
            return -1;
        r->maps++;
        r->set[s].maps++;
        for (int c = 0; c < r->ncols; c++) {
            double d;
            if (numeric(json_object_get(o, r->cols[c].name), &d) &&
                isfinite(d)) {
                r->set[s].sum[c] += d;
                r->set[s].n[c]++;
            }
        }
    }
    /* The thumbnail grid, filled in a second walk now that both axes are
     * known; a later map of the same image and setting wins. */
    r->cells =
        calloc((size_t)r->nimages * (size_t)r->nset + 1, sizeof *r->cells);
    if (!r->cells)
        return -1;
    json_array_foreach(r->records, i, o)
    {
        const char *ov = rsi_report_str(o, "overlay");
        if (!rsi_report_is_ok(o) || !*ov)
            continue;
        int s = find_setting(r, o),
            im = find_image(r, rsi_report_str(o, "image"));
        r->cells[(size_t)im * (size_t)r->nset + (size_t)s] = ov;
    }
    return 0;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0, got;
    do {
        if (cap - n < 4096) {
            char *g = realloc(buf, cap = cap * 2 + 4096);
            if (!g) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = g;
        }
        got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
    } while (got > 0);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void report_free(rsi_report *r)
{
    for (int s = 0; s < r->nset; s++) {
        for (int k = 0; k < RSI_REPORT_NKEYS; k++)
            free(r->set[s].key[k]);
        free(r->set[s].sum);
        free(r->set[s].n);
    }
    free(r->set);
    free(r->cols);
    free(r->images);
    free(r->cells);
    json_decref(r->records);
}

int rsi_report_html_write(const char *out_dir, const char *title)
{
    rsi_report r = {0};
    char *results = rsi_path_join(out_dir, RSI_RESULTS_FILE);
    char *summary = rsi_path_join(out_dir, RSI_SUMMARY_FILE);
    char *page = rsi_path_join(out_dir, RSI_REPORT_FILE);
    char *csv = NULL;
    int rc = -1;
    if (!results || !summary || !page) {
        rsi_error("out of memory");
        goto out;
    }
    if (read_records(&r, results) < 0)
        goto out;
    if (find_columns(&r) < 0 || group(&r) < 0) {
        rsi_error("out of memory");
        goto out;
    }
    csv = read_text(summary); /* optional: absent is fine */
    rsi_atomic_file f;
    if (rsi_atomic_open(&f, page) < 0)
        goto out;
    rsi_report_page_write(f.fp, &r, title && *title ? title : "rsicam report",
                          csv);
    rc = rsi_atomic_commit(&f);
out:
    report_free(&r);
    free(results);
    free(summary);
    free(page);
    free(csv);
    return rc;
}
