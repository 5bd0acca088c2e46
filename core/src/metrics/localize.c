/* rsicam — localisation metrics (see localize.h). */
#include "localize.h"

#include <math.h>
#include <stddef.h>

#include "rsicam/error.h"

/* Pixel centres c + 0.5 with lo <= (c + 0.5) * scale < hi, as a half-open
 * index range clipped to [0, n]. The epsilon keeps a centre that lies
 * exactly on an edge (the usual case without resizing) from flipping sides
 * through rounding in the scale. */
static void centre_range(double lo, double hi, double scale, int n, int *a,
                         int *b)
{
    const double eps = 1e-9;
    double first = ceil(lo / scale - 0.5 - eps);
    double end = ceil(hi / scale - 0.5 - eps);
    *a = first < 0 ? 0 : first > n ? n : (int)first;
    *b = end < 0 ? 0 : end > n ? n : (int)end;
    if (*a >= *b) {
        /* too thin for a centre: the pixel under the box's own centre */
        double c = floor((lo + hi) / 2 / scale);
        *a = c < 0 ? 0 : c >= n ? n - 1 : (int)c;
        *b = *a + 1;
    }
}

int rsi_box_to_pixels(const rsi_box *box, int src_w, int src_h, int w, int h,
                      rsi_pixel_box *out)
{
    if (src_w < 1 || src_h < 1 || w < 1 || h < 1) {
        rsi_error_class_set(RSI_ERR_INPUT,
                            "box: bad sizes (image %dx%d, heatmap %dx%d)",
                            src_w, src_h, w, h);
        return -1;
    }
    if (!(box->x0 < src_w && box->y0 < src_h && box->x1 > 0 && box->y1 > 0 &&
          box->x0 < box->x1 && box->y0 < box->y1)) {
        rsi_error_class_set(RSI_ERR_INPUT,
                            "box (%g, %g, %g, %g) lies outside the %dx%d "
                            "image",
                            box->x0, box->y0, box->x1, box->y1, src_w, src_h);
        return -1;
    }
    /* original pixels per heatmap pixel */
    double sx = (double)src_w / w, sy = (double)src_h / h;
    double x0 = box->x0 < 0 ? 0 : box->x0, y0 = box->y0 < 0 ? 0 : box->y0;
    double x1 = box->x1 > src_w ? src_w : box->x1;
    double y1 = box->y1 > src_h ? src_h : box->y1;
    centre_range(x0, x1, sx, w, &out->x0, &out->x1);
    centre_range(y0, y1, sy, h, &out->y0, &out->y1);
    return 0;
}

void rsi_localize(const float *heat, int w, int h, const rsi_pixel_box *box,
                  rsi_localization *out)
{
    double total = 0, inside = 0;
    float max = 0, min = 0;
    int best = -1; /* index of the first maximum; -1 until a value is seen */
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float v = heat[(size_t)y * w + x];
            if (isnan(v))
                continue;
            total += v;
            if (x >= box->x0 && x < box->x1 && y >= box->y0 && y < box->y1)
                inside += v;
            if (best < 0) {
                max = min = v;
                best = y * w + x;
            } else if (v > max) { /* strict: a tie keeps the first */
                max = v;
                best = y * w + x;
            } else if (v < min) {
                min = v;
            }
        }
    out->flat = best < 0 || max == min;
    out->argmax_x = out->flat ? -1 : best % w;
    out->argmax_y = out->flat ? -1 : best / w;
    out->hit = !out->flat && out->argmax_x >= box->x0 &&
               out->argmax_x < box->x1 && out->argmax_y >= box->y0 &&
               out->argmax_y < box->y1;
    out->energy = total > 0 ? inside / total : NAN;
}
