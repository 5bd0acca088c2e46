/* libFuzzer target: reading results.jsonl (rsi_results_read_stream), the
 * file names its records give (rsi_record_file) and the repair of a torn
 * last line (rsi_repair_tail), on arbitrary bytes.
 *
 * Besides "no crash", it checks their promises: every line reaches the
 * callback as an object or with a reason, except a torn last line; a file
 * name is accepted only when it stays inside the directory (relative, no
 * "..", no symbolic link out: the scratch directory holds one, "up", that
 * points at "/"), with a message pending exactly when it is refused; and a
 * repaired file is the input cut back to a line end, or the input with a
 * newline added after a whole JSON object, nothing else.
 */
#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "results_read.h"
#include "rsicam/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char scratch[64];

static void remove_scratch(void)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/up", scratch);
    unlink(p);
    snprintf(p, sizeof p, "%s/maps", scratch);
    rmdir(p);
    rmdir(scratch);
}

/* The scratch directory: "up" -> "/", "maps/" a real folder; removed at
 * exit. */
static void make_scratch(void)
{
    if (scratch[0])
        return;
    snprintf(scratch, sizeof scratch, "/tmp/rsicam-fuzz-results.XXXXXX");
    if (!mkdtemp(scratch))
        abort();
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/up", scratch);
    if (symlink("/", p) != 0)
        abort();
    snprintf(p, sizeof p, "%s/maps", scratch);
    if (mkdir(p, 0777) != 0)
        abort();
    atexit(remove_scratch);
}

/* Whether rel has a ".." component. */
static int has_dotdot(const char *rel)
{
    for (const char *p = rel; p; p = strchr(p, '/')) {
        p += strspn(p, "/");
        if (strncmp(p, "..", 2) == 0 && (p[2] == '/' || p[2] == '\0'))
            return 1;
    }
    return 0;
}

static void check_name(const char *rel)
{
    rsi_error_clear();
    char *path = rsi_record_file(scratch, rel, "fuzz:1");
    if (!path) {
        if (!rsi_error_pending())
            abort();
        rsi_error_clear();
        return;
    }
    if (rsi_error_pending() || rel[0] == '/' || has_dotdot(rel))
        abort();
    size_t n = strlen(scratch);
    if (strncmp(path, scratch, n) != 0 || path[n] != '/')
        abort();
    /* the first component, past "." and "/": never the link out */
    const char *p = rel;
    while (p[0] == '/' || (p[0] == '.' && (p[1] == '/' || p[1] == '\0')))
        p++;
    if (strncmp(p, "up", 2) == 0 && (p[2] == '/' || p[2] == '\0'))
        abort();
    free(path);
}

static int on_line(void *user, json_t *o, int n, const char *error)
{
    int *lines = user;
    (*lines)++;
    if (n < 1 || (!o && !error))
        abort();
    static const char *const keys[] = {"cam", "heatmap", "overlay"};
    for (int k = 0; o && k < 3; k++) {
        const char *rel = json_string_value(json_object_get(o, keys[k]));
        if (rel)
            check_name(rel);
    }
    return 0;
}

/* rsi_repair_tail on a file holding data: the result is data cut back to
 * just after a newline, or data + "\n". */
static void check_repair(const uint8_t *data, size_t size)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/results.jsonl", scratch);
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(data, 1, size, fp) != size || fclose(fp) != 0)
        abort();
    if (rsi_repair_tail(path) != 0)
        abort();
    fp = fopen(path, "rb");
    char *got = malloc(size + 2);
    size_t n = got ? fread(got, 1, size + 2, fp) : 0;
    fclose(fp);
    unlink(path);
    int ok = n == size && (size == 0 || data[size - 1] == '\n') &&
             memcmp(got, data, n) == 0;
    ok = ok || (n < size && (n == 0 || got[n - 1] == '\n') &&
                memcmp(got, data, n) == 0 && !memchr(data + n, '\n', size - n));
    ok = ok ||
         (n == size + 1 && memcmp(got, data, size) == 0 && got[size] == '\n');
    free(got);
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    make_scratch();
    if (size > 0) {
        FILE *fp = fmemopen((void *)data, size, "r");
        if (!fp)
            abort();
        int lines = 0;
        if (rsi_results_read_stream(fp, "fuzz", on_line, &lines) != 0)
            abort(); /* the callback never stops it; memory cannot fail */
        fclose(fp);
    }
    check_repair(data, size);
    rsi_error_clear();
    return 0;
}
