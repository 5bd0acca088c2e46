/* rsicam — how well a heatmap localises the object in a box.
 *
 * Two metrics on a heatmap [h, w] (values in [0, 1], as explain writes
 * them) and one box:
 *
 *   pointing game   a hit when the heatmap's maximum lies inside the box
 *                   (Zhang et al. 2016, without their 15-pixel tolerance).
 *                   Ties go to the FIRST maximum in row-major order (lowest
 *                   y, then lowest x), the pixel numpy.argmax picks. Ties
 *                   are common: bilinear upsampling of a one-cell peak
 *                   makes a plateau of equal pixels, so the rule matters
 *                   and is fixed here. A flat map (all values equal, e.g.
 *                   the all-zero map of a vanished gradient) has no
 *                   maximum to point with: it counts as a miss and is
 *                   flagged, since dropping it would reward methods that
 *                   give up.
 *   energy in box   sum of the heatmap inside the box / its total sum
 *                   (the "energy-based pointing game" of Score-CAM). A map
 *                   whose total is 0 has no energy to share: NaN, to be
 *                   reported as missing, not as 0.
 *
 * NaN values in a heatmap are ignored by both (never a maximum, 0 energy).
 *
 * Boxes come in the original image's pixels; the heatmap is at the model's
 * input size, and explain resizes the whole image to that size (no crop,
 * no aspect-preserving pad), so x and y scale independently. A heatmap
 * pixel (i, j) is inside a box when its centre (i + 0.5, j + 0.5), mapped
 * back to the original image, lies in [x0, x1) x [y0, y1) — the same
 * half-pixel-centre convention the resize uses. Without resizing this is
 * exactly x0 <= i < x1, y0 <= j < y1.
 */
#ifndef RSICAM_LOCALIZE_H
#define RSICAM_LOCALIZE_H

#include "samples.h"

/* A box in heatmap pixels: [x0, x1) x [y0, y1), within [0, w] x [0, h]. */
typedef struct rsi_pixel_box {
    int x0, y0, x1, y1;
} rsi_pixel_box;

/* Maps a box in an image of src_w x src_h onto a heatmap of w x h (see
 * above). A box too thin to contain any pixel centre after scaling keeps
 * the pixel under its own centre, so that a small object still has a
 * target. Fails (RSI_ERR_INPUT) when the box lies outside the image or a
 * size is not positive. */
int rsi_box_to_pixels(const rsi_box *box, int src_w, int src_h, int w, int h,
                      rsi_pixel_box *out);

typedef struct rsi_localization {
    int hit;                /* pointing game: 1 hit, 0 miss (flat: 0) */
    int flat;               /* no maximum: every finite value equal */
    int argmax_x, argmax_y; /* the first maximum; -1 when flat */
    double energy;          /* energy in box; NaN when the total is 0 */
} rsi_localization;

/* Both metrics for heat[h * w] (row-major) and a box from
 * rsi_box_to_pixels. */
void rsi_localize(const float *heat, int w, int h, const rsi_pixel_box *box,
                  rsi_localization *out);

#endif
