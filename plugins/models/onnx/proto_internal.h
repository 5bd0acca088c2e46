/* What the ModelProto and TensorProto readers share (onnx_proto.c,
 * onnx_tensor.c). */
#ifndef RSICAM_ONNX_PROTO_INTERNAL_H
#define RSICAM_ONNX_PROTO_INTERNAL_H

#include "onnx_proto.h"
#include "pb.h"

/* Where a parse reports its first error. */
typedef struct parse_state {
    char *err;
    size_t err_size;
    int failed;
} parse_state;

/* Records the first error (later ones are dropped); returns -1. */
int ox_fail(parse_state *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The reader's failure as an error about `what`; returns -1. */
int ox_reader_failed(parse_state *ps, const pb_reader *r, const char *what);
int ox_no_memory(parse_state *ps);
/* Appends one zeroed element to a growing array; NULL without memory. */
void *ox_push(void *array_ptr, int *n, size_t elem);
int ox_push_string(parse_state *ps, char ***list, int *n, const pb_field *f);
/* One TensorProto from r into t. */
int ox_parse_tensor(parse_state *ps, ox_tensor *t, pb_reader r);
/* A whole file into a new buffer (*len bytes); NULL with the reason in err. */
void *ox_read_all(const char *path, size_t *len, char *err, size_t err_size);

#endif
