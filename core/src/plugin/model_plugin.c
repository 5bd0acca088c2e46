/* rsicam — the model plugin a file gets by default (model_plugin.h). */
#include "model_plugin.h"

#include <string.h>
#include <strings.h>

const char *rsi_default_model_plugin(const char *file)
{
    const size_t n = file ? strlen(file) : 0;
    if (n > 5 && !strcasecmp(file + n - 5, ".onnx"))
        return "onnx";
    return "torchscript";
}
