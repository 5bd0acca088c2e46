/* rsicam — the table of map kinds and score kinds (see map_kinds.h). */
#include "map_kinds.h"

#include <stdio.h>
#include <string.h>

#include "cam.h"

static rsi_tensor *cam_rsi_relu(const rsi_rs_sum *sum,
                                const rsi_rs_layer *layer)
{
    return rsi_cam_rsi_mean(sum->ig_relu, layer->last_act);
}

static rsi_tensor *cam_rsi_guided(const rsi_rs_sum *sum,
                                  const rsi_rs_layer *layer)
{
    return rsi_cam_rsi_guided(sum->ig, layer->last_act, layer->first_act);
}

static rsi_tensor *cam_rsi_plain(const rsi_rs_sum *sum,
                                 const rsi_rs_layer *layer)
{
    return rsi_cam_rsi_mean(sum->ig, layer->last_act);
}

static rsi_tensor *cam_gradcam(const rsi_rs_sum *sum, const rsi_rs_layer *layer)
{
    return rsi_cam_gradcam(sum->last_grad, layer->last_act);
}

/* The order is the order of maps and records, and it numbers the bits of
 * --method and --variant: append, never insert. IG is the sum along the
 * path (engine.h), A_m and A_0 the activations at the image and at the
 * baseline, G_m the gradient at the image. */
static const rsi_map_kind kinds[] = {
    {.name = "rsi-relu",
     .method = "rsi",
     .variant = "relu",
     .integrates = 1,
     .uses_relu_sum = 1,
     .cam = cam_rsi_relu,
     .doc = "RSI-Grad-CAM, IG of ReLU(G): w_k = mean IG_k, "
            "cam = ReLU(mean_k w_k A_m^k)"},
    {.name = "rsi-guided",
     .method = "rsi",
     .variant = "guided",
     .integrates = 1,
     .cam = cam_rsi_guided,
     .doc = "RSI-Grad-CAM, IG kept where A_m > 0, IG > 0 and A_m > A_0: "
            "cam = ReLU(sum_k w_k A_m^k)"},
    {.name = "rsi-plain",
     .method = "rsi",
     .variant = "plain",
     .integrates = 1,
     .cam = cam_rsi_plain,
     .doc = "RSI-Grad-CAM, IG of G: w_k = mean IG_k, "
            "cam = ReLU(mean_k w_k A_m^k)"},
    {.name = "gradcam",
     .method = "gradcam",
     .variant = "",
     .cam = cam_gradcam,
     .doc = "Grad-CAM: w_k = mean G_m^k, cam = ReLU(sum_k w_k A_m^k)"},
};

#define N_KINDS ((int)(sizeof kinds / sizeof *kinds))
_Static_assert(N_KINDS <= RSI_MAP_KINDS_MAX, "too many map kinds");

static const char *const score_names[RSI_SCORE_KINDS] = {
    [RSI_SCORE_SOFTMAX] = "softmax", /* softmax(logits)[class] */
    [RSI_SCORE_LOGIT] = "logit",     /* logits[class] */
};

int rsi_map_kind_count(void)
{
    return N_KINDS;
}

const rsi_map_kind *rsi_map_kind_at(int i)
{
    return i >= 0 && i < N_KINDS ? &kinds[i] : NULL;
}

const rsi_map_kind *rsi_map_kind_find(const char *name)
{
    for (int i = 0; i < N_KINDS; i++)
        if (strcmp(kinds[i].name, name) == 0)
            return &kinds[i];
    return NULL;
}

enum field { METHOD, VARIANT };

static const char *field_of(const rsi_map_kind *k, enum field f)
{
    return f == METHOD ? k->method : k->variant;
}

/* The distinct non-empty values of a field, in order of first appearance:
 * the methods or the variants, whose index is their bit. */
static int distinct(enum field f, const char *out[RSI_MAP_KINDS_MAX])
{
    int n = 0;
    for (int i = 0; i < N_KINDS; i++) {
        const char *v = field_of(&kinds[i], f);
        int seen = !*v;
        for (int j = 0; j < n && !seen; j++)
            seen = strcmp(out[j], v) == 0;
        if (!seen)
            out[n++] = v;
    }
    return n;
}

int rsi_map_methods(const char *out[RSI_MAP_KINDS_MAX])
{
    return distinct(METHOD, out);
}

int rsi_map_variants(const char *out[RSI_MAP_KINDS_MAX])
{
    return distinct(VARIANT, out);
}

/* 1 << the index of name among the field's values; 0 for none. */
static int bit_of(enum field f, const char *name)
{
    const char *names[RSI_MAP_KINDS_MAX];
    int n = distinct(f, names);
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return 1 << i;
    return 0;
}

int rsi_map_method_bit(const char *method)
{
    return bit_of(METHOD, method);
}

int rsi_map_variant_bit(const char *variant)
{
    return bit_of(VARIANT, variant);
}

int rsi_map_method_alias(const char *method)
{
    if (rsi_map_kind_find(method))
        return -1;
    for (int i = 0; i < N_KINDS; i++)
        if (strcmp(kinds[i].method, method) == 0)
            return i;
    return -1;
}

int rsi_map_kind_chosen(const rsi_map_kind *k, int methods, int variants)
{
    return (methods & rsi_map_method_bit(k->method)) &&
           (!*k->variant || (variants & rsi_map_variant_bit(k->variant)));
}

int rsi_map_kinds_chosen(int methods, int variants)
{
    int n = 0;
    for (int i = 0; i < N_KINDS; i++)
        n += rsi_map_kind_chosen(&kinds[i], methods, variants);
    return n;
}

/* Whether a chosen kind integrates, or with relu_sum uses the ReLU sum. */
static int any_chosen(int methods, int variants, int relu_sum)
{
    for (int i = 0; i < N_KINDS; i++) {
        const rsi_map_kind *k = &kinds[i];
        if ((relu_sum ? k->uses_relu_sum : k->integrates) &&
            rsi_map_kind_chosen(k, methods, variants))
            return 1;
    }
    return 0;
}

int rsi_map_kinds_integrate(int methods, int variants)
{
    return any_chosen(methods, variants, 0);
}

int rsi_map_kinds_use_relu_sum(int methods, int variants)
{
    return any_chosen(methods, variants, 1);
}

int rsi_map_kinds_cover(int methods, int variants)
{
    const char *names[RSI_MAP_KINDS_MAX];
    int n = rsi_map_methods(names);
    for (int m = 0; m < n; m++) {
        if (!(methods & (1 << m)))
            continue;
        int makes = 0;
        for (int i = 0; i < N_KINDS && !makes; i++)
            makes = strcmp(kinds[i].method, names[m]) == 0 &&
                    rsi_map_kind_chosen(&kinds[i], methods, variants);
        if (!makes)
            return 0;
    }
    return 1;
}

void rsi_map_kind_join(const char *method, const char *variant, char *out,
                       size_t n)
{
    snprintf(out, n, "%s%s%s", method, *variant ? "-" : "", variant);
}

const char *rsi_score_kind_name(rsi_score_kind kind)
{
    return kind >= 0 && kind < RSI_SCORE_KINDS ? score_names[kind] : "?";
}

const char *const *rsi_score_kind_names(void)
{
    return score_names;
}
