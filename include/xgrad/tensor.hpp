#pragma once
// The autograd engine: a Node holds a value, an optional gradient and the
// edges to the nodes it was computed from; a Tensor is a shared handle to one.
// How it works, and how to add an op: docs/autograd.md.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "xgrad/error.hpp"
#include "xgrad/random.hpp"
#include "xgrad/scalar.hpp"

namespace xg {

class Tensor;
struct Node;
class BackwardContext;
class GraphContext;

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

/// The stored backward rule of an op. An op writes its derivative ONCE, as a
/// generic lambda `[](auto& c) { ... }`; the rule is instantiated twice: over
/// a BackwardContext, where c.gy(), c.x(i), c.y() are Arrays (the first-order
/// fast path), and over a GraphContext, where they are Tensors and every
/// operation records a graph (create_graph: gradients of gradients). Both
/// instantiations live behind one type-erased handle; closures up to 32 bytes
/// are stored inline (no allocation). A rule that only accepts a
/// BackwardContext& still works for first order; differentiating through it
/// twice throws graph_error naming the op.
class BackwardFn {
 public:
  BackwardFn() = default;
  BackwardFn(const BackwardFn&) = delete;
  BackwardFn& operator=(const BackwardFn&) = delete;
  ~BackwardFn() { reset(); }

  template <class F>
  void emplace(F&& f);
  void reset() {
    if (ops_ != nullptr) ops_->destroy(buf_);
    ops_ = nullptr;
  }
  BackwardFn& operator=(std::nullptr_t) {
    reset();
    return *this;
  }
  explicit operator bool() const { return ops_ != nullptr; }
  void operator()(BackwardContext& c) { ops_->run_array(buf_, c); }
  void operator()(GraphContext& c) { ops_->run_graph(buf_, c); }

 private:
  struct Ops {
    void (*run_array)(void*, BackwardContext&);
    void (*run_graph)(void*, GraphContext&);
    void (*destroy)(void*);
  };
  template <class F, bool Inline>
  struct Table;
  static constexpr std::size_t kInline = 32;
  alignas(std::max_align_t) unsigned char buf_[kInline];
  const Ops* ops_ = nullptr;
};

/// A node's edges to its inputs (storage from xg::memory, like the node).
using NodeList = std::vector<std::shared_ptr<Node>, PoolAllocator<std::shared_ptr<Node>>>;

struct Node {
  Array value;
  Array grad;
  bool has_grad = false;
  bool requires_grad = false;
  bool retain_grad = false;  // keep the gradient of an interior node
  bool released = false;     // its graph was freed by backward()
  // Made by the engine's node cache (src/node_cache.hpp): taken back after
  // its graph is freed, it keeps its value and gradient buffers for the next.
  bool recycled = false;
  // The gradient with its own graph, after backward(..., create_graph = true);
  // empty otherwise. (It points back into the graph: zero_grad() drops it.)
  std::shared_ptr<Node> grad_graph;
  const char* op = "leaf";  // op that produced it, for messages
  NodeList inputs;
  BackwardFn backward;
  std::uint64_t mark = 0;  // visit stamp of the topological sort
  // An update armed by an optimizer that steps inside backward
  // (optim::SGD::set_fused): the rule that produces this leaf's whole
  // gradient may write value ← value + alpha·gradient in place instead of
  // storing the gradient, saving a buffer and a pass over it. (Next to
  // `mark`: the topological sort reads both, from one cache line.)
  struct StepInBackward {
    bool armed = false;
    bool applied = false;    // a rule did it since the optimizer armed it
    bool exact = false;      // only a rule that rounds as the optimizer's step() may
    std::uint32_t uses = 0;  // edges into this leaf in the current backward
    Scalar alpha = 0;
  } step;

  Node() = default;
  explicit Node(Array&& v) : value(std::move(v)) {}
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
  // (Two overloads, not one by value: each move of an Array swaps its three
  // small shape vectors element by element, a visible cost per op.)
  explicit Tensor(Array&& value, bool requires_grad = false);
  explicit Tensor(const Array& value, bool requires_grad = false);
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
  /// unless keep_graph is true. With create_graph the gradients are computed
  /// by recorded ops, so grad_tensor() can be differentiated again; the graph
  /// is then kept (the gradients' graph refers to it).
  void backward(bool keep_graph = false, bool create_graph = false) const;
  /// Same, from a non-scalar tensor with an explicit seed gradient of its shape.
  void backward(const Array& seed, bool keep_graph = false, bool create_graph = false) const;
  /// The gradient as a Tensor: after backward(..., create_graph = true) it
  /// carries its own graph; otherwise a constant copy of grad().
  Tensor grad_tensor() const;

  /// The same value, cut from the graph (no gradient flows through it).
  Tensor detach() const;

  Node* node() const { return node_.get(); }
  const std::shared_ptr<Node>& node_ptr() const { return node_; }

 private:
  Node& checked() const;
  std::shared_ptr<Node> node_;
};

/// An op's input as record() takes it: `record("op", value, {x, w, b}, rule)`
/// lists the inputs by reference. A list of Tensors would copy each one's
/// shared pointer, and every copy and its release is an atomic count on the
/// node: per op of a small training step those were a visible share of the
/// engine's time (docs/performance.md). The Tensors must outlive the call
/// (temporaries in the list do).
class InputRef {
 public:
  InputRef(const Tensor& t) : t_(&t) {}  // NOLINT: implicit on purpose
  const Tensor& tensor() const { return *t_; }

 private:
  const Tensor* t_;
};

/// Gives each op's backward closure what it needs: the output's gradient and
/// value, the inputs' values, and a way to add to an input's gradient that
/// sums over broadcast axes.
class BackwardContext {
 public:
  BackwardContext(Node& node, bool steps_allowed) : node_(node), steps_allowed_(steps_allowed) {}
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
  /// For a rule's last read of input i's value: the leaf's value to update in
  /// place (value += alpha·gradient, `alpha` set) when an optimizer armed it
  /// and this rule produces its whole gradient (one edge into it, no gradient
  /// yet, the graph not kept); nullptr otherwise, and the rule adds its
  /// gradient as usual. `exact`: the rule rounds the update as the
  /// optimizer's step() would (SGD: value − η·gradient, one rounding, the
  /// gradient summed as the rule would store it); a leaf armed for exact
  /// steps only is refused to a rule that does not.
  Array* step_target(std::size_t i, Scalar& alpha, bool exact);
  /// Whether input i was armed for exact steps only (train::fit's), rather
  /// than for steps that may round as the rule's kernel does (fused SGD).
  bool exact_steps_only(std::size_t i) const;

 private:
  Node& node_;
  bool steps_allowed_;
};

/// The same interface with Tensors, for the create_graph path: gy(), x(i) and
/// y() are Tensors, and the rule's arithmetic records ops (so the gradient it
/// produces can be differentiated again). Built by the engine only.
class GraphContext {
 public:
  using GradMap = std::unordered_map<const Node*, Tensor>;
  GraphContext(Node& node, const std::shared_ptr<Node>& self, GradMap& grads)
      : node_(node), self_(self), grads_(grads) {}
  Tensor gy() const;
  Tensor take_gy() const { return gy(); }
  Tensor y() const;
  Tensor x(std::size_t i) const;
  bool needs(std::size_t i) const;
  /// Adds g to input i's gradient, summing over broadcast axes by a recorded op.
  void add(std::size_t i, const Tensor& g);
  const char* op() const;

 private:
  Node& node_;
  const std::shared_ptr<Node>& self_;
  GradMap& grads_;
};

/// Frees the op nodes this thread keeps from finished graphs for reuse (at
/// most 32, each buffer at most 16,384 elements; docs/autograd.md, "Nodes
/// kept between graphs"). They are freed anyway when the thread ends.
void release_kept_nodes() noexcept;

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
bool any_requires_grad(std::initializer_list<InputRef> inputs);
std::shared_ptr<Node> make_node(const char* op, Array&& value,
                                std::initializer_list<InputRef> inputs);
std::shared_ptr<Node> make_node(const char* op, Array&& value, const std::vector<Tensor>& inputs);
/// An op's node whose value has the shape dims[0..rank) and unspecified
/// contents, for record_into.
std::shared_ptr<Node> make_node_shaped(const char* op, const std::size_t* dims, std::size_t rank,
                                       std::initializer_list<InputRef> inputs);
void check_finite(const char* op, const Array& value, const char* what);
/// Thrown when a rule written for BackwardContext& only is differentiated twice.
[[noreturn]] void no_second_order(GraphContext& c);
}  // namespace detail

template <class F, bool Inline>
struct BackwardFn::Table {
  static F* get(void* p) {
    if constexpr (Inline)
      return static_cast<F*>(p);
    else
      return *static_cast<F**>(p);
  }
  static void run_array(void* p, BackwardContext& c) { (*get(p))(c); }
  static void run_graph(void* p, GraphContext& c) {
    if constexpr (std::is_invocable<F&, GraphContext&>::value)
      (*get(p))(c);
    else
      detail::no_second_order(c);
  }
  static void destroy(void* p) {
    if constexpr (Inline)
      get(p)->~F();
    else
      delete get(p);
  }
  static constexpr Ops ops{run_array, run_graph, destroy};
};

template <class F>
void BackwardFn::emplace(F&& f) {
  using Fn = std::decay_t<F>;
  reset();
  constexpr bool fits = sizeof(Fn) <= kInline && alignof(Fn) <= alignof(std::max_align_t) &&
                        std::is_nothrow_move_constructible<Fn>::value;
  if constexpr (fits) {
    ::new (static_cast<void*>(buf_)) Fn(std::forward<F>(f));
  } else {
    Fn* heap = new Fn(std::forward<F>(f));
    ::new (static_cast<void*>(buf_)) Fn*(heap);
  }
  ops_ = &Table<Fn, fits>::ops;
}

/// Records an op's output: the value, its inputs and its backward rule.
/// When no input requires a gradient, or grad mode is off, only the value is
/// kept and the rule is never stored.
template <class F>
Tensor record(const char* op, Array&& value, std::initializer_list<InputRef> inputs, F&& backward) {
  if (anomaly_enabled()) detail::check_finite(op, value, "value");
  if (!grad_enabled() || !detail::any_requires_grad(inputs)) return Tensor(std::move(value));
  auto node = detail::make_node(op, std::move(value), inputs);
  node->backward.emplace(std::forward<F>(backward));
  return Tensor(std::move(node));
}

/// Records an op that writes its value in place: `compute(out)` must fill
/// every element of `out`, an Array of `shape` with unspecified contents (it
/// may throw; nothing is recorded then). When the op is recorded, `out` is
/// its node's own value: the engine keeps a few nodes of finished graphs, and
/// a node whose value has this shape is taken back with its buffer, so an op
/// of a training step reuses the last step's memory instead of allocating.
template <class S, class Compute, class F>
Tensor record_into(const char* op, const S& shape, std::initializer_list<InputRef> inputs,
                   Compute&& compute, F&& backward) {
  if (!grad_enabled() || !detail::any_requires_grad(inputs)) {
    Array value = Array::from_shape(shape);
    compute(value);
    if (anomaly_enabled()) detail::check_finite(op, value, "value");
    return Tensor(std::move(value));
  }
  auto node = detail::make_node_shaped(op, std::data(shape), std::size(shape), inputs);
  node->value.resize(shape);  // nothing to do when a kept node had this shape
  compute(node->value);
  if (anomaly_enabled()) detail::check_finite(op, node->value, "value");
  node->backward.emplace(std::forward<F>(backward));
  return Tensor(std::move(node));
}

/// The same with the shape as a list: record_into("op", {m, n}, ...).
template <class Compute, class F>
Tensor record_into(const char* op, std::initializer_list<std::size_t> shape,
                   std::initializer_list<InputRef> inputs, Compute&& compute, F&& backward) {
  return record_into<std::initializer_list<std::size_t>>(
      op, shape, inputs, std::forward<Compute>(compute), std::forward<F>(backward));
}

/// The same from a value the caller keeps: records a copy.
template <class F>
Tensor record(const char* op, const Array& value, std::initializer_list<InputRef> inputs,
              F&& backward) {
  return record(op, Array(value), inputs, std::forward<F>(backward));
}

/// Same for ops with a run-time number of inputs (concat).
template <class F>
Tensor record(const char* op, Array&& value, const std::vector<Tensor>& inputs, F&& backward) {
  if (anomaly_enabled()) detail::check_finite(op, value, "value");
  bool any = false;
  for (const auto& t : inputs) any = any || t.requires_grad();
  if (!grad_enabled() || !any) return Tensor(std::move(value));
  auto node = detail::make_node(op, std::move(value), inputs);
  node->backward.emplace(std::forward<F>(backward));
  return Tensor(std::move(node));
}

/// The same from a value the caller keeps: records a copy.
template <class F>
Tensor record(const char* op, const Array& value, const std::vector<Tensor>& inputs, F&& backward) {
  return record(op, Array(value), inputs, std::forward<F>(backward));
}

/// Sums g over the axes that broadcasting added or stretched, giving `shape`.
Array sum_to(const Array& g, const Shape& shape);

/// Options of xg::grad.
struct GradOptions {
  /// The seed dC/d(output) for each output; empty means 1 for one-element outputs.
  std::vector<Tensor> seeds;
  /// Record the gradient computation, so the results can be differentiated again.
  bool create_graph = false;
  /// Keep the outputs' graph for another backward (always kept with create_graph).
  bool keep_graph = false;
  /// Return an undefined Tensor for an input the outputs do not depend on
  /// (otherwise that throws graph_error).
  bool allow_unused = false;
};

/// The gradients of Σ_k ⟨seed_k, outputs_k⟩ with respect to each input, as
/// Tensors. Nothing is accumulated into the inputs' grad(). With
/// options.create_graph the results carry their own graph (any order).
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const GradOptions& options = {});
/// One output, one input.
Tensor grad(const Tensor& output, const Tensor& input, const GradOptions& options = {});

}  // namespace xg
