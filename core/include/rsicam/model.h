/* rsicam — model services: TorchScript classifiers and modules.
 *
 * A classifier is loaded once, told which layers to expose, and then run on
 * batches of (normalised) inputs: one call returns the logits, the exposed
 * layers' activations and, for each requested target, the gradient of the
 * target's score with respect to each exposed layer. Only the part of the
 * network after a layer is differentiated; the part before it runs without
 * an autograd graph.
 *
 * Ownership as in tensor.h: arguments are borrowed, returned objects belong
 * to the caller and have one matching free function.
 */
#ifndef RSICAM_MODEL_H
#define RSICAM_MODEL_H

#include "rsicam/export.h"
#include "rsicam/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rsi_model rsi_model;
typedef struct rsi_module rsi_module;

/* Preprocessing and labels, from the file's rsicam.json extra file where
 * present, else 224x224 and ImageNet mean/std. Owned by the model. */
typedef struct rsi_model_info {
    int64_t input_h, input_w;
    double mean[3], std[3];
    int64_t num_labels; /* 0 when the file has none */
    char **labels;
    char *default_layer; /* NULL when the file names none */
    double temperature;  /* informational; 0 when absent */
    /* 1: the model takes its channels in BGR order ("channel_order":
     * "bgr", Keras's "caffe" preprocessing); mean and std are then in the
     * model's order too */
    int bgr;
} rsi_model_info;

typedef enum rsi_score_kind {
    RSI_SCORE_SOFTMAX = 0, /* softmax(logits)[class] */
    RSI_SCORE_LOGIT = 1    /* logits[class] */
} rsi_score_kind;

/* One quantity to differentiate: the score of a class. */
typedef struct rsi_target {
    int64_t class_index;
    rsi_score_kind kind;
} rsi_target;

/* What one batched run returns. Arrays are allocated by the caller with
 * room for the counts it asked for; the tensors in them are new. */
typedef struct rsi_forward_result {
    rsi_tensor *logits;  /* [B, classes] */
    rsi_tensor **acts;   /* [n_layers], each [B, K, h, w] */
    rsi_tensor **grads;  /* [n_targets * n_layers], target-major */
    rsi_tensor **scores; /* [n_targets], each [B] */
    /* [B] float: 1 where the row's logits, activations and gradients are
     * all finite, else 0; one tensor, so that a caller checking every row
     * waits for the device once */
    rsi_tensor *finite;
    /* of the rows, those that ran in float32 under a reduced-precision
     * head (rsi_run_part.full_precision_at); else 0 */
    int64_t full_precision_rows;
} rsi_forward_result;

/* Loads a traced or scripted TorchScript classifier (output [N, classes]).
 * Under rsi_torch_use_huge_pages(), a file of 16 MiB or more has a second
 * thread fault in the memory its weights are loaded into (the file's size,
 * at most RSICAM_PREFAULT_MB, default 512; 0 for none; anything but a
 * whole number is refused); what is left unused is given back after the
 * first forward (README, "Performance"). */
RSI_API rsi_model *rsi_model_load(const char *path);
RSI_API void rsi_model_free(rsi_model *m);
/* Info; fields may be overridden by the caller before use. */
RSI_API rsi_model_info *rsi_model_get_info(rsi_model *m);
RSI_API const char *rsi_model_path(const rsi_model *m);

/* Exposes the named layers (PyTorch module paths, e.g. "layer4.2.conv3").
 * Replaces any earlier selection. An unknown path fails with a message that
 * lists the nearest valid module paths. */
RSI_API int rsi_model_select_layers(rsi_model *m, const char *const *layers,
                                    int n);
RSI_API int rsi_model_num_layers(const rsi_model *m);

/* Every layer name the model takes: each submodule path, depth first, or
 * for a model built from source with layer names (below) those names in
 * the order given; *n receives the count. The array and strings belong to
 * the model. */
RSI_API const char *const *rsi_model_module_paths(rsi_model *m, int *n);

/* Every layer name's output shape (rsi_model_module_paths order) for one
 * zero input [1, 3, h, w]: layer i's RSI_LAYER_DIMS dims at
 * dims[i * RSI_LAYER_DIMS], batch first, ndims[i] of them, or ndims[i] = -1
 * when the layer cannot be exposed (called twice, never, ...). */
#define RSI_LAYER_DIMS 8
RSI_API int rsi_model_layer_shapes(rsi_model *m, int64_t h, int64_t w,
                                   int64_t *dims, int *ndims);

/* Plain forward without gradients: the output as the model returns it,
 * whatever its shape (for checking imported graphs). */
RSI_API rsi_tensor *rsi_model_forward(rsi_model *m, const rsi_tensor *x);

/* Plain forward without gradients: logits [B, classes]. */
RSI_API rsi_tensor *rsi_model_logits(rsi_model *m, const rsi_tensor *x);

/* Forward with the selected layers exposed, then one backward per target
 * (through the network's tail only). out's arrays must hold num_layers,
 * n_targets * num_layers and n_targets entries. */
RSI_API int rsi_model_run(rsi_model *m, const rsi_tensor *x,
                          const rsi_target *targets, int n_targets,
                          rsi_forward_result *out);
/* Chooses a part's targets once the run's logits are known: logits is the
 * part's first row's [1, classes] (borrowed for the call). Fills targets
 * (room for max) and returns how many, or -1 with an error pending. */
typedef int (*rsi_target_chooser)(void *user, const rsi_tensor *logits,
                                  rsi_target *targets, int max);

/* The most rows of one part that can be asked for in float32. */
#define RSI_RUN_PART_MAX_FULL_PRECISION 3

/* Rows of one run that belong together (one image's path points), with
 * their own targets: several images can share one forward. */
typedef struct rsi_run_part {
    int64_t rows; /* the part's rows in x */
    /* Given targets (choose NULL), or chosen between the forward and the
     * backward by choose(user, ...) from the logits of the part's first
     * row (an image's own row, run ahead of its path's points); n_targets
     * then receives the count. */
    rsi_target *targets; /* with choose: room for max_targets */
    int n_targets;
    rsi_target_chooser choose;
    void *user;
    /* With a reduced-precision head (rsi_model_set_precision), these rows
     * of the part (0: its first row; any order, a row named twice runs
     * once) run in float32: a path's first point (the baseline), its last
     * (the image, whose activations weight the map and whose gradient is
     * Grad-CAM's) and the image's own row where it stands for the last. By
     * summation by parts, an error e_i in A_i moves the Riemann-Stieltjes sum
     * by e_i (G_{i-1} - G_{i+1}) / 2 between the ends, where the gradient
     * changes little from point to point, but by e_0 (G_0 + G_1) / 2 and e_m
     * (G_{m-1} + G_m) / 2 at the ends: a path's rounding error is mostly its
     * end points'. */
    int64_t full_precision_at[RSI_RUN_PART_MAX_FULL_PRECISION];
    int n_full_precision;
} rsi_run_part;

/* rsi_model_run over parts: x holds every part's rows in part order, and
 * so does out; for target t each row's gradient and score are its part's
 * target t, and a part with fewer targets than another repeats its last.
 * Returns the targets per row (the most of any part; out's arrays must
 * hold max_targets), or -1: a chooser's error stands as it was raised. */
RSI_API int rsi_model_run_parts(rsi_model *m, const rsi_tensor *x,
                                rsi_run_part *parts, int n_parts,
                                int max_targets, rsi_forward_result *out);
/* Frees the tensors inside out (not the arrays). */
RSI_API void rsi_forward_result_release(rsi_forward_result *out, int n_layers,
                                        int n_targets);

/* Gradient with respect to the input x of sum(upstream * softmax(logits(x)))
 * — the vector-Jacobian product that baselines optimised against the
 * model's output need. Also returns the probabilities when probs != NULL. */
RSI_API rsi_tensor *rsi_model_input_grad_softmax(rsi_model *m,
                                                 const rsi_tensor *x,
                                                 const rsi_tensor *upstream,
                                                 rsi_tensor **probs);

/* A classifier built from TorchScript source, for importers of other
 * formats (plugin.h's script_* services document each step). */
typedef struct rsi_script_model rsi_script_model;
RSI_API rsi_script_model *rsi_script_new(const char *path);
RSI_API int rsi_script_add_module(rsi_script_model *b, const char *name,
                                  const char *source,
                                  const char *const *buffer_names,
                                  const rsi_tensor *const *buffers,
                                  int n_buffers);
RSI_API int rsi_script_add_layer_name(rsi_script_model *b, const char *layer,
                                      const char *module_path);
RSI_API rsi_model *rsi_script_finish(rsi_script_model *b, const char *source,
                                     const char *const *metadata,
                                     int n_metadata);
RSI_API void rsi_script_free(rsi_script_model *b);

/* A general TorchScript module (a VAE, say): call any of its methods with
 * one tensor and get one tensor back. Info as for classifiers. */
RSI_API rsi_module *rsi_module_load(const char *path);
RSI_API void rsi_module_free(rsi_module *m);
RSI_API rsi_model_info *rsi_module_get_info(rsi_module *m);
RSI_API int rsi_module_has_method(rsi_module *m, const char *method);
RSI_API rsi_tensor *rsi_module_call(rsi_module *m, const char *method,
                                    const rsi_tensor *x);

/* Moves the model to a device: "cpu", "cuda" or "cuda:N". Inputs are moved
 * to the model's device by every call; outputs stay there. Fails with a
 * usage error when the device is unknown or unavailable. */
RSI_API int rsi_model_set_device(rsi_model *m, const char *device);
/* The precision of the part of the network before the first exposed layer
 * in rsi_model_run(): "fp32" (the default) or "bf16" (autocast to
 * bfloat16). The layers' activations, the rest of the network and every
 * gradient stay float32. Fails with a usage error on anything else. */
RSI_API int rsi_model_set_precision(rsi_model *m, const char *precision);
/* The head's precision as set: "fp32" or "bf16". */
RSI_API const char *rsi_model_get_precision(const rsi_model *m);
/* 1 when, on a CPU, the network after the first selected layer is worth
 * running on many rows at once (with the part before the layer frozen):
 * only pooling, reshaping, fully connected layers and pointwise operations
 * (a classifier's end after its last convolution), which keep little per
 * row, with at least 32 MiB of weights, which it reads once a run however
 * many rows it takes (VGG19's classifier; not ResNet50's fc). A run may
 * then take many more rows than the head should at once
 * (rsi_model_set_head_rows). 0 otherwise (a GPU, a tail with a
 * convolution, a head that cannot be frozen); -1 with an error pending
 * when no layers are selected. May freeze the head, which the first run
 * would do otherwise. */
RSI_API int rsi_model_wide_tail(rsi_model *m);
/* The frozen part before the first layer runs on at most rows + 1 rows at
 * a time, in parts as equal as they come, the rest of the network on all
 * of a run's rows together; 0 (the default): all at once. The maps are the
 * same to the bit whatever the parts. */
RSI_API int rsi_model_set_head_rows(rsi_model *m, int64_t rows);
/* The seconds the last rsi_model_run() spent in the frozen part before
 * the first layer (on a GPU, the time to queue its work), or -1 where the
 * run had none (no run yet, a head that cannot be frozen). */
RSI_API double rsi_model_head_seconds(const rsi_model *m);
/* 1 when the model lives on a GPU, else 0. */
RSI_API int rsi_model_on_gpu(const rsi_model *m);
/* A copy of t on the model's device. */
RSI_API rsi_tensor *rsi_model_place(const rsi_model *m, const rsi_tensor *t);

/* Sets libtorch's intra-op threads (n <= 0: every available core). It
 * writes the count into this process's environment (OMP_NUM_THREADS and
 * MKL_NUM_THREADS, where they differ), which no other thread may read
 * meanwhile: call it before starting threads. */
RSI_API int rsi_torch_set_threads(int n);
RSI_API int rsi_torch_get_threads(void);
/* From the next allocation on, for the whole process: libtorch's CPU
 * tensors of 1 MiB and more get mappings of their own, advised as 2 MiB
 * pages, and are kept for reuse once freed (at most as many bytes as were
 * ever live at once); smaller ones stay with libtorch's allocator. On a
 * virtual machine this saves most of a run's page faults (README,
 * "Performance"). The command (every subcommand) and bench/ call it; the
 * Python module does not (it would change the allocator of the user's
 * whole torch session). RSICAM_SMALL_PAGES set to anything but "" leaves
 * libtorch's allocator alone. Returns 0, or -1 if libtorch refused. */
RSI_API int rsi_torch_use_huge_pages(void);
/* 1 while rsi_torch_use_huge_pages() is in force, else 0. */
RSI_API int rsi_torch_huge_pages(void);
/* Tensors made on this thread between rsi_torch_lasting_begin() and
 * rsi_torch_lasting_end() (pairs may nest) outlive the forward that made
 * them: the Riemann-Stieltjes sums, each layer's previous point, an
 * image's own row. Under rsi_torch_use_huge_pages() they take blocks of
 * their own, so that the next forward finds the blocks that its
 * activations had in the last one; otherwise nothing changes. */
RSI_API void rsi_torch_lasting_begin(void);
RSI_API void rsi_torch_lasting_end(void);
/* Chooses how TorchScript graphs run, for the whole process: "profiling"
 * (libtorch's default), "legacy", "simple" (no graph optimisation) or
 * "auto" (the command's choice: from then on each model placed on a CPU
 * makes it "simple", on a GPU "profiling"; RSICAM_EXECUTOR, where set,
 * wins); bench/ measures which is fastest. Returns 0, or -1 (a usage
 * error) for an unknown name. rsi_torch_executor() names the one in
 * force. */
RSI_API int rsi_torch_set_executor(const char *name);
RSI_API const char *rsi_torch_executor(void);

/* libtorch's profiler: records every operator the calling thread runs
 * and, on a GPU with a libtorch built with Kineto, every kernel and copy,
 * until rsi_torch_profile_stop(), which writes them as a Chrome trace
 * (Perfetto, chrome://tracing) to path, replacing what is there (NULL:
 * writes nothing). For finding where a run's time goes. */
RSI_API int rsi_torch_profile_start(void);
RSI_API int rsi_torch_profile_stop(const char *path);

#ifdef __cplusplus
}
#endif
#endif
