/* rsicam — an experiment's output directory between runs: the lock, what a
 * killed run leaves behind, and which units are finished.
 *
 * A unit's map files are each written atomically (a temporary file renamed
 * into place) and its records are appended to results.jsonl in one write
 * after all its files exist. So after a SIGKILL the directory holds whole
 * map files, whole records, and at worst: temporary files of the unit that
 * was being written (removed here), map files without records (rewritten
 * when the unit runs again), and, were a write ever cut short, a last line
 * without its newline (cut off here). A unit is finished when
 * results.jsonl has its records.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "experiment_internal.h"
#include "fileio.h"
#include "results.h"
#include "rsicam/error.h"

/* fileio.h's temporaries end in ".tmp.PID.N". */
static int is_temporary(const char *name)
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

static int removed_count;

static int remove_temporary(const char *path, const struct stat *st, int flag,
                            struct FTW *ftw)
{
    (void)st;
    if (flag == FTW_F && is_temporary(path + ftw->base) && unlink(path) == 0)
        removed_count++;
    return 0;
}

int xp_remove_temporaries(const char *dir)
{
    removed_count = 0;
    nftw(dir, remove_temporary, 16, FTW_PHYS);
    return removed_count;
}

/* Cuts a last line that lacks its newline: a torn append. */
static int repair_tail(const char *path)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    struct stat st;
    int rc = fstat(fd, &st);
    off_t end = st.st_size;
    char c = '\n';
    if (rc == 0 && end > 0 && pread(fd, &c, 1, end - 1) == 1 && c != '\n') {
        /* back to the last newline */
        char buf[4096];
        off_t keep = 0;
        for (off_t pos = end; pos > 0 && !keep;) {
            size_t n = pos > (off_t)sizeof buf ? sizeof buf : (size_t)pos;
            pos -= (off_t)n;
            if (pread(fd, buf, n, pos) != (ssize_t)n) {
                rc = -1;
                break;
            }
            for (size_t i = n; i > 0 && !keep; i--)
                if (buf[i - 1] == '\n')
                    keep = pos + (off_t)i;
        }
        if (rc == 0)
            rc = ftruncate(fd, keep) == 0 && fsync(fd) == 0 ? 0 : -1;
    }
    close(fd);
    return rc;
}

/* The key of a unit in the done set. */
static char *unit_key(const char *group, const char *image)
{
    char *k = NULL;
    return asprintf(&k, "%s\n%s", group, image) < 0 ? NULL : k;
}

static int read_done(xp_state *st)
{
    FILE *fp = fopen(st->results, "r");
    if (!fp)
        return errno == ENOENT ? 0 : -1;
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    for (int n = 1; rc == 0 && getline(&line, &cap, fp) >= 0; n++) {
        if (line[strspn(line, " \t\r\n")] == '\0')
            continue;
        json_error_t jerr;
        json_t *o = json_loads(line, 0, &jerr);
        const char *group = json_string_value(json_object_get(o, "group"));
        const char *image = json_string_value(json_object_get(o, "image"));
        if (!json_is_object(o)) {
            rsi_error_class_set(RSI_ERR_OUTPUT,
                                "%s:%d: not a JSON object "
                                "(%s); remove the line to go "
                                "on",
                                st->results, n, jerr.text);
            rc = -1;
        } else if (group && image) {
            char *k = unit_key(group, image);
            if (k)
                json_object_set_new(st->done, k, json_true());
            free(k);
        }
        json_decref(o);
    }
    free(line);
    fclose(fp);
    return rc;
}

/* run.json's fingerprint must match, or the directory be new. */
static int check_same_experiment(const rsi_experiment *xp)
{
    char *run = NULL, *results = NULL;
    if (asprintf(&run, "%s/run.json", xp->output) < 0 ||
        asprintf(&results, "%s/%s", xp->output, RSI_RESULTS_FILE) < 0) {
        free(run);
        rsi_error("out of memory");
        return -1;
    }
    int rc = 0;
    json_error_t jerr;
    json_t *o = json_load_file(run, 0, &jerr);
    char fp[17];
    xp_fingerprint(xp, fp);
    const char *theirs = json_string_value(json_object_get(o, "fingerprint"));
    if (o && theirs && strcmp(theirs, fp) != 0) {
        rsi_error_class_set(RSI_ERR_USAGE,
                            "'%s' holds the results of a different experiment "
                            "(its model, layers, targets, methods, score, "
                            "outputs or metrics differ); choose another "
                            "output directory",
                            xp->output);
        rc = -1;
    } else if (!o && access(results, F_OK) == 0) {
        rsi_error_class_set(RSI_ERR_USAGE,
                            "'%s' holds results.jsonl but no run.json: not "
                            "an experiment's directory; choose another output "
                            "directory",
                            xp->output);
        rc = -1;
    }
    json_decref(o);
    free(run);
    free(results);
    return rc;
}

int xp_state_open(xp_state *st, const rsi_experiment *xp)
{
    *st = (xp_state){.lock_fd = -1};
    char *lock = NULL;
    if (rsi_mkdir_p(xp->output) < 0)
        return -1;
    if (asprintf(&lock, "%s/.rsicam.lock", xp->output) < 0 ||
        asprintf(&st->results, "%s/%s", xp->output, RSI_RESULTS_FILE) < 0 ||
        !(st->done = json_object())) {
        free(lock);
        rsi_error("out of memory");
        return -1;
    }
    /* flock: released by the kernel however the holder dies */
    st->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (st->lock_fd < 0 || flock(st->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        rsi_error_class_set(RSI_ERR_OUTPUT, "'%s': %s", xp->output,
                            st->lock_fd < 0 ? strerror(errno)
                                            : "another rsicam run is writing "
                                              "there");
        free(lock);
        return -1;
    }
    free(lock);
    if (check_same_experiment(xp) < 0)
        return -1;
    xp_remove_temporaries(xp->output);
    if (repair_tail(st->results) < 0) {
        rsi_error_class_set(RSI_ERR_OUTPUT, "cannot repair '%s': %s",
                            st->results, strerror(errno));
        return -1;
    }
    return read_done(st);
}

void xp_state_close(xp_state *st)
{
    if (st->lock_fd >= 0)
        close(st->lock_fd);
    free(st->results);
    json_decref(st->done);
    *st = (xp_state){.lock_fd = -1};
}

int xp_state_is_done(const xp_state *st, const char *group, const char *image)
{
    char *k = unit_key(group, image);
    int done = k && json_object_get(st->done, k) != NULL;
    free(k);
    return done;
}

int xp_state_mark_done(xp_state *st, const char *group, const char *image)
{
    char *k = unit_key(group, image);
    int rc = k ? json_object_set_new(st->done, k, json_true()) : -1;
    free(k);
    return rc;
}

json_t *xp_records_of_image(const char *results, const char *image)
{
    json_t *out = json_array();
    FILE *fp = fopen(results, "r");
    char *line = NULL;
    size_t cap = 0;
    while (fp && out && getline(&line, &cap, fp) >= 0) {
        json_t *o = json_loads(line, 0, NULL);
        const char *im = json_string_value(json_object_get(o, "image"));
        if (im && strcmp(im, image) == 0)
            json_array_append(out, o);
        json_decref(o);
    }
    free(line);
    if (fp)
        fclose(fp);
    return out;
}
