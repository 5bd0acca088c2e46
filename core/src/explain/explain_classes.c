/* rsicam — which classes an image is explained for (explain_impl.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "explain_impl.h"

/* Softmax probabilities (float64, shifted by the maximum for range) of
 * the logits v[k]; -1 when a logit is not finite. */
static int softmax(const float *v, int64_t k, double *p)
{
    double max = v[0], z = 0;
    for (int64_t i = 0; i < k; i++) {
        if (!isfinite(v[i])) {
            rsi_error_class_set(RSI_ERR_MODEL,
                                "the model produced NaN or Inf logits");
            return -1;
        }
        max = v[i] > max ? v[i] : max;
    }
    for (int64_t i = 0; i < k; i++)
        z += p[i] = exp((double)v[i] - max);
    for (int64_t i = 0; i < k; i++)
        p[i] /= z;
    return 0;
}

/* The n most probable of k classes (n <= k), in order, ties to the lower
 * index. */
static void top_classes(const double *p, int64_t k, int n, int64_t *out)
{
    for (int i = 0; i < n; i++) {
        int64_t best = -1;
        for (int64_t c = 0; c < k; c++) {
            int taken = 0;
            for (int j = 0; j < i; j++)
                taken |= out[j] == c;
            if (!taken && (best < 0 || p[c] > p[best]))
                best = c;
        }
        out[i] = best;
    }
}

/* The class ranked rank (1: the most probable) among k; -1 past k. */
static int64_t ranked(const double *p, int64_t k, int rank)
{
    if (rank < 1 || rank > k)
        return -1;
    int64_t top[RSI_EXPLAIN_MAX_CLASSES];
    top_classes(p, k, rank, top);
    return top[rank - 1];
}

/* The classes the rules choose for an image: each distinct class once in
 * f->classes, and per rule the slot of its class. */
static int apply_rules(const rsi_explainer *e, const double *p, int64_t k,
                       image_facts *f)
{
    for (int r = 0; r < e->opt.n_rules; r++) {
        const rsi_target_rule *rule = &e->opt.rules[r];
        int64_t c = rule->kind == RSI_TARGET_CLASS   ? rule->value
                    : rule->kind == RSI_TARGET_LABEL ? f->label
                    : rule->value >= 1 && rule->value <= RSI_EXPLAIN_MAX_CLASSES
                        ? ranked(p, k, (int)rule->value)
                        : -1;
        if (rule->kind == RSI_TARGET_LABEL && f->label < 0) {
            rsi_error_class_set(RSI_ERR_USAGE,
                                "target '%s': the image has no label",
                                rule->tag);
            return -1;
        }
        if (c < 0 || c >= k) {
            rsi_error_class_set(RSI_ERR_MODEL,
                                "target '%s': class %lld out of range: the "
                                "model has %lld classes",
                                rule->tag, (long long)c, (long long)k);
            return -1;
        }
        int slot = 0;
        while (slot < f->n_classes && f->classes[slot] != c)
            slot++;
        if (slot == f->n_classes)
            f->classes[f->n_classes++] = c;
        f->rule_class[r] = slot;
    }
    return 0;
}

/* As the rules say, else the classes named, else the top k. */
int ex_choose_classes(const rsi_explainer *e, const rsi_tensor *logits,
                      image_facts *f)
{
    const int64_t k = rsi_tensor_size(logits, 1);
    if (k < 1) {
        /* nothing to explain, and softmax would read past its input */
        rsi_error_class_set(RSI_ERR_MODEL,
                            "the model's output is [N, 0]: it has no classes");
        return -1;
    }
    f->n_outputs = k;
    float *v = malloc((size_t)k * sizeof(float));
    double *p = malloc((size_t)k * sizeof(double));
    int rc = v && p ? rsi_tensor_to_floats(logits, v, k) : -1;
    if (rc == 0)
        rc = softmax(v, k, p);
    const rsi_explain_options *o = &e->opt;
    /* the classes named: the image's own, else the explainer's */
    const int64_t *given = NULL;
    int n = 0;
    if (f->n_asked > 0) {
        given = f->asked;
        n = f->n_asked;
    } else if (o->n_classes > 0) {
        given = o->classes;
        n = o->n_classes;
    }
    f->n_classes = 0;
    if (rc == 0 && o->n_rules > 0) {
        rc = apply_rules(e, p, k, f);
    } else if (rc == 0 && n > 0) {
        for (int i = 0; rc == 0 && i < n; i++) {
            int64_t c = given[i];
            if (c < 0 || c >= k) {
                rsi_error_class_set(RSI_ERR_MODEL,
                                    "class %lld out of range: the model has "
                                    "%lld classes",
                                    (long long)c, (long long)k);
                rc = -1;
            }
            f->classes[f->n_classes++] = c;
        }
    } else if (rc == 0) {
        const int top = o->top_k > 0 ? o->top_k : 1;
        f->n_classes = top < k ? top : (int)k;
        top_classes(p, k, f->n_classes, f->classes);
    }
    for (int i = 0; rc == 0 && i < f->n_classes; i++)
        f->probabilities[i] = p[f->classes[i]];
    if (!v || !p)
        rsi_error("out of memory");
    free(v);
    free(p);
    return rc;
}

const char *ex_zero_map_warning(const image_facts *f, const rsi_map_record *rec,
                                const rsi_tensor *cam)
{
    double lo, hi;
    if (!cam || rsi_tensor_min_max(cam, &lo, &hi) < 0) {
        rsi_error_clear(); /* the map's own making reports its errors */
        return NULL;
    }
    if (hi != 0 || lo != 0)
        return NULL;
    if (f->n_outputs == 1 &&
        strcmp(rec->score, rsi_score_kind_name(RSI_SCORE_SOFTMAX)) == 0)
        return "the model has one class: its softmax is 1 for every input, "
               "so every gradient and the map are zero (use --score logit)";
    if (rec->score_image == rec->score_baseline)
        return "the score is the same at the image and at the baseline (a "
               "constant output?): every gradient and the map are zero";
    return NULL;
}

int rsi_model_count_classes(rsi_model *model, int64_t *classes)
{
    const rsi_model_info *info = rsi_model_get_info(model);
    const int64_t shape[4] = {1, 3, info->input_h, info->input_w};
    rsi_tensor *x = rsi_tensor_full(shape, 4, 0.0);
    rsi_tensor *logits = x ? rsi_model_logits(model, x) : NULL;
    int rc = logits ? 0 : -1;
    if (logits &&
        (rsi_tensor_ndim(logits) != 2 || rsi_tensor_size(logits, 1) < 1)) {
        rsi_error_class_set(RSI_ERR_MODEL,
                            "the output is not [N, classes] with classes >= 1");
        rc = -1;
    }
    if (rc < 0)
        rsi_error_prefix("a forward pass at %lldx%lld failed",
                         (long long)info->input_h, (long long)info->input_w);
    if (rc == 0)
        *classes = rsi_tensor_size(logits, 1);
    rsi_tensor_free(logits);
    rsi_tensor_free(x);
    return rc;
}
