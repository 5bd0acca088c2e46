/* rsicam — labelled image grids. */
#include "montage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vips/vips.h>

#include "image.h"
#include "rsicam/error.h"

#define GAP RSI_MONTAGE_GAP

/* A rendered label: coverage 0..255, black text on white where drawn. */
typedef struct label {
    int w, h;
    uint8_t *mask; /* g_malloc'd by libvips */
} label;

/* Renders text wrapped to max_w pixels. Returns 0 with an empty label for
 * NULL or "", -1 when text rendering does not work here. */
static int render(const char *text, int max_w, int font_px, label *out)
{
    out->w = out->h = 0;
    out->mask = NULL;
    if (!text || !*text)
        return 0;
    /* vips_text takes Pango markup: a label like "a<b & c" must show as
     * written, not fail to parse. */
    char *escaped = g_markup_escape_text(text, -1);
    char font[32];
    /* At 72 dpi a point is a pixel. */
    snprintf(font, sizeof font, "sans %d", font_px);
    VipsImage *im = NULL;
    int rc =
        vips_text(&im, escaped, "font", font, "width", max_w, "dpi", 72, NULL);
    g_free(escaped);
    if (rc != 0)
        return -1;
    VipsImage *u8 = NULL;
    size_t size = 0;
    void *mem = NULL;
    if (vips_cast(im, &u8, VIPS_FORMAT_UCHAR, NULL) == 0 && u8->Bands == 1)
        mem = vips_image_write_to_memory(u8, &size);
    if (mem && size == (size_t)u8->Xsize * u8->Ysize) {
        out->w = u8->Xsize;
        out->h = u8->Ysize;
        out->mask = mem;
        mem = NULL;
    }
    g_free(mem);
    if (u8)
        g_object_unref(u8);
    g_object_unref(im);
    return out->mask ? 0 : -1;
}

static void free_labels(label *l, int n)
{
    for (int i = 0; l && i < n; i++)
        g_free(l[i].mask);
    free(l);
}

/* Renders n labels; NULL when there are none to show or text rendering
 * fails (the grid is then written without labels: a missing font must not
 * cost the user the picture). */
static label *render_all(const char *const *texts, int n, int max_w,
                         int font_px)
{
    if (!texts)
        return NULL;
    label *l = calloc((size_t)n, sizeof *l);
    if (!l)
        return NULL;
    int any = 0;
    for (int i = 0; i < n; i++) {
        if (render(texts[i], max_w, font_px, &l[i]) != 0) {
            vips_error_clear();
            free_labels(l, n);
            return NULL;
        }
        any |= l[i].mask != NULL;
    }
    if (!any) {
        free_labels(l, n);
        return NULL;
    }
    return l;
}

/* Draws a label's mask in black at (x, y), clipped to the w x h box there
 * and to the canvas. */
static void draw(uint8_t *canvas, int cw, int ch, const label *l, int x, int y,
                 int box_w, int box_h)
{
    for (int r = 0; r < l->h && r < box_h; r++) {
        int yy = y + r;
        if (yy < 0 || yy >= ch)
            continue;
        for (int c = 0; c < l->w && c < box_w; c++) {
            int xx = x + c;
            if (xx < 0 || xx >= cw)
                continue;
            uint8_t v = (uint8_t)(255 - l->mask[(size_t)r * l->w + c]);
            uint8_t *p = canvas + 3 * ((size_t)yy * cw + xx);
            for (int k = 0; k < 3; k++)
                if (v < p[k])
                    p[k] = v;
        }
    }
}

static int max_of(const label *l, int n, int height)
{
    int m = 0;
    for (int i = 0; l && i < n; i++) {
        int v = height ? l[i].h : l[i].w;
        if (v > m)
            m = v;
    }
    return m;
}

int rsi_montage_write_png(const char *path, const uint8_t *const *cells,
                          int rows, int cols, int cell_w, int cell_h,
                          const char *const *row_labels,
                          const char *const *col_labels)
{
    if (rows < 1 || cols < 1 || cell_w < 1 || cell_h < 1 || !cells) {
        rsi_error_class_set(RSI_ERR_INTERNAL,
                            "cannot write montage '%s': bad grid %dx%d of "
                            "%dx%d cells",
                            path, rows, cols, cell_w, cell_h);
        return -1;
    }
    if (rsi_vips_init() != 0)
        return -1;

    int font_px = cell_w / 14;
    font_px = font_px < 10 ? 10 : (font_px > 20 ? 20 : font_px);
    label *rl = render_all(row_labels, rows, cell_w, font_px);
    label *cl = render_all(col_labels, cols, cell_w, font_px);
    /* Header text beyond three lines is cut rather than growing the
     * picture without bound. */
    int header_h = max_of(cl, cols, 1);
    if (header_h > 4 * font_px)
        header_h = 4 * font_px;
    int label_w = max_of(rl, rows, 0);

    int64_t x0 = GAP + (rl ? label_w + GAP : 0);
    int64_t y0 = GAP + (cl ? header_h + GAP : 0);
    int64_t W = x0 + (int64_t)cols * (cell_w + GAP);
    int64_t H = y0 + (int64_t)rows * (cell_h + GAP);
    if (W > 65535 || H > 65535 || W * H > ((int64_t)1 << 28)) {
        rsi_error_class_set(RSI_ERR_OUTPUT,
                            "cannot write montage '%s': %lldx%lld pixels is "
                            "too large",
                            path, (long long)W, (long long)H);
        free_labels(rl, rows);
        free_labels(cl, cols);
        return -1;
    }
    uint8_t *canvas = malloc((size_t)(W * H * 3));
    if (!canvas) {
        rsi_error_class_set(RSI_ERR_OUTPUT,
                            "cannot write montage '%s': out of memory", path);
        free_labels(rl, rows);
        free_labels(cl, cols);
        return -1;
    }
    memset(canvas, 255, (size_t)(W * H * 3));

    size_t row_bytes = (size_t)cell_w * 3;
    for (int r = 0; r < rows; r++) {
        int64_t y = y0 + (int64_t)r * (cell_h + GAP);
        for (int c = 0; c < cols; c++) {
            const uint8_t *cell = cells[(size_t)r * cols + c];
            int64_t x = x0 + (int64_t)c * (cell_w + GAP);
            for (int k = 0; cell && k < cell_h; k++)
                memcpy(canvas + 3 * ((y + k) * W + x),
                       cell + (size_t)k * row_bytes, row_bytes);
            if (r == 0 && cl && cl[c].mask) {
                /* centred over the cell, sitting on the grid */
                int lx = (int)x + (cell_w - cl[c].w) / 2;
                int ly =
                    GAP + header_h - (cl[c].h < header_h ? cl[c].h : header_h);
                draw(canvas, (int)W, (int)H, &cl[c], lx, ly, cell_w, header_h);
            }
        }
        if (rl && rl[r].mask) {
            /* vertically centred beside its row */
            int ly = (int)y + (rl[r].h < cell_h ? (cell_h - rl[r].h) / 2 : 0);
            draw(canvas, (int)W, (int)H, &rl[r], GAP, ly, label_w, cell_h);
        }
    }
    free_labels(rl, rows);
    free_labels(cl, cols);
    int rc = rsi_image_write_png(path, canvas, (int)W, (int)H);
    free(canvas);
    return rc;
}
