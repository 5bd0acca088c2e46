/* rsicam — an output directory's lock and its record of temporaries
 * (outdir.h). */
#include "outdir.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "path.h"
#include "rsicam/error.h"

#define LOCK_NAME ".rsicam.lock"
#define RECORD_NAME ".rsicam.temporaries"

/* Opens the lock file, creating it when missing (*created says so);
 * -1 with errno set. */
static int open_lock(const char *path, int *created)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    *created = fd >= 0;
    if (fd < 0 && errno == EEXIST) {
        fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0 && (errno == EACCES || errno == EROFS))
            fd = open(path, O_RDONLY | O_CLOEXEC); /* flock needs no write */
    }
    return fd;
}

static int take_lock(rsi_out *l, const char *dir, int remove_after)
{
    *l = (rsi_out){.fd = -1, .path = rsi_path_join(dir, LOCK_NAME)};
    if (!l->path) {
        rsi_error("out of memory");
        return -1;
    }
    /* A holder that removes the file does so while holding it: a lock
     * taken on a file that is no longer at the path is taken again. */
    for (int attempt = 0; attempt < 100; attempt++) {
        int created = 0;
        int fd = open_lock(l->path, &created);
        if (fd < 0 && errno == ENOENT)
            continue; /* removed between the two opens */
        if (fd < 0 && (errno == EROFS || errno == EACCES) &&
            access(l->path, F_OK) != 0)
            return 0; /* nothing can be written there: nothing to guard */
        if (fd < 0) {
            rsi_error_class_set(RSI_ERR_OUTPUT, "'%s': cannot lock: %s", dir,
                                strerror(errno));
            break;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
            int err = errno;
            close(fd);
            if (err == EWOULDBLOCK)
                rsi_error_class_set(RSI_ERR_OUTPUT,
                                    "'%s': another rsicam run is writing "
                                    "there",
                                    dir);
            else
                rsi_error_class_set(RSI_ERR_OUTPUT, "'%s': cannot lock: %s",
                                    dir, strerror(err));
            break;
        }
        struct stat held, now;
        if (fstat(fd, &held) == 0 && stat(l->path, &now) == 0 &&
            held.st_dev == now.st_dev && held.st_ino == now.st_ino) {
            l->fd = fd;
            l->remove = remove_after && created;
            return 0;
        }
        close(fd);
    }
    if (!rsi_error_pending())
        rsi_error_class_set(RSI_ERR_OUTPUT, "'%s': cannot lock", dir);
    free(l->path);
    l->path = NULL;
    return -1;
}

/* ---- temporaries --------------------------------------------------------- */

/* Whether name (no directory) has the shape of a temporary's name. */
static int temporary_name(const char *name)
{
    const char *t = strstr(name, ".tmp.");
    while (t) {
        const char *p = t + 5;
        size_t a = strspn(p, "0123456789");
        if (a && p[a] == '.') {
            size_t b = strspn(p + a + 1, "0123456789");
            if (b && p[a + 1 + b] == '\0')
                return 1;
        }
        t = strstr(t + 1, ".tmp.");
    }
    return 0;
}

/* The recording: the directory (no trailing '/') and the record's fd. */
static pthread_mutex_t record_mutex = PTHREAD_MUTEX_INITIALIZER;
static char *record_dir;
static size_t record_dir_len;
static int record_fd = -1;
static long outstanding; /* temporaries noted and not yet gone */

/* A recorded name may only name a temporary inside the directory: not
 * absolute, no "..", a temporary's shape. */
static int safe_entry(const char *rel)
{
    if (!*rel || rel[0] == '/')
        return 0;
    for (const char *p = rel; p; p = strchr(p, '/')) {
        p += *p == '/';
        if (strncmp(p, "..", 2) == 0 && (p[2] == '/' || p[2] == '\0'))
            return 0;
    }
    const char *base = strrchr(rel, '/');
    return temporary_name(base ? base + 1 : rel);
}

static int clean_temporaries(const char *dir)
{
    char *path = rsi_path_join(dir, RECORD_NAME);
    FILE *fp = path ? fopen(path, "r") : NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int removed = 0;
    while (fp && (len = getline(&line, &cap, fp)) > 0) {
        if (line[len - 1] == '\n')
            line[len - 1] = '\0';
        char *file = safe_entry(line) ? rsi_path_join(dir, line) : NULL;
        struct stat st;
        if (file && lstat(file, &st) == 0 && S_ISREG(st.st_mode) &&
            unlink(file) == 0)
            removed++;
        free(file);
    }
    free(line);
    if (fp) {
        fclose(fp);
        unlink(path);
    }
    free(path);
    return removed;
}

static int record_temporaries(const char *dir)
{
    char *path = rsi_path_join(dir, RECORD_NAME);
    int fd =
        path ? open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666) : -1;
    if (fd < 0) {
        rsi_error_class_set(RSI_ERR_OUTPUT, "cannot write '%s': %s",
                            path ? path : dir,
                            path ? strerror(errno) : "out of memory");
        free(path);
        return -1;
    }
    free(path);
    pthread_mutex_lock(&record_mutex);
    free(record_dir);
    if (record_fd >= 0)
        close(record_fd);
    record_dir = strdup(dir);
    record_dir_len = record_dir ? strlen(record_dir) : 0;
    while (record_dir_len > 1 && record_dir[record_dir_len - 1] == '/')
        record_dir[--record_dir_len] = '\0';
    record_fd = fd;
    pthread_mutex_unlock(&record_mutex);
    return 0;
}

static void stop_recording(void)
{
    pthread_mutex_lock(&record_mutex);
    if (record_fd >= 0) {
        close(record_fd);
        char *path = rsi_path_join(record_dir, RECORD_NAME);
        if (path)
            unlink(path);
        free(path);
    }
    free(record_dir);
    record_dir = NULL;
    record_fd = -1;
    pthread_mutex_unlock(&record_mutex);
}

void rsi_temporary_note(const char *tmp_path)
{
    pthread_mutex_lock(&record_mutex);
    outstanding++;
    if (record_fd >= 0 && record_dir &&
        strncmp(tmp_path, record_dir, record_dir_len) == 0 &&
        tmp_path[record_dir_len] == '/') {
        const char *rel = tmp_path + record_dir_len;
        rel += strspn(rel, "/");
        char *line = NULL;
        int n = asprintf(&line, "%s\n", rel);
        /* one write per name, before the file exists: a kill between
         * the two leaves a name without a file, which clean skips */
        if (n > 0 && write(record_fd, line, (size_t)n) != n)
            (void)0; /* unrecorded: left behind at worst, never lost */
        free(line);
    }
    pthread_mutex_unlock(&record_mutex);
}

void rsi_temporary_gone(void)
{
    pthread_mutex_lock(&record_mutex);
    if (--outstanding <= 0) {
        outstanding = 0;
        /* nothing of this process's left to clean: start afresh (the
         * descriptor appends, so the next name goes to the start) */
        if (record_fd >= 0 && ftruncate(record_fd, 0) != 0)
            (void)0; /* a longer record: names without files, skipped */
    }
    pthread_mutex_unlock(&record_mutex);
}

/* ---- claiming a directory ------------------------------------------------ */

int rsi_out_claim(rsi_out *o, const char *dir, int remove_after)
{
    if (take_lock(o, dir, remove_after) < 0)
        return -1;
    if (o->fd < 0)
        return 0; /* read-only: no temporary can be made there either */
    clean_temporaries(dir);
    if (record_temporaries(dir) < 0) {
        rsi_out_release(o);
        return -1;
    }
    return 0;
}

void rsi_out_release(rsi_out *o)
{
    if (o->fd >= 0) {
        stop_recording();
        if (o->remove)
            unlink(o->path);
        close(o->fd);
    }
    free(o->path);
    *o = (rsi_out){.fd = -1};
}
