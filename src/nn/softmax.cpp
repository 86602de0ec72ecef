// Softmax and log-softmax over the last axis, max-subtracted.
#include "xgrad/nn/softmax.hpp"

#include <algorithm>
#include <cmath>
#include <xtensor/xmath.hpp>
#include <xtensor/xreducer.hpp>

#include "ops/backward.hpp"
#include "xgrad/error.hpp"

namespace xg {

namespace {

// The last axis, after checking there is one and it is not empty.
std::size_t last_axis(const char* op, const Tensor& z) {
  const Array& v = z.value();
  if (v.dimension() == 0 || v.shape().back() == 0)
    throw shape_error(std::string(op) + ": input of shape " + shape_str(v.shape()) +
                      ": expected a non-empty last axis, e.g. (m, n) with n >= 1");
  return v.dimension() - 1;
}

// Σ along `axis`, kept as a size-1 axis so it broadcasts back over the row.
template <class E>
Array row_sum(E&& e, std::size_t axis) {
  return xt::sum(std::forward<E>(e), {axis}, xt::keep_dims | xt::evaluation_strategy::immediate);
}

}  // namespace

// a = e^{z − max} / Σ e^{z − max}   (the shift cancels; it keeps e^{...} ≤ 1)
// dz = a ⊙ (g − Σ_j g_j a_j)        (row-wise: J = diag(a) − a aᵀ is symmetric)
Tensor softmax(const Tensor& z) {
  const std::size_t axis = last_axis("softmax", z);
  const Array& v = z.value();
  Array row_max = xt::amax(v, {axis}, xt::keep_dims | xt::evaluation_strategy::immediate);
  Array e = xt::exp(v - row_max);
  Array s = row_sum(e, axis);
  e /= s;
  return record("softmax", std::move(e), {z}, [axis](auto& c) {
    if (!c.needs(0)) return;
    const auto& a = c.y();
    const auto& g = c.gy();
    auto dot = bw::row_sum(g * a, axis);
    c.add(0, a * (g - dot));
  });
}

// y = z − max − ln Σ e^{z − max}
// dz = g − softmax(z) ⊙ Σ_j g_j      (softmax(z) = e^y)
Tensor log_softmax(const Tensor& z) {
  const std::size_t axis = last_axis("log_softmax", z);
  const Array& v = z.value();
  Array row_max = xt::amax(v, {axis}, xt::keep_dims | xt::evaluation_strategy::immediate);
  Array shifted = v - row_max;
  Array log_norm = row_sum(xt::exp(shifted), axis);
  // One value per row, so a scalar loop costs nothing; and xsimd 8's vector
  // log fails to compile for AVX-512BW targets without optimisation (-O0).
  for (auto& total : log_norm) total = std::log(total);
  shifted -= log_norm;
  return record("log_softmax", std::move(shifted), {z}, [axis](auto& c) {
    if (!c.needs(0)) return;
    const auto& g = c.gy();
    auto total = bw::row_sum(g, axis);
    c.add(0, g - exp(c.y()) * total);
  });
}

namespace detail {

Array log_softmax_rows(const Array& z) {
  Array out = Array::from_shape(z.shape());
  const std::size_t k = z.dimension() == 0 ? 1 : z.shape().back();
  const std::size_t rows = k == 0 ? 0 : z.size() / k;
  const Scalar* in = z.data();
  Scalar* o = out.data();
  for (std::size_t r = 0; r < rows; ++r, in += k, o += k) {
    double mx = in[0];
    for (std::size_t j = 1; j < k; ++j) mx = std::max(mx, static_cast<double>(in[j]));
    double sum = 0.0;
    for (std::size_t j = 0; j < k; ++j) sum += std::exp(in[j] - mx);
    const double shift = mx + std::log(sum);
    for (std::size_t j = 0; j < k; ++j) o[j] = static_cast<Scalar>(in[j] - shift);
  }
  return out;
}

}  // namespace detail

namespace bw {
Array log_softmax(const Array& z) { return detail::log_softmax_rows(z); }
Tensor log_softmax(const Tensor& z) { return xg::log_softmax(z); }
Array softmax(const Array& z) { return xt::exp(detail::log_softmax_rows(z)); }
Tensor softmax(const Tensor& z) { return xg::softmax(z); }
}  // namespace bw

}  // namespace xg
