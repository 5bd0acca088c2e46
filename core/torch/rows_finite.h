// rsicam — which rows of a forward's outputs are finite.
#ifndef RSICAM_TORCH_ROWS_FINITE_H
#define RSICAM_TORCH_ROWS_FINITE_H

#include <ATen/ATen.h>

#include <vector>

namespace rsicam
{

// 1 for each row r whose values are all finite in every tensor of ts (each
// [rows, ...], the same rows), else 0; float, on the tensors' device.
at::Tensor rows_finite(const std::vector<at::Tensor> &ts);

} // namespace rsicam

#endif
