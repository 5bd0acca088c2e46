// rsicam — the Riemann-Stieltjes engine's pass over a batch of path points
// (rsi_tensor_trapezoids_add; tensor.h).
//
// Composed of tensor operations, the sums copied each batch to float64
// behind the previous point, wrote the increments A[r + 1] - A[r] out in
// float64, and read them back once per sum (the raw gradients', then the
// rectified ones'): on a CPU, for layers as large as ResNet50's layer2,
// memory traffic, not arithmetic. Here activations and gradients are read
// once, as they come, and converted as they are read; the increments are
// formed in registers, and both sums are kept side by side. Each element's
// terms are summed in order (r = 0, 1, ...) and added on: the same sums to
// the bit as forming the float64 increments first (the difference of two
// floats is the same number either way), and within float64's rounding of
// the composition, whose reduction groups the terms its own way
// (tests/unit/test_trapezoids.c holds both to a long double reference).
// Other devices and layouts keep the composition. ResNet50 `layer2`, 51
// points at batch 8 on a 2-core AMD EPYC (perf): 121 ms of CPU in the
// increments and two sums of 2b3f07a, 23 ms here.
#include "shim.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <stdexcept>
#include <string>

using rsicam::shim_call;
using rsicam::unwrap;

namespace
{

// A float64 tensor that the CPU loop can read and write in place.
bool fits_cpu_loop(const at::Tensor &t)
{
    return rsicam::cpu_loop_can_read(t) && t.scalar_type() == at::kDouble;
}

// The sequence [prev; batch] of a path's points: prev the previous batch's
// last point (float64, one row) or nothing, batch this batch's rows
// (float32 or float64).
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
    // whether the CPU loop can read the points in place
    bool cpu_loop_can_read() const
    {
        return rsicam::cpu_loop_can_read(batch) &&
               (!prev || fits_cpu_loop(*prev));
    }
};

// The points on a CPU: the previous point (float64, or nullptr), then the
// batch's rows of n elements each, in their own type T.
template <typename T> struct CpuPoints {
    const double *prev;
    const T *batch;
    int64_t rows, n;

    double first(int64_t i) const
    {
        return prev ? prev[i] : (double)batch[i];
    }
};

// f(CpuPoints<T>) for the batch's type T, float or double.
template <typename F> void on_cpu_points(const Points &p, F &&f)
{
    const double *prev = p.prev ? p.prev->data_ptr<double>() : nullptr;
    const int64_t rows = p.batch.size(0), n = p.batch[0].numel();
    if (p.batch.scalar_type() == at::kFloat)
        f(CpuPoints<float>{prev, p.batch.data_ptr<float>(), rows, n});
    else
        f(CpuPoints<double>{prev, p.batch.data_ptr<double>(), rows, n});
}

// relu as torch computes it in float64: NaN passes through (one
// comparison, so that the loop below vectorises)
inline double rectified(double x)
{
    return !(x <= 0.0) ? x : 0.0;
}

// Elements per chunk: a chunk's running values (four arrays of 8 KiB)
// stay in the first-level cache while the batch's rows stream past.
constexpr int64_t chunk = 1024;

// sum[i] += 0.5 * sum_r (g[r + 1] + g[r]) * (a[r + 1] - a[r]), and with
// Relu the same of relu(g) into sum_relu. Within a chunk the rows are the
// outer loop, so that the inner one runs over contiguous elements (and
// vectorises) while each element's terms still add in row order.
template <bool Relu, typename TG, typename TA>
void add_on_cpu(double *sum, double *sum_relu, const CpuPoints<TG> &g,
                const CpuPoints<TA> &a)
{
    const int64_t n = g.n, from = g.prev ? 0 : 1; // the first row that pairs
    at::parallel_for(0, n, chunk, [&](int64_t lo, int64_t hi) {
        double g_last[chunk], a_last[chunk], raw[chunk], rel[chunk];
        for (int64_t start = lo; start < hi; start += chunk) {
            const int64_t len = std::min(chunk, hi - start);
            for (int64_t j = 0; j < len; j++) {
                g_last[j] = g.first(start + j);
                a_last[j] = a.first(start + j);
                raw[j] = rel[j] = 0.0;
            }
            for (int64_t r = from; r < g.rows; r++) {
                const TG *gr = g.batch + r * n + start;
                const TA *ar = a.batch + r * n + start;
                for (int64_t j = 0; j < len; j++) {
                    const double gn = (double)gr[j], an = (double)ar[j];
                    const double d = an - a_last[j];
                    raw[j] += (gn + g_last[j]) * d;
                    if (Relu)
                        rel[j] += (rectified(gn) + rectified(g_last[j])) * d;
                    g_last[j] = gn;
                    a_last[j] = an;
                }
            }
            for (int64_t j = 0; j < len; j++) {
                sum[start + j] += 0.5 * raw[j];
                if (Relu)
                    sum_relu[start + j] += 0.5 * rel[j];
            }
        }
    });
}

// The same sums composed of tensor operations, for any device and layout.
void add_composed(at::Tensor &sum, at::Tensor *sum_relu, const Points &g,
                  const Points &a)
{
    const at::Tensor all_g = g.joined(), all_a = a.joined();
    const int64_t pairs = all_g.size(0) - 1;
    const at::Tensor d = all_a.narrow(0, 1, pairs) - all_a.narrow(0, 0, pairs);
    auto add = [&](at::Tensor &to, const at::Tensor &f) {
        to.add_((f.narrow(0, 1, pairs) + f.narrow(0, 0, pairs))
                    .mul(d)
                    .sum(0)
                    .mul(0.5)
                    .to(to.scalar_type()));
    };
    add(sum, all_g);
    if (sum_relu)
        add(*sum_relu, torch::relu(all_g));
}

const at::Tensor *optional(const rsi_tensor *t)
{
    return t ? &unwrap(t) : nullptr;
}

// Throws unless prev (where given) is one row of batch's point shape.
void check_points(const Points &p, const char *what)
{
    const at::Tensor &b = p.batch;
    if (b.dim() < 1 || b.size(0) < 1 ||
        (p.prev && (p.prev->dim() != b.dim() || p.prev->size(0) != 1 ||
                    p.prev->sizes().slice(1) != b.sizes().slice(1))))
        throw std::invalid_argument(
            std::string(what) + ": a previous point of shape " +
            (p.prev ? c10::str(p.prev->sizes()) : std::string("(none)")) +
            " for a batch of shape " + c10::str(b.sizes()));
}

// Tensors made while one lives outlive the forward (rsi_torch_lasting_begin).
struct LastingScope {
    LastingScope()
    {
        rsi_torch_lasting_begin();
    }
    ~LastingScope()
    {
        rsi_torch_lasting_end();
    }
    LastingScope(const LastingScope &) = delete;
    LastingScope &operator=(const LastingScope &) = delete;
};

// *acc, made (float64 zeros of a point's shape) when NULL; throws when it
// has another shape.
at::Tensor &accumulator(rsi_tensor **acc, const Points &p)
{
    const auto shape = p.batch.sizes().slice(1);
    if (!*acc) {
        const LastingScope lasting; // the sums outlive every forward
        *acc = rsicam::wrap(
            at::zeros(shape, p.batch.options().dtype(at::kDouble)));
    }
    at::Tensor &t = (*acc)->t;
    if (t.sizes() != shape)
        throw std::invalid_argument("trapezoids: a sum of shape " +
                                    c10::str(t.sizes()) + " for points of " +
                                    c10::str(shape));
    return t;
}

} // namespace

int rsi_tensor_trapezoids_add(rsi_tensor **sum, rsi_tensor **sum_relu,
                              const rsi_tensor *g_prev, const rsi_tensor *g,
                              const rsi_tensor *a_prev, const rsi_tensor *a)
{
    return shim_call<int>(-1, "tensor trapezoids", [&] {
        if (!sum)
            throw std::invalid_argument("NULL sum");
        const Points gp{optional(g_prev), unwrap(g)},
            ap{optional(a_prev), unwrap(a)};
        check_points(gp, "trapezoids (gradients)");
        check_points(ap, "trapezoids (activations)");
        if ((gp.prev == nullptr) != (ap.prev == nullptr) ||
            gp.batch.sizes() != ap.batch.sizes() || gp.rows() < 2)
            throw std::invalid_argument(
                "trapezoids need gradients and activations at the same two "
                "or more points, got " +
                std::to_string(gp.rows()) + " of shape " +
                c10::str(gp.batch.sizes().slice(1)) + " and " +
                std::to_string(ap.rows()) + " of shape " +
                c10::str(ap.batch.sizes().slice(1)));
        at::Tensor &s = accumulator(sum, gp);
        at::Tensor *s_relu = sum_relu ? &accumulator(sum_relu, gp) : nullptr;
        if (!(gp.cpu_loop_can_read() && ap.cpu_loop_can_read() &&
              fits_cpu_loop(s) && (!s_relu || fits_cpu_loop(*s_relu)))) {
            add_composed(s, s_relu, gp, ap);
            return 0;
        }
        double *out = s.data_ptr<double>();
        double *out_relu = s_relu ? s_relu->data_ptr<double>() : nullptr;
        on_cpu_points(gp, [&](const auto &gc) {
            on_cpu_points(ap, [&](const auto &ac) {
                if (out_relu)
                    add_on_cpu<true>(out, out_relu, gc, ac);
                else
                    add_on_cpu<false>(out, nullptr, gc, ac);
            });
        });
        return 0;
    });
}
