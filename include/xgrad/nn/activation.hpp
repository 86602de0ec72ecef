#pragma once
// Activations. One struct holds an activation's value f and derivative df;
// the template activate<A> turns it into a differentiable op, Activation<A>
// into a Module, and the registry gives it a name for the CLI and model files.
//
// Second order: df is written ONCE as a template over T = Array (first-order
// fast path) and T = Tensor (create_graph: df made of differentiable ops, so
// the activation can be differentiated again). An activation whose df takes
// Arrays only still trains; differentiating it twice throws graph_error
// naming it. Adding your own (both ways, with a gradient check): docs/extending.md.
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "xgrad/nn/module.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/tensor.hpp"

namespace xg::activations {

/// σ(z) = 1/(1+e^{−z});  σ'(z) = σ(z)(1−σ(z))
struct Sigmoid {
  static constexpr const char* name = "sigmoid";
  static Array f(const Array& z);  // e^{−|z|} never overflows: finite for any |z|
  /// f(z) written into a (z's shape): activate's forward then reuses a kept
  /// node's buffer instead of allocating one.
  static void f_into(const Array& z, Array& a);
  template <class T>
  static T df(const T& z, const T& a);
  /// g ← g ⊙ a(1−a) in one pass: df's first-order use without its temporary
  /// (the same bits as g * df(z, a)).
  static void multiply_df(const Array& z, const Array& a, Array& g);
};

/// tanh(z);  tanh'(z) = 1 − tanh²(z)
struct Tanh {
  static constexpr const char* name = "tanh";
  static Array f(const Array& z);
  template <class T>
  static T df(const T& z, const T& a);
};

/// max(z, 0);  ReLU'(z) = 1 for z > 0, else 0 (including z = 0)
struct ReLU {
  static constexpr const char* name = "relu";
  static Array f(const Array& z);
  template <class T>
  static T df(const T& z, const T& a);
};

/// softplus(z) = ln(1+e^z) = max(z,0) + log1p(e^{−|z|});  softplus'(z) = σ(z)
struct Softplus {
  static constexpr const char* name = "softplus";
  static Array f(const Array& z);
  template <class T>
  static T df(const T& z, const T& a);
};

/// z;  1
struct Identity {
  static constexpr const char* name = "identity";
  static Array f(const Array& z);
  template <class T>
  static T df(const T& z, const T& a);
};

}  // namespace xg::activations

namespace xg {

namespace detail {
template <class A, class = void>
struct has_tensor_df : std::false_type {};
template <class A>
struct has_tensor_df<
    A, std::void_t<decltype(A::df(std::declval<const Tensor&>(), std::declval<const Tensor&>()))>>
    : std::true_type {};
/// T, as a type that depends on U (delays name lookup into T until U is known).
template <class T, class U>
struct dependent_type {
  using type = T;
};
/// Whether A has the optional `static void f_into(const Array& z, Array& a)`.
template <class A, class = void>
struct has_f_into : std::false_type {};
template <class A>
struct has_f_into<
    A, std::void_t<decltype(A::f_into(std::declval<const Array&>(), std::declval<Array&>()))>>
    : std::true_type {};
/// Whether A has the optional `static void multiply_df(const Array& z,
/// const Array& a, Array& g)`: g ← g ⊙ f'(z) in place.
template <class A, class = void>
struct has_multiply_df : std::false_type {};
template <class A>
struct has_multiply_df<
    A, std::void_t<decltype(A::multiply_df(std::declval<const Array&>(),
                                           std::declval<const Array&>(), std::declval<Array&>()))>>
    : std::true_type {};
[[noreturn]] void activation_without_second_order(const char* name);
/// d ← g ⊙ d, elementwise; the shapes must be equal.
void multiply_into(const Array& g, Array& d);
}  // namespace detail

/// The op for any activation struct A: y = A::f(z), dC/dz = dC/dy ⊙ A::df(z, y).
/// Op name = A::name. A needs `static constexpr const char* name`,
/// `static Array f(const Array&)` and `df(z, a)`: best
/// `template <class T> static T df(const T& z, const T& a)` written with
/// operations that exist for Arrays and Tensors (second order then works);
/// `static Array df(const Array&, const Array&)` gives first order only.
/// Optional: `static void multiply_df(const Array& z, const Array& a, Array& g)`
/// doing g ← g ⊙ f'(z) in place; first-order backward then uses it instead of
/// df, with the gradient's own buffer and no temporary. Optional:
/// `static void f_into(const Array& z, Array& a)` writing f(z) into a, an
/// Array of z's shape: the forward then needs no new buffer (record_into).
template <class A>
Tensor activate(const Tensor& z) {
  auto rule = [](auto& c) -> void {
    if (!c.needs(0)) return;
    using Context = std::decay_t<decltype(c)>;
    if constexpr (std::is_same<Context, GraphContext>::value && !detail::has_tensor_df<A>::value) {
      detail::activation_without_second_order(A::name);
    } else if constexpr (std::is_same<Context, BackwardContext>::value &&
                         detail::has_multiply_df<A>::value) {
      Array g = c.take_gy();  // dC/dy's buffer becomes dC/dz
      // Named through a type that depends on the context, so compilers that
      // look names up early (clang) do not look for it in activations without.
      using Act = typename detail::dependent_type<A, Context>::type;
      Act::multiply_df(c.x(0), c.y(), g);
      c.add(0, std::move(g));
    } else if constexpr (std::is_same<Context, BackwardContext>::value &&
                         std::is_same<decltype(A::df(c.x(0), c.y())), Array>::value) {
      // First order: the derivative's own Array takes the product and becomes
      // the gradient (no second temporary; the same bits as gy * f').
      Array d = A::df(c.x(0), c.y());
      if (!detail::shapes_equal(d.shape(), c.gy().shape())) return c.add(0, c.gy() * d);
      detail::multiply_into(c.gy(), d);
      c.add(0, std::move(d));
    } else {
      c.add(0, c.gy() * A::df(c.x(0), c.y()));
    }
  };
  if constexpr (detail::has_f_into<A>::value) {
    const Array& zv = z.value();
    return record_into(
        A::name, zv.shape(), {z}, [&zv](Array& a) { A::f_into(zv, a); }, rule);
  } else {
    return record(A::name, A::f(z.value()), {z}, rule);
  }
}

Tensor sigmoid(const Tensor& z);
Tensor tanh(const Tensor& z);
Tensor relu(const Tensor& z);
Tensor softplus(const Tensor& z);

}  // namespace xg

namespace xg::nn {

/// The Module for an activation struct; type_name() is A::name.
template <class A>
class Activation : public Module {
 public:
  Tensor forward(const Tensor& x) override { return activate<A>(x); }
  std::string type_name() const override { return A::name; }
};

using Sigmoid = Activation<activations::Sigmoid>;
using Tanh = Activation<activations::Tanh>;
using ReLU = Activation<activations::ReLU>;
using Softplus = Activation<activations::Softplus>;
using Identity = Activation<activations::Identity>;

/// A Module wrapping a function of Tensors, for activations composed from
/// differentiable primitives (swish = x·σ(x)): no derivative to write.
class Lambda : public Module {
 public:
  using Fn = std::function<Tensor(const Tensor&)>;
  /// `name` is what type_name() returns (the registry name, if registered).
  Lambda(std::string name, Fn fn);
  Tensor forward(const Tensor& x) override { return fn_(x); }
  std::string type_name() const override { return name_; }

 private:
  std::string name_;
  Fn fn_;
};

// ---------------------------------------------------------------- registry
// Name -> factory, so "--activation relu" and a model file's "relu" build the
// module. Built-ins: identity, log_softmax, relu, sigmoid, softmax, softplus, tanh.

using ActivationFactory = std::function<std::shared_ptr<Module>()>;

/// Adds a name; throws value_error if the name is empty or already taken.
void register_activation(const std::string& name, ActivationFactory factory);
/// Registers a function of Tensors under `name`: make_activation(name) gives a Lambda.
void register_activation_fn(const std::string& name, Lambda::Fn fn);
/// Registers an activation struct under A::name. Returns true (for static initialisers).
template <class A>
bool register_activation_type() {
  register_activation(A::name, [] { return std::make_shared<Activation<A>>(); });
  return true;
}

/// A new module for a registered name; value_error listing the known names otherwise.
std::shared_ptr<Module> make_activation(const std::string& name);
/// The registered names, sorted.
std::vector<std::string> activation_names();
bool has_activation(const std::string& name);

}  // namespace xg::nn

#define XG_ACTIVATION_CAT2_(a, b) a##b
#define XG_ACTIVATION_CAT_(a, b) XG_ACTIVATION_CAT2_(a, b)

/// Registers an activation struct by its A::name at program start:
///   XG_REGISTER_ACTIVATION(MyAct)
/// at namespace scope in a .cpp file of an executable. (In a static library,
/// an object file nothing else refers to is dropped by the linker together with
/// its registration: call xg::nn::register_activation_type<MyAct>() instead.)
#define XG_REGISTER_ACTIVATION(A)                                                    \
  namespace {                                                                        \
  const bool XG_ACTIVATION_CAT_(xg_activation_registered_,                           \
                                __LINE__) = ::xg::nn::register_activation_type<A>(); \
  }

/// Registers a function of Tensors under a name at program start:
///   XG_REGISTER_ACTIVATION_FN("swish", swish)
#define XG_REGISTER_ACTIVATION_FN(name, fn)                                                     \
  namespace {                                                                                   \
  const bool XG_ACTIVATION_CAT_(xg_activation_registered_,                                      \
                                __LINE__) = (::xg::nn::register_activation_fn(name, fn), true); \
  }
