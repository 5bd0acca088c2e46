/* Running `rsicam` in the CLI suites (test_cli_*.c) and checking what it
 * left: its exit code and error lines, its output directory and records.
 * Shared so that every CLI suite holds rsicam to the same rules: one
 * "rsicam: " line per error, the documented exit code, whole maps only. */
#include "cli_check.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "testkit.h"

void run_free(run *r)
{
    free(r->text);
    r->text = NULL;
}

/* Runs the shell command line fmt (with "%s" for rsicam and a second "%s"
 * for the out directory), recording exit status, output and peak memory. */
void sh_run(run *r, const char *tag, const char *fmt, ...)
{
    snprintf(r->out, sizeof r->out, "%s", tk_path(tag));
    char args[6144];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    r->rc = tk_sh(&r->text, "%s", args);
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    r->maxrss_kib = ru.ru_maxrss;
}

/* `rsicam explain --quiet --steps 4 --batch 3 --out <scratch>/<tag> ARGS`:
 * quiet, so that every line of output is a warning or an error. */
void explain(run *r, const char *tag, const char *fmt, ...)
{
    char args[6144];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    sh_run(r, tag, "'%s' explain --quiet --steps 4 --batch 3 --out '%s' %s",
           tk_rsicam(), tk_path(tag), args);
}

/* The index-th line of text that is not a warning (0-based), copied into
 * line; 0 when there is none. */
int error_line(const char *text, int index, char *line, size_t n)
{
    int k = 0;
    for (const char *p = text; p && *p;) {
        size_t len = strcspn(p, "\n");
        if (strncmp(p, "rsicam: warning:", 16) != 0 && k++ == index) {
            snprintf(line, n, "%.*s", (int)len, p);
            return 1;
        }
        p += len + (p[len] == '\n');
    }
    return 0;
}

int count_error_lines(const char *text)
{
    char line[8];
    int n = 0;
    while (error_line(text, n, line, sizeof line))
        n++;
    return n;
}

/* The exit code is code, the output holds exactly lines error lines (no
 * stack traces, no libvips or libtorch chatter), each starting "rsicam: ",
 * and the first contains every one of the NULL-terminated words. */
void expect_error(const run *r, int code, int lines, ...)
{
    ck_assert_msg(r->rc == code, "exit %d, expected %d; output:\n%s", r->rc,
                  code, r->text);
    int n = count_error_lines(r->text);
    ck_assert_msg(n == lines, "%d error lines, expected %d; output:\n%s", n,
                  lines, r->text);
    for (int i = 0; i < n; i++) {
        char line[4096];
        error_line(r->text, i, line, sizeof line);
        ck_assert_msg(strncmp(line, "rsicam: ", 8) == 0,
                      "not an rsicam error line: %s", line);
    }
    char first[4096] = "";
    error_line(r->text, 0, first, sizeof first);
    va_list ap;
    va_start(ap, lines);
    for (const char *w; (w = va_arg(ap, const char *)) != NULL;)
        ck_assert_msg(strstr(first, w) != NULL, "'%s' not in: %s", w, first);
    va_end(ap);
}

void expect_success(const run *r)
{
    ck_assert_msg(r->rc == 0, "exit %d; output:\n%s", r->rc, r->text);
    ck_assert_msg(count_error_lines(r->text) == 0, "output:\n%s", r->text);
}

/* ---- Looking at the output directory ------------------------------------ */

/* Calls f on each name in dir (not "." or ".."); returns how many there
 * were (-1: no directory). */
int each_file(const char *dir, void (*f)(const char *, void *), void *arg)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        n++;
        if (f)
            f(e->d_name, arg);
    }
    closedir(d);
    return n;
}

static void no_tmp_one(const char *name, void *arg)
{
    ck_assert_msg(strstr(name, ".tmp") == NULL, "temporary file left: %s/%s",
                  (const char *)arg, name);
}

/* No temporary files in dir. */
void expect_no_tmp(const char *dir)
{
    each_file(dir, no_tmp_one, (void *)dir);
}

typedef struct prefix_count {
    const char *prefix, *suffix;
    int n;
} prefix_count;

static void count_one(const char *name, void *arg)
{
    prefix_count *c = arg;
    size_t n = strlen(name), k = strlen(c->suffix);
    if (strncmp(name, c->prefix, strlen(c->prefix)) == 0 && n >= k &&
        strcmp(name + n - k, c->suffix) == 0)
        c->n++;
}

/* Files in dir whose names start with prefix and end with suffix. */
int count_files(const char *dir, const char *prefix, const char *suffix)
{
    prefix_count c = {prefix, suffix, 0};
    each_file(dir, count_one, &c);
    return c.n;
}

/* Every map in dir is whole: as many .cam.npy as .heatmap.npy as overlay
 * .png files, and no temporary file. Returns the number of maps. */
int expect_whole_maps(const char *dir)
{
    expect_no_tmp(dir);
    int cams = count_files(dir, "", ".cam.npy");
    int heats = count_files(dir, "", ".heatmap.npy");
    int pngs = count_files(dir, "", ".png");
    ck_assert_msg(cams == heats && heats == pngs,
                  "partial maps in %s: %d cam, %d heatmap, %d png", dir, cams,
                  heats, pngs);
    return cams;
}

/* results.jsonl of dir as a JSON array (empty when there is none); every
 * line must be a whole JSON object. */
json_t *results(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/results.jsonl", dir);
    json_t *all = json_array();
    FILE *fp = fopen(path, "r");
    if (!fp)
        return all;
    char line[65536];
    while (fgets(line, sizeof line, fp)) {
        json_error_t err;
        json_t *o = json_loads(line, 0, &err);
        ck_assert_msg(json_is_object(o), "%s: not a JSON object: %s", path,
                      line);
        json_array_append_new(all, o);
    }
    fclose(fp);
    return all;
}

const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* Records of results.jsonl for image with the given status. */
int count_records(const char *dir, const char *image, const char *status)
{
    json_t *all = results(dir);
    size_t i;
    json_t *o;
    int n = 0;
    json_array_foreach(all, i, o)
    {
        if (strcmp(str(o, "image"), image) == 0 &&
            strcmp(str(o, "status"), status) == 0)
            n++;
    }
    json_decref(all);
    return n;
}

/* image is recorded once as failed, with error class code and a message
 * naming it, and has no map files. */
void expect_failed(const char *dir, const char *image, int code)
{
    json_t *all = results(dir);
    size_t i;
    json_t *o;
    int found = 0;
    json_array_foreach(all, i, o)
    {
        if (strcmp(str(o, "image"), image) != 0)
            continue;
        ck_assert_str_eq(str(o, "status"), "failed");
        ck_assert_int_eq(json_integer_value(json_object_get(o, "error_class")),
                         code);
        ck_assert_msg(strstr(str(o, "error"), image) != NULL,
                      "error does not name %s: %s", image, str(o, "error"));
        found++;
    }
    json_decref(all);
    ck_assert_msg(found == 1, "%d records for %s, expected 1 failed", found,
                  image);
    /* no map of it: its stem starts no file name */
    const char *slash = strrchr(image, '/');
    char stem[512];
    snprintf(stem, sizeof stem, "%s", slash ? slash + 1 : image);
    char *dot = strrchr(stem, '.');
    if (dot)
        *dot = '\0';
    strcat(stem, ".");
    ck_assert_int_eq(count_files(dir, stem, ""), 0);
}
