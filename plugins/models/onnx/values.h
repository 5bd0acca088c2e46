/* The values of a graph being translated, by ONNX name: what kind each is,
 * where the forward holds it, and its data when known at import. */
#ifndef RSICAM_ONNX_VALUES_H
#define RSICAM_ONNX_VALUES_H

#include "translate.h"

typedef struct ox_value {
    const char *name; /* borrowed from the model */
    ox_kind kind;
    int var;                   /* the forward's variable v<var>; -1: none */
    const ox_tensor *constant; /* known at import, else NULL */
    rsi_tensor *buffer;        /* the constant as a float tensor, once made */
    const char *unavailable;   /* why it cannot be used (NULL: it can) */
} ox_value;

typedef struct value_map {
    ox_value *slots;
    size_t cap, count;
} value_map;

/* The value named name, or NULL. */
ox_value *vm_find(const value_map *vm, const char *name);
/* Adds (or replaces) name's value; NULL without memory. */
ox_value *vm_put(value_map *vm, const char *name);
/* Frees the map and the buffers made for its constants. */
void vm_free(value_map *vm, const rsi_host_api *host);

#endif
