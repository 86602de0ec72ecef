// The engine: graph recording, the topological sort, backward (the array
// fast path and the create_graph path) and release.
#include "xgrad/tensor.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <xtensor/xmath.hpp>
#include <xtensor/xreducer.hpp>

#include "node_cache.hpp"
#include "xgrad/limits.hpp"
#include "xgrad/ops.hpp"

namespace xg {

namespace {
thread_local bool t_grad_enabled = true;
thread_local bool t_anomaly_enabled = false;
std::atomic<std::uint64_t> g_visit_stamp{0};

using detail::shapes_equal;
}  // namespace

// ---------------------------------------------------------------- Node

Node::~Node() {
  if (inputs.empty()) return;
  // Unlink the inputs before they die: any input whose last owner is this
  // node hands its own inputs to the work list instead of recursing.
  NodeList pending = std::move(inputs);
  while (!pending.empty()) {
    std::shared_ptr<Node> n = std::move(pending.back());
    pending.pop_back();
    if (n && n.use_count() == 1) {
      for (auto& in : n->inputs) pending.push_back(std::move(in));
      n->inputs.clear();
      n->backward = nullptr;
    }
  }
}

// ---------------------------------------------------------------- Tensor

Tensor::Tensor(Array&& value, bool requires_grad)
    : node_(std::allocate_shared<Node>(PoolAllocator<Node>(), std::move(value))) {
  node_->requires_grad = requires_grad;
}
Tensor::Tensor(const Array& value, bool requires_grad) : Tensor(Array(value), requires_grad) {}
Tensor::Tensor(xt::nested_initializer_list_t<Scalar, 1> values) : Tensor(Array(values)) {}
Tensor::Tensor(xt::nested_initializer_list_t<Scalar, 2> values) : Tensor(Array(values)) {}
Tensor::Tensor(xt::nested_initializer_list_t<Scalar, 3> values) : Tensor(Array(values)) {}

Tensor Tensor::scalar(Scalar v, bool requires_grad) { return Tensor(Array(v), requires_grad); }
Tensor Tensor::zeros(const Shape& shape, bool requires_grad) {
  check_allocation("Tensor::zeros", checked_elements("Tensor::zeros", shape));
  return Tensor(Array(xt::zeros<Scalar>(shape)), requires_grad);
}
Tensor Tensor::ones(const Shape& shape, bool requires_grad) {
  check_allocation("Tensor::ones", checked_elements("Tensor::ones", shape));
  return Tensor(Array(xt::ones<Scalar>(shape)), requires_grad);
}
Tensor Tensor::full(const Shape& shape, Scalar v, bool requires_grad) {
  check_allocation("Tensor::full", checked_elements("Tensor::full", shape));
  Array a = Array::from_shape(shape);
  a.fill(v);
  return Tensor(std::move(a), requires_grad);
}
Tensor Tensor::randn(const Shape& shape, Rng& rng, double mean, double stddev, bool requires_grad) {
  return Tensor(rng.normal_array(shape, mean, stddev), requires_grad);
}
Tensor Tensor::rand(const Shape& shape, Rng& rng, double lo, double hi, bool requires_grad) {
  return Tensor(rng.uniform_array(shape, lo, hi), requires_grad);
}

Node& Tensor::checked() const {
  if (!node_) throw value_error("Tensor: use of an undefined tensor (default-constructed)");
  return *node_;
}

const Shape Tensor::shape() const {
  const auto& s = value().shape();
  return Shape(s.begin(), s.end());
}

Scalar Tensor::item() const {
  const Array& v = value();
  if (v.size() != 1)
    throw shape_error("item: tensor of shape " + shape_str(v.shape()) + " has " +
                      std::to_string(v.size()) + " elements, expected exactly 1");
  return *v.begin();
}

Tensor& Tensor::requires_grad_(bool on) {
  Node& n = checked();
  if (!n.is_leaf())
    throw graph_error(std::string("requires_grad_: only leaf tensors can change it; this one "
                                  "was produced by op '") +
                      n.op + "' (use detach() first)");
  n.requires_grad = on;
  return *this;
}

const Array& Tensor::grad() const {
  const Node& n = checked();
  if (!n.has_grad)
    throw graph_error(std::string("grad: tensor (op '") + n.op + "', shape " +
                      shape_str(n.value.shape()) + ") has no gradient: " +
                      (!n.requires_grad ? "it does not require grad"
                       : n.step.applied
                           ? "its optimizer step was applied inside backward() (fused SGD, "
                             "optim::SGD::set_fused, or train::fit's plain SGD steps), which "
                             "keeps no gradient"
                           : "backward() has not reached it since zero_grad()"));
  return n.grad;
}

Array& Tensor::mutable_grad() { return const_cast<Array&>(grad()); }

void Tensor::zero_grad() {
  Node& n = checked();
  n.has_grad = false;
  n.grad_graph.reset();
  // Keep the buffer's memory: the next backward overwrites it in place.
}

Tensor& Tensor::retain_grad() {
  checked().retain_grad = true;
  return *this;
}

Tensor Tensor::detach() const { return Tensor(Array(value())); }

// ---------------------------------------------------------------- backward

namespace {

// Work lists of backward(), kept per thread and reused: regrowing them every
// step made glibc consolidate its free lists, a large share of small-graph
// time. A backward started from inside a backward closure gets its own.
struct Scratch {
  std::vector<Node*> order;
  std::vector<std::pair<Node*, std::size_t>> stack;
  std::vector<std::shared_ptr<Node>> edges;
  bool busy = false;
};
thread_local Scratch t_scratch;

class ScratchLease {
 public:
  ScratchLease() : s_(t_scratch.busy ? own_ : t_scratch) { s_.busy = true; }
  ~ScratchLease() {
    s_.order.clear();
    s_.stack.clear();
    // Newest node first: xg::memory hands freed blocks back last-in first-out,
    // so the next step's nodes then land where this step's did, in the same
    // order (a chain allocated alternately up and down memory ran 2x slower).
    // A destroyed node's destructor unlinks its own inputs iteratively.
    while (!s_.edges.empty()) s_.edges.pop_back();
    s_.busy = false;
  }
  Scratch& get() { return s_; }

 private:
  Scratch own_;
  Scratch& s_;
};

/// Frees the closures of the nodes in `order`, then their edges all at once:
/// freeing an edge may destroy a node that `order` still points to. The
/// caller clears `edges` newest first (each Node destructor unlinks iteratively).
template <class Order>
void release(Order& order, std::vector<std::shared_ptr<Node>>& edges) {
  for (auto& p : order) {
    Node* n = &*p;
    if (!n->backward) continue;
    n->backward = nullptr;
    n->released = true;
    for (auto& in : n->inputs) edges.push_back(std::move(in));
    n->inputs.clear();
  }
  order.clear();
}

// Gives a gradient without contents the value's shape, reusing its buffer
// when it has one of that size. (A kept node's spent gradient may have been
// moved out: its shape can then outlive its buffer.)
void size_grad_like_value(Node& n) {
  if (n.grad.size() != n.value.size() || !shapes_equal(n.grad.shape(), n.value.shape()))
    n.grad.resize(n.value.shape(), /*force=*/true);
}

// `seed` nullptr: the implicit seed, of the root's shape by construction.
void check_root(const Node& root, const Array* seed) {
  if (!root.requires_grad)
    throw graph_error(std::string("backward: tensor (op '") + root.op +
                      "') does not require grad: no input of its graph has requires_grad set");
  if (root.released)
    throw graph_error(std::string("backward: the graph behind this tensor (op '") + root.op +
                      "') was already freed by an earlier backward(); call "
                      "backward(/*keep_graph=*/true) the first time to run it twice");
  if (seed != nullptr && !shapes_equal(seed->shape(), root.value.shape()))
    throw shape_error("backward: seed gradient of shape " + shape_str(seed->shape()) +
                      " does not match the tensor's shape " + shape_str(root.value.shape()));
}

[[noreturn]] void throw_released(const Node& in) {
  throw graph_error(std::string("backward: input produced by op '") + in.op +
                    "' belongs to a graph already freed by an earlier backward(); "
                    "call backward(/*keep_graph=*/true) to reuse it");
}

// A leaf armed for a step inside backward: how many edges of this graph lead
// to it (a rule may apply the step only when its gradient is the whole one).
void count_step_use(Node& leaf, bool first_in_pass) {
  if (first_in_pass && leaf.step.applied)
    throw graph_error("backward: a parameter of shape " + shape_str(leaf.value.shape()) +
                      " already took its optimizer step inside an earlier backward(), and the "
                      "optimizer's step() has not run since: with fused steps "
                      "(optim::SGD::set_fused) each update needs zero_grad(), one backward(), "
                      "step()");
  leaf.step.uses = first_in_pass ? 1 : leaf.step.uses + 1;
}

// `seed` is dC/d(root); nullptr means the implicit seed 1 of a one-element
// root, written straight into its gradient (no Array made and moved in).
void run_backward(Node& root, const Array* seed, bool keep_graph) {
  check_root(root, seed);

  // Iterative post-order DFS: inputs come before the nodes that use them.
  const std::uint64_t stamp = ++g_visit_stamp;
  ScratchLease lease;
  std::vector<Node*>& order = lease.get().order;
  auto& stack = lease.get().stack;
  root.mark = stamp;
  stack.emplace_back(&root, 0);
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->inputs.size()) {
      Node* in = node->inputs[next++].get();
      if (in->step.armed) count_step_use(*in, in->mark != stamp);
      if (in->requires_grad && in->mark != stamp) {
        if (in->released) throw_released(*in);
        in->mark = stamp;
        stack.emplace_back(in, 0);
      }
    } else {
      order.push_back(node);
      stack.pop_back();
    }
  }

  if (seed == nullptr && root.has_grad) {
    root.grad += Scalar(1);
  } else if (seed == nullptr) {
    size_grad_like_value(root);
    root.grad.fill(Scalar(1));
    root.has_grad = true;
  } else if (root.has_grad) {
    root.grad += *seed;
  } else {
    root.grad = *seed;
    root.has_grad = true;
  }

  const bool anomaly = anomaly_enabled();
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node& n = **it;
    if (!n.backward) {  // a leaf: its gradient stays (now without a graph)
      if (n.grad_graph) n.grad_graph.reset();
      continue;
    }
    if (n.has_grad) {
      BackwardContext ctx(n, /*steps_allowed=*/!keep_graph);
      n.backward(ctx);
      if (anomaly) {
        for (const auto& in : n.inputs) {
          if (in->requires_grad && in->has_grad) detail::check_finite(n.op, in->grad, "gradient");
          if (in->step.applied)  // a fused step keeps no gradient: check what it wrote
            detail::check_finite(n.op, in->value, "parameter after its fused SGD step");
        }
      }
    }
    if (!n.retain_grad) {
      // A node of the node cache keeps its gradient's buffer for the next
      // graph (grad_buffer then has nothing to allocate). Any other is reset:
      // that allocates xtensor's one-element default, but leaving all of them
      // as they were made the autograd chains of xgrad-bench 1.2x (2,001
      // nodes) and 4x (200,001) slower, presumably because xg::memory's free
      // lists then keep one more block per node and hand the next graph its
      // blocks in another order (docs/performance.md, Dec 6).
      if (!n.recycled) n.grad = Array();
      n.has_grad = false;
    }
  }

  if (!keep_graph) release(order, lease.get().edges);
}

// The create_graph path: the same walk, but gradients are Tensors kept in a
// map (not in the nodes), each op's rule runs over a GraphContext, and with
// `record` off the rules run under NoGradGuard (constant Tensors).
struct GraphPass {
  std::vector<std::shared_ptr<Node>> order;  // inputs before their users
  GraphContext::GradMap grads;
};

void run_graph_backward(GraphPass& pass, const std::vector<Tensor>& roots,
                        const std::vector<Array>& seeds, bool record) {
  const std::uint64_t stamp = ++g_visit_stamp;
  std::vector<std::pair<std::shared_ptr<Node>, std::size_t>> stack;
  for (std::size_t r = 0; r < roots.size(); ++r) {
    const std::shared_ptr<Node>& root = roots[r].node_ptr();
    check_root(*root, &seeds[r]);
    if (root->mark == stamp) continue;
    root->mark = stamp;
    stack.emplace_back(root, 0);
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next < node->inputs.size()) {
        const std::shared_ptr<Node>& in = node->inputs[next++];
        if (in->requires_grad && in->mark != stamp) {
          if (in->released) throw_released(*in);
          in->mark = stamp;
          stack.emplace_back(in, 0);
        }
      } else {
        pass.order.push_back(std::move(node));
        stack.pop_back();
      }
    }
  }
  std::unique_ptr<NoGradGuard> no_grad;
  if (!record) no_grad = std::make_unique<NoGradGuard>();
  for (std::size_t r = 0; r < roots.size(); ++r) {
    Tensor& g = pass.grads[roots[r].node()];
    const Tensor s = Tensor(Array(seeds[r]));
    g = g.defined() ? g + s : s;
  }
  const bool anomaly = anomaly_enabled();
  for (auto it = pass.order.rbegin(); it != pass.order.rend(); ++it) {
    Node& n = **it;
    if (!n.backward) continue;
    auto found = pass.grads.find(&n);
    if (found == pass.grads.end()) continue;
    GraphContext ctx(n, *it, pass.grads);
    n.backward(ctx);
    if (anomaly) {
      for (const auto& in : n.inputs) {
        auto g = pass.grads.find(in.get());
        if (g != pass.grads.end()) detail::check_finite(n.op, g->second.value(), "gradient");
      }
    }
  }
}

Array ones_like_value(const Node& n) {
  Array seed = Array::from_shape(n.value.shape());
  seed.fill(Scalar(1));
  return seed;
}

void graph_backward_into_nodes(const Tensor& root, Array seed) {
  GraphPass pass;
  run_graph_backward(pass, {root}, {std::move(seed)}, /*record=*/true);
  for (const auto& p : pass.order) {
    Node& n = *p;
    if (n.backward && !n.retain_grad) continue;
    auto found = pass.grads.find(&n);
    if (found == pass.grads.end()) continue;
    const Tensor& g = found->second;
    Tensor total = g;
    if (n.has_grad) total = (n.grad_graph ? Tensor(n.grad_graph) : Tensor(Array(n.grad))) + g;
    n.grad = total.value();
    n.has_grad = true;
    n.grad_graph = total.node_ptr();
  }
}

}  // namespace

void Tensor::backward(bool keep_graph, bool create_graph) const {
  const Node& n = checked();
  if (n.value.size() != 1)
    throw shape_error("backward: called without a seed gradient on a tensor of shape " +
                      shape_str(n.value.shape()) +
                      "; only a one-element tensor has an implicit seed of 1");
  if (create_graph) return graph_backward_into_nodes(*this, ones_like_value(n));
  run_backward(checked(), nullptr, keep_graph);
}

void Tensor::backward(const Array& seed, bool keep_graph, bool create_graph) const {
  if (create_graph) return graph_backward_into_nodes(*this, seed);
  run_backward(checked(), &seed, keep_graph);
}

Tensor Tensor::grad_tensor() const {
  const Node& n = checked();
  if (n.grad_graph) return Tensor(n.grad_graph);
  return Tensor(Array(grad()));
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const GradOptions& options) {
  if (outputs.empty()) throw value_error("grad: no outputs given");
  if (!options.seeds.empty() && options.seeds.size() != outputs.size())
    throw value_error("grad: " + std::to_string(options.seeds.size()) + " seeds for " +
                      std::to_string(outputs.size()) + " outputs");
  std::vector<Array> seeds;
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    if (!outputs[k].defined())
      throw value_error("grad: output " + std::to_string(k) + " is undefined");
    const Node& n = *outputs[k].node();
    if (!options.seeds.empty()) {
      seeds.push_back(options.seeds[k].value());
    } else if (n.value.size() == 1) {
      seeds.push_back(ones_like_value(n));
    } else {
      throw shape_error("grad: output " + std::to_string(k) + " has shape " +
                        shape_str(n.value.shape()) +
                        "; give a seed of that shape in GradOptions::seeds");
    }
  }
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (!inputs[i].requires_grad())
      throw graph_error("grad: input " + std::to_string(i) + " (op '" + inputs[i].op() +
                        "') does not require grad");
  GraphPass pass;
  run_graph_backward(pass, outputs, seeds, options.create_graph);
  std::vector<Tensor> result;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    auto found = pass.grads.find(inputs[i].node());
    if (found != pass.grads.end()) {
      result.push_back(found->second);
    } else if (options.allow_unused) {
      result.emplace_back();
    } else {
      throw graph_error("grad: input " + std::to_string(i) + " (op '" + inputs[i].op() +
                        "', shape " + shape_str(inputs[i].value().shape()) +
                        ") was not used to compute the outputs (set allow_unused)");
    }
  }
  if (!options.create_graph && !options.keep_graph) {
    pass.grads.clear();
    std::vector<std::shared_ptr<Node>> edges;
    release(pass.order, edges);
    while (!edges.empty()) edges.pop_back();
  }
  return result;
}

Tensor grad(const Tensor& output, const Tensor& input, const GradOptions& options) {
  return grad(std::vector<Tensor>{output}, std::vector<Tensor>{input}, options).front();
}

// ---------------------------------------------------------------- context

void BackwardContext::add(std::size_t i, Array&& g) {
  Node& in = *node_.inputs[i];
  if (!in.requires_grad) return;
  if (!shapes_equal(g.shape(), in.value.shape()))
    g = sum_to(g, Shape(in.value.shape().begin(), in.value.shape().end()));
  if (in.has_grad) {
    in.grad += g;
  } else {
    in.grad = std::move(g);
    in.has_grad = true;
  }
}

Array& BackwardContext::grad_buffer(std::size_t i, bool& fresh) {
  Node& in = *node_.inputs[i];
  fresh = !in.has_grad;
  if (fresh) size_grad_like_value(in);
  in.has_grad = true;
  return in.grad;
}

Array* BackwardContext::step_target(std::size_t i, Scalar& alpha, bool exact) {
  Node& in = *node_.inputs[i];
  if (!steps_allowed_ || !in.step.armed || in.step.applied || in.step.uses != 1 || in.has_grad ||
      !in.is_leaf() || (in.step.exact && !exact))
    return nullptr;
  in.step.applied = true;
  alpha = in.step.alpha;
  return &in.value;
}

bool BackwardContext::exact_steps_only(std::size_t i) const { return node_.inputs[i]->step.exact; }

Tensor GraphContext::gy() const { return grads_.at(&node_); }
Tensor GraphContext::y() const { return Tensor(self_); }
Tensor GraphContext::x(std::size_t i) const { return Tensor(node_.inputs[i]); }
bool GraphContext::needs(std::size_t i) const { return node_.inputs[i]->requires_grad; }
const char* GraphContext::op() const { return node_.op; }

void GraphContext::add(std::size_t i, const Tensor& g) {
  const Node& in = *node_.inputs[i];
  if (!in.requires_grad) return;
  Tensor share = g;
  if (!shapes_equal(g.value().shape(), in.value.shape()))
    share = sum_to(g, Shape(in.value.shape().begin(), in.value.shape().end()));
  Tensor& slot = grads_[&in];
  slot = slot.defined() ? slot + share : share;
}

Array sum_to(const Array& g, const Shape& shape) {
  if (shapes_equal(g.shape(), shape)) return g;
  if (g.dimension() < shape.size())
    throw shape_error("sum_to: gradient of shape " + shape_str(g.shape()) +
                      " has fewer axes than the target shape " + shape_str(shape));
  const std::size_t lead = g.dimension() - shape.size();
  std::vector<std::size_t> axes;
  for (std::size_t a = 0; a < lead; ++a) axes.push_back(a);
  for (std::size_t j = 0; j < shape.size(); ++j) {
    if (shape[j] == 1 && g.shape()[lead + j] != 1)
      axes.push_back(lead + j);
    else if (shape[j] != g.shape()[lead + j])
      throw shape_error("sum_to: gradient of shape " + shape_str(g.shape()) +
                        " cannot be reduced to shape " + shape_str(shape));
  }
  Array r = xt::sum(g, axes, xt::evaluation_strategy::immediate);
  r.reshape(shape);
  return r;
}

// ---------------------------------------------------------------- modes

bool grad_enabled() { return t_grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(t_grad_enabled) { t_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { t_grad_enabled = previous_; }

bool anomaly_enabled() { return t_anomaly_enabled; }
AnomalyGuard::AnomalyGuard(bool on) : previous_(t_anomaly_enabled) { t_anomaly_enabled = on; }
AnomalyGuard::~AnomalyGuard() { t_anomaly_enabled = previous_; }

namespace detail {

bool any_requires_grad(std::initializer_list<InputRef> inputs) {
  for (const InputRef& t : inputs)
    if (t.tensor().requires_grad()) return true;
  return false;
}

namespace {
const Tensor& tensor_of(const Tensor& t) { return t; }
const Tensor& tensor_of(const InputRef& t) { return t.tensor(); }
}  // namespace

// An op's node: kept from a finished graph when there is one (node_cache.hpp).
template <class Inputs>
std::shared_ptr<Node> node_for(const char* op, const std::size_t* dims, std::size_t rank,
                               Array* value, const Inputs& inputs) {
  auto node = acquire_node(dims, rank, value);
  node->op = op;
  node->requires_grad = true;
  node->inputs.reserve(inputs.size());
  for (const auto& t : inputs) node->inputs.push_back(tensor_of(t).node_ptr());
  return node;
}

template <class Inputs>
std::shared_ptr<Node> make_node_impl(const char* op, Array&& value, const Inputs& inputs) {
  return node_for(op, value.shape().data(), value.dimension(), &value, inputs);
}

std::shared_ptr<Node> make_node_shaped(const char* op, const std::size_t* dims, std::size_t rank,
                                       std::initializer_list<InputRef> inputs) {
  return node_for(op, dims, rank, nullptr, inputs);
}

std::shared_ptr<Node> make_node(const char* op, Array&& value,
                                std::initializer_list<InputRef> inputs) {
  return make_node_impl(op, std::move(value), inputs);
}
std::shared_ptr<Node> make_node(const char* op, Array&& value, const std::vector<Tensor>& inputs) {
  return make_node_impl(op, std::move(value), inputs);
}

void no_second_order(GraphContext& c) {
  throw graph_error(std::string("op '") + c.op() +
                    "' has no second-order rule: its backward takes a BackwardContext& only, "
                    "so its gradient cannot be differentiated again (write the rule as a "
                    "generic lambda [](auto& c) over differentiable ops, docs/autograd.md)");
}

void check_finite(const char* op, const Array& value, const char* what) {
  std::size_t k = 0;
  for (Scalar v : value) {
    if (!std::isfinite(v))
      throw numeric_error(std::string("anomaly: op '") + op + "' produced a non-finite " + what +
                          " (" + std::to_string(v) + " at flat index " + std::to_string(k) +
                          " of shape " + shape_str(value.shape()) + ")");
    ++k;
  }
}

}  // namespace detail
}  // namespace xg
