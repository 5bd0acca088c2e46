/* The translator's state, shared by the driver (translate.c) and the
 * helpers emitters use (op_ctx.c). */
#ifndef RSICAM_ONNX_TRANSLATOR_H
#define RSICAM_ONNX_TRANSLATOR_H

#include "translate.h"
#include "values.h"

struct translator {
    const rsi_host_api *host;
    const ox_model *m;
    const ox_import_options *opt;
    value_map values;
    rsi_script_model *builder;
    sbuf forward; /* the model's forward body */
    int *skip;    /* per node: 1 when a dropped Softmax (or after it) */
    int failed;
};

/* Reports "model 'PATH': message" as a model error, once; returns -1. */
int tr_fail(translator *tr, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
