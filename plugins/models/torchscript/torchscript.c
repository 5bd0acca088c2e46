/* rsicam model plugin "torchscript": a traced or scripted TorchScript
 * classifier (output [N, classes]), loaded through the host's model
 * services. Preprocessing and labels come from the file's rsicam.json. */
#include "rsicam/plugin.h"

enum { P_FILE };

static const rsi_param_spec params[] = {
    {"file", RSI_PARAM_PATH, NULL,
     "the TorchScript file (torch.jit.save of a traced or scripted model)", 0,
     0},
    {0},
};

static rsi_model *open_model(const rsi_context *ctx,
                             const rsi_param_value *values)
{
    return ctx->host->model_load(values[P_FILE].s);
}

static const rsi_model_entry entry = {.open = open_model};

RSI_PLUGIN_EXPORT const rsi_plugin_descriptor rsicam_plugin = {
    .abi_major = RSI_ABI_MAJOR,
    .abi_minor = RSI_ABI_MINOR,
    .kind = RSI_PLUGIN_MODEL,
    .name = "torchscript",
    .version = "1.0",
    .license = "MIT",
    .description = "TorchScript image classifier; layers by PyTorch module "
                   "path",
    .params = params,
    .entry = &entry,
};
