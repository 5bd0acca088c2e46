/* The names by which users pick a layer of an imported ONNX model: a
 * node's output tensor name, the node's name, and the name scopes in node
 * names, each scope standing for the output of its last node (tf2onnx
 * names Keras nodes "model/block5_conv3/Relu", torch.onnx.export names
 * them "/layer4/layer4.2/relu_2/Relu": "block5_conv3", "layer4" and
 * "layer4/layer4.2" are layers). */
#ifndef RSICAM_ONNX_LAYER_NAMES_H
#define RSICAM_ONNX_LAYER_NAMES_H

#include "onnx_proto.h"

#include "rsicam/plugin.h"

/* Registers the names of every node k with is_module[k] (its submodule is
 * "n<k>") with the builder, node by node in graph order. */
int ox_add_layer_names(const rsi_host_api *host, rsi_script_model *b,
                       const ox_model *m, const int *is_module,
                       const char *path);

#endif
