// rsicam — what a classifier holds (model.cpp, layer_shapes.cpp).
#ifndef RSICAM_TORCH_MODEL_IMPL_H
#define RSICAM_TORCH_MODEL_IMPL_H

#include <torch/script.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "model_info.h"
#include "rsicam/model.h"
#include "split_head.h"

struct rsi_model {
    torch::jit::Module module;
    std::string path;
    rsi_model_info info{};
    c10::Device device = c10::kCPU; // where the module and its inputs live
    // the part before the first exposed layer: float32 or autocast bf16
    c10::ScalarType head_precision = c10::kFloat;
    // the names users may select layers by: module paths, or for a model
    // built from another format's graph, the names its builder gave
    std::vector<std::string> module_paths;
    std::vector<const char *> module_path_ptrs;
    std::map<std::string, std::string> layer_module; // name -> module path
    std::vector<std::string> layers;
    std::unique_ptr<torch::jit::GraphFunction> exposed;
    // exposed, cut at its first layer (split_head.h): made on the first
    // run for the model's device and precision, dropped when they change
    std::unique_ptr<rsicam::SplitForward> split;
    bool split_tried = false;
    // the most rows the split's head runs at once (0: a run's rows)
    int64_t head_rows = 0;
    // the seconds the last run spent in the split's head, -1 where it ran
    // none (rsi_model_head_seconds)
    double head_seconds = -1;
    ~rsi_model()
    {
        rsi_model_info_release(&info);
    }
};

namespace rsicam
{
// Drops the split forward, to be made again for new layers, device or
// precision (model.cpp).
void forget_split(rsi_model *m);
} // namespace rsicam

#endif
