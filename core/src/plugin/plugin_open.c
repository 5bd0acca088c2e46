/* rsicam — opening plugins and model files by name (plugin_open.h). */
#include "plugin_open.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model_plugin.h"
#include "params.h"
#include "plugin_call.h"
#include "rsicam/error.h"

const rsi_plugin *rsi_plugin_open_spec(rsi_registry *r, rsi_plugin_kind kind,
                                       const char *spec, char **params)
{
    char *name = NULL;
    if (rsi_plugin_spec_split(spec, &name, params) < 0)
        return NULL;
    const rsi_plugin *p = rsi_registry_find(r, kind, name);
    free(name);
    return p;
}

/* "file=PATH" with the parameter syntax's ',' and '\' escaped. */
static char *file_param(const char *path)
{
    size_t n = strlen(path);
    char *s = malloc(2 * n + 6);
    if (!s)
        return NULL;
    char *p = stpcpy(s, "file=");
    for (size_t i = 0; i < n; i++) {
        if (path[i] == ',' || path[i] == '\\')
            *p++ = '\\';
        *p++ = path[i];
    }
    *p = '\0';
    return s;
}

rsi_model *rsi_model_open_file(rsi_registry *r, const char *plugin_spec,
                               const char *path)
{
    char *text = NULL;
    const char *spec =
        plugin_spec ? plugin_spec : rsi_default_model_plugin(path);
    const rsi_plugin *p =
        rsi_plugin_open_spec(r, RSI_PLUGIN_MODEL, spec, &text);
    rsi_model *model = NULL;
    char *file = file_param(path);
    size_t n = file ? strlen(file) + (text ? strlen(text) + 1 : 0) + 1 : 0;
    char *all = file ? malloc(n) : NULL;
    rsi_param_value *values = NULL;
    if (p && all && access(path, F_OK) != 0) {
        /* a model error, not the parameter check's usage error */
        rsi_error_class_set(RSI_ERR_MODEL, "model '%s': %s", path,
                            errno == ENOENT ? "no such file" : strerror(errno));
    } else if (p && all) {
        snprintf(all, n, "%s%s%s", file, text ? "," : "", text ? text : "");
        if (rsi_plugin_parse_params(p, all, &values) == 0)
            model = rsi_call_model_open(p, values);
    } else if (p) {
        rsi_error("out of memory");
    }
    rsi_params_free(values);
    free(all);
    free(file);
    free(text);
    return model;
}
