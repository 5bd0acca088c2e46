/* rsicam — opening what a command names: a baseline or path plugin by its
 * spec ("NAME" or "NAME:k=v,..."), a model file through a model plugin.
 * The rsicam command and the Python module open them the same way. */
#ifndef RSICAM_PLUGIN_OPEN_H
#define RSICAM_PLUGIN_OPEN_H

#include "plugin_registry.h"
#include "rsicam/model.h"

/* The plugin of that kind named by spec, or NULL with an error; *params
 * receives the spec's "k=v,..." part (NULL when none; free it). */
const rsi_plugin *rsi_plugin_open_spec(rsi_registry *r, rsi_plugin_kind kind,
                                       const char *spec, char **params);

/* Opens the model file path through the model plugin plugin_spec
 * ("torchscript", or "NAME:k=v,..." whose parameters follow file=path;
 * NULL: the plugin for the file's name, rsi_default_model_plugin). A
 * missing file is a model error naming it. Returns NULL with an error. */
rsi_model *rsi_model_open_file(rsi_registry *r, const char *plugin_spec,
                               const char *path);

#endif
