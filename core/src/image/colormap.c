/* rsicam — jet colormap and overlays. */
#include "colormap.h"

#include <stddef.h>

/* matplotlib's _jet_data: per channel, (x, value) knots of a piecewise
 * linear function on [0, 1]. */
typedef struct knot {
    float x, y;
} knot;

static const knot jet_red[] = {
    {0.0f, 0.0f}, {0.35f, 0.0f}, {0.66f, 1.0f}, {0.89f, 1.0f}, {1.0f, 0.5f}};
static const knot jet_green[] = {{0.0f, 0.0f},  {0.125f, 0.0f}, {0.375f, 1.0f},
                                 {0.64f, 1.0f}, {0.91f, 0.0f},  {1.0f, 0.0f}};
static const knot jet_blue[] = {
    {0.0f, 0.5f}, {0.11f, 1.0f}, {0.34f, 1.0f}, {0.65f, 0.0f}, {1.0f, 0.0f}};

static float segment(const knot *k, size_t n, float x)
{
    for (size_t i = 1; i < n; i++)
        if (x <= k[i].x)
            return k[i - 1].y + (k[i].y - k[i - 1].y) * (x - k[i - 1].x) /
                                    (k[i].x - k[i - 1].x);
    return k[n - 1].y;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

void rsi_colormap_jet(float v, uint8_t rgb[3])
{
    /* matplotlib maps v to one of 256 table entries, entry i sampling the
     * curve at i / 255; doing the same keeps our pictures identical to the
     * Python notebooks'. */
    int i = v > 0.0f ? (int)(v * 256.0f) : 0; /* NaN -> 0 */
    if (i > 255)
        i = 255;
    float x = (float)i / 255.0f;
    rgb[0] = (uint8_t)(segment(jet_red, COUNT(jet_red), x) * 255.0f + 0.5f);
    rgb[1] = (uint8_t)(segment(jet_green, COUNT(jet_green), x) * 255.0f + 0.5f);
    rgb[2] = (uint8_t)(segment(jet_blue, COUNT(jet_blue), x) * 255.0f + 0.5f);
}

void rsi_heat_to_jet(const float *heat, int width, int height, uint8_t *out_rgb)
{
    size_t n = (size_t)width * (size_t)height;
    for (size_t p = 0; p < n; p++)
        rsi_colormap_jet(heat[p], out_rgb + 3 * p);
}

void rsi_overlay_jet(const rsi_image *img, const float *heat, float alpha,
                     uint8_t *out_rgb)
{
    if (!(alpha > 0.0f))
        alpha = 0.0f;
    else if (alpha > 1.0f)
        alpha = 1.0f;
    size_t n = (size_t)img->width * (size_t)img->height;
    for (size_t p = 0; p < n; p++) {
        uint8_t jet[3];
        rsi_colormap_jet(heat[p], jet);
        for (int c = 0; c < 3; c++) {
            float base = img->data[3 * p + c];
            if (!(base > 0.0f))
                base = 0.0f;
            else if (base > 1.0f)
                base = 1.0f;
            float v = (1.0f - alpha) * base + alpha * (jet[c] / 255.0f);
            out_rgb[3 * p + c] = rsi_unit_to_u8(v);
        }
    }
}
