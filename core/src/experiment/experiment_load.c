/* rsicam — loading an experiment: file, overrides, every section, plan
 * (see experiment.h). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "experiment_internal.h"
#include "rsicam/error.h"

static char *dir_of(const char *cwd, const char *path)
{
    char *abs = xp_absolute(cwd, path);
    char *slash = abs ? strrchr(abs, '/') : NULL;
    if (slash == abs)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    return abs;
}

static void loader_free(xp_loader *ld)
{
    rsi_cfg_free(ld->doc);
    free(ld->config_dir);
    free(ld->cwd);
    json_decref(ld->model_json);
    json_decref(ld->plugin_path_json);
}

rsi_experiment *rsi_experiment_load(const char *path,
                                    const char *const *overrides,
                                    int n_overrides,
                                    const char *const *plugin_dirs,
                                    int n_plugin_dirs, rsi_diag *d)
{
    rsi_experiment *xp = calloc(1, sizeof *xp);
    xp_loader ld = {.xp = xp, .d = d, .cwd = getcwd(NULL, 0)};
    if (!xp || !ld.cwd || !(xp->config_path = strdup(path)) ||
        !(xp->resolved = json_object()) ||
        !(ld.config_dir = dir_of(ld.cwd, path))) {
        rsi_error("out of memory");
        goto fail;
    }
    if (!(ld.doc = rsi_cfg_load_file(path, d)))
        goto fail;
    for (int i = 0; i < n_overrides; i++)
        xp_apply_override(&ld, overrides[i]);
    xp_check_top_keys(&ld);
    xp_read_simple(&ld);
    if (xp_open_registry(&ld, plugin_dirs, n_plugin_dirs) < 0)
        goto fail;
    xp_read_model(&ld);
    xp_read_plugin_lists(&ld);
    xp_read_layers(&ld);
    xp_read_targets(&ld);
    xp_read_images(&ld);
    if (d->n || xp_plan(&ld) < 0)
        goto fail;
    loader_free(&ld);
    return xp;
fail:
    loader_free(&ld);
    rsi_experiment_free(xp);
    return NULL;
}

static void free_plugins(rsi_xp_plugin *p, int n)
{
    for (int i = 0; p && i < n; i++) {
        free(p[i].params);
        json_decref(p[i].json);
    }
    free(p);
}

void rsi_experiment_free(rsi_experiment *xp)
{
    if (!xp)
        return;
    /* the model first: plugins' code must outlive what they made */
    rsi_model_free(xp->model);
    free_plugins(xp->baselines, xp->n_baselines);
    free_plugins(xp->paths, xp->n_paths);
    if (rsi_registry_current() == xp->registry)
        rsi_registry_set_current(NULL);
    rsi_registry_free(xp->registry);
    for (int i = 0; xp->layers && i < xp->n_layers; i++)
        free(xp->layers[i]);
    free(xp->layers);
    for (int i = 0; xp->rules && i < xp->n_rules; i++)
        free((char *)xp->rules[i].tag);
    free(xp->rules);
    for (int i = 0; xp->images && i < xp->n_images; i++) {
        free(xp->images[i].path);
        free(xp->images[i].stem);
    }
    free(xp->images);
    for (int i = 0; xp->groups && i < xp->n_groups; i++) {
        free(xp->groups[i].slug);
        json_decref(xp->groups[i].settings);
    }
    free(xp->groups);
    free(xp->steps);
    free(xp->model_name);
    free(xp->output);
    free(xp->config_path);
    json_decref(xp->resolved);
    free(xp);
}
