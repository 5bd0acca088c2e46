/* rsicam — which model plugin opens a file when none is named. */
#ifndef RSICAM_MODEL_PLUGIN_H
#define RSICAM_MODEL_PLUGIN_H

/* "onnx" for a file ending in .onnx, else "torchscript". */
const char *rsi_default_model_plugin(const char *file);

#endif
