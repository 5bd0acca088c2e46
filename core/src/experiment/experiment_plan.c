/* rsicam — experiments: expanding lists into pass groups and settings,
 * stable ids, and the resolved configuration. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "experiment_internal.h"

void xp_hash_json(const json_t *v, char out[17])
{
    char *text = json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT |
                                   JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a 64 */
    for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p;
         p++) {
        h ^= *p;
        h *= 0x100000001b3ull;
    }
    free(text);
    snprintf(out, 17, "%016" PRIx64, h);
}

static int popcount(int v)
{
    int n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
}

int rsi_experiment_maps_per_unit(const rsi_experiment *xp)
{
    int methods = rsi_map_kinds_chosen(xp->methods, xp->variants);
    return xp->n_layers * methods * popcount(xp->score_kinds) * xp->n_rules;
}

int rsi_experiment_settings(const rsi_experiment *xp)
{
    return rsi_experiment_maps_per_unit(xp) * xp->n_groups;
}

int64_t rsi_experiment_units(const rsi_experiment *xp)
{
    return (int64_t)xp->n_images * xp->n_groups;
}

/* "blur" or "blur-1a2b3c" (a plugin with parameters: a hash of their
 * values, so that two settings never share a folder). */
static void plugin_slug(const rsi_xp_plugin *p, char *out, size_t size)
{
    const char *name = json_string_value(json_object_get(p->json, "name"));
    if (json_object_size(p->json) <= 1) {
        snprintf(out, size, "%s", name);
        return;
    }
    char hash[17];
    xp_hash_json(p->json, hash);
    snprintf(out, size, "%s-%.6s", name, hash);
}

/* Folder names keep to letters, digits and "._-". */
static void sanitise(char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || strchr("._-", *s)))
            *s = '_';
}

static int make_groups(rsi_experiment *xp)
{
    int n = xp->n_baselines * xp->n_paths * xp->n_steps;
    xp->groups = calloc((size_t)n + 1, sizeof *xp->groups);
    if (!xp->groups)
        return -1;
    for (int b = 0; b < xp->n_baselines; b++)
        for (int p = 0; p < xp->n_paths; p++)
            for (int s = 0; s < xp->n_steps; s++) {
                rsi_xp_group *g = &xp->groups[xp->n_groups++];
                g->baseline = b;
                g->path = p;
                g->steps = xp->steps[s];
                char bs[128], ps[128], slug[300];
                plugin_slug(&xp->baselines[b], bs, sizeof bs);
                plugin_slug(&xp->paths[p], ps, sizeof ps);
                char steps[32] = "auto";
                if (g->steps)
                    snprintf(steps, sizeof steps, "%" PRId64, g->steps);
                snprintf(slug, sizeof slug, "%s_%s_s%s", bs, ps, steps);
                sanitise(slug);
                g->slug = strdup(slug);
                g->settings = json_pack(
                    "{s:O, s:O, s:o}", "baseline", xp->baselines[b].json,
                    "path", xp->paths[p].json, "steps",
                    g->steps ? json_integer(g->steps) : json_string("auto"));
                if (!g->slug || !g->settings)
                    return -1;
            }
    return 0;
}

json_t *xp_record_settings(const rsi_xp_group *g, const json_t *record)
{
    const char *method = json_string_value(json_object_get(record, "method"));
    const char *variant = json_string_value(json_object_get(record, "variant"));
    char name[64];
    rsi_map_kind_join(method ? method : "", variant ? variant : "", name,
                      sizeof name);
    json_t *s = json_object();
    json_object_set(s, "layer", json_object_get(record, "layer"));
    json_object_set_new(s, "method", json_string(name));
    json_object_set(s, "score", json_object_get(record, "score"));
    json_object_set(s, "target", json_object_get(record, "target"));
    json_object_update(s, g->settings);
    return s;
}

void xp_fingerprint(const rsi_experiment *xp, char out[17])
{
    /* what every unit's records depend on; images, output, device, batch
     * and threads may change between a run and its resumption */
    static const char *const keys[] = {
        "model", "precision", "layers",  "targets", "methods",
        "score", "outputs",   "metrics", "tol",     "max_steps"};
    json_t *o = json_object();
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        json_t *v = json_object_get(xp->resolved, keys[i]);
        if (v)
            json_object_set(o, keys[i], v);
    }
    xp_hash_json(o, out);
    json_decref(o);
}

int xp_plan(xp_loader *ld)
{
    rsi_experiment *xp = ld->xp;
    if (make_groups(xp) < 0) {
        rsi_error("out of memory");
        return -1;
    }
    /* the resolved configuration in the schema's order */
    json_object_set(xp->resolved, "model", ld->model_json);
    json_object_set(xp->resolved, "plugin_path", ld->plugin_path_json);
    json_t *ordered = json_object();
    for (int i = 0; i < xp_n_top_keys; i++) {
        json_t *v = json_object_get(xp->resolved, xp_top_keys[i]);
        if (v)
            json_object_set(ordered, xp_top_keys[i], v);
    }
    json_decref(xp->resolved);
    xp->resolved = ordered;
    return 0;
}

void rsi_experiment_print_plan(const rsi_experiment *xp, int shard_k,
                               int shard_n, FILE *out)
{
    int per_unit = rsi_experiment_maps_per_unit(xp);
    int64_t units = rsi_experiment_units(xp);
    fprintf(out, "experiment: %s\n", xp->config_path);
    fprintf(out, "output: %s\n", xp->output);
    fprintf(out, "images: %d\n", xp->n_images);
    fprintf(out, "pass groups: %d\n", xp->n_groups);
    for (int g = 0; g < xp->n_groups; g++)
        fprintf(out, "  %s\n", xp->groups[g].slug);
    fprintf(out,
            "maps per pass: %d (%d layer%s x methods x scores x %d "
            "target%s)\n",
            per_unit, xp->n_layers, xp->n_layers == 1 ? "" : "s", xp->n_rules,
            xp->n_rules == 1 ? "" : "s");
    fprintf(out, "settings: %d\n", rsi_experiment_settings(xp));
    fprintf(out, "units: %" PRId64 "\n", units);
    if (shard_n > 1) {
        int64_t mine = 0;
        for (int64_t u = 0; u < units; u++)
            mine += u % shard_n == shard_k - 1;
        fprintf(out, "shard %d/%d: %" PRId64 " units\n", shard_k, shard_n,
                mine);
        units = mine;
    }
    fprintf(out, "maps: %" PRId64 "\n", units * per_unit);
}
