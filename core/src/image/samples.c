/* rsicam — reading sample lists (see samples.h). */
#include "samples.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsicam/error.h"

/* One line's fields, malloc'd. */
typedef struct fields {
    char **v;
    int n, cap;
} fields;

static void fields_clear(fields *f)
{
    for (int i = 0; i < f->n; i++)
        free(f->v[i]);
    f->n = 0;
}

static void fields_free(fields *f)
{
    fields_clear(f);
    free(f->v);
    *f = (fields){0};
}

static int fields_add(fields *f, const char *s, size_t len)
{
    if (f->n == f->cap) {
        int cap = f->cap ? 2 * f->cap : 8;
        char **v = realloc(f->v, (size_t)cap * sizeof *v);
        if (!v)
            return -1;
        f->v = v;
        f->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, s, len);
    copy[len] = '\0';
    f->v[f->n++] = copy;
    return 0;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Splits a line into trimmed fields. Returns 0, -1 when out of memory, or
 * 1 with *why set for a malformed line. */
static int split(const char *line, fields *f, const char **why)
{
    fields_clear(f);
    const char *p = line;
    for (;;) {
        while (is_blank(*p))
            p++;
        if (*p == '"') {
            size_t cap = strlen(p), len = 0;
            char *buf = malloc(cap + 1);
            if (!buf)
                return -1;
            for (p++;; p++) {
                if (!*p) {
                    free(buf);
                    *why = "unterminated quoted field";
                    return 1;
                }
                if (*p == '"' && p[1] != '"')
                    break;
                if (*p == '"')
                    p++; /* "" is one quote */
                buf[len++] = *p;
            }
            int rc = fields_add(f, buf, len);
            free(buf);
            if (rc < 0)
                return -1;
            for (p++; is_blank(*p); p++)
                ;
            if (*p && *p != ',') {
                *why = "text after a closing quote";
                return 1;
            }
        } else {
            size_t len = strcspn(p, ",");
            while (len > 0 && is_blank(p[len - 1]))
                len--;
            if (fields_add(f, p, len) < 0)
                return -1;
            p += strcspn(p, ",");
        }
        if (!*p)
            return 0;
        p++; /* the comma */
    }
}

/* Column indices of the header's known names; -1 when absent. */
enum { COL_IMAGE, COL_LABEL, COL_X0, COL_Y0, COL_X1, COL_Y1, N_COLS };
static const char *const col_names[N_COLS] = {"image", "label", "x0",
                                              "y0",    "x1",    "y1"};

static int read_header(const char *path, const fields *f, int col[N_COLS])
{
    for (int k = 0; k < N_COLS; k++)
        col[k] = -1;
    for (int i = 0; i < f->n; i++)
        for (int k = 0; k < N_COLS; k++) {
            if (strcmp(f->v[i], col_names[k]) != 0)
                continue;
            if (col[k] >= 0) {
                rsi_error_class_set(RSI_ERR_INPUT,
                                    "%s:1: column '%s' appears twice", path,
                                    col_names[k]);
                return -1;
            }
            col[k] = i;
        }
    if (col[COL_IMAGE] < 0) {
        rsi_error_class_set(RSI_ERR_INPUT,
                            "%s:1: no 'image' column (the first line must "
                            "name the columns, e.g. image,label,x0,y0,x1,y1)",
                            path);
        return -1;
    }
    int boxes = 0;
    for (int k = COL_X0; k <= COL_Y1; k++)
        boxes += col[k] >= 0;
    if (boxes != 0 && boxes != 4) {
        rsi_error_class_set(RSI_ERR_INPUT,
                            "%s:1: a box needs all four columns x0,y0,x1,y1",
                            path);
        return -1;
    }
    return 0;
}

/* "dir of the list file" + "/" + image, unless image is absolute. */
static char *join_dir(const char *list_path, const char *image)
{
    const char *slash = strrchr(list_path, '/');
    if (image[0] == '/' || !slash)
        return strdup(image);
    /* A list in "/" has an empty dir part: "/" + image is still right. */
    int dir_len = (int)(slash - list_path);
    size_t n = (size_t)dir_len + strlen(image) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%.*s/%s", dir_len, list_path, image);
    return s;
}

/* 0, 1 for an index out of range, -1 when out of memory. Digits alone make
 * an index; anything else is a class name. */
static int parse_label(const char *text, rsi_sample *s)
{
    s->label = -1;
    if (!*text)
        return 0;
    if (strspn(text, "0123456789") == strlen(text)) {
        errno = 0;
        long long v = strtoll(text, NULL, 10);
        if (errno)
            return 1;
        s->label = v;
        return 0;
    }
    return (s->label_name = strdup(text)) ? 0 : -1;
}

static int parse_number(const char *text, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(text, &end);
    return errno || end == text || *end || !isfinite(*out) ? -1 : 0;
}

/* Fills s from a data line's fields; 1 with *why for a malformed line. */
static int parse_row(const char *path, const fields *f, const int col[N_COLS],
                     rsi_sample *s, const char **why)
{
    const char *image = f->v[col[COL_IMAGE]];
    if (!*image) {
        *why = "empty image path";
        return 1;
    }
    if (!(s->image = join_dir(path, image)))
        return -1;
    int rc = col[COL_LABEL] >= 0 ? parse_label(f->v[col[COL_LABEL]], s) : 0;
    if (rc != 0) {
        *why = "class index out of range";
        return rc;
    }
    if (col[COL_X0] < 0)
        return 0;
    int empty = 0;
    for (int k = COL_X0; k <= COL_Y1; k++)
        empty += f->v[col[k]][0] == '\0';
    if (empty == 4)
        return 0;
    double v[4];
    for (int k = COL_X0; k <= COL_Y1; k++)
        if (parse_number(f->v[col[k]], &v[k - COL_X0]) < 0) {
            *why = empty ? "a box needs all of x0,y0,x1,y1 (or none)"
                         : "box coordinates must be numbers";
            return 1;
        }
    s->box = (rsi_box){v[0], v[1], v[2], v[3]};
    if (!(s->box.x0 >= 0 && s->box.y0 >= 0 && s->box.x0 < s->box.x1 &&
          s->box.y0 < s->box.y1)) {
        *why = "bad box: need 0 <= x0 < x1 and 0 <= y0 < y1";
        return 1;
    }
    s->has_box = 1;
    return 0;
}

static int grow(rsi_sample_list *l, int *cap)
{
    if (l->n < *cap)
        return 0;
    int c = *cap ? 2 * *cap : 64;
    rsi_sample *items = realloc(l->items, (size_t)c * sizeof *items);
    if (!items)
        return -1;
    l->items = items;
    *cap = c;
    return 0;
}

/* Reads every line after the header. */
static int read_rows(FILE *fp, const char *path, const int col[N_COLS],
                     int n_cols, fields *f, rsi_sample_list *l)
{
    char *line = NULL;
    size_t line_cap = 0;
    int cap = 0, rc = 0;
    for (int lineno = 2; getline(&line, &line_cap, fp) >= 0; lineno++) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[strspn(line, " \t")] == '\0')
            continue;
        const char *why = NULL;
        rc = split(line, f, &why);
        if (rc == 0 && f->n != n_cols) {
            rsi_error_class_set(RSI_ERR_INPUT,
                                "%s:%d: %d fields, the header names %d", path,
                                lineno, f->n, n_cols);
            rc = -1;
            break;
        }
        if (rc == 0 && (rc = grow(l, &cap)) == 0) {
            rsi_sample *s = &l->items[l->n];
            *s = (rsi_sample){.label = -1, .line = lineno};
            l->n++; /* counted now so that a failure frees its parts */
            rc = parse_row(path, f, col, s, &why);
        }
        if (rc == 1) {
            rsi_error_class_set(RSI_ERR_INPUT, "%s:%d: %s", path, lineno, why);
            rc = -1;
        }
        if (rc < 0)
            break;
    }
    if (rc == 0 && ferror(fp)) {
        rsi_error_class_set(RSI_ERR_INPUT, "%s: read error: %s", path,
                            strerror(errno));
        rc = -1;
    }
    free(line);
    return rc;
}

int rsi_samples_read(const char *path, rsi_sample_list *out)
{
    *out = (rsi_sample_list){0};
    FILE *fp = fopen(path, "r");
    if (!fp) {
        rsi_error_class_set(RSI_ERR_INPUT, "sample list '%s': %s", path,
                            strerror(errno));
        return -1;
    }
    fields f = {0};
    char *line = NULL;
    size_t cap = 0;
    int col[N_COLS], rc = -1;
    const char *why = NULL;
    if (getline(&line, &cap, fp) < 0) {
        rsi_error_class_set(RSI_ERR_INPUT,
                            "%s: empty (the first line must name the "
                            "columns, e.g. image,label,x0,y0,x1,y1)",
                            path);
        goto out;
    }
    line[strcspn(line, "\r\n")] = '\0';
    const char *text = strncmp(line, "\xEF\xBB\xBF", 3) == 0 ? line + 3 : line;
    int split_rc = split(text, &f, &why);
    if (split_rc == 1)
        rsi_error_class_set(RSI_ERR_INPUT, "%s:1: %s", path, why);
    if (split_rc != 0 || read_header(path, &f, col) < 0)
        goto out;
    if (!(out->path = strdup(path)))
        goto out;
    rc = read_rows(fp, path, col, f.n, &f, out);
out:
    if (rc < 0 && !rsi_error_pending())
        rsi_error("out of memory");
    if (rc < 0)
        rsi_samples_free(out);
    free(line);
    fields_free(&f);
    fclose(fp);
    return rc;
}

int rsi_samples_resolve_labels(rsi_sample_list *list, const char *const *labels,
                               int n_labels)
{
    for (int i = 0; i < list->n; i++) {
        rsi_sample *s = &list->items[i];
        if (!s->label_name)
            continue;
        int found = -1;
        for (int k = 0; k < n_labels && found < 0; k++)
            if (labels[k] && strcmp(labels[k], s->label_name) == 0)
                found = k;
        if (found < 0) {
            rsi_error_class_set(RSI_ERR_INPUT, "%s:%d: unknown class name '%s'",
                                list->path, s->line, s->label_name);
            return -1;
        }
        s->label = found;
    }
    return 0;
}

void rsi_samples_free(rsi_sample_list *list)
{
    for (int i = 0; i < list->n; i++) {
        free(list->items[i].image);
        free(list->items[i].label_name);
    }
    free(list->items);
    free(list->path);
    *list = (rsi_sample_list){0};
}
