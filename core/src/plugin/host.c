/* The host table handed to plugins (rsi_host_api in plugin.h).
 *
 * Built at compile time from the library's own functions, so it is ready
 * before any plugin runs and never changes. The few members that are not
 * plain library functions (error, log, make_baseline, the spaces) live
 * here; parameters in params_get.c, random numbers and interpolation in
 * host_services.c.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_services.h"
#include "input.h"
#include "npy.h"
#include "params.h"
#include "pixel_space.h"
#include "plugin_call.h"
#include "plugin_registry.h"

/* Nested make_baseline calls deeper than this are a baseline making itself
 * (directly or in a cycle), not a real composition. */
#define BASELINE_NESTING_MAX 8

static _Thread_local int baseline_depth;

/* A message a plugin reports is a plugin failure unless something more
 * specific (a tensor operation inside it, say) was recorded first. */
static void host_error(const char *fmt, ...) RSI_PRINTF(1, 2);
static void host_error(const char *fmt, ...)
{
    if (rsi_error_pending())
        return;
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    rsi_error_class_set(RSI_ERR_PLUGIN, "%s", msg);
}

static void host_log(const char *fmt, ...) RSI_PRINTF(1, 2);
static void host_log(const char *fmt, ...)
{
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* One write per line, so that lines from threads do not interleave. */
    fprintf(stderr, "rsicam: %s\n", msg);
}

static rsi_tensor *host_make_baseline(const rsi_context *ctx, const char *spec)
{
    if (baseline_depth >= BASELINE_NESTING_MAX) {
        rsi_error_class_set(RSI_ERR_PLUGIN,
                            "baselines nested more than %d deep making '%s' "
                            "(does a baseline make itself?)",
                            BASELINE_NESTING_MAX, spec ? spec : "");
        return NULL;
    }
    char *name, *text;
    if (rsi_plugin_spec_split(spec, &name, &text) != 0)
        return NULL;
    rsi_tensor *t = NULL;
    rsi_param_value *values = NULL;
    const rsi_plugin *p =
        rsi_registry_find(rsi_registry_current(), RSI_PLUGIN_BASELINE, name);
    if (p && rsi_plugin_parse_params(p, text, &values) == 0) {
        baseline_depth++;
        t = rsi_call_baseline(p, values, ctx, ctx->image);
        baseline_depth--;
    }
    rsi_params_free(values);
    free(name);
    free(text);
    return t;
}

static rsi_tensor *host_to_model_space(const rsi_context *ctx,
                                       const rsi_tensor *pixels)
{
    return rsi_pixels_to_model(pixels, ctx ? ctx->info : NULL);
}

static rsi_tensor *host_to_pixel_space(const rsi_context *ctx,
                                       const rsi_tensor *x)
{
    return rsi_pixels_from_model(x, ctx ? ctx->info : NULL);
}

/* The table's npy_write: the tensor's shape and float32 data to
 * rsi_npy_write_f32, which writes atomically. */
static int host_npy_write(const char *path, const rsi_tensor *t)
{
    int ndim = rsi_tensor_ndim(t);
    int64_t n = rsi_tensor_numel(t);
    if (ndim < 0 || n < 0)
        return -1;
    if (ndim > RSI_MAX_DIMS) {
        rsi_error("'%s': %d dimensions, more than .npy writing supports", path,
                  ndim);
        return -1;
    }
    int64_t shape[RSI_MAX_DIMS];
    for (int i = 0; i < ndim; i++)
        shape[i] = rsi_tensor_size(t, i);
    float *data = malloc((size_t)(n > 0 ? n : 1) * sizeof *data);
    if (!data) {
        rsi_error("out of memory writing '%s'", path);
        return -1;
    }
    int rc = rsi_tensor_to_floats(t, data, n);
    if (rc == 0)
        rc = rsi_npy_write_f32(path, data, shape, ndim);
    free(data);
    return rc < 0 ? -1 : 0;
}

static const rsi_host_api host_table = {
    .abi_major = RSI_ABI_MAJOR,
    .abi_minor = RSI_ABI_MINOR,
    .size = sizeof(rsi_host_api),

    .error = host_error,
    .error_class = rsi_error_class_set,
    .log = host_log,

    .param_int = rsi_params_get_int,
    .param_float = rsi_params_get_float,
    .param_bool = rsi_params_get_bool,
    .param_string = rsi_params_get_string,
    .param_set = rsi_params_get_set,

    .random = rsi_host_random,
    .tensor_lerp = rsi_host_lerp,
    .to_model_space = host_to_model_space,
    .to_pixel_space = host_to_pixel_space,
    .make_baseline = host_make_baseline,

    .tensor_from_floats = rsi_tensor_from_floats,
    .tensor_full = rsi_tensor_full,
    .tensor_full_like = rsi_tensor_full_like,
    .tensor_clone = rsi_tensor_clone,
    .tensor_free = rsi_tensor_free,
    .tensor_ndim = rsi_tensor_ndim,
    .tensor_size = rsi_tensor_size,
    .tensor_numel = rsi_tensor_numel,
    .tensor_to_floats = rsi_tensor_to_floats,
    .tensor_item = rsi_tensor_item,
    .tensor_to_dtype = rsi_tensor_to_dtype,
    .tensor_to_like = rsi_tensor_to_like,
    .tensor_reshape = rsi_tensor_reshape,
    .tensor_add = rsi_tensor_add,
    .tensor_sub = rsi_tensor_sub,
    .tensor_mul = rsi_tensor_mul,
    .tensor_div = rsi_tensor_div,
    .tensor_scale = rsi_tensor_scale,
    .tensor_axpby = rsi_tensor_axpby,
    .tensor_relu = rsi_tensor_relu,
    .tensor_positive = rsi_tensor_positive,
    .tensor_sqrt = rsi_tensor_sqrt,
    .tensor_add_ = rsi_tensor_add_,
    .tensor_cat = rsi_tensor_cat,
    .tensor_narrow = rsi_tensor_narrow,
    .tensor_sum_dim = rsi_tensor_sum_dim,
    .tensor_mean_dims = rsi_tensor_mean_dims,
    .tensor_sum_all = rsi_tensor_sum_all,
    .tensor_min_max = rsi_tensor_min_max,
    .tensor_all_finite = rsi_tensor_all_finite,
    .tensor_resize_bilinear = rsi_tensor_resize_bilinear,
    .tensor_gaussian_blur = rsi_tensor_gaussian_blur,

    .model_load = rsi_model_load,
    .model_get_info = rsi_model_get_info,
    .model_path = rsi_model_path,
    .model_logits = rsi_model_logits,
    .model_input_grad_softmax = rsi_model_input_grad_softmax,
    .module_load = rsi_module_load,
    .module_free = rsi_module_free,
    .module_get_info = rsi_module_get_info,
    .module_has_method = rsi_module_has_method,
    .module_call = rsi_module_call,

    .image_read = rsi_host_image_read,
    .npy_write = host_npy_write,

    /* 2.1 */
    .script_new = rsi_script_new,
    .script_add_module = rsi_script_add_module,
    .script_add_layer_name = rsi_script_add_layer_name,
    .script_finish = rsi_script_finish,
    .script_free = rsi_script_free,
};

const rsi_host_api *rsi_host(void)
{
    return &host_table;
}

rsi_registry *rsi_registry_new(void)
{
    return rsi_registry_with_host(&host_table);
}
