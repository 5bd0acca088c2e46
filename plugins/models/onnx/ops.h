/* The operator tables, one per family of operators (ops_*.c). */
#ifndef RSICAM_ONNX_OPS_H
#define RSICAM_ONNX_OPS_H

#include "translate.h"

extern const op_entry ox_ops_window[]; /* convolutions and pools */
extern const op_entry ox_ops_nn[];     /* activations, normalisation, dense */
extern const op_entry ox_ops_tensor[]; /* arithmetic and layout */
extern const op_entry ox_ops_shape[];  /* shape arithmetic only */

/* Emits y = x as a 2-D [prod(dims before axis), prod(dims from axis)]
 * (Flatten, and Softmax before opset 13); x and y are variables. */
void op_coerce_2d(op_ctx *c, const char *y, const char *x, int64_t axis);

/* The shape-arithmetic emitters of operators that also work on tensors
 * (ops_shape.c), for their tables. */
int ox_ints_arith(op_ctx *c);
int ox_ints_concat(op_ctx *c);
int ox_ints_gather(op_ctx *c);
int ox_ints_unsqueeze(op_ctx *c);
int ox_ints_squeeze(op_ctx *c);
int ox_ints_identity(op_ctx *c);
int ox_ints_slice(op_ctx *c);

#endif
