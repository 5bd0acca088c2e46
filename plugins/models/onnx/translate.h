/* Translating an ONNX graph into TorchScript source: one submodule per
 * node that computes a tensor (its weights as buffers), and a forward
 * that calls them in graph order. Shape computations (Shape, Gather on a
 * shape, Concat of shapes, ...) become List[int] expressions in that
 * forward, so the batch size stays free. The host's script builder
 * compiles the result into a libtorch module. */
#ifndef RSICAM_ONNX_TRANSLATE_H
#define RSICAM_ONNX_TRANSLATE_H

#include "onnx_proto.h"
#include "sbuf.h"

#include "rsicam/plugin.h"

typedef enum ox_kind {
    OX_TENSOR = 0, /* a float tensor */
    OX_INTS = 1,   /* a 1-D int64 tensor known to hold a shape: List[int] */
    OX_INT = 2     /* a 0-D int64 tensor: int */
} ox_kind;

typedef struct translator translator;

/* The most inputs one node may have (DenseNet concatenates up to 49). */
#define OX_MAX_INPUTS 256

/* What an operator's emitter is handed: one node, its inputs, and where
 * its code goes. */
typedef struct op_ctx {
    translator *tr;
    const ox_node *node;
    int64_t opset;
    int ints_mode;    /* shape arithmetic: the result is an expression */
    sbuf body;        /* tensor mode: the submodule forward's lines */
    sbuf expr;        /* ints mode: the value's expression */
    ox_kind out_kind; /* ints mode: OX_INTS or OX_INT */
    sbuf args;        /* the forward's parameters, "a0: Tensor, ..." */
    int arg_of[OX_MAX_INPUTS]; /* input k -> 1 when passed as an argument */
    int n_buffers;
    const char *buffer_names[OX_MAX_INPUTS];
    const rsi_tensor *buffers[OX_MAX_INPUTS];
    char buffer_name_text[OX_MAX_INPUTS][16];
} op_ctx;

/* Reports "node 'NAME' (OP, opset N): message" as a model error. */
int op_fail(op_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Adds a line to the submodule's forward (indent added). */
void op_line(op_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Whether input k is given (optional inputs may be "" or absent). */
int op_has(const op_ctx *c, int k);
/* Input k's kind. */
ox_kind op_kind(const op_ctx *c, int k);
/* Input k as a tensor expression ("a0", "self.c1"); NULL with an error
 * reported when it is missing or a shape value. */
const char *op_tensor(op_ctx *c, int k);
/* Input k's value when it is a constant known at import, else NULL. */
const ox_tensor *op_const(const op_ctx *c, int k);
/* Input k's integer values when it is an integer constant: returns the
 * count and points *v at them; -1 when it is not one (no error). */
long op_const_ints(const op_ctx *c, int k, const int64_t **v);
/* Input k as a List[int] expression (a literal for a constant), or as an
 * int expression when it is a 0-D value; NULL with an error reported. */
const char *op_ints(op_ctx *c, int k);

/* Emits y = expr, an expression over x = input 0 (element-wise
 * operators). */
int op_map(op_ctx *c, const char *expr);

/* Attributes with defaults. */
int64_t op_attr_int(const op_ctx *c, const char *name, int64_t def);
double op_attr_float(const op_ctx *c, const char *name, double def);
const char *op_attr_str(const op_ctx *c, const char *name, const char *def);
/* An INTS attribute's values and count (*n = 0 and NULL when absent). */
const int64_t *op_attr_ints(const op_ctx *c, const char *name, size_t *n);
const float *op_attr_floats(const op_ctx *c, const char *name, size_t *n);

/* Appends "[v0, v1, ...]" to b. */
void sb_int_list(sbuf *b, const int64_t *v, size_t n);

/* An operator: its tensor emitter and, for those that also do shape
 * arithmetic, its ints emitter (always_ints: it only ever makes shapes). */
typedef struct op_entry {
    const char *op_type;
    int (*tensor)(op_ctx *c);
    int (*ints)(op_ctx *c);
    int always_ints;
} op_entry;

/* The supported operator op_type (ops.c), or NULL. */
const op_entry *ox_find_op(const char *op_type);
/* "Add, AveragePool, ..." sorted (static storage). */
const char *ox_supported_ops(void);

/* How to import. */
typedef struct ox_import_options {
    const char *path; /* for messages */
    /* Graph inputs made constants (a test's extra inputs): parallel arrays. */
    const char *const *bind_names;
    const ox_tensor *const *bind_values;
    int n_bind;
    /* 1: a classifier (one image input [N, C, H, W] or NHWC, a trailing
     * Softmax dropped, the output [N, classes]); 0: the graph as it is */
    int classifier;
} ox_import_options;

/* What the import learned, beside the module. */
typedef struct ox_import_result {
    int nhwc;                 /* the image input is [N, H, W, C] */
    int dropped_softmax;      /* a trailing Softmax was removed */
    int64_t input_h, input_w; /* -1 when dynamic */
    char input_name[128];
    char dynamic_dim[128]; /* a dimension's name when H or W is one */
} ox_import_result;

/* Translates m and builds it with the host's script builder. The
 * metadata JSON texts are applied in order. Returns the model or NULL
 * with a model error reported. */
rsi_model *ox_import(const rsi_host_api *host, const ox_model *m,
                     const ox_import_options *opt, const char *const *metadata,
                     int n_metadata, ox_import_result *res);

#endif
