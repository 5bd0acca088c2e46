// rsicam — the Riemann-Stieltjes engine's passes over a batch of path
// points in one pass each (rsi_tensor_increments, rsi_tensor_trapezoids_add;
// tensor.h).
//
// Composed of tensor operations, they copied each batch to float64 behind
// the previous point, then wrote and read back pair sums and products the
// size of the whole batch (and a rectified copy of the gradients for the
// second sum): on a CPU, for a layer as large as ResNet50's layer2, memory
// traffic, not arithmetic. Here the points are read as they come and
// converted as they are read; each element's terms are summed in a
// register, in order (b = 0, 1, ...), and added on: the same sum within
// float64's rounding (the composition's reduction groups the terms its own
// way; tests/unit/test_trapezoids.c holds both to a long double
// reference), and the same increments to the bit. Other devices and
// layouts keep the composition.
#include "shim.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

using rsicam::shim_call;
using rsicam::unwrap;

// A float64 tensor that the CPU loops can read in place.
static bool fits_cpu_loop(const at::Tensor &t)
{
    return t.device().is_cpu() && t.scalar_type() == at::kDouble &&
           t.is_contiguous();
}

// The sequence [prev; batch] of a path's points: prev the previous batch's
// last point (float64, one row) or nothing, batch this batch's rows
// (float32 or float64). Read in place, converted to float64 on the fly.
struct Points {
    const at::Tensor *prev;
    const at::Tensor &batch;

    int64_t rows() const
    {
        return batch.size(0) + (prev ? 1 : 0);
    }
    // the whole sequence in float64, for the composed path
    at::Tensor joined() const
    {
        const at::Tensor b = batch.to(at::kDouble);
        return prev ? at::cat({*prev, b}) : b;
    }
    // whether the CPU loops can read the points in place
    bool cpu_loop_can_read() const
    {
        const auto t = batch.scalar_type();
        return batch.device().is_cpu() && batch.is_contiguous() &&
               (t == at::kFloat || t == at::kDouble) &&
               (!prev || fits_cpu_loop(*prev));
    }
};

// Point r, element i of [prev; batch] on a CPU, in float64.
template <typename T> struct CpuPoints {
    const double *prev;
    const T *batch;
    int64_t n; // elements per point

    double at(int64_t r, int64_t i) const
    {
        if (prev)
            return r == 0 ? prev[i] : (double)batch[(r - 1) * n + i];
        return (double)batch[r * n + i];
    }
};

// f(CpuPoints<T>) for the batch's type T, float or double.
template <typename F>
static void on_cpu_points(const Points &p, int64_t n, F &&f)
{
    const double *prev = p.prev ? p.prev->data_ptr<double>() : nullptr;
    if (p.batch.scalar_type() == at::kFloat)
        f(CpuPoints<float>{prev, p.batch.data_ptr<float>(), n});
    else
        f(CpuPoints<double>{prev, p.batch.data_ptr<double>(), n});
}

// relu as torch computes it in float64: NaN passes through
static inline double rectified(double x)
{
    return x > 0.0 || std::isnan(x) ? x : 0.0;
}

// Chunks of elements small enough that a row of each stays in cache.
static const int64_t grain = 2048;

template <bool Relu, typename T>
static void add_on_cpu(double *acc, const CpuPoints<T> &g, const double *d,
                       int64_t rows)
{
    at::parallel_for(0, g.n, grain, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; i++) {
            double prev = Relu ? rectified(g.at(0, i)) : g.at(0, i), sum = 0.0;
            for (int64_t b = 0; b < rows; b++) {
                const double next =
                    Relu ? rectified(g.at(b + 1, i)) : g.at(b + 1, i);
                sum += (next + prev) * d[b * g.n + i];
                prev = next;
            }
            acc[i] += 0.5 * sum;
        }
    });
}

template <typename T>
static void increments_on_cpu(double *out, const CpuPoints<T> &a, int64_t rows)
{
    at::parallel_for(0, a.n, grain, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; i++)
            for (int64_t b = 0; b < rows; b++)
                out[b * a.n + i] = a.at(b + 1, i) - a.at(b, i);
    });
}

static const at::Tensor *optional(const rsi_tensor *t)
{
    return t ? &rsicam::unwrap(t) : nullptr;
}

// Throws unless prev (where given) is one row of batch's point shape.
static void check_points(const Points &p, const char *what)
{
    const at::Tensor &b = p.batch;
    if (b.dim() < 1 ||
        (p.prev && (p.prev->dim() != b.dim() || p.prev->size(0) != 1 ||
                    p.prev->sizes().slice(1) != b.sizes().slice(1))))
        throw std::invalid_argument(
            std::string(what) + ": a previous point of shape " +
            (p.prev ? c10::str(p.prev->sizes()) : std::string("(none)")) +
            " for a batch of shape " + c10::str(b.sizes()));
}

rsi_tensor *rsi_tensor_increments(const rsi_tensor *prev,
                                  const rsi_tensor *batch)
{
    return shim_call<rsi_tensor *>(nullptr, "tensor increments", [&] {
        const Points a{optional(prev), unwrap(batch)};
        check_points(a, "increments");
        const int64_t rows = a.rows() - 1;
        if (rows < 1)
            throw std::invalid_argument("increments need two points");
        if (!a.cpu_loop_can_read()) {
            const at::Tensor all = a.joined();
            return rsicam::wrap(all.narrow(0, 1, rows) -
                                all.narrow(0, 0, rows));
        }
        std::vector<int64_t> shape = a.batch.sizes().vec();
        shape[0] = rows;
        at::Tensor out = at::empty(shape, a.batch.options().dtype(at::kDouble));
        on_cpu_points(a, out[0].numel(), [&](const auto &points) {
            increments_on_cpu(out.data_ptr<double>(), points, rows);
        });
        return rsicam::wrap(out);
    });
}

int rsi_tensor_trapezoids_add(rsi_tensor **acc, const rsi_tensor *prev,
                              const rsi_tensor *grads, const rsi_tensor *deltas,
                              int relu)
{
    return shim_call<int>(-1, "tensor trapezoids", [&] {
        if (!acc)
            throw std::invalid_argument("NULL accumulator");
        const Points g{optional(prev), unwrap(grads)};
        check_points(g, "trapezoids");
        const at::Tensor &d = unwrap(deltas);
        const int64_t rows = d.dim() > 0 ? d.size(0) : 0;
        if (g.rows() != rows + 1 ||
            g.batch.sizes().slice(1) != d.sizes().slice(1) ||
            d.scalar_type() != at::kDouble)
            throw std::invalid_argument(
                "trapezoids need B + 1 gradient points for float64 "
                "increments [B, ...], got " +
                std::to_string(g.rows()) + " of shape " +
                c10::str(g.batch.sizes().slice(1)) + " and " +
                c10::str(d.sizes()) + " " +
                std::string(c10::toString(d.scalar_type())));
        if (!*acc)
            *acc = rsicam::wrap(at::zeros(d.sizes().slice(1), d.options()));
        at::Tensor &sum = (*acc)->t;
        if (sum.sizes() != d.sizes().slice(1))
            throw std::invalid_argument("trapezoids: accumulator of shape " +
                                        c10::str(sum.sizes()) + " for " +
                                        c10::str(d.sizes()));
        if (g.cpu_loop_can_read() && fits_cpu_loop(d) && fits_cpu_loop(sum)) {
            double *out = sum.data_ptr<double>();
            const double *dp = d.data_ptr<double>();
            on_cpu_points(g, sum.numel(), [&](const auto &points) {
                if (relu)
                    add_on_cpu<true>(out, points, dp, rows);
                else
                    add_on_cpu<false>(out, points, dp, rows);
            });
            return 0;
        }
        const at::Tensor all = g.joined();
        const at::Tensor f = relu ? torch::relu(all) : all;
        sum.add_((f.narrow(0, 1, rows) + f.narrow(0, 0, rows))
                     .mul(d)
                     .sum(0)
                     .mul(0.5)
                     .to(sum.scalar_type()));
        return 0;
    });
}
