/* rsicam — an experiment's output directory between runs: the lock, what a
 * killed run leaves behind, and which units are finished.
 *
 * A unit's map files are each written atomically (a temporary file renamed
 * into place) and its records are appended to results.jsonl in one write
 * after all its files exist. So after a SIGKILL the directory holds whole
 * map files, whole records, and at worst: temporary files of the unit that
 * was being written (removed by outdir.h, from their record), map files
 * without records (rewritten when the unit runs again), and, were a write
 * ever cut short, a last line without its newline (repaired here, before
 * reading, by fileio.h). A unit is finished when results.jsonl has its
 * records.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "experiment_internal.h"
#include "fileio.h"
#include "outdir.h"
#include "results.h"
#include "results_read.h"
#include "rsicam/error.h"

/* The key of a unit in the done set. */
static char *unit_key(const char *group, const char *image)
{
    char *k = NULL;
    return asprintf(&k, "%s\n%s", group, image) < 0 ? NULL : k;
}

static int add_done(void *user, json_t *o, int n, const char *error)
{
    xp_state *st = user;
    if (!o) {
        rsi_error_class_set(RSI_ERR_OUTPUT,
                            "%s:%d: not a JSON object (%s); remove the line to "
                            "go on",
                            st->results, n, error);
        return -1;
    }
    const char *group = json_string_value(json_object_get(o, "group"));
    const char *image = json_string_value(json_object_get(o, "image"));
    if (group && image) {
        char *k = unit_key(group, image);
        if (k)
            json_object_set_new(st->done, k, json_true());
        free(k);
    }
    return 0;
}

static int read_done(xp_state *st)
{
    return rsi_results_read(st->results, 1, add_done, st);
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
    *st = (xp_state){.out = {.fd = -1}};
    if (rsi_mkdir_p(xp->output) < 0)
        return -1;
    if (asprintf(&st->results, "%s/%s", xp->output, RSI_RESULTS_FILE) < 0 ||
        !(st->done = json_object())) {
        rsi_error("out of memory");
        return -1;
    }
    if (rsi_out_claim(&st->out, xp->output, 0) < 0 ||
        check_same_experiment(xp) < 0)
        return -1;
    if (rsi_repair_tail(st->results) < 0) {
        rsi_error_class_set(RSI_ERR_OUTPUT, "cannot repair '%s': %s",
                            st->results, strerror(errno));
        return -1;
    }
    return read_done(st);
}

void xp_state_close(xp_state *st)
{
    rsi_out_release(&st->out);
    free(st->results);
    json_decref(st->done);
    *st = (xp_state){.out = {.fd = -1}};
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

typedef struct image_records {
    const char *image;
    json_t *out;
} image_records;

static int add_if_image(void *user, json_t *o, int n, const char *error)
{
    (void)n, (void)error;
    image_records *r = user;
    const char *im = json_string_value(json_object_get(o, "image"));
    if (im && strcmp(im, r->image) == 0)
        json_array_append(r->out, o);
    return 0;
}

json_t *xp_records_of_image(const char *results, const char *image)
{
    image_records r = {image, json_array()};
    if (r.out && rsi_results_read(results, 1, add_if_image, &r) < 0)
        rsi_error_clear(); /* what could be read: the montage shows it */
    return r.out;
}
