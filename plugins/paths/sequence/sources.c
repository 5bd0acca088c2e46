/* The "sequence" path's sources of points (sequence.h).
 *
 * A folder holds images whose names end in a known image suffix (any
 * case); everything else (a README, hidden files) is skipped, and the
 * images are taken in byte order of their names, so "frame-007.png" comes
 * before "frame-010.png" when numbers are zero-padded. A list file holds
 * one image path a line; relative paths are relative to the list file's
 * folder; blank lines and lines starting with '#' are skipped.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "regular_file.h"
#include "sequence.h"

/* A list file names images, one a line: 64 MiB is a million long paths. */
#define LIST_MAX_BYTES (64 << 20)

static const char *const image_suffixes[] = {
    ".png", ".jpg",  ".jpeg", ".tif",  ".tiff", ".webp", ".gif",
    ".bmp", ".ppm",  ".pgm",  ".pnm",  ".pfm",  ".hdr",  ".jp2",
    ".jxl", ".avif", ".heic", ".heif", ".exr",  ".v",    NULL};

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && strcasecmp(s + n - k, suffix) == 0;
}

static int is_image_name(const char *name)
{
    if (name[0] == '.')
        return 0;
    for (int i = 0; image_suffixes[i]; i++)
        if (has_suffix(name, image_suffixes[i]))
            return 1;
    return 0;
}

/* Appends dir/name (or name alone when dir is NULL). */
static int add_file(const rsi_host_api *h, seq_source *src, size_t *cap,
                    const char *dir, const char *name)
{
    if ((size_t)src->count == *cap) {
        size_t n = *cap ? 2 * *cap : 64;
        char **grown = realloc(src->files, n * sizeof *grown);
        if (!grown) {
            h->error("out of memory");
            return -1;
        }
        src->files = grown;
        *cap = n;
    }
    size_t len = (dir ? strlen(dir) + 1 : 0) + strlen(name) + 1;
    char *path = malloc(len);
    if (!path) {
        h->error("out of memory");
        return -1;
    }
    snprintf(path, len, "%s%s%s", dir ? dir : "", dir ? "/" : "", name);
    src->files[src->count++] = path;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int from_dir(seq_source *src, const rsi_host_api *h, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        h->error_class(RSI_ERR_USAGE, "cannot open folder '%s': %s", dir,
                       strerror(errno));
        return -1;
    }
    size_t cap = 0;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)))
        if (is_image_name(e->d_name))
            rc = add_file(h, src, &cap, dir, e->d_name);
    closedir(d);
    if (rc == 0 && src->count > 1)
        qsort(src->files, (size_t)src->count, sizeof *src->files, by_name);
    return rc;
}

/* The folder part of path ("." when there is none), malloc'd. */
static char *folder_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && strchr(" \t\r\n", s[n - 1]))
        s[--n] = '\0';
    return s;
}

static int from_list(seq_source *src, const rsi_host_api *h, const char *list)
{
    char *text = NULL, *base = folder_of(list);
    size_t len;
    const char *why = "out of memory";
    if (!base ||
        rsi_read_regular(list, LIST_MAX_BYTES, &text, &len, &why) < 0) {
        h->error_class(RSI_ERR_USAGE, "cannot read '%s': %s", list, why);
        free(base);
        return -1;
    }
    size_t cap = 0;
    int rc = 0;
    for (char *line = text; rc == 0 && *line;) {
        size_t n = strcspn(line, "\n");
        char *next = line + n + (line[n] == '\n');
        line[n] = '\0';
        char *name = trim(line);
        if (*name && *name != '#')
            rc = add_file(h, src, &cap, *name == '/' ? NULL : base, name);
        line = next;
    }
    free(text);
    free(base);
    for (int64_t i = 0; rc == 0 && i < src->count; i++) {
        struct stat st;
        if (stat(src->files[i], &st) != 0) {
            h->error_class(RSI_ERR_USAGE, "'%s' (entry %lld of '%s'): %s",
                           src->files[i], (long long)i + 1, list,
                           strerror(errno));
            rc = -1;
        }
    }
    return rc;
}

int seq_source_open(seq_source *src, const rsi_host_api *h, const char *points)
{
    *src = (seq_source){0};
    struct stat st;
    int rc;
    if (has_suffix(points, ".npy")) {
        src->array = h->image_read(points);
        rc = src->array ? 0 : -1;
        if (rc == 0 && h->tensor_ndim(src->array) != 4) {
            h->error_class(RSI_ERR_USAGE,
                           "'%s': expected points [P, C, H, W], got %d "
                           "dimensions",
                           points, h->tensor_ndim(src->array));
            rc = -1;
        }
        if (rc == 0)
            src->count = h->tensor_size(src->array, 0);
    } else if (stat(points, &st) == 0 && S_ISDIR(st.st_mode)) {
        rc = from_dir(src, h, points);
    } else {
        rc = from_list(src, h, points);
    }
    if (rc == 0 && src->count < 2) {
        h->error_class(RSI_ERR_USAGE,
                       "'%s' gives %lld point(s); a path needs at least 2 "
                       "(the baseline and the image)",
                       points, (long long)src->count);
        rc = -1;
    }
    if (rc < 0)
        seq_source_close(src, h);
    return rc;
}

void seq_source_close(seq_source *src, const rsi_host_api *h)
{
    h->tensor_free(src->array);
    for (int64_t i = 0; src->files && i < src->count; i++)
        free(src->files[i]);
    free(src->files);
    *src = (seq_source){0};
}
