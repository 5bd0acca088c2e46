/* rsicam — the plugin ABI (SDK 2).
 *
 * A plugin is a shared object that states what it is with one macro:
 *
 *     RSI_DECLARE_PATH("linear", "2.0.0", "MIT", "a straight line", NULL,
 *                      .points = linear_points);
 *
 * (RSI_DECLARE_BASELINE and RSI_DECLARE_MODEL likewise). The macro fills
 * the exported descriptor: ABI version, kind, name, version, license,
 * description, parameters and entry points. The host refuses a plugin
 * whose ABI major differs from its own or whose minor is newer, in one
 * line that names the plugin, its file and what to do.
 *
 * Every entry point receives the context (rsi_context): the host table,
 * the plugin's parameters, the image and, for paths, the baseline. No
 * plugin needs to keep anything of the host. Tensors and model services
 * come only through the host table, so a plugin in plain C needs no
 * libtorch headers and links against nothing.
 *
 * What the host owns, so that a plugin does not: batching, the step grid
 * and the exact ends of a path (alpha 0 is the baseline and alpha 1 the
 * image, bit for bit), device placement (what a plugin gets is on the
 * model's device, and tensors made "like" it stay there), normalisation
 * for baselines that work in pixel space, checking every answer (count,
 * shape, dtype, device, finite values) and naming the plugin when one is
 * wrong, parameter parsing, and seeded random numbers.
 *
 * Ownership: arguments are borrowed; every tensor returned belongs to the
 * caller. Errors: return NULL (or -1) after host->error(); a plugin that
 * fails without saying why is reported as such.
 */
#ifndef RSICAM_PLUGIN_H
#define RSICAM_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "rsicam/error.h"
#include "rsicam/export.h"
#include "rsicam/model.h"
#include "rsicam/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI version is this header's alone: enum constants, so that a
 * plugin cannot override them with a macro of its own by accident (the
 * #error catches one defined before this header). */
#if defined(RSI_ABI_MAJOR) || defined(RSI_ABI_MINOR)
#error "RSI_ABI_MAJOR/RSI_ABI_MINOR come from rsicam/plugin.h only"
#endif
enum rsi_abi_version { RSI_ABI_MAJOR = 2, RSI_ABI_MINOR = 1 };

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
 * ("sigma=8"), checks it against the declaration, and the plugin reads
 * the values by name with the host's typed getters (param_float, ...). */

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
    /* text as a user would type it; NULL: required, unless optional */
    const char *default_value;
    const char *doc; /* one line */
    double min, max; /* numeric bounds, checked when min < max */
    int optional;    /* with default_value NULL: may be left out, and
                        then has no value (param_set() says 0); no
                        default is invented, so a saved configuration
                        reproduces the same run */
} rsi_param_spec;

/* One parsed value (the host's; plugins read them through the getters). */
typedef struct rsi_param_value {
    rsi_param_type type;
    int64_t i;        /* INT, BOOL */
    double f;         /* FLOAT (and INT as a double) */
    const char *s;    /* STRING, PATH */
    int is_set;       /* 1 when the user gave it */
    int has_value;    /* 0 only for an optional parameter left out */
    const char *text; /* FLOAT, INT: as the user (or default) wrote it */
} rsi_param_value;

/* ---- What a plugin is handed ------------------------------------------ */

typedef struct rsi_host_api rsi_host_api;
typedef struct rsi_plugin_descriptor rsi_plugin_descriptor;

/* Everything an entry point may need; the host fills it per call. */
typedef struct rsi_context {
    const rsi_host_api *host;
    const rsi_plugin_descriptor *plugin; /* the plugin being called */
    const rsi_param_value *params;       /* read with the param_* getters */
    rsi_model *model;                    /* the classifier being explained */
    const rsi_model_info *info;          /* its preprocessing */
    const char *image_path;              /* the image being explained */
    const char *cache_dir;               /* for results worth keeping */
    /* Baselines and paths: the image, [1, 3, H, W] float32 on the
     * model's device, in the model's normalised space (for a pixel-space
     * baseline: RGB in [0, 1]). */
    const rsi_tensor *image;
    const rsi_tensor *baseline; /* paths: the baseline (model space) */
    /* Paths: the steps m asked for. The first walk asks for the positions
     * i / m; adaptive steps then add positions between them. A path that
     * is a function of alpha alone has no use for it. */
    int64_t steps;
    void *state;        /* paths: what open() made, else NULL */
    uint64_t image_key; /* the image's content hash (random()) */
} rsi_context;

/* ---- Entry points per kind -------------------------------------------- */

/* Model: opens a classifier from its parameters. */
typedef struct rsi_model_entry {
    rsi_model *(*open)(const rsi_context *ctx);
} rsi_model_entry;

typedef enum rsi_space {
    RSI_SPACE_MODEL = 0, /* the model's normalised input space */
    RSI_SPACE_PIXELS = 1 /* RGB in [0, 1] at the model's input size */
} rsi_space;

/* Baseline: the point a path starts from, for ctx->image. Returns a new
 * tensor of the image's shape, in the space the baseline declares. */
typedef struct rsi_baseline_entry {
    rsi_tensor *(*make)(const rsi_context *ctx);
    /* RSI_SPACE_PIXELS: ctx->image is the image as the user sees it, the
     * answer is in pixels too, and the host normalises it. */
    rsi_space space;
} rsi_baseline_entry;

/* Path: a function of the position alpha in [0, 1], from the baseline
 * (alpha 0) to the image (alpha 1). */
typedef struct rsi_path_entry {
    /* The points at alpha[0..n) (each in (0, 1) unless own_ends), as one
     * new tensor [n, C, H, W] like ctx->image. Required unless the path
     * is sequential. Called with as many positions as the host batches;
     * the same position gives the same point, whatever else is asked. */
    rsi_tensor *(*points)(const rsi_context *ctx, const double *alpha,
                          int64_t n);
    /* Optional: per-image state made once from ctx->baseline and
     * ctx->image (an encoded image, say); later calls see it as
     * ctx->state. Returns 0, or -1 with an error. */
    int (*open)(const rsi_context *ctx, void **state);
    /* Optional: frees what open() made. */
    void (*close)(const rsi_context *ctx, void *state);
    /* Optional: 1 when the path's ends are its own and not the baseline
     * and the image (a path that makes its own start, say): the host then
     * asks for alpha 0 and 1 too and keeps what the path returns. */
    int (*own_ends)(const rsi_context *ctx);
    /* A sequential path (a fixed list of points, which decides their
     * number; --steps does not apply) sets these instead of points():
     * num_points() once open, then next() hands out the next at most
     * max_points points in order: 1 with *batch, 0 at the end, -1 on
     * error. */
    int64_t (*num_points)(const rsi_context *ctx);
    int (*next)(const rsi_context *ctx, int64_t max_points, rsi_tensor **batch);
} rsi_path_entry;

/* The first four members keep their place in every ABI major, so that a
 * host can name a plugin built for another one. */
struct rsi_plugin_descriptor {
    uint32_t abi_major, abi_minor;
    rsi_plugin_kind kind;
    const char *name;
    const char *version;
    const char *license;
    const char *description;      /* one line */
    const rsi_param_spec *params; /* ends with a NULL name; NULL: none */
    /* Optional; called once after loading, with only ctx->host set.
     * Non-zero: the plugin is skipped. Plugins are tried in a separate
     * scanner process and loaded again where they are used, so init runs
     * once in each: keep it free of lasting side effects. */
    int (*init)(const rsi_context *ctx);
    /* rsi_model_entry, rsi_baseline_entry or rsi_path_entry, by kind. */
    const void *entry;
};

/* The declarations: NAME, VERSION, LICENSE, DESCRIPTION (strings), PARAMS
 * (an rsi_param_spec array ending with {NULL}, or NULL), then the entry
 * points as designated initialisers (.points = f, ...). */
#define RSI_DECLARE_PLUGIN_(KIND, ENTRY_TYPE, NAME, VERSION, LICENSE,          \
                            DESCRIPTION, PARAMS, ...)                          \
    static const ENTRY_TYPE rsi_plugin_entry_ = {__VA_ARGS__};                 \
    RSI_PLUGIN_EXPORT const rsi_plugin_descriptor rsicam_plugin = {            \
        .abi_major = RSI_ABI_MAJOR,                                            \
        .abi_minor = RSI_ABI_MINOR,                                            \
        .kind = KIND,                                                          \
        .name = NAME,                                                          \
        .version = VERSION,                                                    \
        .license = LICENSE,                                                    \
        .description = DESCRIPTION,                                            \
        .params = PARAMS,                                                      \
        .entry = &rsi_plugin_entry_}
#define RSI_DECLARE_PATH(...)                                                  \
    RSI_DECLARE_PLUGIN_(RSI_PLUGIN_PATH, rsi_path_entry, __VA_ARGS__)
#define RSI_DECLARE_BASELINE(...)                                              \
    RSI_DECLARE_PLUGIN_(RSI_PLUGIN_BASELINE, rsi_baseline_entry, __VA_ARGS__)
#define RSI_DECLARE_MODEL(...)                                                 \
    RSI_DECLARE_PLUGIN_(RSI_PLUGIN_MODEL, rsi_model_entry, __VA_ARGS__)

/* ---- The host table ----------------------------------------------------
 * Append only: never reorder, remove or change a member. Each member
 * appended after 2.0 raises RSI_ABI_MINOR and sits in a block marked with
 * the minor that added it; a plugin using one checks RSI_HOST_HAS. */

typedef enum rsi_random_kind {
    RSI_RANDOM_UNIFORM = 0, /* in [0, 1) */
    RSI_RANDOM_NORMAL = 1   /* mean 0, standard deviation 1 */
} rsi_random_kind;

struct rsi_host_api {
    /* ---- since 2.0 ---- */
    uint32_t abi_major, abi_minor;
    size_t size; /* sizeof(rsi_host_api) of the host */

    /* Errors and messages (error.h): error() is a plugin error;
     * error_class() one of another class (RSI_ERR_USAGE for a bad
     * parameter value, say). */
    void (*error)(const char *fmt, ...) RSI_PRINTF(1, 2);
    void (*error_class)(rsi_error_class cls, const char *fmt, ...)
        RSI_PRINTF(2, 3);
    void (*log)(const char *fmt, ...) RSI_PRINTF(1, 2);

    /* Parameters by name. A name the plugin did not declare, a getter of
     * the wrong type, or an optional parameter without a value is a
     * plugin error naming plugin and parameter (the call then fails
     * whatever the plugin returns); the getter returns 0, NaN or "". */
    int64_t (*param_int)(const rsi_context *ctx, const char *name);
    double (*param_float)(const rsi_context *ctx, const char *name);
    int (*param_bool)(const rsi_context *ctx, const char *name);
    const char *(*param_string)(const rsi_context *ctx, const char *name);
    /* 1 when the parameter has a value (given, or its default); 0 for an
     * optional one left out. */
    int (*param_set)(const rsi_context *ctx, const char *name);

    /* Seeded random numbers: [n, C, H, W] like ctx->image (float32, its
     * device), one draw per position alpha[k]. The numbers depend only on
     * (seed, ctx->image_key, alpha[k]) and the element's index: the same
     * on every device and however the positions are batched. */
    rsi_tensor *(*random)(const rsi_context *ctx, rsi_random_kind kind,
                          uint64_t seed, const double *alpha, int64_t n);

    /* Interpolation: [n, ...] with row k = a + alpha[k] (b - a), a and b
     * [1, ...]; alpha 0 gives a and alpha 1 gives b exactly. */
    rsi_tensor *(*tensor_lerp)(const rsi_tensor *a, const rsi_tensor *b,
                               const double *alpha, int64_t n);
    /* Pixels ([N, 3, H, W] RGB in [0, 1]) to the model's normalised space
     * of ctx->info, and back. */
    rsi_tensor *(*to_model_space)(const rsi_context *ctx,
                                  const rsi_tensor *pixels);
    rsi_tensor *(*to_pixel_space)(const rsi_context *ctx, const rsi_tensor *x);

    /* Looks up another loaded baseline by name and makes it for
     * ctx->image, with its defaults overridden by "k=v,k=v" text (may be
     * NULL); the answer is in the model's space. */
    rsi_tensor *(*make_baseline)(const rsi_context *ctx, const char *spec);

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
    /* A copy of t on like's device, with like's dtype: for data made in
     * host memory (tensor_from_floats, image_read). */
    rsi_tensor *(*tensor_to_like)(const rsi_tensor *t, const rsi_tensor *like);
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
    rsi_tensor *(*tensor_sqrt)(const rsi_tensor *);
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
    const char *(*model_path)(const rsi_model *);
    rsi_tensor *(*model_logits)(rsi_model *, const rsi_tensor *);
    rsi_tensor *(*model_input_grad_softmax)(rsi_model *, const rsi_tensor *,
                                            const rsi_tensor *, rsi_tensor **);
    rsi_module *(*module_load)(const char *path);
    void (*module_free)(rsi_module *);
    rsi_model_info *(*module_get_info)(rsi_module *);
    int (*module_has_method)(rsi_module *, const char *);
    rsi_tensor *(*module_call)(rsi_module *, const char *, const rsi_tensor *);

    /* Files: image_read reads any format libvips reads into [1, 3, h, w]
     * float32 RGB in [0, 1] at its own size (.npy files as stored);
     * npy_write writes t as a float32 .npy file, atomically. */
    rsi_tensor *(*image_read)(const char *path);
    int (*npy_write)(const char *path, const rsi_tensor *t);

    /* ---- since 2.1 ---- */

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
RSI_API const rsi_host_api *rsi_host(void);

#ifdef __cplusplus
}
#endif
#endif
