/* rsicam — writing maps and results.jsonl (see results.h). */
#include "results.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cam.h"
#include "colormap.h"
#include "fileio.h"
#include "npy.h"
#include "rsicam/error.h"

enum { NFILES = 3 };
static const char *const suffixes[NFILES] = {".cam.npy", ".heatmap.npy",
                                             ".png"};

static char *join(const char *dir, const char *stem, const char *suffix)
{
    size_t n = strlen(dir) + strlen(stem) + strlen(suffix) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s%s", dir, stem, suffix);
    return s;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static json_t *number_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static int append_record(const char *out_dir, json_t *obj)
{
    char *line = json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII);
    char *file = join(out_dir, RSI_RESULTS_FILE, "");
    int rc = line && file ? rsi_append_line(file, line) : -1;
    if (!line || !file)
        rsi_error("out of memory");
    free(line);
    free(file);
    return rc;
}

static json_t *map_json(const rsi_map_record *r, char *const files[NFILES])
{
    json_t *o = json_object();
    json_object_set_new(o, "status", json_string("ok"));
    json_object_set_new(o, "image", json_string(r->image));
    json_object_set_new(o, "model", json_string(r->model));
    json_object_set_new(o, "layer", json_string(r->layer));
    json_object_set_new(o, "method", json_string(r->method));
    json_object_set_new(o, "variant", json_string(r->variant));
    json_object_set_new(o, "score", json_string(r->score));
    json_object_set_new(o, "class", json_integer(r->class_index));
    json_object_set_new(o, "label",
                        r->label ? json_string(r->label) : json_null());
    json_object_set_new(o, "probability", number_or_null(r->probability));
    json_object_set_new(o, "score_image", number_or_null(r->score_image));
    json_object_set_new(o, "score_baseline",
                        number_or_null(r->score_baseline));
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
    json_object_set_new(o, "points", json_integer(r->points));
    json_object_set_new(o, "seconds", number_or_null(r->seconds));
    json_object_set_new(o, "cam", json_string(base_name(files[0])));
    json_object_set_new(o, "heatmap", json_string(base_name(files[1])));
    json_object_set_new(o, "overlay", json_string(base_name(files[2])));
    return o;
}

static int write_files(char *const files[NFILES], const rsi_tensor *cam,
                       const rsi_image *img)
{
    const int64_t h = rsi_tensor_size(cam, 0), w = rsi_tensor_size(cam, 1);
    const int64_t H = img->height, W = img->width;
    float *cam_data = malloc((size_t)(h * w) * sizeof(float));
    float *heat = malloc((size_t)(H * W) * sizeof(float));
    uint8_t *overlay = malloc((size_t)(H * W * 3));
    int rc = -1;
    if (!cam_data || !heat || !overlay) {
        rsi_error("out of memory");
        goto out;
    }
    if (rsi_tensor_to_floats(cam, cam_data, h * w) < 0 ||
        rsi_cam_heatmap(cam, H, W, heat) < 0)
        goto out;
    const int64_t cam_shape[2] = {h, w}, heat_shape[2] = {H, W};
    if (rsi_npy_write_f32(files[0], cam_data, cam_shape, 2) < 0 ||
        rsi_npy_write_f32(files[1], heat, heat_shape, 2) < 0)
        goto out;
    rsi_overlay_jet(img, heat, 0.5f, overlay);
    if (rsi_image_write_png(files[2], overlay, (int)W, (int)H) < 0)
        goto out;
    rc = 0;
out:
    free(cam_data);
    free(heat);
    free(overlay);
    return rc;
}

int rsi_results_write_map(const char *out_dir, const char *stem,
                          const rsi_tensor *cam, const rsi_image *img,
                          const rsi_map_record *rec)
{
    char *files[NFILES] = {0};
    int rc = -1;
    for (int i = 0; i < NFILES; i++) {
        if (!(files[i] = join(out_dir, stem, suffixes[i]))) {
            rsi_error("out of memory");
            goto out;
        }
    }
    if (write_files(files, cam, img) == 0) {
        json_t *obj = map_json(rec, files);
        rc = append_record(out_dir, obj);
        json_decref(obj);
    }
    if (rc < 0) /* a map is all its files or none of them */
        for (int i = 0; i < NFILES; i++)
            if (files[i])
                unlink(files[i]);
out:
    for (int i = 0; i < NFILES; i++)
        free(files[i]);
    return rc;
}

int rsi_results_write_failure(const char *out_dir, const char *image,
                              const char *model, const char *message,
                              int error_class)
{
    json_t *o = json_object();
    json_object_set_new(o, "status", json_string("failed"));
    json_object_set_new(o, "image", json_string(image));
    json_object_set_new(o, "model", json_string(model));
    json_object_set_new(o, "error", json_string(message));
    json_object_set_new(o, "error_class", json_integer(error_class));
    int rc = append_record(out_dir, o);
    json_decref(o);
    return rc;
}
