/* rsicam model plugin "onnx": an ONNX classifier (exported from Keras,
 * TensorFlow, JAX or PyTorch) imported into the same libtorch engine as
 * TorchScript models, through the host's script builder. Layers by ONNX
 * tensor name, node name or name scope (a Keras layer name). */
#include "onnx_proto.h"
#include "translate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "regular_file.h"

#include "rsicam/plugin.h"

/* A metadata sidecar is a few hundred bytes of JSON. */
#define SIDECAR_MAX_BYTES (1 << 20)

static const rsi_param_spec params[] = {
    {.name = "file",
     .type = RSI_PARAM_PATH,
     .doc = "the .onnx file (opsets 7-18; metadata from metadata_props "
            "\"rsicam.json\" or a sidecar FILE.json)"},
    {.name = NULL},
};

/* The sidecar FILE.json's text, or NULL when there is none (*failed
 * when there is one that cannot be read). */
static char *read_sidecar(const rsi_host_api *host, const char *path,
                          int *failed)
{
    char *name = NULL, *text = NULL;
    size_t len;
    const char *why = NULL;
    *failed = 0;
    if (asprintf(&name, "%s.json", path) < 0) {
        host->error("out of memory");
        *failed = 1;
        return NULL;
    }
    if (access(name, F_OK) == 0 &&
        rsi_read_regular(name, SIDECAR_MAX_BYTES, &text, &len, &why) < 0) {
        host->error_class(RSI_ERR_MODEL, "model '%s': metadata '%s': %s", path,
                          name, why);
        *failed = 1;
    }
    free(name);
    return text;
}

static rsi_model *open_model(const rsi_context *ctx)
{
    const rsi_host_api *host = ctx->host;
    const char *path = host->param_string(ctx, "file");
    if (!RSI_HOST_HAS(host, script_free)) {
        host->error("this rsicam has no script services (ABI 2.1): too old "
                    "for the onnx plugin");
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

RSI_DECLARE_MODEL("onnx", "1.0.0", "MIT",
                  "ONNX image classifier (Keras, TensorFlow, JAX, PyTorch "
                  "exports); layers by tensor name or name scope",
                  params, .open = open_model);
