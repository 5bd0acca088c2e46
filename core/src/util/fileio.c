/* rsicam — atomic file writing, appending and mkdir -p. */

#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "outdir.h"
#include "rsicam/error.h"

/* Distinguishes temporary files of several writers in one process. */
static atomic_ulong tmp_counter;

/* Set by rsi_fileio_defer_sync() for this thread's commits. */
static _Thread_local int defer_sync;

void rsi_fileio_defer_sync(int on)
{
    defer_sync = on;
}

int rsi_fileio_sync(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd < 0 ? -1 : syncfs(fd);
    int err = errno;
    if (fd >= 0)
        close(fd);
    if (rc != 0)
        rsi_error_class_set(RSI_ERR_OUTPUT, "cannot sync '%s': %s", dir,
                            strerror(err));
    return rc == 0 ? 0 : -1;
}

static char *dup_string(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static void release(rsi_atomic_file *f)
{
    free(f->path);
    free(f->tmp_path);
    f->fp = NULL;
    f->path = NULL;
    f->tmp_path = NULL;
}

/* Records the failure of the file being written and removes its temporary
 * file; the temporary must never outlive a failed write. */
static int fail(rsi_atomic_file *f, const char *what, int err)
{
    rsi_error_class_set(RSI_ERR_OUTPUT, "cannot write '%s': %s: %s", f->path,
                        what, strerror(err));
    if (f->tmp_path) {
        unlink(f->tmp_path);
        rsi_temporary_gone();
    }
    release(f);
    return -1;
}

int rsi_atomic_open(rsi_atomic_file *f, const char *path)
{
    f->fp = NULL;
    f->path = NULL;
    f->tmp_path = NULL;
    if (!path || !*path) {
        rsi_error_class_set(RSI_ERR_OUTPUT, "cannot write a file: empty path");
        return -1;
    }
    f->path = dup_string(path);
    size_t cap = strlen(path) + 64;
    f->tmp_path = malloc(cap);
    if (!f->path || !f->tmp_path) {
        free(f->tmp_path); /* nothing was created: nothing to unlink */
        f->tmp_path = NULL;
        return fail(f, "out of memory", ENOMEM);
    }

    /* O_EXCL with our own counter rather than mkstemp(): the same
     * uniqueness guarantee, but the file gets 0666 & ~umask like any file
     * fopen() would create, instead of mkstemp's 0600, which the final
     * rename would otherwise carry over to the output. */
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        unsigned long n = atomic_fetch_add(&tmp_counter, 1);
        snprintf(f->tmp_path, cap, "%s.tmp.%ld.%lu", path, (long)getpid(), n);
        rsi_temporary_note(f->tmp_path);
        fd = open(f->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0) {
            int err = errno;
            rsi_temporary_gone(); /* not made */
            errno = err;
            if (err != EEXIST)
                break;
        }
    }
    if (fd < 0) {
        int err = errno;
        free(f->tmp_path); /* nothing was created: nothing to unlink */
        f->tmp_path = NULL;
        return fail(f, "cannot create a temporary file", err);
    }
    f->fp = fdopen(fd, "wb");
    if (!f->fp) {
        int err = errno;
        close(fd);
        return fail(f, "fdopen", err);
    }
    return 0;
}

/* The temporary file becomes f->path without replacing one already there:
 * renameat2's RENAME_NOREPLACE where the file system has it, else a hard
 * link (which never replaces) and the temporary name unlinked. */
static int place_new(const rsi_atomic_file *f)
{
    if (renameat2(AT_FDCWD, f->tmp_path, AT_FDCWD, f->path, RENAME_NOREPLACE) ==
        0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    if (link(f->tmp_path, f->path) != 0)
        return -1;
    unlink(f->tmp_path);
    return 0;
}

static int commit(rsi_atomic_file *f, int replace)
{
    if (!f->fp) {
        rsi_error_class_set(RSI_ERR_OUTPUT, "cannot write '%s': not open",
                            f->path ? f->path : "(null)");
        release(f);
        return -1;
    }
    FILE *fp = f->fp;
    f->fp = NULL;
    /* A failed fwrite() earlier only set the stream's error flag; its errno
     * is gone, so report what we still can. */
    if (ferror(fp)) {
        int err = errno ? errno : EIO;
        fclose(fp);
        return fail(f, "write error", err);
    }
    if (fflush(fp) != 0) {
        int err = errno;
        fclose(fp);
        return fail(f, "flush", err);
    }
    /* Data must be on disk before the rename makes it visible, or a crash
     * could leave a complete-looking but empty file; deferred, the caller
     * syncs before anything points at the file. */
    if (!defer_sync && fsync(fileno(fp)) != 0) {
        int err = errno;
        fclose(fp);
        return fail(f, "fsync", err);
    }
    if (fclose(fp) != 0)
        return fail(f, "close", errno);
    if (replace ? rename(f->tmp_path, f->path) != 0 : place_new(f) != 0)
        return fail(f, replace ? "rename" : "placing it", errno);
    rsi_temporary_gone();

    if (defer_sync) {
        release(f);
        return 0;
    }
    /* Make the rename itself durable. Some file systems refuse fsync on a
     * directory; the file is complete either way, so that is not an error. */
    char *slash = strrchr(f->path, '/');
    char *dir = NULL;
    if (!slash)
        dir = dup_string(".");
    else if (slash == f->path)
        dir = dup_string("/");
    else if ((dir = dup_string(f->path)) != NULL)
        dir[slash - f->path] = '\0';
    if (dir) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
        free(dir);
    }
    release(f);
    return 0;
}

int rsi_atomic_commit(rsi_atomic_file *f)
{
    return commit(f, 1);
}

int rsi_atomic_commit_new(rsi_atomic_file *f)
{
    return commit(f, 0);
}

void rsi_atomic_abort(rsi_atomic_file *f)
{
    if (!f)
        return;
    if (f->fp)
        fclose(f->fp);
    if (f->tmp_path) {
        unlink(f->tmp_path);
        rsi_temporary_gone();
    }
    release(f);
}

int rsi_write_file_atomic(const char *path, const void *data, size_t n)
{
    rsi_atomic_file f;
    if (rsi_atomic_open(&f, path) != 0)
        return -1;
    if (n > 0 && fwrite(data, 1, n, f.fp) != n) {
        int err = errno ? errno : EIO;
        fclose(f.fp);
        f.fp = NULL;
        return fail(&f, "write", err);
    }
    return rsi_atomic_commit(&f);
}

/* A line's end, as a JSON object: whether text[0..n) parses as one. */
static int whole_record(const char *text, size_t n)
{
    json_t *o = json_loadb(text, n, 0, NULL);
    int whole = json_is_object(o);
    json_decref(o);
    return whole;
}

/* The file's last line lacks its newline: the torn end of a write cut
 * short (a crash, an older rsicam on a full disk). A whole JSON object
 * gets its newline; anything else is cut back to the last newline. Either
 * way one warning line says so. fd: open for reading and writing, its
 * size end. Returns the new size, or -1 with errno. */
static off_t repair_torn_tail(int fd, const char *path, off_t end)
{
    enum { CHUNK = 4096 };
    char buf[CHUNK];
    off_t keep = 0; /* just after the last newline */
    for (off_t pos = end; pos > 0 && !keep;) {
        size_t n = pos > CHUNK ? CHUNK : (size_t)pos;
        pos -= (off_t)n;
        if (pread(fd, buf, n, pos) != (ssize_t)n)
            return -1;
        for (size_t i = n; i > 0 && !keep; i--)
            if (buf[i - 1] == '\n')
                keep = pos + (off_t)i;
    }
    size_t torn = (size_t)(end - keep);
    char *tail = torn <= (1u << 24) ? malloc(torn) : NULL;
    int whole = tail && pread(fd, tail, torn, keep) == (ssize_t)torn &&
                whole_record(tail, torn);
    free(tail);
    if (whole) {
        fprintf(stderr,
                "rsicam: warning: '%s': its last line had no newline; "
                "added\n",
                path);
        return pwrite(fd, "\n", 1, end) == 1 ? end + 1 : -1;
    }
    fprintf(stderr,
            "rsicam: warning: '%s': its last line was torn (%zu bytes, no "
            "newline, left by a failed write); cut off\n",
            path, torn);
    return ftruncate(fd, keep) == 0 ? keep : -1;
}

int rsi_repair_tail(const char *path)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    int rc = flock(fd, LOCK_EX);
    struct stat st;
    char last = '\n';
    if (rc == 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) == 1 &&
        last != '\n')
        rc = repair_torn_tail(fd, path, st.st_size) < 0 ? -1 : 0;
    int err = errno;
    close(fd);
    errno = err;
    return rc;
}

static int append_failed(const char *path, const char *what, int err)
{
    if (what)
        rsi_error_class_set(RSI_ERR_OUTPUT, "cannot append to '%s': %s: %s",
                            path, what, strerror(err));
    else
        rsi_error_class_set(RSI_ERR_OUTPUT, "cannot append to '%s': %s", path,
                            strerror(err));
    return -1;
}

int rsi_append_line(const char *path, const char *line)
{
    size_t len = strlen(line);
    char *buf = malloc(len + 1);
    if (!buf)
        return append_failed(path, NULL, ENOMEM);
    memcpy(buf, line, len);
    buf[len] = '\n';

    int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0 && errno == EACCES) /* write-only: no repair possible */
        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        free(buf);
        return append_failed(path, NULL, err);
    }
    /* Appenders take turns (threads and processes alike): the end seen
     * here is the end the write goes to, so that a write cut short can be
     * undone, and a torn tail is never one still being written. */
    struct stat st;
    off_t end = -1;
    if (flock(fd, LOCK_EX) == 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        end = st.st_size;
        char last = '\n';
        if (end > 0 && pread(fd, &last, 1, end - 1) == 1 && last != '\n')
            end = repair_torn_tail(fd, path, end);
    }
    ssize_t w;
    do
        w = write(fd, buf, len + 1);
    while (w < 0 && errno == EINTR);
    int err = errno;
    free(buf);
    if (w < 0 || (size_t)w != len + 1) {
        /* all or nothing: a part of a line would glue onto the next */
        if (w > 0 && end >= 0 && ftruncate(fd, end) != 0)
            fprintf(stderr,
                    "rsicam: warning: '%s': cannot cut off a partial line: "
                    "%s\n",
                    path, strerror(errno));
        close(fd);
        if (w < 0)
            return append_failed(path, NULL, err);
        rsi_error_class_set(RSI_ERR_OUTPUT,
                            "cannot append to '%s': short write (%zd of %zu "
                            "bytes: the disk is full or a file size limit "
                            "was reached)",
                            path, w, len + 1);
        return -1;
    }
    if (fsync(fd) != 0) {
        err = errno;
        close(fd);
        return append_failed(path, "fsync", err);
    }
    if (close(fd) != 0)
        return append_failed(path, "close", errno);
    return 0;
}

/* Creates one directory; an existing directory is success. */
static int make_one(const char *p, const char *whole)
{
    if (mkdir(p, 0777) == 0)
        return 0;
    int err = errno;
    struct stat st;
    if (err == EEXIST) {
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
            return 0;
        rsi_error_class_set(RSI_ERR_OUTPUT,
                            "cannot create directory '%s': '%s' exists and is "
                            "not a directory",
                            whole, p);
        return -1;
    }
    /* A parent we may not write to can still hold the directory we want. */
    if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    if (strcmp(p, whole) == 0)
        rsi_error_class_set(RSI_ERR_OUTPUT, "cannot create directory '%s': %s",
                            whole, strerror(err));
    else
        rsi_error_class_set(RSI_ERR_OUTPUT,
                            "cannot create directory '%s': at '%s': %s", whole,
                            p, strerror(err));
    return -1;
}

int rsi_mkdir_p(const char *dir)
{
    if (!dir || !*dir) {
        rsi_error_class_set(RSI_ERR_OUTPUT,
                            "cannot create directory: empty path");
        return -1;
    }
    char *p = dup_string(dir);
    if (!p) {
        rsi_error_class_set(RSI_ERR_OUTPUT, "cannot create directory '%s': %s",
                            dir, strerror(ENOMEM));
        return -1;
    }
    int rc = 0;
    /* Each prefix ending before a '/', skipping the root and repeated
     * slashes, then the whole path. */
    for (char *s = p + 1; *s && rc == 0; s++) {
        if (*s != '/' || s[-1] == '/')
            continue;
        *s = '\0';
        rc = make_one(p, dir);
        *s = '/';
    }
    if (rc == 0)
        rc = make_one(p, dir);
    free(p);
    return rc;
}
