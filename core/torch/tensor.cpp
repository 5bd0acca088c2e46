// rsicam — the tensor C API (tensor.h) over at::Tensor.
#include "shim.h"

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

using rsicam::shim_call;
using rsicam::unwrap;
using rsicam::wrap;

static std::vector<int64_t> shape_vector(const int64_t *shape, int ndim)
{
    if (ndim < 0 || ndim > RSI_MAX_DIMS || (ndim > 0 && !shape))
        throw std::invalid_argument("bad shape");
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0)
            throw std::invalid_argument("negative dimension");
    return std::vector<int64_t>(shape, shape + ndim);
}

static at::ScalarType scalar_type(rsi_dtype dtype)
{
    switch (dtype) {
    case RSI_FLOAT32:
        return at::kFloat;
    case RSI_FLOAT64:
        return at::kDouble;
    }
    throw std::invalid_argument("unknown dtype");
}

extern "C" {

rsi_tensor *rsi_tensor_from_floats(const float *data, const int64_t *shape,
                                   int ndim)
{
    return shim_call<rsi_tensor *>(nullptr, "tensor", [&] {
        auto sizes = shape_vector(shape, ndim);
        auto t = torch::empty(sizes, at::kFloat);
        if (t.numel() > 0) {
            if (!data)
                throw std::invalid_argument("NULL data");
            std::memcpy(t.data_ptr<float>(), data, t.numel() * sizeof(float));
        }
        return wrap(t);
    });
}

rsi_tensor *rsi_tensor_full(const int64_t *shape, int ndim, double value)
{
    return shim_call<rsi_tensor *>(nullptr, "tensor", [&] {
        return wrap(torch::full(shape_vector(shape, ndim), value, at::kFloat));
    });
}

rsi_tensor *rsi_tensor_full_like(const rsi_tensor *like, double value)
{
    return shim_call<rsi_tensor *>(nullptr, "tensor", [&] {
        return wrap(torch::full_like(unwrap(like), value));
    });
}

rsi_tensor *rsi_tensor_clone(const rsi_tensor *t)
{
    return shim_call<rsi_tensor *>(nullptr, "tensor",
                                   [&] { return wrap(unwrap(t).clone()); });
}

void rsi_tensor_free(rsi_tensor *t)
{
    delete t;
}

int rsi_tensor_ndim(const rsi_tensor *t)
{
    return shim_call<int>(-1, "tensor", [&] { return (int)unwrap(t).dim(); });
}

int64_t rsi_tensor_size(const rsi_tensor *t, int dim)
{
    return shim_call<int64_t>(-1, "tensor",
                              [&] { return unwrap(t).size(dim); });
}

int64_t rsi_tensor_numel(const rsi_tensor *t)
{
    return shim_call<int64_t>(-1, "tensor", [&] { return unwrap(t).numel(); });
}

int rsi_tensor_to_floats(const rsi_tensor *t, float *out, int64_t n)
{
    return shim_call<int>(-1, "tensor", [&] {
        auto c = unwrap(t).detach().to(at::kCPU, at::kFloat).contiguous();
        if (n < c.numel() || (c.numel() > 0 && !out))
            throw std::invalid_argument("output buffer too small");
        std::memcpy(out, c.data_ptr<float>(), c.numel() * sizeof(float));
        return 0;
    });
}

int rsi_tensor_item(const rsi_tensor *t, double *out)
{
    return shim_call<int>(-1, "tensor", [&] {
        *out = unwrap(t).item<double>();
        return 0;
    });
}

rsi_tensor *rsi_tensor_to_dtype(const rsi_tensor *t, rsi_dtype dtype)
{
    return shim_call<rsi_tensor *>(nullptr, "tensor", [&] {
        return wrap(unwrap(t).to(scalar_type(dtype)));
    });
}

rsi_tensor *rsi_tensor_to_like(const rsi_tensor *t, const rsi_tensor *like)
{
    return shim_call<rsi_tensor *>(nullptr, "tensor to", [&] {
        const auto &l = unwrap(like);
        // copy = true: a new tensor even when nothing needs converting
        return wrap(unwrap(t).to(l.device(), l.scalar_type(), false, true));
    });
}

int rsi_tensor_dtype(const rsi_tensor *t)
{
    return shim_call<int>(-1, "tensor dtype", [&] {
        switch (unwrap(t).scalar_type()) {
        case torch::kFloat32:
            return (int)RSI_FLOAT32;
        case torch::kFloat64:
            return (int)RSI_FLOAT64;
        default:
            return -1;
        }
    });
}

int rsi_tensor_same_device(const rsi_tensor *a, const rsi_tensor *b)
{
    return shim_call<int>(-1, "tensor device", [&] {
        return unwrap(a).device() == unwrap(b).device() ? 1 : 0;
    });
}

int rsi_tensor_same_bits(const rsi_tensor *a, const rsi_tensor *b)
{
    return shim_call<int>(-1, "tensor bits", [&] {
        const auto &x = unwrap(a), &y = unwrap(b);
        if (x.sizes() != y.sizes() || x.scalar_type() != y.scalar_type() ||
            x.device() != y.device())
            return 0;
        // as bytes: at::equal compares values, where -0 == 0 and NaN != NaN
        const auto bytes = [](const at::Tensor &t) {
            return t.contiguous().reshape({-1}).view(at::kByte);
        };
        return at::equal(bytes(x), bytes(y)) ? 1 : 0;
    });
}

const char *rsi_tensor_describe(const rsi_tensor *t, char *buf, size_t n)
{
    if (n == 0)
        return buf;
    return shim_call<const char *>(buf, "tensor describe", [&] {
        const auto &x = unwrap(t);
        std::string s = "[";
        for (int64_t d = 0; d < x.dim(); d++)
            s += (d ? ", " : "") + std::to_string(x.size(d));
        s += "] " + std::string(c10::toString(x.scalar_type())) + " on " +
             x.device().str();
        snprintf(buf, n, "%s", s.c_str());
        return (const char *)buf;
    });
}

rsi_tensor *rsi_tensor_reshape(const rsi_tensor *t, const int64_t *shape,
                               int ndim)
{
    return shim_call<rsi_tensor *>(nullptr, "tensor", [&] {
        return wrap(unwrap(t).reshape(shape_vector(shape, ndim)));
    });
}

rsi_tensor *rsi_tensor_add(const rsi_tensor *a, const rsi_tensor *b)
{
    return shim_call<rsi_tensor *>(nullptr, "tensor add",
                                   [&] { return wrap(unwrap(a) + unwrap(b)); });
}

rsi_tensor *rsi_tensor_sub(const rsi_tensor *a, const rsi_tensor *b)
{
    return shim_call<rsi_tensor *>(nullptr, "tensor sub",
                                   [&] { return wrap(unwrap(a) - unwrap(b)); });
}

rsi_tensor *rsi_tensor_mul(const rsi_tensor *a, const rsi_tensor *b)
{
    return shim_call<rsi_tensor *>(nullptr, "tensor mul",
                                   [&] { return wrap(unwrap(a) * unwrap(b)); });
}

rsi_tensor *rsi_tensor_div(const rsi_tensor *a, const rsi_tensor *b)
{
    return shim_call<rsi_tensor *>(nullptr, "tensor div",
                                   [&] { return wrap(unwrap(a) / unwrap(b)); });
}

rsi_tensor *rsi_tensor_scale(const rsi_tensor *a, double s)
{
    return shim_call<rsi_tensor *>(nullptr, "tensor scale",
                                   [&] { return wrap(unwrap(a) * s); });
}

rsi_tensor *rsi_tensor_axpby(double alpha, const rsi_tensor *a, double beta,
                             const rsi_tensor *b)
{
    return shim_call<rsi_tensor *>(nullptr, "tensor axpby", [&] {
        // Exact endpoints: a path's first and last points must be the
        // baseline and the image bit for bit, not 1.0 * x + 0.0 * b.
        if (alpha == 1.0 && beta == 0.0)
            return wrap(unwrap(a).clone());
        if (alpha == 0.0 && beta == 1.0)
            return wrap(unwrap(b).clone());
        return wrap(unwrap(a) * alpha + unwrap(b) * beta);
    });
}

// All rows in one pass each (b - a, the products, the sums), into one
// tensor: row by row, each row was a tensor of its own (600 KB for a
// 224x224 image, below the huge-page blocks' 1 MiB), and a ResNet50
// command at batch 16 faulted in 9,000 fresh small pages making its first
// two batches' points, 90 ms on the 2-core AMD EPYC VM. The weights are
// alpha in the rows' type, as a scalar is for a float32 or float64 tensor,
// so the rows are the same; other types go row by row.
rsi_tensor *rsi_tensor_lerp(const rsi_tensor *a, const rsi_tensor *b,
                            const double *alpha, int64_t n)
{
    return shim_call<rsi_tensor *>(nullptr, "tensor lerp", [&] {
        const at::Tensor &ta = unwrap(a), &tb = unwrap(b);
        if (n < 1 || !alpha || ta.dim() < 1 || ta.size(0) != 1 ||
            tb.sizes() != ta.sizes())
            throw std::invalid_argument(
                "needs two rows of one shape [1, ...] and at least one "
                "position, got " +
                c10::str(ta.sizes()) + " and " + c10::str(tb.sizes()) +
                " for " + std::to_string(n));
        const at::Tensor d = tb - ta;
        at::Tensor out;
        const auto type = ta.scalar_type();
        if (type == at::kFloat || type == at::kDouble) {
            std::vector<int64_t> shape(ta.dim(), 1);
            shape[0] = n;
            const at::Tensor w =
                at::from_blob(const_cast<double *>(alpha), {n}, at::kDouble)
                    .to(ta.options())
                    .view(shape);
            out = ta + d * w;
        } else {
            std::vector<at::Tensor> rows;
            for (int64_t k = 0; k < n; k++)
                rows.push_back(ta + d * alpha[k]);
            out = at::cat(rows);
        }
        // exact ends: the baseline and the image, not a + 1 (b - a)
        for (int64_t k = 0; k < n; k++)
            if (alpha[k] == 0.0 || alpha[k] == 1.0)
                out[k].copy_(alpha[k] == 0.0 ? ta[0] : tb[0]);
        return wrap(out);
    });
}

rsi_tensor *rsi_tensor_relu(const rsi_tensor *a)
{
    return shim_call<rsi_tensor *>(
        nullptr, "tensor relu", [&] { return wrap(torch::relu(unwrap(a))); });
}

rsi_tensor *rsi_tensor_positive(const rsi_tensor *a)
{
    return shim_call<rsi_tensor *>(nullptr, "tensor positive", [&] {
        const auto &t = unwrap(a);
        return wrap((t > 0).to(t.scalar_type()));
    });
}

rsi_tensor *rsi_tensor_sqrt(const rsi_tensor *a)
{
    return shim_call<rsi_tensor *>(
        nullptr, "tensor sqrt", [&] { return wrap(torch::sqrt(unwrap(a))); });
}

int rsi_tensor_add_(rsi_tensor *acc, const rsi_tensor *t)
{
    return shim_call<int>(-1, "tensor add_", [&] {
        if (!acc)
            throw std::invalid_argument("NULL tensor");
        acc->t.add_(unwrap(t).to(acc->t.scalar_type()));
        return 0;
    });
}

rsi_tensor *rsi_tensor_cat(const rsi_tensor *const *ts, int n, int dim)
{
    return shim_call<rsi_tensor *>(nullptr, "tensor cat", [&] {
        std::vector<at::Tensor> parts;
        for (int i = 0; i < n; i++)
            parts.push_back(unwrap(ts[i]));
        return wrap(torch::cat(parts, dim));
    });
}

rsi_tensor *rsi_tensor_narrow(const rsi_tensor *t, int dim, int64_t start,
                              int64_t length)
{
    return shim_call<rsi_tensor *>(nullptr, "tensor narrow", [&] {
        return wrap(unwrap(t).narrow(dim, start, length));
    });
}

rsi_tensor *rsi_tensor_sum_dim(const rsi_tensor *t, int dim, int keepdim)
{
    return shim_call<rsi_tensor *>(nullptr, "tensor sum", [&] {
        return wrap(unwrap(t).sum(dim, keepdim != 0));
    });
}

rsi_tensor *rsi_tensor_mean_dims(const rsi_tensor *t, const int64_t *dims,
                                 int ndims, int keepdim)
{
    return shim_call<rsi_tensor *>(nullptr, "tensor mean", [&] {
        return wrap(unwrap(t).mean(at::IntArrayRef(dims, ndims), keepdim != 0));
    });
}

int rsi_tensor_sum_all(const rsi_tensor *t, double *out)
{
    return shim_call<int>(-1, "tensor sum", [&] {
        *out = unwrap(t).sum(at::kDouble).item<double>();
        return 0;
    });
}

int rsi_tensor_min_max(const rsi_tensor *t, double *min, double *max)
{
    return shim_call<int>(-1, "tensor min/max", [&] {
        const auto &x = unwrap(t);
        *min = x.min().item<double>();
        *max = x.max().item<double>();
        return 0;
    });
}

int rsi_tensor_all_finite(const rsi_tensor *t)
{
    return shim_call<int>(-1, "tensor isfinite", [&] {
        return (int)torch::isfinite(unwrap(t)).all().item<bool>();
    });
}

rsi_tensor *rsi_tensor_resize_bilinear(const rsi_tensor *t, int64_t h,
                                       int64_t w)
{
    return shim_call<rsi_tensor *>(nullptr, "bilinear resize", [&] {
        const auto &x = unwrap(t);
        if (x.dim() != 4)
            throw std::invalid_argument("expected a [N, C, H, W] tensor");
        return wrap(at::upsample_bilinear2d(x, {h, w}, false));
    });
}

rsi_tensor *rsi_tensor_gaussian_blur(const rsi_tensor *t, double sigma)
{
    return shim_call<rsi_tensor *>(nullptr, "gaussian blur", [&] {
        const auto &x = unwrap(t);
        if (x.dim() != 4)
            throw std::invalid_argument("expected a [N, C, H, W] tensor");
        if (!(sigma >= 0) || !std::isfinite(sigma))
            throw std::invalid_argument("sigma must be finite and >= 0");
        if (sigma == 0)
            return wrap(x.clone());
        // Separable kernel of radius 3 sigma, clipped so that reflect
        // padding stays valid for the image size.
        int64_t radius = (int64_t)std::ceil(3.0 * sigma);
        radius = std::min(radius, std::min(x.size(2), x.size(3)) - 1);
        if (radius < 1)
            return wrap(x.clone());
        auto offsets =
            torch::arange(-radius, radius + 1, x.options().dtype(at::kDouble));
        auto k = torch::exp(-0.5 * (offsets / sigma).pow(2));
        k = (k / k.sum()).to(x.scalar_type());
        const int64_t c = x.size(1);
        auto kh = k.view({1, 1, 1, -1}).repeat({c, 1, 1, 1});
        auto kv = k.view({1, 1, -1, 1}).repeat({c, 1, 1, 1});
        const std::vector<int64_t> one{1, 1}, none{0, 0};
        const c10::optional<at::Tensor> no_bias;
        auto y = torch::reflection_pad2d(x, {radius, radius, 0, 0});
        y = at::conv2d(y, kh, no_bias, one, none, one, c);
        y = torch::reflection_pad2d(y, {0, 0, radius, radius});
        y = at::conv2d(y, kv, no_bias, one, none, one, c);
        return wrap(y);
    });
}

} // extern "C"
