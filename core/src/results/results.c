/* rsicam — writing maps and results.jsonl (see results.h). */
#include "results.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cam.h"
#include "colormap.h"
#include "fileio.h"
#include "npy.h"
#include "path.h"
#include "rsicam/error.h"

enum { NFILES = 3 };
static const char *const suffixes[NFILES] = {".cam.npy", ".heatmap.npy",
                                             ".png"};

/* A map's file name: dir + sep + stem + suffix, as records give it
 * (a prefix "maps/" and no sep) or as it is opened (a directory and "/"). */
static char *map_file_name(const char *dir, const char *sep, const char *stem,
                           const char *suffix)
{
    char *s = NULL;
    return asprintf(&s, "%s%s%s%s", dir, sep, stem, suffix) < 0 ? NULL : s;
}

static json_t *number_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *map_json(const rsi_map_record *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "status", json_string("ok"));
    json_object_set_new(o, "image", json_string(r->image));
    json_object_set_new(o, "model", json_string(r->model));
    json_object_set_new(o, "layer", json_string(r->layer));
    json_object_set_new(o, "method", json_string(r->method));
    json_object_set_new(o, "variant", json_string(r->variant));
    json_object_set_new(o, "score", json_string(r->score));
    if (r->target)
        json_object_set_new(o, "target", json_string(r->target));
    if (r->warning)
        json_object_set_new(o, "warning", json_string(r->warning));
    json_object_set_new(o, "class", json_integer(r->class_index));
    json_object_set_new(o, "label",
                        r->label ? json_string(r->label) : json_null());
    json_object_set_new(o, "probability", number_or_null(r->probability));
    json_object_set_new(o, "score_image", number_or_null(r->score_image));
    json_object_set_new(o, "score_baseline", number_or_null(r->score_baseline));
    if (r->has_ig) {
        double diff = r->score_image - r->score_baseline;
        json_object_set_new(o, "ig_sum", number_or_null(r->ig_sum));
        json_object_set_new(o, "completeness_gap",
                            number_or_null(r->ig_sum - diff));
        json_object_set_new(
            o, "completeness_rel",
            number_or_null(fabs(r->ig_sum - diff) / fabs(diff)));
    } else {
        json_object_set_new(o, "ig_sum", json_null());
    }
    json_object_set_new(o, "baseline", json_string(r->baseline));
    json_object_set_new(o, "path", json_string(r->path));
    json_object_set_new(o, "steps", json_integer(r->steps));
    if (r->tol > 0)
        json_object_set_new(o, "tol", json_real(r->tol));
    json_object_set_new(o, "points", json_integer(r->points));
    json_object_set_new(o, "seconds", number_or_null(r->seconds));
    return o;
}

json_t *rsi_results_map_json(const rsi_map_record *rec, const char *prefix,
                             const char *stem, int files)
{
    static const char *const keys[NFILES] = {"cam", "heatmap", "overlay"};
    json_t *o = map_json(rec);
    files = files ? files : RSI_FILE_ALL;
    for (int i = 0; o && i < NFILES; i++) {
        char *name = files & (1 << i) ? map_file_name(prefix ? prefix : "", "",
                                                      stem, suffixes[i])
                                      : NULL;
        json_object_set_new(o, keys[i], name ? json_string(name) : json_null());
        free(name);
    }
    return o;
}

json_t *rsi_results_failure_json(const char *image, const char *model,
                                 const char *message, int error_class)
{
    json_t *o = json_object();
    json_object_set_new(o, "status", json_string("failed"));
    json_object_set_new(o, "image", json_string(image));
    json_object_set_new(o, "model", json_string(model));
    json_object_set_new(o, "error", json_string(message));
    json_object_set_new(o, "error_class", json_integer(error_class));
    return o;
}

int rsi_results_append(const char *file, const json_t *records)
{
    size_t n = json_array_size(records), used = 0, cap = 0;
    char *all = NULL;
    int rc = 0;
    /* every line joined, so that one write() carries them all */
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char *line = json_dumps(json_array_get(records, i),
                                JSON_COMPACT | JSON_ENSURE_ASCII);
        size_t len = line ? strlen(line) : 0;
        if (line && used + len + 2 > cap) {
            cap = 2 * (used + len + 2);
            char *grown = realloc(all, cap);
            if (!grown) {
                free(line);
                line = NULL;
            } else {
                all = grown;
            }
        }
        if (!line) {
            rsi_error_class_set(RSI_ERR_OUTPUT,
                                "cannot append to '%s': out "
                                "of memory",
                                file);
            rc = -1;
            break;
        }
        if (used)
            all[used++] = '\n';
        memcpy(all + used, line, len + 1);
        used += len;
        free(line);
    }
    if (rc == 0 && n)
        rc = rsi_append_line(file, all);
    free(all);
    return rc;
}

static int write_files(char *const files[NFILES], int which,
                       const rsi_tensor *cam, const float *heat,
                       const rsi_image *img)
{
    const int64_t h = rsi_tensor_size(cam, 0), w = rsi_tensor_size(cam, 1);
    const int64_t H = img->height, W = img->width;
    if (which & RSI_FILE_CAM) {
        float *cam_data = malloc((size_t)(h * w) * sizeof(float));
        const int64_t cam_shape[2] = {h, w};
        int rc = cam_data ? rsi_tensor_to_floats(cam, cam_data, h * w) : -1;
        if (rc == 0)
            rc = rsi_npy_write_f32(files[0], cam_data, cam_shape, 2);
        if (!cam_data)
            rsi_error("out of memory");
        free(cam_data);
        if (rc < 0)
            return -1;
    }
    const int64_t heat_shape[2] = {H, W};
    if ((which & RSI_FILE_HEATMAP) &&
        rsi_npy_write_f32(files[1], heat, heat_shape, 2) < 0)
        return -1;
    if (which & RSI_FILE_OVERLAY) {
        uint8_t *overlay = malloc((size_t)(H * W * 3));
        if (!overlay) {
            rsi_error("out of memory");
            return -1;
        }
        rsi_overlay_jet(img, heat, 0.5f, overlay);
        int rc = rsi_image_write_png(files[2], overlay, (int)W, (int)H);
        free(overlay);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* The three file paths of a map; -1 (out of memory) frees what was made. */
static int file_paths(const char *dir, const char *stem, char *files[NFILES])
{
    for (int i = 0; i < NFILES; i++) {
        char *s = map_file_name(dir, "/", stem, suffixes[i]);
        if (!s) {
            for (int j = 0; j < i; j++)
                free(files[j]);
            rsi_error("out of memory");
            return -1;
        }
        files[i] = s;
    }
    return 0;
}

/* The files this process created (that did not exist before it wrote
 * them), by device and inode: the only ones a failure may remove. A file
 * that was there before, an earlier run's map that a rerun wrote over, is
 * left in place; its old record still names a whole file. */
typedef struct created_file {
    dev_t dev;
    ino_t ino;
} created_file;

static pthread_mutex_t created_mutex = PTHREAD_MUTEX_INITIALIZER;
static created_file *created;
static size_t n_created, cap_created;

static void note_created(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    pthread_mutex_lock(&created_mutex);
    if (n_created == cap_created) {
        size_t cap = cap_created ? 2 * cap_created : 64;
        created_file *grown = realloc(created, cap * sizeof *grown);
        if (grown) {
            created = grown;
            cap_created = cap;
        }
    }
    if (n_created < cap_created) /* unrecorded: kept at worst, never lost */
        created[n_created++] = (created_file){st.st_dev, st.st_ino};
    pthread_mutex_unlock(&created_mutex);
}

/* Removes path when this process created the file there. */
static void remove_created(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    pthread_mutex_lock(&created_mutex);
    for (size_t i = 0; i < n_created; i++)
        if (created[i].dev == st.st_dev && created[i].ino == st.st_ino) {
            unlink(path);
            created[i] = created[--n_created];
            break;
        }
    pthread_mutex_unlock(&created_mutex);
}

int rsi_results_write_files(const char *dir, const char *stem, int files,
                            const rsi_tensor *cam, const float *heat,
                            const rsi_image *img)
{
    char *paths[NFILES];
    if (file_paths(dir, stem, paths) < 0)
        return -1;
    files = files ? files : RSI_FILE_ALL;
    int existed[NFILES];
    for (int i = 0; i < NFILES; i++)
        existed[i] = access(paths[i], F_OK) == 0;
    int rc = write_files(paths, files, cam, heat, img);
    for (int i = 0; i < NFILES; i++) {
        if (rc == 0 && (files & (1 << i)) && !existed[i])
            note_created(paths[i]);
        else if (rc < 0 && !existed[i] && access(paths[i], F_OK) == 0)
            unlink(paths[i]); /* a map is all its files or none of them */
        free(paths[i]);
    }
    return rc;
}

void rsi_results_remove_files(const char *dir, const char *stem)
{
    char *paths[NFILES];
    if (file_paths(dir, stem, paths) < 0)
        return;
    for (int i = 0; i < NFILES; i++) {
        remove_created(paths[i]);
        free(paths[i]);
    }
}

int rsi_results_write_map(const char *out_dir, const char *stem,
                          const rsi_tensor *cam, const rsi_image *img,
                          const rsi_map_record *rec)
{
    const int64_t H = img->height, W = img->width;
    float *heat = malloc((size_t)(H * W) * sizeof(float));
    char *file = rsi_path_join(out_dir, RSI_RESULTS_FILE);
    int rc = -1;
    if (!heat || !file)
        rsi_error("out of memory");
    else if (rsi_cam_heatmap(cam, H, W, heat) == 0 &&
             rsi_results_write_files(out_dir, stem, RSI_FILE_ALL, cam, heat,
                                     img) == 0) {
        json_t *records = json_array();
        json_array_append_new(
            records, rsi_results_map_json(rec, "", stem, RSI_FILE_ALL));
        rc = rsi_results_append(file, records);
        json_decref(records);
        if (rc < 0)
            rsi_results_remove_files(out_dir, stem);
    }
    free(heat);
    free(file);
    return rc;
}

int rsi_results_write_failure(const char *out_dir, const char *image,
                              const char *model, const char *message,
                              int error_class)
{
    char *file = rsi_path_join(out_dir, RSI_RESULTS_FILE);
    json_t *records = json_array();
    json_array_append_new(
        records, rsi_results_failure_json(image, model, message, error_class));
    int rc = file ? rsi_results_append(file, records) : -1;
    if (!file)
        rsi_error("out of memory");
    json_decref(records);
    free(file);
    return rc;
}
