/* rsicam model plugin "onnx": an ONNX classifier (exported from Keras,
 * TensorFlow, JAX or PyTorch) imported into the same libtorch engine as
 * TorchScript models, through the host's script builder. Layers by ONNX
 * tensor name, node name or name scope (a Keras layer name). */
#include "onnx_proto.h"
#include "translate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rsicam/plugin.h"

enum { P_FILE };

static const rsi_param_spec params[] = {
    {"file", RSI_PARAM_PATH, NULL,
     "the .onnx file (opsets 7-18; metadata from metadata_props "
     "\"rsicam.json\" or a sidecar FILE.json)",
     0, 0},
    {0},
};

/* The sidecar FILE.json's text, or NULL when there is none. */
static char *read_sidecar(const rsi_host_api *host, const char *path,
                          int *failed)
{
    char name[4096];
    *failed = 0;
    if (snprintf(name, sizeof name, "%s.json", path) >= (int)sizeof name)
        return NULL;
    FILE *fp = fopen(name, "rb");
    if (!fp)
        return NULL;
    char *text = NULL;
    long len = -1;
    if (fseek(fp, 0, SEEK_END) == 0 && (len = ftell(fp)) >= 0 &&
        fseek(fp, 0, SEEK_SET) == 0 && (text = malloc((size_t)len + 1)) &&
        fread(text, 1, (size_t)len, fp) == (size_t)len) {
        text[len] = '\0';
    } else {
        free(text);
        text = NULL;
        *failed = 1;
        host->error_class(RSI_ERR_MODEL, "model '%s': cannot read '%s'", path,
                          name);
    }
    fclose(fp);
    return text;
}

static rsi_model *open_model(const rsi_context *ctx,
                             const rsi_param_value *values)
{
    const rsi_host_api *host = ctx->host;
    const char *path = values[P_FILE].s;
    if (!RSI_HOST_HAS(host, script_free)) {
        host->error_class(RSI_ERR_PLUGIN,
                          "onnx: this rsicam has no script services (too old "
                          "for the plugin)");
        return NULL;
    }
    ox_model m;
    char err[512];
    if (ox_model_read(&m, path, err, sizeof err) < 0) {
        host->error_class(RSI_ERR_MODEL, "model '%s': %s", path, err);
        return NULL;
    }
    int failed;
    char *sidecar = read_sidecar(host, path, &failed);
    rsi_model *model = NULL;
    if (!failed) {
        const char *metadata[2];
        int n = 0;
        if (ox_meta(&m, "rsicam.json"))
            metadata[n++] = ox_meta(&m, "rsicam.json");
        if (sidecar)
            metadata[n++] = sidecar;
        ox_import_options opt = {.path = path, .classifier = 1};
        ox_import_result res;
        model = ox_import(host, &m, &opt, metadata, n, &res);
        if (model && res.dropped_softmax)
            host->log("model '%s': the trailing Softmax is dropped, so that "
                      "--score logit takes the logits (softmax scores are "
                      "rsicam's own)",
                      path);
    }
    free(sidecar);
    ox_model_release(&m);
    return model;
}

static const rsi_model_entry entry = {.open = open_model};

RSI_PLUGIN_EXPORT const rsi_plugin_descriptor rsicam_plugin = {
    .abi_major = RSI_ABI_MAJOR,
    .abi_minor = RSI_ABI_MINOR,
    .kind = RSI_PLUGIN_MODEL,
    .name = "onnx",
    .version = "1.0",
    .license = "MIT",
    .description = "ONNX image classifier (Keras, TensorFlow, JAX, PyTorch "
                   "exports); layers by tensor name or name scope",
    .params = params,
    .entry = &entry,
};
