// rsicam — the Riemann-Stieltjes engine's inner sum in one pass
// (rsi_tensor_trapezoids_add, tensor.h).
//
// Composed of tensor operations, the sum writes and reads back pair sums
// and products the size of a whole batch of activations in float64 (and a
// rectified copy of the gradients for the second sum): on a CPU, for a
// layer as large as ResNet50's layer2, memory traffic, not arithmetic.
// Here each element's terms are summed in a register, in order (b = 0, 1,
// ...), and added on: the same sum within float64's rounding (the
// composition's reduction groups the terms its own way;
// tests/unit/test_trapezoids.c holds both to a long double reference).
// Other devices and layouts keep the composition.
#include "shim.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <stdexcept>

using rsicam::shim_call;
using rsicam::unwrap;

// relu as torch computes it in float64: NaN passes through
static inline double rectified(double x)
{
    return x > 0.0 || std::isnan(x) ? x : 0.0;
}

template <bool Relu>
static void add_on_cpu(double *acc, const double *g, const double *d,
                       int64_t rows, int64_t n)
{
    // chunks small enough that a row of each stays in cache
    at::parallel_for(0, n, 2048, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; i++) {
            double prev = Relu ? rectified(g[i]) : g[i], sum = 0.0;
            for (int64_t b = 0; b < rows; b++) {
                const double next =
                    Relu ? rectified(g[(b + 1) * n + i]) : g[(b + 1) * n + i];
                sum += (next + prev) * d[b * n + i];
                prev = next;
            }
            acc[i] += 0.5 * sum;
        }
    });
}

static bool fits_cpu_loop(const at::Tensor &t)
{
    return t.device().is_cpu() && t.scalar_type() == at::kDouble &&
           t.is_contiguous();
}

int rsi_tensor_trapezoids_add(rsi_tensor **acc, const rsi_tensor *grads,
                              const rsi_tensor *deltas, int relu)
{
    return shim_call<int>(-1, "tensor trapezoids", [&] {
        if (!acc)
            throw std::invalid_argument("NULL accumulator");
        const at::Tensor &g = unwrap(grads), &d = unwrap(deltas);
        const int64_t rows = d.dim() > 0 ? d.size(0) : 0;
        if (g.dim() < 1 || g.dim() != d.dim() || g.size(0) != rows + 1 ||
            g.sizes().slice(1) != d.sizes().slice(1) ||
            g.scalar_type() != at::kDouble || d.scalar_type() != at::kDouble)
            throw std::invalid_argument(
                "trapezoids need float64 gradients [B + 1, ...] and "
                "increments [B, ...], got " +
                c10::str(g.sizes()) + " and " + c10::str(d.sizes()));
        if (!*acc)
            *acc = rsicam::wrap(at::zeros(g.sizes().slice(1), g.options()));
        at::Tensor &sum = (*acc)->t;
        if (sum.sizes() != g.sizes().slice(1))
            throw std::invalid_argument("trapezoids: accumulator of shape " +
                                        c10::str(sum.sizes()) + " for " +
                                        c10::str(g.sizes()));
        if (fits_cpu_loop(g) && fits_cpu_loop(d) && fits_cpu_loop(sum)) {
            const auto add = relu ? add_on_cpu<true> : add_on_cpu<false>;
            add(sum.data_ptr<double>(), g.data_ptr<double>(),
                d.data_ptr<double>(), rows, sum.numel());
            return 0;
        }
        const at::Tensor f = relu ? torch::relu(g) : g;
        sum.add_((f.narrow(0, 1, rows) + f.narrow(0, 0, rows))
                     .mul(d)
                     .sum(0)
                     .mul(0.5)
                     .to(sum.scalar_type()));
        return 0;
    });
}
