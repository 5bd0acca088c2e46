/* rsicam — class activation maps (see cam.h). */
#include "cam.h"

#include "rsicam/error.h"

/* ReLU(reduce_k(w_k * A^k)) for weights w [K] (or [K, 1, 1]) and A
 * [1, K, h, w]; reduce is a mean when mean != 0, else a sum. */
static rsi_tensor *weighted_map(const rsi_tensor *w, const rsi_tensor *act,
                                int mean)
{
    int64_t k = rsi_tensor_size(act, 1);
    const int64_t wshape[4] = {1, k, 1, 1};
    rsi_tensor *w4 = rsi_tensor_reshape(w, wshape, 4);
    rsi_tensor *wa = w4 ? rsi_tensor_mul(w4, act) : NULL;
    rsi_tensor *reduced = wa ? rsi_tensor_sum_dim(wa, 1, 0) : NULL;
    rsi_tensor *scaled =
        reduced ? rsi_tensor_scale(reduced, mean ? 1.0 / (double)k : 1.0)
                : NULL;
    rsi_tensor *map = scaled ? rsi_tensor_relu(scaled) : NULL;
    rsi_tensor *out = NULL;
    if (map) {
        const int64_t shape[2] = {rsi_tensor_size(act, 2),
                                  rsi_tensor_size(act, 3)};
        out = rsi_tensor_reshape(map, shape, 2);
    }
    rsi_tensor_free(w4);
    rsi_tensor_free(wa);
    rsi_tensor_free(reduced);
    rsi_tensor_free(scaled);
    rsi_tensor_free(map);
    return out;
}

/* mean over the last two dimensions. */
static rsi_tensor *spatial_mean(const rsi_tensor *t)
{
    const int64_t dims[2] = {-2, -1};
    return rsi_tensor_mean_dims(t, dims, 2, 0);
}

/* IG kept where A_m > 0, IG > 0 and A_m - A_0 > 0. */
static rsi_tensor *guided_selection(const rsi_tensor *ig,
                                    const rsi_tensor *act_m,
                                    const rsi_tensor *act_0)
{
    rsi_tensor *rise = rsi_tensor_sub(act_m, act_0);
    rsi_tensor *m1 = rsi_tensor_positive(act_m);
    rsi_tensor *m2 = rsi_tensor_positive(ig);
    rsi_tensor *m3 = rise ? rsi_tensor_positive(rise) : NULL;
    rsi_tensor *m12 = m1 && m2 ? rsi_tensor_mul(m1, m2) : NULL;
    rsi_tensor *mask = m12 && m3 ? rsi_tensor_mul(m12, m3) : NULL;
    rsi_tensor *kept = NULL;
    if (mask) {
        /* mask is [1, K, h, w]; IG is [K, h, w]. */
        const int64_t shape[3] = {rsi_tensor_size(ig, 0),
                                  rsi_tensor_size(ig, 1),
                                  rsi_tensor_size(ig, 2)};
        rsi_tensor *mask3 = rsi_tensor_reshape(mask, shape, 3);
        kept = mask3 ? rsi_tensor_mul(ig, mask3) : NULL;
        rsi_tensor_free(mask3);
    }
    rsi_tensor_free(rise);
    rsi_tensor_free(m1);
    rsi_tensor_free(m2);
    rsi_tensor_free(m3);
    rsi_tensor_free(m12);
    rsi_tensor_free(mask);
    return kept;
}

rsi_tensor *rsi_cam_rsi_mean(const rsi_tensor *ig, const rsi_tensor *act_m)
{
    rsi_tensor *w = spatial_mean(ig);
    rsi_tensor *cam = w ? weighted_map(w, act_m, 1) : NULL;
    rsi_tensor_free(w);
    return cam;
}

rsi_tensor *rsi_cam_rsi_guided(const rsi_tensor *ig, const rsi_tensor *act_m,
                               const rsi_tensor *act_0)
{
    rsi_tensor *selected = guided_selection(ig, act_m, act_0);
    rsi_tensor *w = selected ? spatial_mean(selected) : NULL;
    rsi_tensor *cam = w ? weighted_map(w, act_m, 0) : NULL;
    rsi_tensor_free(selected);
    rsi_tensor_free(w);
    return cam;
}

rsi_tensor *rsi_cam_gradcam(const rsi_tensor *grad_m, const rsi_tensor *act_m)
{
    rsi_tensor *w = spatial_mean(grad_m); /* [1, K] */
    rsi_tensor *cam = w ? weighted_map(w, act_m, 0) : NULL;
    rsi_tensor_free(w);
    return cam;
}

void rsi_normalise_min_max(float *v, int64_t n)
{
    if (n <= 0)
        return;
    float lo = v[0], hi = v[0];
    for (int64_t i = 1; i < n; i++) {
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
    }
    double range = (double)hi - (double)lo;
    for (int64_t i = 0; i < n; i++)
        v[i] = range > 0 ? (float)(((double)v[i] - lo) / range) : 0.0f;
}

int rsi_cam_heatmap(const rsi_tensor *cam, int64_t height, int64_t width,
                    float *out)
{
    const int64_t shape4[4] = {1, 1, rsi_tensor_size(cam, 0),
                               rsi_tensor_size(cam, 1)};
    rsi_tensor *c4 = rsi_tensor_reshape(cam, shape4, 4);
    rsi_tensor *up = c4 ? rsi_tensor_resize_bilinear(c4, height, width) : NULL;
    int rc = up ? rsi_tensor_to_floats(up, out, height * width) : -1;
    rsi_tensor_free(c4);
    rsi_tensor_free(up);
    if (rc == 0)
        rsi_normalise_min_max(out, height * width);
    return rc;
}
