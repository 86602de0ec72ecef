// The built-in activations (value and derivative side by side), the Lambda
// module and the name registry.
#include "xgrad/nn/activation.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <xsimd/xsimd.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xoperation.hpp>

#include "named_registry.hpp"
#include "ops/backward.hpp"
#include "xgrad/error.hpp"
#include "xgrad/nn/softmax.hpp"

namespace xg::activations {

// σ(z) = 1/(1+e^{−z}) for z ≥ 0 and e^{z}/(1+e^{z}) for z < 0: both written
// with e = e^{−|z|} ∈ (0, 1], so nothing overflows and small values keep
// their relative precision (σ(−700) is ~1e-304, not 0). One loop instead of
// xtensor expressions (two temporaries, two divisions per value): the hidden
// layer's sigmoid runs every step. It gives the expressions' bits: xsimd's exp
// over whole batches from the first value (Arrays are 64-byte aligned, so
// xtensor starts its batches there too), std::exp for the tail, and each
// division is correctly rounded however it is grouped.
Array Sigmoid::f(const Array& z) {
  Array a = Array::from_shape(z.shape());
  f_into(z, a);
  return a;
}
void Sigmoid::f_into(const Array& z, Array& a) {
  using Batch = xsimd::batch<Scalar>;
  constexpr std::size_t lanes = Batch::size;
  if (!detail::shapes_equal(a.shape(), z.shape()))
    throw shape_error(std::string("sigmoid: output of shape ") + shape_str(a.shape()) +
                      " for an input of shape " + shape_str(z.shape()));
  const Scalar* zp = z.data();
  Scalar* ap = a.data();
  const std::size_t n = z.size();
  std::size_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    const Batch v = Batch::load_unaligned(zp + i);
    const Batch e = xsimd::exp(-xsimd::abs(v));
    const Batch one(Scalar(1));
    (xsimd::select(v >= Batch(Scalar(0)), one, e) / (one + e)).store_unaligned(ap + i);
  }
  for (; i < n; ++i) {
    const Scalar e = std::exp(-std::abs(zp[i]));
    ap[i] = (zp[i] >= Scalar(0) ? Scalar(1) : e) / (Scalar(1) + e);
  }
}
// σ' = a(1 − a)   (σ'' = σ'(1 − 2a) follows by differentiating this)
template <class T>
T Sigmoid::df(const T&, const T& a) {
  return a * (Scalar(1) - a);
}
// g·(a(1 − a)), grouped as g * df(z, a) is: the same bits. Why: the hidden
// layer's backward ran every step through a fresh Array for df, xtensor's
// assignment into it and a second pass (docs/performance.md).
void Sigmoid::multiply_df(const Array&, const Array& a, Array& g) {
  if (!detail::shapes_equal(a.shape(), g.shape()))
    throw shape_error(std::string("sigmoid backward: gradient of shape ") + shape_str(g.shape()) +
                      " for an output of shape " + shape_str(a.shape()));
  const Scalar* __restrict ap = a.data();
  Scalar* __restrict gp = g.data();
  for (std::size_t i = 0, n = g.size(); i < n; ++i) gp[i] = gp[i] * (ap[i] * (Scalar(1) - ap[i]));
}

Array Tanh::f(const Array& z) { return xt::tanh(z); }
// tanh' = 1 − a²
template <class T>
T Tanh::df(const T&, const T& a) {
  return Scalar(1) - a * a;
}

Array ReLU::f(const Array& z) { return xt::maximum(z, Scalar(0)); }
// ReLU' = [z > 0]: 0 at the kink, the house convention. A step is piecewise
// constant, so it enters the graph as a constant: ReLU'' = 0 away from 0.
template <class T>
T ReLU::df(const T& z, const T&) {
  return T(Array(xt::where(bw::value(z) > Scalar(0), Scalar(1), Scalar(0))));
}

// ln(1+e^z) = max(z,0) + ln(1+e^{−|z|}): the exponent is never positive.
Array Softplus::f(const Array& z) {
  return xt::maximum(z, Scalar(0)) + xt::log1p(xt::exp(-xt::abs(z)));
}
// softplus' = σ(z)
template <class T>
T Softplus::df(const T& z, const T&) {
  return bw::sigmoid(z);
}

Array Identity::f(const Array& z) { return z; }
// identity' = 1, a constant
template <class T>
T Identity::df(const T& z, const T&) {
  return T(Array(xt::ones_like(bw::value(z))));
}

// Each rule instantiated for both paths.
#define XG_ACTIVATION_DF_(A)                               \
  template Array A::df<Array>(const Array&, const Array&); \
  template Tensor A::df<Tensor>(const Tensor&, const Tensor&);
XG_ACTIVATION_DF_(Sigmoid)
XG_ACTIVATION_DF_(Tanh)
XG_ACTIVATION_DF_(ReLU)
XG_ACTIVATION_DF_(Softplus)
XG_ACTIVATION_DF_(Identity)
#undef XG_ACTIVATION_DF_

}  // namespace xg::activations

namespace xg::bw {
Array sigmoid(const Array& z) { return activations::Sigmoid::f(z); }
Tensor sigmoid(const Tensor& z) { return xg::sigmoid(z); }
}  // namespace xg::bw

namespace xg::detail {
void multiply_into(const Array& g, Array& d) {
  const Scalar* __restrict gp = g.data();
  Scalar* __restrict dp = d.data();
  for (std::size_t i = 0, n = d.size(); i < n; ++i) dp[i] = gp[i] * dp[i];
}

void activation_without_second_order(const char* name) {
  throw graph_error(std::string("activation '") + name +
                    "' cannot be differentiated twice: its df takes Arrays only. Write it as "
                    "`template <class T> static T df(const T& z, const T& a)` with operations "
                    "that exist for Arrays and Tensors (docs/extending.md)");
}
}  // namespace xg::detail

namespace xg {

Tensor sigmoid(const Tensor& z) { return activate<activations::Sigmoid>(z); }
Tensor tanh(const Tensor& z) { return activate<activations::Tanh>(z); }
Tensor relu(const Tensor& z) { return activate<activations::ReLU>(z); }
Tensor softplus(const Tensor& z) { return activate<activations::Softplus>(z); }

}  // namespace xg

namespace xg::nn {

Lambda::Lambda(std::string name, Fn fn) : name_(std::move(name)), fn_(std::move(fn)) {
  if (!fn_) throw value_error("Lambda '" + name_ + "': the function is empty");
}

namespace {

template <class A>
std::pair<std::string, ActivationFactory> builtin() {
  return {A::name, [] { return std::make_shared<Activation<A>>(); }};
}

// The built-ins are added the first time anybody calls registry(), not by
// static objects: a static library's object file that only holds
// registration objects is dropped by the linker, and static initialisation
// order across files is unspecified. A user's XG_REGISTER_ACTIVATION (a
// static object in their executable) calls in here too, and whichever comes
// first builds the registry.
using Registry = detail::NamedRegistry<ActivationFactory>;

Registry& registry() {
  static Registry r("name", "activation",
                    {builtin<activations::Sigmoid>(),
                     builtin<activations::Tanh>(),
                     builtin<activations::ReLU>(),
                     builtin<activations::Softplus>(),
                     builtin<activations::Identity>(),
                     {"softmax", [] { return std::make_shared<Softmax>(); }},
                     {"log_softmax", [] { return std::make_shared<LogSoftmax>(); }}});
  return r;
}

}  // namespace

void register_activation(const std::string& name, ActivationFactory factory) {
  if (name.empty()) throw value_error("register_activation: the name must not be empty");
  registry().add("register_activation", name, std::move(factory));
}

void register_activation_fn(const std::string& name, Lambda::Fn fn) {
  if (!fn) throw value_error("register_activation_fn: the function for '" + name + "' is empty");
  register_activation(name, [name, fn] { return std::make_shared<Lambda>(name, fn); });
}

std::shared_ptr<Module> make_activation(const std::string& name) {
  return registry().find("make_activation", name)();
}

std::vector<std::string> activation_names() { return registry().names(); }

bool has_activation(const std::string& name) { return registry().has(name); }

}  // namespace xg::nn
