/* An ONNX ModelProto read into plain C structures: the graph's nodes,
 * initializers, inputs and outputs, the default opset and the metadata.
 * Only what an importer of classifiers needs is kept. */
#ifndef RSICAM_ONNX_PROTO_H
#define RSICAM_ONNX_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define OX_MAX_DIMS 8

/* TensorProto.DataType values that occur in classifiers. */
enum {
    OX_FLOAT = 1,
    OX_UINT8 = 2,
    OX_INT8 = 3,
    OX_INT32 = 6,
    OX_INT64 = 7,
    OX_BOOL = 9,
    OX_DOUBLE = 11
};

/* A constant: floating types are held as float (f), integer and boolean
 * ones as int64 (i); exactly one of them is set. */
typedef struct ox_tensor {
    char *name;
    int dtype;
    int ndim;
    int64_t dims[OX_MAX_DIMS];
    size_t n; /* elements */
    float *f;
    int64_t *i;
} ox_tensor;

/* AttributeProto.AttributeType values. */
enum {
    OX_ATTR_FLOAT = 1,
    OX_ATTR_INT = 2,
    OX_ATTR_STRING = 3,
    OX_ATTR_TENSOR = 4,
    OX_ATTR_GRAPH = 5,
    OX_ATTR_FLOATS = 6,
    OX_ATTR_INTS = 7,
    OX_ATTR_STRINGS = 8
};

typedef struct ox_attr {
    char *name;
    int type;
    float f;
    int64_t i;
    char *s;
    ox_tensor *t;
    float *floats;
    size_t n_floats;
    int64_t *ints;
    size_t n_ints;
} ox_attr;

typedef struct ox_node {
    char *name, *op_type, *domain;
    char **inputs; /* "" for an omitted optional input */
    int n_inputs;
    char **outputs;
    int n_outputs;
    ox_attr *attrs;
    int n_attrs;
} ox_node;

/* A graph input or output: element type and shape, a dimension either a
 * number (dims[k] >= 0) or a name (dim_params[k], dims[k] = -1). */
typedef struct ox_value_info {
    char *name;
    int elem_type;
    int has_shape;
    int ndim;
    int64_t dims[OX_MAX_DIMS];
    char *dim_params[OX_MAX_DIMS];
} ox_value_info;

typedef struct ox_model {
    int64_t ir_version;
    int64_t opset; /* of the default domain ("" or "ai.onnx") */
    char *producer;
    ox_node *nodes;
    int n_nodes;
    ox_tensor *inits;
    int n_inits;
    ox_value_info *inputs; /* the graph's inputs, initializers among them */
    int n_inputs;
    ox_value_info *outputs;
    int n_outputs;
    char **meta_keys, **meta_values;
    int n_meta;
} ox_model;

/* Parses a ModelProto from bytes. Returns 0, or -1 with a one-line reason
 * in err (the caller names the file). */
int ox_model_parse(ox_model *m, const void *data, size_t len, char *err,
                   size_t err_size);
/* Reads and parses a file; as ox_model_parse, the reason naming no file. */
int ox_model_read(ox_model *m, const char *path, char *err, size_t err_size);
void ox_model_release(ox_model *m);

/* Parses one TensorProto (a test's input_0.pb, say) into t. */
int ox_tensor_parse(ox_tensor *t, const void *data, size_t len, char *err,
                    size_t err_size);
int ox_tensor_read(ox_tensor *t, const char *path, char *err, size_t err_size);
void ox_tensor_release(ox_tensor *t);

/* The attribute of node n named name, or NULL. */
const ox_attr *ox_attr_find(const ox_node *n, const char *name);
/* A value from the meta data, or NULL. */
const char *ox_meta(const ox_model *m, const char *key);

#endif
