/* rsicam — opening a model through its plugin (cli.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "model_plugin.h"
#include "params.h"
#include "rsicam/error.h"
#include "rsicam/plugin.h"

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

rsi_model *cli_open_model(const char *model_file, const char *plugin_spec,
                          rsi_registry *r)
{
    char *name = NULL, *text = NULL;
    const char *spec =
        plugin_spec ? plugin_spec : rsi_default_model_plugin(model_file);
    if (rsi_plugin_spec_split(spec, &name, &text) < 0)
        return NULL;
    rsi_model *model = NULL;
    const rsi_plugin *p = rsi_registry_find(r, RSI_PLUGIN_MODEL, name);
    char *file = file_param(model_file);
    size_t n = file ? strlen(file) + (text ? strlen(text) + 1 : 0) + 1 : 0;
    char *all = file ? malloc(n) : NULL;
    rsi_param_value *values = NULL;
    if (p && all && access(model_file, F_OK) != 0) {
        /* a model error, not the parameter check's usage error */
        rsi_error_class_set(RSI_ERR_MODEL, "model '%s': %s", model_file,
                            errno == ENOENT ? "no such file" : strerror(errno));
    } else if (p && all) {
        snprintf(all, n, "%s%s%s", file, text ? "," : "", text ? text : "");
        if (rsi_plugin_parse_params(p, all, &values) == 0) {
            rsi_context ctx = {.host = rsi_host()};
            const rsi_model_entry *entry = p->desc->entry;
            model = entry->open(&ctx, values);
            if (!model && !rsi_error_pending())
                rsi_error_class_set(RSI_ERR_MODEL, "model '%s': failed to open",
                                    model_file);
        }
    } else if (p) {
        rsi_error("out of memory");
    }
    rsi_params_free(values);
    free(all);
    free(file);
    free(name);
    free(text);
    return model;
}
