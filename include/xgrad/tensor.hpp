#pragma once
// The autograd engine: a Node holds a value, an optional gradient and the
// edges to the nodes it was computed from; a Tensor is a shared handle to one.
// How it works, and how to add an op: docs/autograd.md.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "xgrad/error.hpp"
#include "xgrad/random.hpp"
#include "xgrad/scalar.hpp"

namespace xg {

class Tensor;
struct Node;
class BackwardContext;

namespace detail {
// A plain loop: std::equal becomes a memcmp call, a visible cost for the
// one-to-three-element shapes compared on every op.
template <class S1, class S2>
bool shapes_equal(const S1& a, const S2& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return false;
  return true;
}
}  // namespace detail

/// The backward closure of an op: reads the output's gradient from the context
/// and adds each input's share. It captures saved arrays, never Tensors, so
/// the graph's only edges are Node::inputs (no cycles, iterative teardown).
using BackwardFn = std::function<void(BackwardContext&)>;

/// A node's edges to its inputs (storage from xg::memory, like the node).
using NodeList = std::vector<std::shared_ptr<Node>, PoolAllocator<std::shared_ptr<Node>>>;

struct Node {
  Array value;
  Array grad;
  bool has_grad = false;
  bool requires_grad = false;
  bool retain_grad = false;  // keep the gradient of an interior node
  bool released = false;     // its graph was freed by backward()
  const char* op = "leaf";   // op that produced it, for messages
  NodeList inputs;
  BackwardFn backward;
  std::uint64_t mark = 0;  // visit stamp of the topological sort

  Node() = default;
  explicit Node(Array v) : value(std::move(v)) {}
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  // Tears down the chain of inputs iteratively: a 100,000-op graph must not
  // recurse 100,000 destructors deep.
  ~Node();

  bool is_leaf() const { return !backward && !released; }
};

class Tensor {
 public:
  /// An undefined tensor (no node); most calls on it throw.
  Tensor() = default;
  explicit Tensor(Array value, bool requires_grad = false);
  /// From nested initializer lists: Tensor{{1, 2}, {3, 4}}.
  Tensor(xt::nested_initializer_list_t<Scalar, 1> values);
  Tensor(xt::nested_initializer_list_t<Scalar, 2> values);
  Tensor(xt::nested_initializer_list_t<Scalar, 3> values);
  explicit Tensor(std::shared_ptr<Node> node) : node_(std::move(node)) {}

  static Tensor scalar(Scalar v, bool requires_grad = false);
  static Tensor zeros(const Shape& shape, bool requires_grad = false);
  static Tensor ones(const Shape& shape, bool requires_grad = false);
  static Tensor full(const Shape& shape, Scalar v, bool requires_grad = false);
  /// N(mean, stddev^2) draws from an explicit seeded engine.
  static Tensor randn(const Shape& shape, Rng& rng, double mean = 0.0, double stddev = 1.0,
                      bool requires_grad = false);
  /// U[lo, hi) draws from an explicit seeded engine.
  static Tensor rand(const Shape& shape, Rng& rng, double lo = 0.0, double hi = 1.0,
                     bool requires_grad = false);

  bool defined() const { return node_ != nullptr; }
  const Array& value() const { return checked().value; }
  /// Writable value, for optimizers and initialisers. Writing into a tensor
  /// that a not-yet-run backward will read changes that backward's result.
  Array& mutable_value() { return checked().value; }
  const Shape shape() const;
  std::size_t dim() const { return value().dimension(); }
  std::size_t size() const { return value().size(); }
  /// The single value of a one-element tensor.
  Scalar item() const;

  bool requires_grad() const { return checked().requires_grad; }
  /// Marks a leaf as a parameter to differentiate with respect to.
  Tensor& requires_grad_(bool on = true);
  bool is_leaf() const { return checked().is_leaf(); }
  bool has_grad() const { return checked().has_grad; }
  /// The accumulated gradient; throws if backward has not reached this tensor.
  const Array& grad() const;
  Array& mutable_grad();
  /// Forgets the accumulated gradient (the next backward assigns instead of adds).
  void zero_grad();
  /// Keep this interior tensor's gradient through backward (leaves always keep theirs).
  Tensor& retain_grad();
  /// Name of the op that produced this tensor ("leaf" for user-made tensors).
  const char* op() const { return checked().op; }

  /// Reverse-mode differentiation from this scalar. Gradients add up over
  /// calls until zero_grad(). The graph behind this tensor is freed afterwards
  /// unless keep_graph is true.
  void backward(bool keep_graph = false) const;
  /// Same, from a non-scalar tensor with an explicit seed gradient of its shape.
  void backward(const Array& seed, bool keep_graph = false) const;

  /// The same value, cut from the graph (no gradient flows through it).
  Tensor detach() const;

  Node* node() const { return node_.get(); }
  const std::shared_ptr<Node>& node_ptr() const { return node_; }

 private:
  Node& checked() const;
  std::shared_ptr<Node> node_;
};

/// Gives each op's backward closure what it needs: the output's gradient and
/// value, the inputs' values, and a way to add to an input's gradient that
/// sums over broadcast axes.
class BackwardContext {
 public:
  explicit BackwardContext(Node& node) : node_(node) {}
  /// dC/dy, the gradient of the op's output.
  const Array& gy() const { return node_.grad; }
  /// dC/dy moved out, for the op's last use of it: saves a copy. (A copy when
  /// the node keeps its gradient for the user, see Tensor::retain_grad.)
  Array take_gy() { return node_.retain_grad ? Array(node_.grad) : std::move(node_.grad); }
  /// The op's output value y.
  const Array& y() const { return node_.value; }
  /// The value of input i.
  const Array& x(std::size_t i) const { return node_.inputs[i]->value; }
  /// Whether input i wants a gradient (skip the work otherwise).
  bool needs(std::size_t i) const { return node_.inputs[i]->requires_grad; }
  /// Adds g to input i's gradient, summing g down to the input's shape first
  /// when the forward broadcast it.
  void add(std::size_t i, Array&& g);
  void add(std::size_t i, const Array& g) { add(i, Array(g)); }
  template <class E, class = std::enable_if_t<xt::is_xexpression<std::decay_t<E>>::value &&
                                              !std::is_same<std::decay_t<E>, Array>::value>>
  void add(std::size_t i, E&& e) {
    Node& in = *node_.inputs[i];
    if (!in.requires_grad) return;
    if (in.has_grad && detail::shapes_equal(in.grad.shape(), e.shape())) {
      in.grad += e;  // the common case: no temporary
    } else {
      add(i, Array(std::forward<E>(e)));
    }
  }
  /// Input i's gradient buffer for ops that accumulate in place (gemm with
  /// beta = 1). `fresh` is true when it was just allocated and holds garbage.
  Array& grad_buffer(std::size_t i, bool& fresh);

 private:
  Node& node_;
};

/// Whether ops record a graph on this thread (see NoGradGuard).
bool grad_enabled();

/// Turns off graph recording on this thread for its lifetime (evaluation):
/// ops then allocate no node edges and no closures.
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

/// Whether anomaly detection is on for this thread.
bool anomaly_enabled();

/// Turns on anomaly detection on this thread for its lifetime: every op checks
/// its value, and backward every gradient, for NaN/Inf and throws a
/// numeric_error naming the first op that produced one.
class AnomalyGuard {
 public:
  explicit AnomalyGuard(bool on = true);
  ~AnomalyGuard();
  AnomalyGuard(const AnomalyGuard&) = delete;
  AnomalyGuard& operator=(const AnomalyGuard&) = delete;

 private:
  bool previous_;
};
using detect_anomaly = AnomalyGuard;

namespace detail {
bool any_requires_grad(std::initializer_list<Tensor> inputs);
Tensor make_node(const char* op, Array&& value, std::initializer_list<Tensor> inputs,
                 BackwardFn&& fn);
Tensor make_node(const char* op, Array&& value, const std::vector<Tensor>& inputs, BackwardFn&& fn);
void check_finite(const char* op, const Array& value, const char* what);
}  // namespace detail

/// Records an op's output: the value, its inputs and its backward closure.
/// When no input requires a gradient, or grad mode is off, only the value is
/// kept and the closure is never turned into a std::function.
template <class F>
Tensor record(const char* op, Array value, std::initializer_list<Tensor> inputs, F&& backward) {
  if (anomaly_enabled()) detail::check_finite(op, value, "value");
  if (!grad_enabled() || !detail::any_requires_grad(inputs)) return Tensor(std::move(value));
  return detail::make_node(op, std::move(value), inputs, BackwardFn(std::forward<F>(backward)));
}

/// Same for ops with a run-time number of inputs (concat).
template <class F>
Tensor record(const char* op, Array value, const std::vector<Tensor>& inputs, F&& backward) {
  if (anomaly_enabled()) detail::check_finite(op, value, "value");
  bool any = false;
  for (const auto& t : inputs) any = any || t.requires_grad();
  if (!grad_enabled() || !any) return Tensor(std::move(value));
  return detail::make_node(op, std::move(value), inputs, BackwardFn(std::forward<F>(backward)));
}

/// Sums g over the axes that broadcasting added or stretched, giving `shape`.
Array sum_to(const Array& g, const Shape& shape);

}  // namespace xg
