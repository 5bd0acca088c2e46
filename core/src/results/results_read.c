/* rsicam — reading results.jsonl and the files its records name
 * (results_read.h). */
#include "results_read.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "rsicam/error.h"

int rsi_results_read_stream(FILE *fp, const char *name, rsi_results_fn fn,
                            void *user)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0;
    for (int n = 1; rc == 0 && (len = getline(&line, &cap, fp)) >= 0; n++) {
        const int torn = len > 0 && line[len - 1] != '\n';
        if ((size_t)len != strlen(line)) {
            json_t *none = NULL; /* a NUL byte: no JSON text has one */
            rc = fn(user, none, n, "a NUL byte in the line");
            continue;
        }
        if (line[strspn(line, " \t\r\n")] == '\0')
            continue;
        json_error_t jerr;
        json_t *o = json_loads(line, 0, &jerr);
        if (!json_is_object(o) && torn) {
            fprintf(stderr,
                    "rsicam: warning: %s:%d: the last line is torn (%zd "
                    "bytes, no newline: a write cut short); skipped\n",
                    name, n, len);
        } else {
            rc = fn(user, json_is_object(o) ? o : NULL, n,
                    o ? "another JSON value, not an object" : jerr.text);
        }
        json_decref(o);
    }
    if (rc == 0 && ferror(fp)) {
        rsi_error_class_set(RSI_ERR_INPUT, "cannot read '%s': %s", name,
                            strerror(errno));
        rc = -1;
    }
    free(line);
    return rc;
}

int rsi_results_read(const char *path, int missing_ok, rsi_results_fn fn,
                     void *user)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        if (errno == ENOENT && missing_ok)
            return 0;
        rsi_error_class_set(RSI_ERR_INPUT, "cannot read '%s': %s", path,
                            strerror(errno));
        return -1;
    }
    int rc = rsi_results_read_stream(fp, path, fn, user);
    fclose(fp);
    return rc;
}

/* Whether rel climbs: a ".." component. */
static int climbs(const char *rel)
{
    for (const char *p = rel; p; p = strchr(p, '/')) {
        p += strspn(p, "/");
        if (p[0] == '.' && p[1] == '.' && (p[2] == '/' || p[2] == '\0'))
            return 1;
    }
    return 0;
}

/* Whether the real path of path, or of the nearest of its parents that
 * exists, lies inside real_dir. */
static int stays_inside(const char *path, const char *real_dir)
{
    char *probe = strdup(path);
    char *real = NULL;
    while (probe && !(real = realpath(probe, NULL))) {
        char *slash = strrchr(probe, '/');
        if (errno != ENOENT || !slash || slash == probe)
            break;
        *slash = '\0'; /* not there yet: its parent decides */
    }
    size_t n = strlen(real_dir);
    int inside =
        real && strncmp(real, real_dir, n) == 0 &&
        (real[n] == '/' || real[n] == '\0' || (n == 1 && real_dir[0] == '/'));
    free(real);
    free(probe);
    return inside;
}

char *rsi_record_file(const char *dir, const char *rel, const char *where)
{
    const char *why = !*rel                     ? "is empty"
                      : rel[0] == '/'           ? "is absolute"
                      : climbs(rel)             ? "climbs out with '..'"
                      : strlen(rel) >= PATH_MAX ? "is too long"
                                                : NULL;
    char *path = NULL, *real_dir = NULL;
    if (!why && asprintf(&path, "%s/%s", dir, rel) < 0) {
        rsi_error("out of memory");
        return NULL;
    }
    if (!why &&
        (!(real_dir = realpath(dir, NULL)) || !stays_inside(path, real_dir)))
        why = "leads out of its directory through a symbolic link";
    free(real_dir);
    if (why) {
        rsi_error_class_set(RSI_ERR_INPUT,
                            "%s: the file name '%s' %s; a record may only "
                            "name files inside '%s'",
                            where, rel, why, dir);
        free(path);
        return NULL;
    }
    return path;
}
