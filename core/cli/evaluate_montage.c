/* rsicam evaluate: the montage of inputs and overlays. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evaluate.h"
#include "image.h"
#include "montage.h"
#include "npy.h"
#include "rsicam/error.h"

static const map_row *find_map(const evaluation *ev, int sample, int st)
{
    for (int i = 0; i < ev->n_maps; i++)
        if (ev->maps[i].sample == sample && ev->maps[i].setting == st)
            return &ev->maps[i];
    return NULL;
}

/* An image file as an RGB8 cell of w x h; NULL with an error. */
static uint8_t *read_cell(const char *path, int w, int h)
{
    rsi_image img = {0};
    uint8_t *rgb = malloc((size_t)w * h * 3);
    if (!rgb)
        rsi_error("out of memory");
    else if (rsi_image_read(path, w, h, &img) == 0)
        rsi_image_to_rgb8(&img, rgb);
    else {
        free(rgb);
        rgb = NULL;
    }
    rsi_image_release(&img);
    return rgb;
}

/* The box's outline, in green, on the input cell. */
static void draw_box(uint8_t *rgb, int w, const rsi_pixel_box *b)
{
    static const uint8_t green[3] = {0, 255, 0};
    for (int y = b->y0; y < b->y1; y++)
        for (int x = b->x0; x < b->x1; x++)
            if (y == b->y0 || y == b->y1 - 1 || x == b->x0 || x == b->x1 - 1)
                memcpy(rgb + 3 * ((size_t)y * w + x), green, 3);
}

/* "T-shirt/top" for a class index when a record named it, else "3". */
static void class_text(const evaluation *ev, int64_t cls, const char *name,
                       char *out, size_t n)
{
    if (name)
        snprintf(out, n, "%s", name);
    else if (cls >= 0 && cls < ev->n_class_names && ev->class_names[cls])
        snprintf(out, n, "%s", ev->class_names[cls]);
    else
        snprintf(out, n, "%lld", (long long)cls);
}

/* Column label: method and score always, model and layer where the
 * columns differ in them. */
static char *column_label(const evaluation *ev, const setting *s)
{
    int models = 0, layers = 0;
    for (int i = 0; i < ev->n_settings; i++) {
        models |= strcmp(ev->settings[i].model, s->model) != 0;
        layers |= strcmp(ev->settings[i].layer, s->layer) != 0;
    }
    char model[256], name[256], score[256], text[1024];
    snprintf(model, sizeof model, "%s", ev_base_name(s->model));
    char *dot = strrchr(model, '.');
    if (dot && dot != model)
        *dot = '\0';
    rsi_map_kind_join(s->method, s->variant, name, sizeof name);
    ev_score_text(ev, s, score, sizeof score);
    snprintf(text, sizeof text, "%s%s%s%s%s %s", models ? model : "",
             models ? " " : "", layers ? s->layer : "", layers ? " " : "", name,
             score);
    return strdup(text);
}

static char *row_label(const evaluation *ev, int sample, const map_row *m)
{
    const rsi_sample *s = &ev->samples.items[sample];
    char truth[128] = "-", pred[128], text[512];
    if (s->label >= 0 || s->label_name)
        class_text(ev, s->label, s->label_name, truth, sizeof truth);
    class_text(ev, m->class_index, NULL, pred, sizeof pred);
    snprintf(text, sizeof text, "%s\ntrue: %s\npred: %s %.2f",
             ev_base_name(s->image), truth, pred, m->probability);
    return strdup(text);
}

int ev_write_montage(const evaluation *ev, const int *ord, const char *path,
                     int max_rows)
{
    int cols = ev->n_settings + 1, rows = 0, rc = -1;
    int *row_sample = malloc((size_t)max_rows * sizeof *row_sample);
    const uint8_t **cells = calloc((size_t)max_rows * cols, sizeof *cells);
    char **row_labels = calloc((size_t)max_rows, sizeof *row_labels);
    char **col_labels = calloc((size_t)cols, sizeof *col_labels);
    if (!row_sample || !cells || !row_labels || !col_labels) {
        rsi_error("out of memory");
        goto out;
    }
    /* rows: the list's first images that have a map; cells at the size of
     * the first map's heatmap (the model's input size) */
    const map_row *first = &ev->maps[0];
    int cw = first->heat_w, ch = first->heat_h;
    for (int s = 0; s < ev->samples.n && rows < max_rows; s++) {
        const map_row *m = NULL;
        for (int c = 0; c < ev->n_settings && !m; c++)
            m = find_map(ev, s, ord[c]);
        if (!m)
            continue;
        row_sample[rows] = s;
        uint8_t *input = read_cell(ev->samples.items[s].image, cw, ch);
        cells[(size_t)rows * cols] = input;
        rsi_pixel_box box;
        if (!input || !(row_labels[rows] = row_label(ev, s, m)) ||
            rsi_box_to_pixels(&ev->samples.items[s].box, ev->src_w[s],
                              ev->src_h[s], cw, ch, &box) < 0)
            goto out;
        draw_box(input, cw, &box);
        for (int c = 0; c < ev->n_settings; c++) {
            const map_row *cm = find_map(ev, s, ord[c]);
            int has = cm && cm->overlay; /* else a blank cell */
            uint8_t *cell = has ? read_cell(cm->overlay, cw, ch) : NULL;
            cells[(size_t)rows * cols + 1 + c] = cell;
            if (has && !cell)
                goto out;
        }
        rows++;
    }
    col_labels[0] = strdup("input");
    for (int c = 0; c < ev->n_settings; c++)
        col_labels[c + 1] = column_label(ev, &ev->settings[ord[c]]);
    rc = rsi_montage_write_png(path, cells, rows, cols, cw, ch,
                               (const char *const *)row_labels,
                               (const char *const *)col_labels);
out:
    for (int i = 0; cells && i < max_rows * cols; i++)
        free((void *)cells[i]);
    for (int i = 0; row_labels && i < max_rows; i++)
        free(row_labels[i]);
    for (int i = 0; col_labels && i < cols; i++)
        free(col_labels[i]);
    free(row_sample);
    free(cells);
    free(row_labels);
    free(col_labels);
    return rc;
}
