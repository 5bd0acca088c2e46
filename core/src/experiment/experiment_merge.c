/* rsicam — merging the output directories of shards (rsicam merge).
 *
 * Every shard ran the same experiment (run.json fingerprints must agree)
 * on its own units. The merge orders all records by unit, as one run
 * would have written them (the first directory wins a unit two shards
 * both hold), hard-links the map files (copies them across file systems),
 * redraws the montages and recomputes summary.csv: the result is what a
 * single run would have produced, timings aside.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_emit.h"
#include "experiment_internal.h"
#include "fileio.h"
#include "outdir.h"
#include "path.h"
#include "report_html.h"
#include "results.h"
#include "results_read.h"
#include "rsicam/error.h"
#include "summary.h"

typedef struct entry {
    int64_t unit;
    int dir, seq;
    char *line;
    json_t *record;
} entry;

typedef struct merge {
    const char *out;
    const char *const *dirs;
    int n_dirs;
    entry *entries;
    int n, cap;
    json_t *resolved;
    char fingerprint[17];
    rsi_out claim; /* out's lock and record of temporaries */
} merge;

static int read_run_json(merge *m)
{
    for (int d = 0; d < m->n_dirs; d++) {
        char *path = rsi_path_join(m->dirs[d], "run.json");
        json_error_t jerr;
        json_t *o = path ? json_load_file(path, 0, &jerr) : NULL;
        const char *fp = json_string_value(json_object_get(o, "fingerprint"));
        json_t *resolved = json_object_get(o, "resolved");
        int rc = 0;
        if (!fp || !json_is_object(resolved)) {
            rsi_error_class_set(RSI_ERR_INPUT,
                                "'%s' is not an experiment's output directory "
                                "(no readable run.json)",
                                m->dirs[d]);
            rc = -1;
        } else if (d == 0) {
            snprintf(m->fingerprint, sizeof m->fingerprint, "%s", fp);
            m->resolved = json_deep_copy(resolved);
        } else if (strcmp(fp, m->fingerprint) != 0) {
            rsi_error_class_set(RSI_ERR_USAGE,
                                "'%s' and '%s' hold different experiments "
                                "(run.json fingerprints %s and %s)",
                                m->dirs[0], m->dirs[d], m->fingerprint, fp);
            rc = -1;
        }
        json_decref(o);
        free(path);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static int add_entry(merge *m, entry e)
{
    if (m->n == m->cap) {
        int cap = m->cap ? 2 * m->cap : 256;
        entry *grown = realloc(m->entries, (size_t)cap * sizeof *grown);
        if (!grown)
            return -1;
        m->entries = grown;
        m->cap = cap;
    }
    m->entries[m->n++] = e;
    return 0;
}

static const char *const file_keys[] = {"cam", "heatmap", "overlay"};

/* Every file a record names lies inside its shard and, placed, inside the
 * output: checked for all records before anything is placed. */
static int check_files(const merge *m, int d, json_t *record, const char *where)
{
    for (int k = 0; k < 3; k++) {
        const char *rel =
            json_string_value(json_object_get(record, file_keys[k]));
        if (!rel)
            continue;
        char *src = rsi_record_file(m->dirs[d], rel, where);
        char *dst = src ? rsi_record_file(m->out, rel, where) : NULL;
        free(src);
        free(dst);
        if (!dst)
            return -1;
    }
    return 0;
}

typedef struct shard_reader {
    merge *m;
    int d;
    const char *path;
} shard_reader;

static int add_line(void *user, json_t *o, int n, const char *error)
{
    shard_reader *r = user;
    char where[4200];
    snprintf(where, sizeof where, "%s:%d", r->path, n);
    json_t *unit = json_object_get(o, "unit");
    if (!json_is_integer(unit)) {
        rsi_error_class_set(RSI_ERR_INPUT,
                            "%s: not an experiment record (%s); rerun that "
                            "shard to finish it",
                            where, o ? "no \"unit\"" : error);
        return -1;
    }
    if (check_files(r->m, r->d, o, where) < 0)
        return -1;
    char *line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    entry e = {.unit = json_integer_value(unit),
               .dir = r->d,
               .seq = n,
               .line = line,
               .record = json_incref(o)};
    if (!e.line || add_entry(r->m, e) < 0) {
        free(e.line);
        json_decref(o);
        rsi_error("out of memory");
        return -1;
    }
    return 0;
}

static int read_results(merge *m, int d)
{
    char *path = rsi_path_join(m->dirs[d], RSI_RESULTS_FILE);
    if (!path) {
        rsi_error("out of memory");
        return -1;
    }
    /* a shard that had nothing to do may have no results */
    shard_reader r = {m, d, path};
    int rc = rsi_results_read(path, 1, add_line, &r);
    free(path);
    return rc;
}

static int cmp_entry(const void *pa, const void *pb)
{
    const entry *a = pa, *b = pb;
    if (a->unit != b->unit)
        return a->unit < b->unit ? -1 : 1;
    if (a->dir != b->dir)
        return a->dir - b->dir;
    return a->seq - b->seq;
}

/* Sorts by unit and drops a unit's records from all but its first
 * directory. */
static void order_entries(merge *m)
{
    if (m->n > 1) /* entries may be NULL when empty: UB for qsort */
        qsort(m->entries, (size_t)m->n, sizeof *m->entries, cmp_entry);
    int kept = 0;
    for (int i = 0; i < m->n; i++) {
        entry *e = &m->entries[i];
        if (kept && m->entries[kept - 1].unit == e->unit &&
            m->entries[kept - 1].dir != e->dir) {
            free(e->line);
            json_decref(e->record);
            continue;
        }
        m->entries[kept++] = *e;
    }
    m->n = kept;
}

/* A copy of src at dst, written atomically. */
static int copy_file(const char *src, const char *dst)
{
    FILE *in = fopen(src, "rb");
    rsi_atomic_file f;
    if (!in) {
        rsi_error_class_set(RSI_ERR_INPUT, "cannot read '%s': %s", src,
                            strerror(errno));
        return -1;
    }
    if (rsi_atomic_open(&f, dst) < 0) {
        fclose(in);
        return -1;
    }
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        fwrite(buf, 1, n, f.fp);
    int bad = ferror(in);
    fclose(in);
    if (bad) {
        rsi_atomic_abort(&f);
        rsi_error_class_set(RSI_ERR_INPUT, "cannot read '%s'", src);
        return -1;
    }
    return rsi_atomic_commit(&f);
}

/* dst becomes src: a hard link where the file system allows, else a copy;
 * either way it appears at once (a link under a temporary name, renamed). */
static int place(const char *src, const char *dst)
{
    struct stat a, b;
    if (stat(src, &a) != 0) {
        rsi_error_class_set(RSI_ERR_INPUT, "'%s': %s", src, strerror(errno));
        return -1;
    }
    if (stat(dst, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        return 0;
    char *tmp = NULL;
    int linked = -1, err = 0;
    /* a name nobody has: link() never replaces */
    for (int n = 0; linked < 0 && n < 100; n++) {
        free(tmp);
        tmp = NULL;
        if (asprintf(&tmp, "%s.tmp.%ld.%d", dst, (long)getpid(), 999999 - n) <
            0) {
            rsi_error("out of memory");
            return -1;
        }
        rsi_temporary_note(tmp);
        linked = link(src, tmp);
        err = errno;
        if (linked < 0)
            rsi_temporary_gone(); /* not made */
        if (linked < 0 && err != EEXIST)
            break;
    }
    int rc;
    if (linked == 0) {
        rc = rename(tmp, dst) == 0 ? 0 : -1;
        if (rc < 0) {
            rsi_error_class_set(RSI_ERR_OUTPUT, "cannot write '%s': %s", dst,
                                strerror(errno));
            unlink(tmp);
        }
        rsi_temporary_gone();
    } else if (err == EEXIST) {
        rsi_error_class_set(RSI_ERR_OUTPUT,
                            "cannot write '%s': no free "
                            "temporary name",
                            dst);
        rc = -1;
    } else {
        rc = copy_file(src, dst);
    }
    free(tmp);
    return rc;
}

static int place_files(merge *m)
{
    for (int i = 0; i < m->n; i++) {
        const entry *e = &m->entries[i];
        for (int k = 0; k < 3; k++) {
            const char *rel =
                json_string_value(json_object_get(e->record, file_keys[k]));
            if (!rel)
                continue;
            char *src = rsi_path_join(m->dirs[e->dir], rel),
                 *dst = rsi_path_join(m->out, rel);
            char *slash = dst ? strrchr(dst, '/') : NULL;
            int rc = src && slash ? 0 : -1;
            if (rc == 0) {
                *slash = '\0';
                rc = rsi_mkdir_p(dst);
                *slash = '/';
            }
            if (rc == 0)
                rc = place(src, dst);
            free(src);
            free(dst);
            if (rc < 0)
                return -1;
        }
    }
    return 0;
}

static int write_results(merge *m)
{
    char *path = rsi_path_join(m->out, RSI_RESULTS_FILE);
    rsi_atomic_file f;
    if (!path || rsi_atomic_open(&f, path) < 0) {
        free(path);
        return -1;
    }
    for (int i = 0; i < m->n; i++)
        fprintf(f.fp, "%s\n", m->entries[i].line);
    free(path);
    return rsi_atomic_commit(&f);
}

static int write_montages(merge *m)
{
    const json_t *outputs = json_object_get(m->resolved, "outputs");
    size_t k;
    json_t *v;
    int want = 0;
    json_array_foreach(outputs, k, v)
    {
        want |=
            json_is_string(v) && strcmp(json_string_value(v), "montage") == 0;
    }
    if (!want)
        return 0;
    /* units are image-major: an image's records are consecutive */
    for (int i = 0; i < m->n;) {
        const char *image =
            json_string_value(json_object_get(m->entries[i].record, "image"));
        const char *stem =
            json_string_value(json_object_get(m->entries[i].record, "stem"));
        json_t *records = json_array();
        int j = i;
        for (; j < m->n; j++) {
            const char *im = json_string_value(
                json_object_get(m->entries[j].record, "image"));
            if (!im || !image || strcmp(im, image) != 0)
                break;
            json_array_append(records, m->entries[j].record);
        }
        int rc =
            image && stem ? xp_write_montage(m->out, image, stem, records) : 0;
        json_decref(records);
        if (rc < 0)
            return -1;
        i = j > i ? j : i + 1;
    }
    return 0;
}

static int write_meta(merge *m)
{
    char *cwd = getcwd(NULL, 0);
    char *out = cwd ? xp_absolute(cwd, m->out) : NULL;
    free(cwd);
    if (!out)
        return -1;
    json_object_set_new(m->resolved, "output", json_string(out));
    free(out);
    json_t *from = json_array();
    for (int d = 0; d < m->n_dirs; d++)
        json_array_append_new(from, json_string(m->dirs[d]));
    json_t *run = json_pack("{s:s, s:s, s:s, s:O, s:o, s:{s:i}}", "fingerprint",
                            m->fingerprint, "state", "merged", "shard",
                            "merged", "resolved", m->resolved, "merged_from",
                            from, "last_run", "records", m->n);
    char *yaml = rsi_yaml_from_json(
        m->resolved, "rsicam: the resolved experiment (merged from shards).");
    char *text = run ? json_dumps(run, JSON_INDENT(2)) : NULL;
    char *ypath = rsi_path_join(m->out, "resolved.yaml");
    char *rpath = rsi_path_join(m->out, "run.json");
    int rc = yaml && text && ypath && rpath &&
                     rsi_write_file_atomic(ypath, yaml, strlen(yaml)) == 0 &&
                     rsi_write_file_atomic(rpath, text, strlen(text)) == 0
                 ? 0
                 : -1;
    json_decref(run);
    free(yaml);
    free(text);
    free(ypath);
    free(rpath);
    return rc;
}

int rsi_experiment_merge(const char *out, const char *const *dirs, int n,
                         int quiet)
{
    merge m = {.out = out, .dirs = dirs, .n_dirs = n, .claim = {.fd = -1}};
    int rc = -1;
    for (int d = 0; d < n; d++) {
        char *a = realpath(dirs[d], NULL), *b = realpath(out, NULL);
        int same = a && b && strcmp(a, b) == 0;
        free(a);
        free(b);
        if (same) {
            rsi_error_class_set(RSI_ERR_USAGE,
                                "merge: the output '%s' is also a shard "
                                "directory",
                                out);
            return -1;
        }
    }
    char *summary = rsi_path_join(out, RSI_SUMMARY_FILE);
    char *results = rsi_path_join(out, RSI_RESULTS_FILE);
    if (!summary || !results || read_run_json(&m) < 0 || rsi_mkdir_p(out) < 0 ||
        rsi_out_claim(&m.claim, out, 0) < 0)
        goto done;
    for (int d = 0; d < n; d++)
        if (read_results(&m, d) < 0)
            goto done;
    order_entries(&m);
    if (place_files(&m) < 0 || write_results(&m) < 0 ||
        write_montages(&m) < 0 || rsi_summary_write(results, summary) < 0 ||
        rsi_report_html_write(out, "rsicam merge") < 0 || write_meta(&m) < 0)
        goto done;
    if (!quiet)
        fprintf(stderr,
                "rsicam: merge: %d records from %d directories into "
                "%s\n",
                m.n, n, out);
    rc = 0;
done:
    for (int i = 0; i < m.n; i++) {
        free(m.entries[i].line);
        json_decref(m.entries[i].record);
    }
    free(m.entries);
    json_decref(m.resolved);
    rsi_out_release(&m.claim);
    free(summary);
    free(results);
    return rc;
}
