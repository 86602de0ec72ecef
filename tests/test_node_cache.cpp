// The engine keeps a few op nodes of finished graphs for the next graph
// (src/node_cache.hpp): what is kept, what is not, and that a taken-back node
// carries nothing of its old graph.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <memory>
#include <thread>
#include <vector>

#include "node_cache.hpp"
#include "xgrad/cost.hpp"
#include "xgrad/memory.hpp"
#include "xgrad/nn/activation.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/tensor.hpp"

using namespace xg;

namespace {
// One step of a small layer: loss = Σ σ(x·Wᵀ + b)·2.
struct Step {
  Scalar loss;
  Array dw, db;
  std::vector<const Scalar*> buffers;  // of the linear, sigmoid and product values
};
Step step(Tensor& x, Tensor& w, Tensor& b) {
  w.zero_grad();
  b.zero_grad();
  Tensor z = linear(x, w, b);
  Tensor a = sigmoid(z);
  Tensor p = a * 2.0;
  Tensor loss = sum(p);
  loss.backward();
  return {loss.item(), w.grad(), b.grad(), {z.value().data(), a.value().data(), p.value().data()}};
}
}  // namespace

TEST_CASE("a training step's op nodes are taken back by the next step, same results",
          "[engine][node_cache]") {
  Rng rng(7);
  Tensor x = Tensor::randn({5, 4}, rng);
  Tensor w = Tensor::randn({3, 4}, rng, 0.0, 1.0, true);
  Tensor b = Tensor::randn({3}, rng, 0.0, 1.0, true);
  detail::release_kept_nodes();
  const Step first = step(x, w, b);
  const Step second = step(x, w, b);
  CHECK(second.loss == first.loss);
  CHECK(second.dw == first.dw);
  CHECK(second.db == first.db);
  if (!memory::caching_compiled_in()) {
    CHECK(detail::kept_node_count() == 0);  // a sanitizer build keeps nothing
    return;
  }
  CHECK(detail::kept_node_count() > 0);
  // linear writes into a kept node's value of its shape: one of the first
  // step's (5, 3) buffers, not a new one.
  const auto& old = first.buffers;
  CHECK(std::find(old.begin(), old.end(), second.buffers[0]) != old.end());
  release_kept_nodes();  // the public name
  CHECK(detail::kept_node_count() == 0);
}

TEST_CASE("a taken-back node carries nothing of its old graph", "[engine][node_cache]") {
  Tensor x = Tensor::full({2, 2}, 0.5, true);
  std::weak_ptr<Node> old;
  {
    Tensor h = exp(x);
    h.retain_grad();
    old = h.node_ptr();
    Tensor loss = sum(h);
    loss.backward();
    CHECK(h.has_grad());
  }
  CHECK(old.expired());  // weak references see a kept node as gone
  // A new op of the same shape (perhaps the same memory): fresh flags, new edges.
  Tensor y({{1.0, 2.0}, {3.0, 4.0}});
  Tensor z = y * 3.0;  // y requires no grad: nothing recorded
  CHECK_FALSE(z.requires_grad());
  CHECK(z.is_leaf());
  Tensor h2 = exp(x);
  CHECK(std::string(h2.op()) == "exp");
  CHECK_FALSE(h2.has_grad());
  CHECK(h2.node()->inputs.size() == 1);
  CHECK_THROWS_AS(h2.grad(), graph_error);  // no gradient left over from the old graph
  sum(h2 * 2.0).backward();
  CHECK(xt::allclose(x.grad(), Scalar(1 + 2) * xt::exp(x.value())));
}

TEST_CASE("a node whose value was moved out is taken back safely", "[engine][node_cache]") {
  // A move's source loses its buffer: construction leaves it 0-d, assignment
  // keeps its shape (xtensor 0.24). Neither may be taken for "same shape,
  // nothing to allocate".
  Rng rng(3);
  Tensor x = Tensor::randn({4, 3}, rng, 0.0, 1.0, true);
  Tensor w = Tensor::randn({2, 3}, rng, 0.0, 1.0, true);
  Tensor b = Tensor::randn({2}, rng, 0.0, 1.0, true);
  Tensor y = Tensor::full({4, 2}, 0.5);
  const Array expected = linear(x, w, b).value();
  const Scalar expected_cost = sigmoid_quadratic_cost(linear(x, w, b), y).item();
  for (int round = 0; round < 3; ++round) {
    {
      Tensor c = sigmoid_quadratic_cost(linear(x, w, b), y);
      Array taken = std::move(c.mutable_value());  // 0-d, no buffer left
      Tensor z = linear(x, w, b);
      Array other = Array::from_shape({4, 2});
      other = std::move(z.mutable_value());  // shape (4, 2) kept, no buffer
    }
    Tensor z = linear(x, w, b);
    CHECK(z.value() == expected);
    CHECK(sigmoid_quadratic_cost(z, y).item() == expected_cost);
    Tensor loss = sigmoid_quadratic_cost(linear(x, w, b), y);
    loss.backward();
    CHECK(std::isfinite(w.grad()(0, 0)));
    w.zero_grad();
    b.zero_grad();
    x.zero_grad();
  }
}

TEST_CASE("only a few small nodes are kept", "[engine][node_cache]") {
  if (!memory::caching_compiled_in()) return;
  detail::release_kept_nodes();
  {
    Tensor x = Tensor::full({3}, 1.0, true);
    Tensor y = x;
    for (int i = 0; i < 200; ++i) y = y * 1.0;  // 200 op nodes freed together
  }
  CHECK(detail::kept_node_count() > 0);
  CHECK(detail::kept_node_count() <= detail::kept_nodes);
  detail::release_kept_nodes();
  {
    const std::size_t big = detail::kept_elements + 1;
    Tensor x = Tensor::full({big}, 1.0, true);
    Tensor y = x * 2.0;  // its value is larger than a kept node may hold
  }
  CHECK(detail::kept_node_count() == 0);
}

TEST_CASE("nodes freed on another thread, or after their thread's cache, are safe",
          "[engine][node_cache]") {
  Tensor made;
  std::thread maker([&] {
    Tensor x = Tensor::full({4, 4}, 2.0, true);
    made = exp(x) * 3.0;  // its graph is still alive when the thread ends
  });
  maker.join();
  std::thread freer([&] {
    made.backward(Array(xt::ones<Scalar>({4, 4})));
    made = Tensor();  // freed here: kept in this thread's cache, gone with it
  });
  freer.join();
  std::thread late([] {
    // Constructed before the thread's first node: destroyed after its cache.
    thread_local std::vector<Tensor> holder;
    Tensor x = Tensor::full({8}, 1.0, true);
    for (int i = 0; i < 4; ++i) holder.push_back(exp(x) * 2.0);
    sum(holder.back()).backward();
  });
  late.join();
  SUCCEED("threads exited cleanly");
}
