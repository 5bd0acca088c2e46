/* rsicam — the plugin ABI.
 *
 * A plugin is a shared object exporting one descriptor,
 *
 *     RSI_PLUGIN_EXPORT const rsi_plugin_descriptor rsicam_plugin = {...};
 *
 * naming its ABI version, kind, name, version, parameters and entry points.
 * The host refuses a plugin whose ABI major differs from its own or whose
 * minor is newer, and says so with the plugin's name and path.
 *
 * Plugins reach tensors, model services, parameters and error reporting
 * only through the rsi_host_api table handed to every entry point, so a
 * plugin in plain C needs no libtorch headers and links against nothing.
 * The table only ever grows at its end; `size` tells how much of it a host
 * provides.
 */
#ifndef RSICAM_PLUGIN_H
#define RSICAM_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "rsicam/error.h"
#include "rsicam/model.h"
#include "rsicam/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RSI_ABI_MAJOR 1
#define RSI_ABI_MINOR 0

#define RSI_PLUGIN_SYMBOL "rsicam_plugin"
#if defined(__GNUC__)
#define RSI_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define RSI_PLUGIN_EXPORT
#endif

typedef enum rsi_plugin_kind {
    RSI_PLUGIN_MODEL = 1,
    RSI_PLUGIN_BASELINE = 2,
    RSI_PLUGIN_PATH = 3
} rsi_plugin_kind;

/* ---- Parameters ---------------------------------------------------------
 * A plugin declares its parameters; the host parses the user's text
 * ("sigma=8"), checks it against the declaration and hands the plugin one
 * typed value per declared parameter, in declaration order. */

typedef enum rsi_param_type {
    RSI_PARAM_INT = 1,
    RSI_PARAM_FLOAT = 2,
    RSI_PARAM_BOOL = 3,
    RSI_PARAM_STRING = 4,
    RSI_PARAM_PATH = 5 /* a file that must exist */
} rsi_param_type;

typedef struct rsi_param_spec {
    const char *name;
    rsi_param_type type;
    const char
        *default_value; /* text as a user would type it; NULL: required */
    const char *doc;    /* one line */
    double min, max;    /* numeric bounds, checked when min < max */
} rsi_param_spec;

typedef struct rsi_param_value {
    rsi_param_type type;
    int64_t i;     /* INT, BOOL */
    double f;      /* FLOAT */
    const char *s; /* STRING, PATH (owned by the host) */
    int is_set;    /* 1 when the user gave it, 0 when the default was used */
} rsi_param_value;

/* ---- What a plugin is handed ------------------------------------------ */

typedef struct rsi_host_api rsi_host_api;

/* The run a baseline or path is part of. */
typedef struct rsi_context {
    const rsi_host_api *host;
    rsi_model *model;           /* the classifier being explained */
    const rsi_model_info *info; /* its preprocessing */
    const char *image_path;     /* the image being explained */
    const char *cache_dir;      /* for results worth keeping across runs */
} rsi_context;

/* ---- Entry points per kind -------------------------------------------- */

/* Model: opens a classifier from its parameters. */
typedef struct rsi_model_entry {
    rsi_model *(*open)(const rsi_context *ctx, const rsi_param_value *params);
} rsi_model_entry;

/* Baseline: the point a path starts from, for one preprocessed image x
 * [1, C, H, W] in the model's normalised space. Returns a new tensor of x's
 * shape, or NULL with an error reported. */
typedef struct rsi_baseline_entry {
    rsi_tensor *(*make)(const rsi_context *ctx, const rsi_param_value *params,
                        const rsi_tensor *image);
} rsi_baseline_entry;

/* Path: the points x_0 = baseline ... x_m = image, handed out in batches so
 * that no path is ever whole in memory. */
typedef struct rsi_path_entry {
    /* Opens a path of steps + 1 points; returns plugin state or NULL. */
    void *(*open)(const rsi_context *ctx, const rsi_param_value *params,
                  const rsi_tensor *baseline, const rsi_tensor *image,
                  int64_t steps);
    /* Number of points the path will produce (steps + 1 for most paths). */
    int64_t (*num_points)(void *state);
    /* Sets *batch to the next at most max_points points [B, C, H, W] in
     * order. Returns 1 with a batch, 0 at the end, -1 on error. */
    int (*next)(void *state, int64_t max_points, rsi_tensor **batch);
    void (*close)(void *state);
} rsi_path_entry;

typedef struct rsi_plugin_descriptor {
    uint32_t abi_major, abi_minor;
    rsi_plugin_kind kind;
    const char *name;
    const char *version;
    const char *license;
    const char *description;      /* one line */
    const rsi_param_spec *params; /* ends with an entry whose name is NULL */
    /* Optional; called once after loading. Non-zero: the plugin is skipped. */
    int (*init)(const rsi_host_api *host);
    /* rsi_model_entry, rsi_baseline_entry or rsi_path_entry, by kind. */
    const void *entry;
} rsi_plugin_descriptor;

/* ---- The host table ----------------------------------------------------
 * Append only: never reorder, remove or change a member. */
struct rsi_host_api {
    uint32_t abi_major, abi_minor;
    size_t size; /* sizeof(rsi_host_api) of the host */

    /* Errors and messages (error.h). */
    void (*error)(const char *fmt, ...) RSI_PRINTF(1, 2);
    void (*log)(const char *fmt, ...) RSI_PRINTF(1, 2);

    /* Parameters: the value of a declared parameter by name. */
    const rsi_param_value *(*param)(const rsi_param_spec *specs,
                                    const rsi_param_value *values,
                                    const char *name);
    /* Looks up another loaded plugin's baseline by name and makes it, with
     * its defaults overridden by "k=v,k=v" text (may be NULL). */
    rsi_tensor *(*make_baseline)(const rsi_context *ctx, const char *spec,
                                 const rsi_tensor *image);

    /* Tensors (tensor.h). */
    rsi_tensor *(*tensor_from_floats)(const float *, const int64_t *, int);
    rsi_tensor *(*tensor_full)(const int64_t *, int, double);
    rsi_tensor *(*tensor_full_like)(const rsi_tensor *, double);
    rsi_tensor *(*tensor_clone)(const rsi_tensor *);
    void (*tensor_free)(rsi_tensor *);
    int (*tensor_ndim)(const rsi_tensor *);
    int64_t (*tensor_size)(const rsi_tensor *, int);
    int64_t (*tensor_numel)(const rsi_tensor *);
    int (*tensor_to_floats)(const rsi_tensor *, float *, int64_t);
    int (*tensor_item)(const rsi_tensor *, double *);
    rsi_tensor *(*tensor_to_dtype)(const rsi_tensor *, rsi_dtype);
    rsi_tensor *(*tensor_reshape)(const rsi_tensor *, const int64_t *, int);
    rsi_tensor *(*tensor_add)(const rsi_tensor *, const rsi_tensor *);
    rsi_tensor *(*tensor_sub)(const rsi_tensor *, const rsi_tensor *);
    rsi_tensor *(*tensor_mul)(const rsi_tensor *, const rsi_tensor *);
    rsi_tensor *(*tensor_div)(const rsi_tensor *, const rsi_tensor *);
    rsi_tensor *(*tensor_scale)(const rsi_tensor *, double);
    rsi_tensor *(*tensor_axpby)(double, const rsi_tensor *, double,
                                const rsi_tensor *);
    rsi_tensor *(*tensor_relu)(const rsi_tensor *);
    rsi_tensor *(*tensor_positive)(const rsi_tensor *);
    int (*tensor_add_)(rsi_tensor *, const rsi_tensor *);
    rsi_tensor *(*tensor_cat)(const rsi_tensor *const *, int, int);
    rsi_tensor *(*tensor_narrow)(const rsi_tensor *, int, int64_t, int64_t);
    rsi_tensor *(*tensor_sum_dim)(const rsi_tensor *, int, int);
    rsi_tensor *(*tensor_mean_dims)(const rsi_tensor *, const int64_t *, int,
                                    int);
    int (*tensor_sum_all)(const rsi_tensor *, double *);
    int (*tensor_min_max)(const rsi_tensor *, double *, double *);
    int (*tensor_all_finite)(const rsi_tensor *);
    rsi_tensor *(*tensor_resize_bilinear)(const rsi_tensor *, int64_t, int64_t);
    rsi_tensor *(*tensor_gaussian_blur)(const rsi_tensor *, double);

    /* Model services (model.h). */
    rsi_model *(*model_load)(const char *path);
    rsi_model_info *(*model_get_info)(rsi_model *);
    rsi_tensor *(*model_logits)(rsi_model *, const rsi_tensor *);
    rsi_tensor *(*model_input_grad_softmax)(rsi_model *, const rsi_tensor *,
                                            const rsi_tensor *, rsi_tensor **);
    rsi_module *(*module_load)(const char *path);
    void (*module_free)(rsi_module *);
    rsi_model_info *(*module_get_info)(rsi_module *);
    int (*module_has_method)(rsi_module *, const char *);
    rsi_tensor *(*module_call)(rsi_module *, const char *, const rsi_tensor *);

    /* Images: reads any format libvips reads into [1, 3, h, w] float32 RGB
     * in [0, 1] at its own size; .npy files are read as stored. */
    rsi_tensor *(*image_read)(const char *path);

    /* An error with a class: RSI_ERR_USAGE for a bad parameter value, say
     * (error() above reports RSI_ERR_PLUGIN). */
    void (*error_class)(rsi_error_class cls, const char *fmt, ...)
        RSI_PRINTF(2, 3);

    /* Members below were appended after the first 1.0 table: a plugin that
     * uses one checks first that size covers it (RSI_HOST_HAS). */
    rsi_tensor *(*tensor_sqrt)(const rsi_tensor *);
    /* Writes t as a float32 .npy file (atomically). */
    int (*npy_write)(const char *path, const rsi_tensor *t);
    /* The file a classifier was loaded from (owned by the model). */
    const char *(*model_path)(const rsi_model *);
    /* A copy of t on like's device, with like's dtype: for data a plugin
     * makes in host memory (tensor_from_floats, image_read) that must meet
     * an image on the model's device. */
    rsi_tensor *(*tensor_to_like)(const rsi_tensor *t, const rsi_tensor *like);

    /* A classifier from TorchScript source, for model plugins that import
     * another format (onnx). The builder collects submodules, each with
     * its buffers and methods, and the names users may give for layers;
     * script_finish compiles the model's own methods (a forward calling
     * the submodules) and returns a model that every model service takes
     * as it takes a loaded TorchScript file. Each returns 0 / non-NULL, or
     * -1 / NULL with a model error reported. */
    rsi_script_model *(*script_new)(const char *path);
    /* A submodule `name` of the model: source defines its methods (def
     * forward(self, ...)) over buffers self.<buffer_names[k]> (borrowed;
     * the model keeps its own reference). */
    int (*script_add_module)(rsi_script_model *b, const char *name,
                             const char *source,
                             const char *const *buffer_names,
                             const rsi_tensor *const *buffers, int n_buffers);
    /* Lets users select the submodule at module_path by the name layer
     * (the first name given wins). A model with layer names offers only
     * those: they are what lists and nearest-name suggestions show. */
    int (*script_add_layer_name)(rsi_script_model *b, const char *layer,
                                 const char *module_path);
    /* Compiles source (the model's forward) and returns the model. Its
     * info is ImageNet's defaults overlaid by each metadata JSON text (the
     * rsicam.json format) in order. The builder stays the caller's. */
    rsi_model *(*script_finish)(rsi_script_model *b, const char *source,
                                const char *const *metadata, int n_metadata);
    void (*script_free)(rsi_script_model *b);
};

/* Whether host h provides member m (tables only grow at their end). */
#define RSI_HOST_HAS(h, m)                                                     \
    ((h)->size >= offsetof(rsi_host_api, m) + sizeof((h)->m) && (h)->m)

/* The table of this host (filled once; valid for the process lifetime). */
const rsi_host_api *rsi_host(void);

#ifdef __cplusplus
}
#endif
#endif
