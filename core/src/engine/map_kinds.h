/* rsicam — the kinds of map explain makes and the score kinds: one table
 * that the command line, the Python module, experiments, explain's maps
 * and evaluate all read for names, flags and what each computes, so that
 * adding a method is one row in map_kinds.c plus its cam function (cam.h).
 *
 * A map kind is a method and, for the integrated method, a variant. Its
 * name is the method, then "-" and the variant when there is one
 * ("rsi-relu", "gradcam"): map files, experiments' methods: and evaluate
 * call it that. Records keep the method and the variant apart.
 *
 * Options choose kinds with two bit sets, as the command's --method and
 * --variant do: bit i of methods is the i-th method and bit j of variants
 * the j-th variant, each counted in order of first appearance in the
 * table. A kind is chosen when its method is and it has no variant or its
 * variant is chosen too. Maps are made, and records written, in the
 * table's order.
 */
#ifndef RSICAM_MAP_KINDS_H
#define RSICAM_MAP_KINDS_H

#include <stddef.h>

#include "engine.h"
#include "rsicam/model.h"
#include "rsicam/tensor.h"

/* The most map kinds (and so methods and variants): the bit sets are ints. */
#define RSI_MAP_KINDS_MAX 16
/* Score kinds (rsi_score_kind, rsicam/model.h). */
#define RSI_SCORE_KINDS 2

typedef struct rsi_map_kind {
    const char *name;    /* "rsi-relu": files, experiments, evaluate */
    const char *method;  /* "rsi": --method and the record's "method" */
    const char *variant; /* "relu": --variant and the record's "variant";
                            "" when the method has none */
    int integrates;      /* 1: made from the sums along the path (so the
                            path is walked); 0: from the image alone */
    int uses_relu_sum;   /* needs rsi_rs_sum.ig_relu, summed only then */
    /* The cam [h, w] from one (layer, target)'s sums and activations. */
    rsi_tensor *(*cam)(const rsi_rs_sum *sum, const rsi_rs_layer *layer);
    const char *doc; /* one line: what it computes */
} rsi_map_kind;

int rsi_map_kind_count(void);
/* The i-th kind, 0 <= i < rsi_map_kind_count(). */
const rsi_map_kind *rsi_map_kind_at(int i);
/* The kind named name, NULL when none is. */
const rsi_map_kind *rsi_map_kind_find(const char *name);
/* Whether the bit sets choose k (see above). */
int rsi_map_kind_chosen(const rsi_map_kind *k, int methods, int variants);

/* The methods / variants in bit order into out; returns how many. */
int rsi_map_methods(const char *out[RSI_MAP_KINDS_MAX]);
int rsi_map_variants(const char *out[RSI_MAP_KINDS_MAX]);
/* A method's / variant's bit (1 << index), 0 when unknown or "". */
int rsi_map_method_bit(const char *method);
int rsi_map_variant_bit(const char *variant);
/* A method's own name as an alias in experiments: the index of the
 * method's first kind when no kind has that name ("rsi" is "rsi-relu"),
 * else -1. */
int rsi_map_method_alias(const char *method);

/* Over the kinds the bit sets choose: how many; whether one integrates
 * (walks the path); whether one needs the ReLU-gradient sum. */
int rsi_map_kinds_chosen(int methods, int variants);
int rsi_map_kinds_integrate(int methods, int variants);
int rsi_map_kinds_use_relu_sum(int methods, int variants);
/* 1 when every chosen method makes a map (a method with variants needs
 * one of them chosen), else 0. */
int rsi_map_kinds_cover(int methods, int variants);

/* "method-variant", or the method alone for an empty variant: a map's
 * name from its record's fields, into out (n bytes, truncated). */
void rsi_map_kind_join(const char *method, const char *variant, char *out,
                       size_t n);

/* Score kinds by rsi_score_kind: "softmax", "logit" ("?" out of range). */
const char *rsi_score_kind_name(rsi_score_kind kind);
/* The names in order: names[kind], RSI_SCORE_KINDS of them. */
const char *const *rsi_score_kind_names(void);

#endif
