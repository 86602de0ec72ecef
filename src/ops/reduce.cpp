// Reductions. Backward broadcasts the output gradient back over the reduced axes.
// GCC 12 reports a false -Warray-bounds inside xtensor 0.24's argmax
// (svector::insert inlined into get_permutations; the index is in range).
// The warning is issued after inlining, against xtensor's header, so a
// pragma around the call does not reach it: it is off for this whole file.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Warray-bounds"
#endif
#include <xtensor/xbroadcast.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xreducer.hpp>
#include <xtensor/xsort.hpp>

#include "ops/broadcast.hpp"
#include "xgrad/ops.hpp"

namespace xg {

namespace {

/// The gradient of a reduction over `axis`, reshaped so it broadcasts over x.
Array expand_reduced(const Array& gy, const Array& x, std::size_t axis) {
  Shape kept(x.shape().begin(), x.shape().end());
  kept[axis] = 1;
  Array g = gy;
  g.reshape(kept);
  return g;
}

void require_nonempty(const char* op, const Array& x) {
  if (x.size() == 0)
    throw shape_error(std::string(op) + ": input of shape " + shape_str(x.shape()) + " is empty");
}

Shape reduced_shape(const Array& x, std::size_t axis, bool keepdims) {
  Shape s(x.shape().begin(), x.shape().end());
  if (keepdims)
    s[axis] = 1;
  else
    s.erase(s.begin() + static_cast<std::ptrdiff_t>(axis));
  return s;
}

}  // namespace

// y = Σ x;  dy/dx = 1
Tensor sum(const Tensor& x) {
  Array y = xt::sum(x.value(), xt::evaluation_strategy::immediate);
  return record("sum", std::move(y), {x}, [](BackwardContext& c) {
    c.add(0, Array(xt::broadcast(*c.gy().begin(), c.x(0).shape())));
  });
}

// y_j = Σ_i x_ij along axis;  dy/dx = 1 (broadcast back)
Tensor sum(const Tensor& x, int axis, bool keepdims) {
  const std::size_t ax = detail::normalize_axis("sum", axis, x.dim());
  Array y = xt::sum(x.value(), {ax}, xt::evaluation_strategy::immediate);
  y.reshape(reduced_shape(x.value(), ax, keepdims));
  return record("sum", std::move(y), {x}, [ax](BackwardContext& c) {
    c.add(0, Array(xt::broadcast(expand_reduced(c.gy(), c.x(0), ax), c.x(0).shape())));
  });
}

// y = Σ x / N;  dy/dx = 1/N
Tensor mean(const Tensor& x) {
  require_nonempty("mean", x.value());
  const Scalar inv_n = Scalar(1) / static_cast<Scalar>(x.size());
  Array y = xt::sum(x.value(), xt::evaluation_strategy::immediate) * inv_n;
  return record("mean", std::move(y), {x}, [inv_n](BackwardContext& c) {
    c.add(0, Array(xt::broadcast(*c.gy().begin() * inv_n, c.x(0).shape())));
  });
}

// y_j = Σ_i x_ij / N along axis;  dy/dx = 1/N
Tensor mean(const Tensor& x, int axis, bool keepdims) {
  const std::size_t ax = detail::normalize_axis("mean", axis, x.dim());
  require_nonempty("mean", x.value());
  const Scalar inv_n = Scalar(1) / static_cast<Scalar>(x.value().shape()[ax]);
  Array y = xt::sum(x.value(), {ax}, xt::evaluation_strategy::immediate) * inv_n;
  y.reshape(reduced_shape(x.value(), ax, keepdims));
  return record("mean", std::move(y), {x}, [ax, inv_n](BackwardContext& c) {
    c.add(0, Array(xt::broadcast(expand_reduced(c.gy(), c.x(0), ax) * inv_n, c.x(0).shape())));
  });
}

xt::xarray<std::size_t> argmax(const Tensor& x, int axis) {
  const std::size_t ax = detail::normalize_axis("argmax", axis, x.dim());
  require_nonempty("argmax", x.value());
  return xt::argmax(x.value(), ax);
}

// y_j = max_i x_ij;  dy/dx_ij = 1 at the first argmax i, 0 elsewhere
Tensor max(const Tensor& x, int axis, bool keepdims) {
  const std::size_t ax = detail::normalize_axis("max", axis, x.dim());
  require_nonempty("max", x.value());
  xt::xarray<std::size_t> idx = xt::argmax(x.value(), ax);
  Array y = xt::amax(x.value(), {ax}, xt::evaluation_strategy::immediate);
  y.reshape(reduced_shape(x.value(), ax, keepdims));
  return record("max", std::move(y), {x}, [ax, idx](BackwardContext& c) {
    const auto& xs = c.x(0).shape();
    Array g = xt::zeros<Scalar>(xs);
    // Walk the output positions: outer × inner around the reduced axis.
    std::size_t outer = 1, inner = 1;
    for (std::size_t d = 0; d < ax; ++d) outer *= xs[d];
    for (std::size_t d = ax + 1; d < xs.size(); ++d) inner *= xs[d];
    const std::size_t len = xs[ax];
    const Scalar* gy = c.gy().data();
    const std::size_t* ix = idx.data();
    Scalar* gp = g.data();
    for (std::size_t o = 0; o < outer; ++o)
      for (std::size_t i = 0; i < inner; ++i) {
        const std::size_t k = o * inner + i;
        gp[(o * len + ix[k]) * inner + i] = gy[k];
      }
    c.add(0, std::move(g));
  });
}

}  // namespace xg

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
