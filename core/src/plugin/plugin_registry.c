/* rsicam — the registry itself (plugin_registry.h): the plugins found,
 * the directories searched, and the host table their calls get. The
 * lowest unit of the plugin room: discovery (plugin_loader.c), the scan
 * (plugin_scan.c) and loading (plugin_load.c) all add to it or read it;
 * it calls none of them.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_registry.h"
#include "rsicam/error.h"
#include "strvec.h"

struct rsi_registry {
    rsi_plugin **plugins;
    int n, cap;
    rsi_strvec dirs;    /* top-level directories searched, as given */
    rsi_strvec origins; /* where each came from */
    rsi_strvec visited; /* real paths of directories and files already seen */
    const rsi_host_api *host;
};

static rsi_registry *current_registry;

static rsi_registry *current_registry;

void rsi_plugin_free(rsi_plugin *p)
{
    if (!p)
        return;
    if (p->handle)
        dlclose(p->handle);
    free(p->path);
    free(p->note);
    free(p->record);
    free(p->params);
    free(p);
}

int rsi_registry_mark_visited(rsi_registry *r, const char *path)
{
    char *real = realpath(path, NULL);
    const char *key = real ? real : path;
    int rc = rsi_strvec_has(&r->visited, key) ? 1 : 0;
    if (rc == 0 && rsi_strvec_push(&r->visited, key) != 0)
        rc = -1;
    free(real);
    return rc;
}

rsi_registry *rsi_registry_with_host(const rsi_host_api *host)
{
    rsi_registry *r = calloc(1, sizeof *r);
    if (!r)
        rsi_error_class_set(RSI_ERR_INTERNAL, "out of memory");
    else
        r->host = host;
    return r;
}

const rsi_host_api *rsi_registry_host(const rsi_registry *r)
{
    return r->host;
}

void rsi_registry_free(rsi_registry *r)
{
    if (!r)
        return;
    if (current_registry == r)
        current_registry = NULL;
    for (int i = r->n - 1; i >= 0; i--)
        rsi_plugin_free(r->plugins[i]);
    free(r->plugins);
    rsi_strvec_free(&r->dirs);
    rsi_strvec_free(&r->origins);
    rsi_strvec_free(&r->visited);
    free(r);
}

void rsi_registry_set_current(rsi_registry *r)
{
    current_registry = r;
}

rsi_registry *rsi_registry_current(void)
{
    return current_registry;
}

const char *rsi_plugin_kind_name(rsi_plugin_kind kind)
{
    switch (kind) {
    case RSI_PLUGIN_MODEL:
        return "model";
    case RSI_PLUGIN_BASELINE:
        return "baseline";
    case RSI_PLUGIN_PATH:
        return "path";
    }
    return NULL;
}

void rsi_plugin_failed(const rsi_plugin *p)
{
    if (!rsi_error_pending())
        rsi_error_class_set(RSI_ERR_PLUGIN, "failed without saying why");
    rsi_error_prefix("%s '%s'", rsi_plugin_kind_name(p->desc->kind),
                     p->desc->name);
}

rsi_plugin *rsi_registry_lookup(const rsi_registry *r, rsi_plugin_kind kind,
                                const char *name)
{
    for (int i = 0; r && i < r->n; i++) {
        const rsi_plugin_descriptor *d = r->plugins[i]->desc;
        if (d->kind == kind && strcmp(d->name, name) == 0)
            return r->plugins[i];
    }
    return NULL;
}

int rsi_registry_append(rsi_registry *r, rsi_plugin *p)
{
    if (r->n == r->cap) {
        int cap = r->cap ? 2 * r->cap : 16;
        rsi_plugin **v = realloc(r->plugins, (size_t)cap * sizeof *v);
        if (!v) {
            rsi_plugin_free(p);
            return -1;
        }
        r->plugins = v;
        r->cap = cap;
    }
    p->host = r->host;
    r->plugins[r->n++] = p;
    return 0;
}

int rsi_registry_count(const rsi_registry *r)
{
    return r ? r->n : 0;
}

const rsi_plugin *rsi_registry_at(const rsi_registry *r, int i)
{
    return r && i >= 0 && i < r->n ? r->plugins[i] : NULL;
}

int rsi_registry_num_dirs(const rsi_registry *r)
{
    return r ? r->dirs.n : 0;
}

const char *rsi_registry_dir(const rsi_registry *r, int i, const char **origin)
{
    if (!r || i < 0 || i >= r->dirs.n)
        return NULL;
    if (origin)
        *origin = r->origins.items[i];
    return r->dirs.items[i];
}

int rsi_registry_record_dir(rsi_registry *r, const char *dir,
                            const char *origin)
{
    if (rsi_strvec_push(&r->dirs, dir) != 0 ||
        rsi_strvec_push(&r->origins, origin ? origin : "") != 0)
        return -1;
    return 0;
}
