/* rsicam — images to model inputs. */
#include "input.h"

#include <stdlib.h>
#include <string.h>

#include "npy.h"
#include "rsicam/error.h"

/* HWC interleaved -> CHW planar, each channel mapped by (v - sub) / div;
 * with bgr the planes in reverse order (sub and div are the planes'). */
static rsi_tensor *planar_tensor(const rsi_image *img, const double sub[3],
                                 const double div[3], int bgr)
{
    const int64_t hw = (int64_t)img->width * img->height;
    float *chw = malloc((size_t)(3 * hw) * sizeof(float));
    if (!chw) {
        rsi_error("out of memory for a %dx%d image", img->width, img->height);
        return NULL;
    }
    for (int64_t p = 0; p < hw; p++)
        for (int c = 0; c < 3; c++)
            chw[c * hw + p] =
                (float)(((double)img->data[3 * p + (bgr ? 2 - c : c)] -
                         sub[c]) /
                        div[c]);
    const int64_t shape[4] = {1, 3, img->height, img->width};
    rsi_tensor *t = rsi_tensor_from_floats(chw, shape, 4);
    free(chw);
    return t;
}

rsi_tensor *rsi_input_from_image(const rsi_image *img,
                                 const rsi_model_info *info)
{
    return planar_tensor(img, info->mean, info->std, info->bgr);
}

rsi_tensor *rsi_input_read(const char *path, const rsi_model_info *info,
                           rsi_image *img)
{
    rsi_image local = {0};
    if (rsi_image_read(path, (int)info->input_w, (int)info->input_h, &local) <
        0)
        return NULL;
    rsi_tensor *x = rsi_input_from_image(&local, info);
    if (img && x)
        *img = local;
    else
        rsi_image_release(&local);
    return x;
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

rsi_tensor *rsi_host_image_read(const char *path)
{
    if (has_suffix(path, ".npy")) {
        float *data = NULL;
        int64_t shape[RSI_MAX_DIMS];
        int ndim = 0;
        if (rsi_npy_read_f32(path, &data, shape, &ndim) < 0)
            return NULL;
        rsi_tensor *t = rsi_tensor_from_floats(data, shape, ndim);
        free(data);
        return t;
    }
    rsi_image img = {0};
    if (rsi_image_read(path, 0, 0, &img) < 0)
        return NULL;
    static const double zero[3] = {0, 0, 0}, one[3] = {1, 1, 1};
    rsi_tensor *t = planar_tensor(&img, zero, one, 0);
    rsi_image_release(&img);
    return t;
}
