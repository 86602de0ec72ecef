// Fused SGD (optim::SGD::set_fused): linear's weight and bias, and matmul's
// second operand, take w ← w − η·g inside backward. The checks: the fused run
// follows the unfused one to rounding (weights) or bit for bit (biases, whose
// step xgrad writes itself); every case the engine must not fuse falls back
// to the ordinary gradient and gives the unfused bits; and the misuses throw
// before anything changes.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "compare.hpp"
#include "precision.hpp"
#include "xgrad/cost.hpp"
#include "xgrad/nn.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/optim.hpp"
#include "xgrad/train/fit.hpp"

using namespace xg;
using xg_test::relative_gap;

using xg_test::same_bits;

namespace {

struct Run {
  std::shared_ptr<nn::Sequential> model;
  std::vector<Array> values() const { return xg_test::parameter_values(*model); }
};

struct Batch {
  Tensor x, y;
};

Batch batch(std::size_t rows, std::size_t in, std::size_t out, std::uint64_t seed) {
  Rng rng(seed);
  Array y = Array::from_shape({rows, out});
  y.fill(0);
  for (std::size_t i = 0; i < rows; ++i) y(i, (i * 7) % out) = 1;
  return {Tensor::rand({rows, in}, rng), Tensor(y)};
}

// `steps` mini-batch steps of a sigmoid network with the quadratic cost
// (and L2 on its weights when l2 > 0).
Run run_steps(bool fused, int steps, double l2 = 0.0, bool keep_graph = false) {
  Rng rng(11);
  Run r{nn::mlp({64, 40, 10}, "sigmoid", rng, nn::Init::large)};
  optim::Regularization reg;
  if (l2 > 0) reg = {l2, 0.0, 1000, r.model->weights()};
  const auto cost = make_cost("quadratic");
  optim::SGD sgd(r.model->parameters(), 3.0, reg);
  sgd.set_fused(fused);
  for (int s = 0; s < steps; ++s) {
    const Batch b = batch(10, 64, 10, 100 + s);
    sgd.zero_grad();
    (*cost)((*r.model)(b.x), b.y).backward(keep_graph);
    sgd.step();
  }
  return r;
}

}  // namespace

TEST_CASE("fused SGD: one step matches the unfused step to rounding, biases bit for bit",
          "[optim][fused]") {
  const auto plain = run_steps(false, 1).values(), fused = run_steps(true, 1).values();
  REQUIRE(plain.size() == 4);  // W1, b1, W2, b2
  for (std::size_t i = 0; i < plain.size(); ++i) {
    INFO("parameter " << i);
    if (i % 2 == 1) {
      CHECK(same_bits(plain[i], fused[i]));
    } else {
      // One product η·g rounded before the sum instead of one fused
      // multiply-add: a few units in the last place of the weight at most.
      CHECK(relative_gap(plain[i], fused[i]) <= xg_test::tol(1e-15, 1e-6));
    }
  }
  // Something did change: the weights moved away from their initial values.
  const auto start = run_steps(false, 0).values();
  CHECK_FALSE(same_bits(start[0], fused[0]));
}

TEST_CASE("fused SGD: twenty steps stay with the unfused run", "[optim][fused]") {
  const auto plain = run_steps(false, 20).values(), fused = run_steps(true, 20).values();
  for (std::size_t i = 0; i < plain.size(); ++i) {
    INFO("parameter " << i);
    CHECK(relative_gap(plain[i], fused[i]) <= xg_test::tol(1e-12, 1e-4));
  }
}

TEST_CASE("fused SGD: the fused parameters keep no gradient, and say why", "[optim][fused]") {
  Rng rng(3);
  auto model = nn::mlp({8, 5, 3}, "sigmoid", rng);
  optim::SGD sgd(model->parameters(), 0.5);
  sgd.set_fused(true);
  CHECK(sgd.fused());
  CHECK(sgd.steps_in_backward());
  const Batch b = batch(4, 8, 3, 1);
  sgd.zero_grad();
  const Tensor before = Tensor(model->parameters()[0].value());
  (*make_cost("quadratic"))((*model)(b.x), b.y).backward();
  for (const Tensor& p : model->parameters()) CHECK_FALSE(p.has_grad());
  // The step already happened, inside backward.
  CHECK_FALSE(same_bits(before.value(), model->parameters()[0].value()));
  CHECK_THROWS_WITH(model->parameters()[0].grad(),
                    Catch::Contains("inside backward()") && Catch::Contains("set_fused"));
  const Array after_backward = model->parameters()[0].value();
  sgd.step();  // nothing left to do for them
  CHECK(same_bits(after_backward, model->parameters()[0].value()));
  // After step() too, grad() says where the gradient went.
  CHECK_THROWS_WITH(model->parameters()[0].grad(), Catch::Contains("inside backward()"));

  sgd.set_fused(false);
  CHECK_FALSE(sgd.steps_in_backward());
  sgd.zero_grad();
  (*make_cost("quadratic"))((*model)(b.x), b.y).backward();
  for (const Tensor& p : model->parameters()) CHECK(p.has_grad());
}

TEST_CASE("fused SGD: L2-regularised weights and keep_graph fall back to the unfused bits",
          "[optim][fused]") {
  SECTION("L2 on the weights: the weights take step(), the biases fuse (same bits)") {
    const auto plain = run_steps(false, 5, 5.0).values(), fused = run_steps(true, 5, 5.0).values();
    for (std::size_t i = 0; i < plain.size(); ++i) {
      INFO("parameter " << i);
      CHECK(same_bits(plain[i], fused[i]));
    }
  }
  SECTION("backward(keep_graph = true) keeps the ordinary gradients") {
    const auto plain = run_steps(false, 5, 0.0, true).values();
    const auto fused = run_steps(true, 5, 0.0, true).values();
    for (std::size_t i = 0; i < plain.size(); ++i) CHECK(same_bits(plain[i], fused[i]));
  }
}

TEST_CASE("fused SGD: a weight used twice, or by an op without a fused rule, takes step()",
          "[optim][fused]") {
  auto run = [](bool fused, bool twice) {
    Rng rng(5);
    Tensor w = Tensor::randn({6, 4}, rng, 0.0, 1.0, true);
    Tensor b = Tensor::randn({6}, rng, 0.0, 1.0, true);
    Tensor v = Tensor::randn({4}, rng, 0.0, 1.0, true);  // reached by mul only
    const Tensor x = Tensor::rand({3, 4}, rng);
    optim::SGD sgd({w, b, v}, 0.1);
    sgd.set_fused(fused);
    for (int s = 0; s < 3; ++s) {
      sgd.zero_grad();
      Tensor h = linear(x * v, w, b);
      if (twice) h = h + sum(linear(x, w, b));  // a second edge into w and b
      sum(sigmoid(h)).backward();
      sgd.step();
    }
    return std::vector<Array>{w.value(), b.value(), v.value()};
  };
  const auto plain = run(false, true), fused = run(true, true);
  for (std::size_t i = 0; i < plain.size(); ++i) {
    INFO("parameter " << i);
    CHECK(same_bits(plain[i], fused[i]));  // nothing fused: two gradients meet
  }
  const auto plain1 = run(false, false), fused1 = run(true, false);
  CHECK(relative_gap(plain1[0], fused1[0]) <= xg_test::tol(1e-14));  // w fused
  CHECK(same_bits(plain1[1], fused1[1]));                            // b fused, same bits
  CHECK(same_bits(plain1[2], fused1[2]));                            // v: mul, step()
}

TEST_CASE("fused SGD: matmul's second operand fuses, its first does not", "[optim][fused]") {
  auto run = [](bool fused) {
    Rng rng(9);
    Tensor a = Tensor::randn({5, 7}, rng, 0.0, 1.0, true);
    Tensor b = Tensor::randn({7, 3}, rng, 0.0, 1.0, true);
    optim::SGD sgd({a, b}, 0.05);
    sgd.set_fused(fused);
    sgd.zero_grad();
    sum(tanh(matmul(a, b))).backward();
    const bool a_grad = a.has_grad(), b_grad = b.has_grad();
    sgd.step();
    return std::make_tuple(a.value(), b.value(), a_grad, b_grad);
  };
  const auto [a0, b0, ag0, bg0] = run(false);
  const auto [a1, b1, ag1, bg1] = run(true);
  CHECK(ag0);
  CHECK(bg0);
  CHECK(ag1);        // A is read after its own gradient: step()
  CHECK_FALSE(bg1);  // B's gradient is the rule's last read of it: fused
  CHECK(same_bits(a0, a1));
  CHECK(relative_gap(b0, b1) <= xg_test::tol(1e-15, 1e-6));
}

TEST_CASE("fused SGD: a second backward before step() throws and changes nothing",
          "[optim][fused][errors]") {
  Rng rng(2);
  auto model = nn::mlp({8, 5, 3}, "sigmoid", rng);
  optim::SGD sgd(model->parameters(), 0.5);
  sgd.set_fused(true);
  const Batch b = batch(4, 8, 3, 1);
  const auto cost = make_cost("quadratic");
  sgd.zero_grad();
  Tensor first = (*cost)((*model)(b.x), b.y);
  Tensor second = (*cost)((*model)(b.x), b.y);
  first.backward();
  std::vector<Array> after_first;
  for (const Tensor& p : model->parameters()) after_first.push_back(p.value());
  CHECK_THROWS_AS(second.backward(), graph_error);
  CHECK_THROWS_WITH(second.backward(), Catch::Contains("zero_grad(), one backward(), step()"));
  for (std::size_t i = 0; i < after_first.size(); ++i)
    CHECK(same_bits(after_first[i], model->parameters()[i].value()));
  // step() ends the update; the next one runs normally.
  sgd.step();
  sgd.zero_grad();
  CHECK_NOTHROW((*cost)((*model)(b.x), b.y).backward());
}

TEST_CASE("fused SGD: create_graph backward stores gradients; step() applies them",
          "[optim][fused]") {
  Rng rng(4);
  Tensor w = Tensor::randn({3, 4}, rng, 0.0, 1.0, true);
  Tensor bias = Tensor::zeros({3}, true);
  const Tensor x = Tensor::rand({2, 4}, rng);
  optim::SGD sgd({w, bias}, 0.1);
  sgd.set_fused(true);
  sgd.zero_grad();
  sum(sigmoid(linear(x, w, bias))).backward(false, /*create_graph=*/true);
  CHECK(w.has_grad());
  const Array expected = w.value() - Scalar(0.1) * w.grad();
  sgd.step();
  CHECK(relative_gap(expected, w.value()) <= xg_test::tol(1e-15, 1e-6));
  sgd.zero_grad();  // the gradients' graphs point back into the graph: free them
}

TEST_CASE("fused SGD: fit trains as well as the unfused run", "[optim][fused][fit]") {
  auto accuracy = [](bool fused) {
    Rng rng(21);
    auto model = nn::mlp({16, 12, 4}, "sigmoid", rng);
    // Four separable classes: the class picks which quarter of the input is lit.
    const std::size_t n = 400;
    Array x = Array::from_shape({n, 16}), y = Array::from_shape({n, 4});
    std::vector<std::size_t> labels(n);
    Rng noise(8);
    const Array jitter = noise.uniform_array({n, 16}, 0.0, 0.3);
    y.fill(0);
    for (std::size_t i = 0; i < n; ++i) {
      labels[i] = i % 4;
      for (std::size_t j = 0; j < 16; ++j)
        x(i, j) = jitter(i, j) + (j / 4 == labels[i] ? Scalar(1) : Scalar(0));
      y(i, labels[i]) = 1;
    }
    data::Dataset set;
    set.inputs = x;
    set.targets = y;
    set.labels = labels;
    const auto cost = make_cost("quadratic");
    optim::SGD sgd(model->parameters(), 3.0);
    sgd.set_fused(fused);
    train::FitOptions o;
    o.epochs = 5;
    o.batch_size = 10;
    o.evaluation = nullptr;
    o.monitor_evaluation_accuracy = false;
    o.monitor_evaluation_cost = false;
    Rng shuffle(1);
    o.rng = &shuffle;
    train::fit(*model, *cost, sgd, set, o);
    return train::evaluate(*model, *cost, set).correct;
  };
  const std::size_t plain = accuracy(false), fused = accuracy(true);
  CHECK(plain >= 390);
  CHECK(fused >= 390);
}

TEST_CASE("fused SGD: anomaly mode checks what the fused step wrote", "[optim][fused][errors]") {
  Rng rng(6);
  Tensor w = Tensor::randn({3, 4}, rng, 0.0, 1.0, true);
  Tensor bias = Tensor::zeros({3}, true);
  const Tensor x = Tensor::full({2, 4}, Scalar(1));
  // A rate so large that w − η·g overflows: the step, not the gradient, is infinite.
  optim::SGD sgd({w, bias}, 1e300);
  sgd.set_fused(true);
  sgd.zero_grad();
  detect_anomaly guard;
  CHECK_THROWS_WITH(sum(linear(x, w, bias) * Scalar(1e30)).backward(),
                    Catch::Contains("after its fused SGD step") && Catch::Contains("linear"));
}

TEST_CASE("fused SGD: a bias of more than 1024 outputs (summed off the stack) steps bit for bit",
          "[optim][fused]") {
  auto run = [](bool fused, int steps) {
    Rng rng(21);
    auto model = nn::mlp({8, 1500}, "sigmoid", rng, nn::Init::large);
    const auto cost = make_cost("quadratic");
    optim::SGD sgd(model->parameters(), 3.0);
    sgd.set_fused(fused);
    for (int s = 0; s < steps; ++s) {
      const Batch b = batch(10, 8, 1500, 7 + s);
      sgd.zero_grad();
      (*cost)((*model)(b.x), b.y).backward();
      sgd.step();
    }
    return xg_test::parameter_values(*model);
  };
  const auto start = run(false, 0), plain = run(false, 1), fused = run(true, 1);
  REQUIRE(plain.size() == 2);
  CHECK(same_bits(plain[1], fused[1]));
  CHECK(!same_bits(start[1], fused[1]));  // the step did happen
}
