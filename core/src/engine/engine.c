/* rsicam — the Riemann-Stieltjes engine (see engine.h). */
#include "engine.h"

#include <stddef.h>

#include "rsicam/error.h"
#include "rsicam/model.h"

void rsi_rs_layer_init(rsi_rs_layer *layer)
{
    *layer = (rsi_rs_layer){0};
}

void rsi_rs_layer_release(rsi_rs_layer *layer)
{
    rsi_tensor_free(layer->first_act);
    rsi_tensor_free(layer->last_act);
    *layer = (rsi_rs_layer){0};
}

void rsi_rs_sum_init(rsi_rs_sum *sum, int want_relu)
{
    *sum = (rsi_rs_sum){0};
    sum->want_relu = want_relu;
}

void rsi_rs_sum_release(rsi_rs_sum *sum)
{
    rsi_tensor_free(sum->ig);
    rsi_tensor_free(sum->ig_relu);
    rsi_tensor_free(sum->last_grad);
    *sum = (rsi_rs_sum){0};
}

/* A copy of one row in dtype, so that the batch it came from can be
 * freed; it outlives the forward (rsi_torch_lasting_begin). The row's view
 * is converted where dtype differs (the conversion copies it) and cloned
 * where it does not: one copy either way (cloning first, then converting,
 * made two copies of every layer's and sum's last row in each forward). */
static rsi_tensor *row_copy(const rsi_tensor *t, int64_t row, rsi_dtype dtype)
{
    rsi_torch_lasting_begin();
    rsi_tensor *view = rsi_tensor_narrow(t, 0, row, 1);
    rsi_tensor *copy = NULL;
    if (view)
        copy = rsi_tensor_dtype(view) == (int)dtype
                   ? rsi_tensor_clone(view)
                   : rsi_tensor_to_dtype(view, dtype);
    rsi_tensor_free(view);
    rsi_torch_lasting_end();
    return copy;
}

/* The last row in float64, kept for the next batch's first pair. */
static rsi_tensor *last_row(const rsi_tensor *t)
{
    return row_copy(t, rsi_tensor_size(t, 0) - 1, RSI_FLOAT64);
}

int rsi_rs_layer_begin_batch(rsi_rs_layer *layer, const rsi_tensor *acts)
{
    if (rsi_tensor_ndim(acts) != 4) {
        rsi_error("engine: activations must be [B, K, h, w]");
        return -1;
    }
    layer->acts = acts;
    if (!layer->first_act &&
        !(layer->first_act = row_copy(acts, 0, rsi_tensor_dtype(acts))))
        return -1;
    return 0;
}

int rsi_rs_sum_add(rsi_rs_sum *sum, const rsi_rs_layer *layer,
                   const rsi_tensor *grads)
{
    int rc = 0;
    if (!layer->acts) {
        rsi_error("engine: a sum added outside a layer's batch");
        return -1;
    }
    /* the increments in float64: A_i - A_{i-1} loses digits in float32
     * when steps are many and activations large */
    if (rsi_tensor_size(grads, 0) + (sum->last_grad ? 1 : 0) >= 2)
        rc = rsi_tensor_trapezoids_add(
            &sum->ig, sum->want_relu ? &sum->ig_relu : NULL, sum->last_grad,
            grads, layer->last_act, layer->acts);
    rsi_tensor_free(sum->last_grad);
    sum->last_grad = rc == 0 ? last_row(grads) : NULL;
    return rc == 0 && sum->last_grad ? 0 : -1;
}

int rsi_rs_layer_end_batch(rsi_rs_layer *layer, const rsi_tensor *acts)
{
    layer->acts = NULL;
    rsi_tensor_free(layer->last_act);
    layer->last_act = last_row(acts);
    layer->points += rsi_tensor_size(acts, 0);
    return layer->last_act ? 0 : -1;
}
