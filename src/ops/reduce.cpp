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

#include "ops/backward.hpp"
#include "ops/broadcast.hpp"
#include "xgrad/ops.hpp"

namespace xg {

namespace {

/// x's shape with `axis` kept as size 1: the reduced gradient in that shape
/// broadcasts back over x.
Shape kept_shape(const Array& x, std::size_t axis) {
  Shape kept(x.shape().begin(), x.shape().end());
  kept[axis] = 1;
  return kept;
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
  return record("sum", std::move(y), {x},
                [](auto& c) { c.add(0, bw::broadcast_to(c.gy(), c.x(0).shape())); });
}

// y_j = Σ_i x_ij along axis;  dy/dx = 1 (broadcast back)
Tensor sum(const Tensor& x, int axis, bool keepdims) {
  const std::size_t ax = detail::normalize_axis("sum", axis, x.dim());
  Array y = xt::sum(x.value(), {ax}, xt::evaluation_strategy::immediate);
  y.reshape(reduced_shape(x.value(), ax, keepdims));
  return record("sum", std::move(y), {x}, [ax](auto& c) {
    const Array& xv = bw::value(c.x(0));
    c.add(0, bw::broadcast_to(bw::reshape(c.take_gy(), kept_shape(xv, ax)), xv.shape()));
  });
}

// y = Σ x / N;  dy/dx = 1/N
Tensor mean(const Tensor& x) {
  require_nonempty("mean", x.value());
  const Scalar inv_n = Scalar(1) / static_cast<Scalar>(x.size());
  Array y = xt::sum(x.value(), xt::evaluation_strategy::immediate) * inv_n;
  return record("mean", std::move(y), {x}, [inv_n](auto& c) {
    c.add(0, bw::broadcast_to(bw::scale(c.take_gy(), inv_n), c.x(0).shape()));
  });
}

// y_j = Σ_i x_ij / N along axis;  dy/dx = 1/N
Tensor mean(const Tensor& x, int axis, bool keepdims) {
  const std::size_t ax = detail::normalize_axis("mean", axis, x.dim());
  require_nonempty("mean", x.value());
  const Scalar inv_n = Scalar(1) / static_cast<Scalar>(x.value().shape()[ax]);
  Array y = xt::sum(x.value(), {ax}, xt::evaluation_strategy::immediate) * inv_n;
  y.reshape(reduced_shape(x.value(), ax, keepdims));
  return record("mean", std::move(y), {x}, [ax, inv_n](auto& c) {
    const Array& xv = bw::value(c.x(0));
    c.add(0, bw::broadcast_to(bw::reshape(bw::scale(c.take_gy(), inv_n), kept_shape(xv, ax)),
                              xv.shape()));
  });
}

xt::xarray<std::size_t> argmax(const Tensor& x, int axis) {
  const std::size_t ax = detail::normalize_axis("argmax", axis, x.dim());
  require_nonempty("argmax", x.value());
  return xt::argmax(x.value(), ax);
}

// y_j = max_i x_ij;  dy/dx_ij = 1 at the first argmax i, 0 elsewhere: the
// gradient broadcast back, times the constant one-hot mask of the argmax.
Tensor max(const Tensor& x, int axis, bool keepdims) {
  const std::size_t ax = detail::normalize_axis("max", axis, x.dim());
  require_nonempty("max", x.value());
  xt::xarray<std::size_t> idx = xt::argmax(x.value(), ax);
  Array y = xt::amax(x.value(), {ax}, xt::evaluation_strategy::immediate);
  y.reshape(reduced_shape(x.value(), ax, keepdims));
  const auto& xs = x.value().shape();
  Array hot = xt::zeros<Scalar>(xs);
  // Walk the output positions: outer × inner around the reduced axis.
  std::size_t outer = 1, inner = 1;
  for (std::size_t d = 0; d < ax; ++d) outer *= xs[d];
  for (std::size_t d = ax + 1; d < xs.size(); ++d) inner *= xs[d];
  const std::size_t len = xs[ax];
  for (std::size_t o = 0; o < outer; ++o)
    for (std::size_t i = 0; i < inner; ++i)
      hot.data()[(o * len + idx.data()[o * inner + i]) * inner + i] = Scalar(1);
  Shape kept = kept_shape(x.value(), ax);
  return record("max", std::move(y), {x}, [kept, hot](auto& c) {
    c.add(0, bw::times(bw::broadcast_to(bw::reshape(c.take_gy(), kept), hot.shape()), hot));
  });
}

// Y = broadcast(X);  dX = G summed back to X's shape (c.add does it)
Tensor broadcast_to(const Tensor& x, const Shape& shape) {
  const Shape out = detail::broadcast_shape("broadcast_to", x.value().shape(), shape);
  if (!detail::shapes_equal(out, shape))
    throw shape_error("broadcast_to: shape " + shape_str(x.value().shape()) +
                      " cannot be broadcast to " + shape_str(shape));
  return record("broadcast_to", Array(xt::broadcast(x.value(), shape)), {x},
                [](auto& c) { c.add(0, c.take_gy()); });
}

// Y = X summed to `shape`;  dX = G broadcast back to X's shape
Tensor sum_to(const Tensor& x, const Shape& shape) {
  return record("sum_to", sum_to(x.value(), shape), {x},
                [](auto& c) { c.add(0, bw::broadcast_to(c.take_gy(), c.x(0).shape())); });
}

}  // namespace xg

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
