/* rsicam — the jet colormap and heatmap overlays. */
#ifndef RSICAM_COLORMAP_H
#define RSICAM_COLORMAP_H

#include <stdint.h>

#include "image.h"

#ifdef __cplusplus
extern "C" {
#endif

/* matplotlib's "jet" (the map OpenCV's COLORMAP_JET approximates): dark
 * blue at 0, cyan, green near 0.5, yellow, dark red at 1. v is clamped to
 * [0, 1]; NaN counts as 0. Quantised to 256 levels as matplotlib does. */
void rsi_colormap_jet(float v, uint8_t rgb[3]);

/* out = (1 - alpha) * img + alpha * jet(heat), per pixel, as 8-bit RGB.
 * heat: img->height x img->width values in [0, 1] (clamped); alpha is
 * clamped to [0, 1] (0.5 is the usual choice). out: H x W x 3 bytes. */
void rsi_overlay_jet(const rsi_image *img, const float *heat, float alpha,
                     uint8_t *out_rgb);

/* A heatmap alone as 8-bit RGB through jet (H x W values -> H x W x 3). */
void rsi_heat_to_jet(const float *heat, int width, int height,
                     uint8_t *out_rgb);

#ifdef __cplusplus
}
#endif
#endif
