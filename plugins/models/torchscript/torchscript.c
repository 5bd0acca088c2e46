/* rsicam model plugin "torchscript": a traced or scripted TorchScript
 * classifier (output [N, classes]), loaded through the host's model
 * services. Preprocessing and labels come from the file's rsicam.json. */
#include "rsicam/plugin.h"

static const rsi_param_spec params[] = {
    {.name = "file",
     .type = RSI_PARAM_PATH,
     .doc = "the TorchScript file (torch.jit.save of a traced or scripted "
            "model)"},
    {.name = NULL},
};

static rsi_model *open_model(const rsi_context *ctx)
{
    return ctx->host->model_load(ctx->host->param_string(ctx, "file"));
}

RSI_DECLARE_MODEL("torchscript", "1.0", "MIT",
                  "TorchScript image classifier; layers by PyTorch module "
                  "path",
                  params, .open = open_model);
