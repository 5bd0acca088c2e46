/* rsicam — an experiment's montage per image: one row per setting, with
 * the input, the heatmap alone and the overlay, labelled.
 *
 * Drawn from the image's records and the map files they name, so that a
 * run, a resumed run and a merge of shards draw the same picture.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "colormap.h"
#include "experiment_internal.h"
#include "fileio.h"
#include "montage.h"
#include "npy.h"
#include "path.h"
#include "results.h"
#include "results_read.h"
#include "rsicam/error.h"
#include "summary.h"

char *xp_montage_path(const char *out, const char *stem)
{
    char *s = NULL;
    return asprintf(&s, "%s/montages/%s.png", out, stem) < 0 ? NULL : s;
}

static const char *text(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* The parts of a row's setting that a label may name, each as text. */
enum { N_PARTS = 6, PART_SIZE = 256 };
typedef char parts[N_PARTS][PART_SIZE];

static void setting_parts(const json_t *r, char part[N_PARTS][PART_SIZE])
{
    const json_t *s = json_object_get(r, "settings");
    static const char *const keys[] = {"layer", "method", "score"};
    for (int k = 0; k < 3; k++)
        snprintf(part[k], PART_SIZE, "%s", text(s, keys[k]));
    /* with parameters: "blur sigma=0.5" and "blur sigma=2" differ */
    rsi_settings_plugin_text(json_object_get(s, "baseline"), part[3],
                             PART_SIZE);
    rsi_settings_plugin_text(json_object_get(s, "path"), part[4], PART_SIZE);
    char steps[32];
    snprintf(part[5], PART_SIZE, "%s steps",
             rsi_settings_steps(s, steps, sizeof steps));
}

/* The parts where (shared) is 1 (0), space-separated, into fp. */
static void put_parts(FILE *fp, char part[N_PARTS][PART_SIZE],
                      const int *varies, int shared)
{
    int first = 1;
    for (int k = 0; k < N_PARTS; k++)
        if (varies[k] != shared && *part[k]) {
            fprintf(fp, "%s%s", first ? "" : " ", part[k]);
            first = 0;
        }
}

/* "blur sigma=2\ntop1: cat 0.93": what sets the row apart from the
 * montage's other rows, then its class. */
static char *row_label(const json_t *r, char part[N_PARTS][PART_SIZE],
                       const int *varies)
{
    char *out = NULL;
    size_t size = 0;
    FILE *fp = open_memstream(&out, &size);
    if (!fp)
        return NULL;
    put_parts(fp, part, varies, 0);
    if (ftell(fp) > 0)
        fputc('\n', fp);
    const char *target = text(json_object_get(r, "settings"), "target");
    if (*target)
        fprintf(fp, "%s: ", target);
    const json_t *label = json_object_get(r, "label");
    if (json_is_string(label))
        fputs(json_string_value(label), fp);
    else
        fprintf(fp, "class %lld",
                (long long)json_integer_value(json_object_get(r, "class")));
    fprintf(fp, " %.2f", json_number_value(json_object_get(r, "probability")));
    return fclose(fp) == 0 ? out : (free(out), NULL);
}

/* "input\nconv2 softmax linear 50 steps": what every row shares, said
 * once over the input column (the same input on every row). */
static char *heading(char part[N_PARTS][PART_SIZE], const int *varies)
{
    char *out = NULL;
    size_t size = 0;
    FILE *fp = open_memstream(&out, &size);
    if (!fp)
        return NULL;
    fputs("input", fp);
    int shared = 0;
    for (int k = 0; part && k < N_PARTS; k++)
        shared |= !varies[k] && *part[k];
    if (shared) {
        fputc('\n', fp);
        put_parts(fp, part, varies, 1);
    }
    return fclose(fp) == 0 ? out : (free(out), NULL);
}

void xp_montage_labels_free(char **labels, size_t n)
{
    for (size_t i = 0; labels && i <= n; i++)
        free(labels[i]);
    free(labels);
}

char **xp_montage_labels(const json_t *rows)
{
    size_t n = json_array_size(rows);
    char **labels = calloc(n + 1, sizeof *labels);
    parts *part = malloc((n + 1) * sizeof *part);
    int varies[N_PARTS] = {0}, ok = labels && part;
    for (size_t i = 0; ok && i < n; i++) {
        setting_parts(json_array_get(rows, i), part[i]);
        for (int k = 0; k < N_PARTS; k++)
            varies[k] |= strcmp(part[i][k], part[0][k]) != 0;
    }
    ok = ok && (labels[0] = heading(n ? part[0] : NULL, varies)) != NULL;
    for (size_t i = 0; ok && i < n; i++)
        ok = (labels[i + 1] =
                  row_label(json_array_get(rows, i), part[i], varies)) != NULL;
    free(part);
    if (!ok) {
        xp_montage_labels_free(labels, n);
        return NULL;
    }
    return labels;
}

/* The heatmap of record r as floats, checked to be h x w (h, w set from
 * the first one when 0). */
static float *read_heat(const char *out, const json_t *r, int *w, int *h)
{
    char *where = rsi_path_join(out, RSI_RESULTS_FILE);
    char *path = where ? rsi_record_file(out, text(r, "heatmap"), where) : NULL;
    free(where);
    float *heat = NULL;
    int64_t shape[RSI_MAX_DIMS];
    int ndim = 0;
    if (path && rsi_npy_read_f32(path, &heat, shape, &ndim) == 0 &&
        (ndim != 2 || (*w && (shape[0] != *h || shape[1] != *w)))) {
        rsi_error_class_set(RSI_ERR_INPUT, "'%s': not a %dx%d heatmap", path,
                            *h, *w);
        free(heat);
        heat = NULL;
    } else if (heat && !*w) {
        *h = (int)shape[0];
        *w = (int)shape[1];
    }
    free(path);
    return heat;
}

/* Small models (32x32 inputs) would give cells too small to see or to
 * label: cells are enlarged by a whole factor, pixels kept sharp. */
enum { MIN_CELL = 128 };

static int cell_scale(int w, int h)
{
    int m = w < h ? w : h;
    return m >= MIN_CELL || m < 1 ? 1 : (MIN_CELL + m - 1) / m;
}

/* rgb (w x h) enlarged k times by repeating pixels (new buffer). */
static uint8_t *enlarge(const uint8_t *rgb, int w, int h, int k)
{
    uint8_t *out = malloc((size_t)w * k * h * k * 3);
    for (int y = 0; out && y < h * k; y++)
        for (int x = 0; x < w * k; x++)
            memcpy(out + 3 * ((size_t)y * w * k + x),
                   rgb + 3 * ((size_t)(y / k) * w + x / k), 3);
    return out;
}

/* Takes rgb over, enlarged when k > 1. */
static uint8_t *cell(uint8_t *rgb, int w, int h, int k)
{
    if (!rgb || k == 1)
        return rgb;
    uint8_t *big = enlarge(rgb, w, h, k);
    free(rgb);
    return big;
}

int xp_write_montage(const char *out, const char *image, const char *stem,
                     const json_t *records)
{
    size_t n = json_array_size(records);
    int rows = 0, w = 0, h = 0, rc = -1;
    const uint8_t **cells = calloc(3 * n + 3, sizeof *cells);
    json_t *drawn = json_array(); /* the records of the rows, for labels */
    char **labels = NULL;
    uint8_t *input = NULL;
    rsi_image img = {0};
    char *path = xp_montage_path(out, stem),
         *dir = rsi_path_join(out, "montages");
    if (!cells || !drawn || !path || !dir) {
        rsi_error("out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_array_get(records, i);
        if (strcmp(text(r, "status"), "ok") != 0 || !*text(r, "heatmap"))
            continue;
        float *heat = read_heat(out, r, &w, &h);
        if (!heat)
            goto done;
        if (!input) { /* the input at the heatmaps' (the model's) size */
            input = malloc((size_t)w * h * 3);
            if (!input || rsi_image_read(image, w, h, &img) < 0) {
                free(heat);
                goto done;
            }
            rsi_image_to_rgb8(&img, input);
            input = cell(input, w, h, cell_scale(w, h));
            if (!input) {
                free(heat);
                goto done;
            }
        }
        uint8_t *jet = malloc((size_t)w * h * 3);
        uint8_t *overlay = malloc((size_t)w * h * 3);
        json_array_append(drawn, r);
        if (jet && overlay) {
            rsi_heat_to_jet(heat, w, h, jet);
            rsi_overlay_jet(&img, heat, 0.5f, overlay);
        }
        free(heat);
        jet = cell(jet, w, h, cell_scale(w, h));
        overlay = cell(overlay, w, h, cell_scale(w, h));
        cells[3 * rows] = input;
        cells[3 * rows + 1] = jet;
        cells[3 * rows + 2] = overlay;
        rows++;
        if (!jet || !overlay) {
            rsi_error("out of memory");
            goto done;
        }
    }
    rc = 0;
    if (rows && !(labels = xp_montage_labels(drawn))) {
        rsi_error("out of memory");
        rc = -1;
    } else if (rows) {
        const char *columns[3] = {labels[0], "heatmap", "overlay"};
        if (rsi_mkdir_p(dir) < 0 ||
            rsi_montage_write_png(path, cells, rows, 3, w * cell_scale(w, h),
                                  h * cell_scale(w, h),
                                  (const char *const *)labels + 1, columns) < 0)
            rc = -1;
    }
done:
    for (int i = 0; cells && i < rows; i++) {
        free((void *)cells[3 * i + 1]);
        free((void *)cells[3 * i + 2]);
    }
    xp_montage_labels_free(labels, json_array_size(drawn));
    json_decref(drawn);
    free(cells);
    free(input);
    rsi_image_release(&img);
    free(path);
    free(dir);
    return rc;
}
