#pragma once
// The vocabulary of backward rules. An op's rule is ONE generic lambda
// `[](auto& c) {...}` (see BackwardFn in tensor.hpp); what it calls must
// exist for both instantiations. xtensor functions and xg ops cover the math
// by argument-dependent lookup (exp(c.x(0)) is xt::exp on an Array, xg::exp on
// a Tensor); the helpers here cover the rest, each as an Array overload (the
// fast path: in place where it can be) and a Tensor overload (recorded ops).
#include <limits>
#include <xtensor/xbroadcast.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>
#include <xtensor/xreducer.hpp>

#include "xgrad/ops.hpp"
#include "xgrad/tensor.hpp"

namespace xg::kernels {
// Array kernels of the shape ops, shared by their forward and the rules.
Array narrow(const Array& x, std::size_t axis, std::size_t start, std::size_t length);
Array embed(const Array& g, std::size_t axis, std::size_t start, std::size_t full);
Array scatter_rows(const Array& g, const std::vector<std::size_t>& indices, std::size_t rows);
Array gather_rows(const Array& x, const std::vector<std::size_t>& indices);
}  // namespace xg::kernels

namespace xg::bw {

/// Whether a rule is running on the create_graph path.
template <class C>
constexpr bool is_graph = std::is_same<std::decay_t<C>, GraphContext>::value;

inline const Array& value(const Array& a) { return a; }
inline const Array& value(const Tensor& t) { return t.value(); }

// The in-place helpers return the same temporary (an rvalue reference, valid
// to the end of the rule's full expression): no move, c.add takes it over.

/// −g (in place on an array the rule owns).
inline Array&& negate(Array&& g) {
  g *= Scalar(-1);
  return std::move(g);
}
inline Tensor negate(const Tensor& g) { return -g; }

/// s·g (in place on an array the rule owns).
inline Array&& scale(Array&& g, Scalar s) {
  g *= s;
  return std::move(g);
}
inline Tensor scale(const Tensor& g, Scalar s) { return g * s; }

/// The one-element output gradient of a scalar op times `factor`: a number on
/// the fast path, a rank-0 Tensor (it may depend on parameters) on the other.
inline Scalar seed(const Array& gy, double factor) {
  return static_cast<Scalar>(static_cast<double>(gy.data()[0]) * factor);
}
inline Tensor seed(const Tensor& gy, double factor) { return gy * static_cast<Scalar>(factor); }

/// An expression evaluated into an Array; a Tensor as it is.
template <class E, class = std::enable_if_t<xt::is_xexpression<std::decay_t<E>>::value>>
Array eval(E&& e) {
  return Array(std::forward<E>(e));
}
inline Tensor eval(const Tensor& t) { return t; }

/// max(x, f): the floor of a clamped logarithm (gradient 0 below it).
template <class E, class = std::enable_if_t<xt::is_xexpression<std::decay_t<E>>::value>>
auto floor_at(E&& e, Scalar f) {
  return xt::maximum(std::forward<E>(e), std::move(f));  // f held by value, not by reference
}
inline Tensor floor_at(const Tensor& t, Scalar f) {
  return xg::clamp(t, f, std::numeric_limits<Scalar>::infinity());
}

/// g where the constant mask holds, 0 elsewhere. A mask is piecewise constant:
/// its derivative is 0 wherever it is defined.
template <class M>
auto select(const M& mask, const Array& g) {
  return xt::where(mask, g, Scalar(0));
}
template <class M>
Tensor select(const M& mask, const Tensor& g) {
  return xg::mask(g, Array(xt::cast<Scalar>(mask)));
}

/// g ⊙ m for a constant array m.
inline auto times(const Array& g, const Array& m) { return g * m; }
inline Tensor times(const Tensor& g, const Array& m) { return xg::mask(g, m); }

/// sign(x) as a constant (derivative 0 away from 0).
inline auto sign(const Array& x) { return xt::sign(x); }
inline Tensor sign(const Tensor& x) { return Tensor(Array(xt::sign(x.value()))); }

/// A constant array of ones of x's shape.
inline Array ones_like(const Array& x) { return xt::ones_like(x); }
inline Tensor ones_like(const Tensor& x) { return Tensor(Array(xt::ones_like(x.value()))); }

template <class S>
Array broadcast_to(const Array& g, const S& shape) {
  return xt::broadcast(g, shape);
}
template <class S>
Tensor broadcast_to(const Tensor& g, const S& shape) {
  return xg::broadcast_to(g, Shape(shape.begin(), shape.end()));
}

template <class S>
Array&& reshape(Array&& g, const S& shape) {
  g.reshape(shape);
  return std::move(g);
}
template <class S>
Array reshape(const Array& g, const S& shape) {
  Array r = g;
  r.reshape(shape);
  return r;
}
template <class S>
Tensor reshape(const Tensor& g, const S& shape) {
  return xg::reshape(g, Shape(shape.begin(), shape.end()));
}

inline Array transpose(const Array& g) { return xt::transpose(g); }
inline Tensor transpose(const Tensor& g) { return xg::transpose(g); }

/// Σ along `axis`, kept as a size-1 axis (so it broadcasts back).
inline Array row_sum(const Array& g, std::size_t axis) {
  return xt::sum(g, {axis}, xt::keep_dims | xt::evaluation_strategy::immediate);
}
inline Tensor row_sum(const Tensor& g, std::size_t axis) {
  return xg::sum(g, static_cast<int>(axis), true);
}

inline Array narrow(const Array& g, std::size_t axis, std::size_t start, std::size_t length) {
  return kernels::narrow(g, axis, start, length);
}
inline Tensor narrow(const Tensor& g, std::size_t axis, std::size_t start, std::size_t length) {
  return xg::narrow(g, static_cast<int>(axis), start, length);
}
inline Array embed(const Array& g, std::size_t axis, std::size_t start, std::size_t full) {
  return kernels::embed(g, axis, start, full);
}
inline Tensor embed(const Tensor& g, std::size_t axis, std::size_t start, std::size_t full) {
  return xg::embed(g, static_cast<int>(axis), start, full);
}
inline Array scatter_rows(const Array& g, const std::vector<std::size_t>& idx, std::size_t rows) {
  return kernels::scatter_rows(g, idx, rows);
}
inline Tensor scatter_rows(const Tensor& g, const std::vector<std::size_t>& idx, std::size_t rows) {
  return xg::scatter_rows(g, idx, rows);
}
inline Array gather_rows(const Array& g, const std::vector<std::size_t>& idx) {
  return kernels::gather_rows(g, idx);
}
inline Tensor gather_rows(const Tensor& g, const std::vector<std::size_t>& idx) {
  return xg::gather_rows(g, idx);
}

// The shared numerics of the activations and costs (src/nn/activation.cpp,
// src/nn/softmax.cpp): stable σ, softmax and log-softmax over the last axis.
Array sigmoid(const Array& z);
Tensor sigmoid(const Tensor& z);
Array softmax(const Array& z);
Tensor softmax(const Tensor& z);
Array log_softmax(const Array& z);
Tensor log_softmax(const Tensor& z);

/// Adds op(A)·op(B) to input i's gradient: gemm straight into the gradient
/// buffer (beta = 1) on the fast path, a recorded matmul on the other.
void add_matmul(BackwardContext& c, std::size_t i, const Array& a, const Array& b, bool ta,
                bool tb);
void add_matmul(GraphContext& c, std::size_t i, const Tensor& a, const Tensor& b, bool ta, bool tb);

/// Adds Σ_rows G to input i's gradient (a bias of shape (n) or (1, n)).
void add_row_sum(BackwardContext& c, std::size_t i, const Array& g);
void add_row_sum(GraphContext& c, std::size_t i, const Tensor& g);

/// The same two, for the rule's last read of input i's value: when an
/// optimizer armed input i for a step inside backward (optim::SGD::set_fused)
/// they apply the step to its value instead (BackwardContext::step_target).
void step_or_add_matmul(BackwardContext& c, std::size_t i, const Array& a, const Array& b, bool ta,
                        bool tb);
void step_or_add_matmul(GraphContext& c, std::size_t i, const Tensor& a, const Tensor& b, bool ta,
                        bool tb);
void step_or_add_row_sum(BackwardContext& c, std::size_t i, const Array& g);
void step_or_add_row_sum(GraphContext& c, std::size_t i, const Tensor& g);
/// step_or_add_matmul for Gᵀ·X (`linear`'s weight), through xgrad's own
/// kernel where it fits: the step it applies has step()'s bits
/// (ops/weight_gradient.hpp), so it may take exact-only steps too.
void step_or_add_weight_gradient(BackwardContext& c, std::size_t i, const Array& G, const Array& X);
void step_or_add_weight_gradient(GraphContext& c, std::size_t i, const Tensor& G, const Tensor& X);

}  // namespace xg::bw
