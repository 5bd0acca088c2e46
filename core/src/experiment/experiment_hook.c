/* rsicam — an experiment's per-map metrics, computed while the map is in
 * memory (explain's hook), so that none needs its files read back.
 *
 * Record fields: "pointing" (1 hit, 0 miss; null without a box), "energy"
 * (energy in the box; null without a box or energy), and metrics.h's
 * "deletion_auc", "insertion_auc", "drop" and "increased". Completeness
 * needs no hook: explain records ig_sum and the gaps on every RSI map.
 */
#include <math.h>
#include <stdlib.h>

#include "experiment_internal.h"
#include "localize.h"
#include "metrics.h"
#include "rsicam/error.h"

int xp_metrics_need_hook(const rsi_experiment *xp)
{
    return (xp->metrics & ~RSI_XP_COMPLETENESS) != 0;
}

void xp_hook_reset(xp_hook_state *hs, const rsi_xp_image *image)
{
    rsi_tensor_free(hs->deletion_base);
    rsi_tensor_free(hs->insertion_base);
    hs->deletion_base = hs->insertion_base = NULL;
    hs->image = image;
    hs->src_w = hs->src_h = 0;
}

static json_t *number_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static int localization(xp_hook_state *hs, const rsi_map_view *v,
                        json_t *record)
{
    const rsi_xp_image *im = hs->image;
    const int metrics = hs->xp->metrics;
    json_t *pointing = json_null(), *energy = json_null();
    if (im && im->has_box) {
        if (!hs->src_w) { /* boxes are in the image's own pixels */
            rsi_image full = {0};
            if (rsi_image_read(im->path, 0, 0, &full) < 0)
                return -1;
            hs->src_w = full.width;
            hs->src_h = full.height;
            rsi_image_release(&full);
        }
        rsi_pixel_box box;
        rsi_localization loc;
        const int w = v->img->width, h = v->img->height;
        if (rsi_box_to_pixels(&im->box, hs->src_w, hs->src_h, w, h, &box) < 0)
            return -1;
        rsi_localize(v->heatmap, w, h, &box, &loc);
        json_decref(pointing);
        json_decref(energy);
        pointing = json_integer(loc.hit);
        energy = number_or_null(loc.energy);
    }
    if (metrics & RSI_XP_POINTING)
        json_object_set(record, "pointing", pointing);
    if (metrics & RSI_XP_ENERGY)
        json_object_set(record, "energy", energy);
    json_decref(pointing);
    json_decref(energy);
    return 0;
}

static int curves(xp_hook_state *hs, rsi_model *model, const rsi_map_view *v,
                  json_t *record)
{
    const rsi_experiment *xp = hs->xp;
    const rsi_model_info *info = rsi_model_get_info(model);
    const int want_del = xp->metrics & RSI_XP_DELETION;
    const int want_ins = xp->metrics & RSI_XP_INSERTION;
    /* the unit's substrates are the same for all its maps */
    if (want_del && !hs->deletion_base &&
        !(hs->deletion_base =
              rsi_substrate_make(&xp->curve.deletion, v->x, info)))
        return -1;
    if (want_ins && !hs->insertion_base &&
        !(hs->insertion_base =
              rsi_substrate_make(&xp->curve.insertion, v->x, info)))
        return -1;
    /* RISE scores the softmax probability, whatever the map explained */
    rsi_curve_opts opts = {.n_steps = xp->curve.steps,
                           .batch = xp->curve.batch,
                           .score = RSI_SCORE_SOFTMAX};
    double del = NAN, ins = NAN;
    if (rsi_metric_deletion_insertion(
            model, v->x, want_del ? hs->deletion_base : NULL,
            want_ins ? hs->insertion_base : NULL, v->heatmap, v->class_index,
            &opts, &del, &ins) < 0)
        return -1;
    if (want_del)
        json_object_set_new(record, RSI_METRIC_DELETION_AUC,
                            number_or_null(del));
    if (want_ins)
        json_object_set_new(record, RSI_METRIC_INSERTION_AUC,
                            number_or_null(ins));
    return 0;
}

int xp_metrics_hook(void *user, rsi_model *model, const rsi_map_view *v,
                    json_t *record)
{
    xp_hook_state *hs = user;
    const int metrics = hs->xp->metrics;
    if ((metrics & (RSI_XP_POINTING | RSI_XP_ENERGY)) &&
        localization(hs, v, record) < 0)
        return -1;
    if ((metrics & (RSI_XP_DELETION | RSI_XP_INSERTION)) &&
        curves(hs, model, v, record) < 0)
        return -1;
    if (metrics & (RSI_XP_AVG_DROP | RSI_XP_INCREASE)) {
        rsi_confidence c;
        if (rsi_metric_confidence(model, rsi_model_get_info(model), v->x,
                                  v->heatmap, v->class_index, &c) < 0)
            return -1;
        json_object_set_new(record, RSI_METRIC_DROP, number_or_null(c.drop));
        json_object_set_new(record, RSI_METRIC_INCREASED,
                            json_boolean(c.increased));
    }
    return 0;
}
