// xgrad's weight-gradient kernel (src/ops/weight_gradient.hpp) and the exact
// steps inside backward it allows: every result is one chain of fused
// multiply-adds in the batch's order, the step rounds w − η·g once, and
// training with the steps inside backward gives the bits of the ordinary
// backward() then step().
#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "compare.hpp"
#include "ops/blas.hpp"
#include "ops/weight_gradient.hpp"
#include "precision.hpp"
#include "xgrad/cost.hpp"
#include "xgrad/gemm.hpp"
#include "xgrad/nn.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/optim.hpp"
#include "xgrad/threads.hpp"
#include "xgrad/train/fit.hpp"

using namespace xg;
using xg_test::same_bits;

namespace {

// The definition the kernel promises, written the plain way.
Array reference_gradient(const Array& G, const Array& X) {
  const std::size_t k = G.shape()[0], m = G.shape()[1], n = X.shape()[1];
  Array out = Array::from_shape({m, n});
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      Scalar acc = 0;
      for (std::size_t r = 0; r < k; ++r) acc = std::fma(G(r, i), X(r, j), acc);
      out(i, j) = acc;
    }
  return out;
}

struct Case {
  std::size_t m, n, k;
};

}  // namespace

TEST_CASE("weight_gradient: each result is one fused multiply-add chain in the batch's order",
          "[ops][weight_gradient]") {
  if (!detail::has_weight_gradient_kernel()) {
    CHECK_FALSE(detail::weight_gradient_fits(30, 784, 10));
    return;
  }
  Rng rng(5);
  // Row counts around the block height (6), column counts around one and two
  // vectors of every width (2, 4, 8, 16 lanes), batches of 1 to 256.
  const std::vector<Case> cases = {{1, 1, 1},    {5, 3, 2},     {6, 16, 10},  {7, 17, 10},
                                   {13, 33, 3},  {30, 784, 10}, {10, 30, 10}, {12, 31, 100},
                                   {11, 65, 17}, {2, 9, 256},   {100, 40, 7}};
  for (const Case& c : cases) {
    INFO("m " << c.m << " n " << c.n << " k " << c.k);
    REQUIRE(detail::weight_gradient_fits(c.m, c.n, c.k));
    const Array G = rng.uniform_array({c.k, c.m}, -1, 1), X = rng.uniform_array({c.k, c.n}, -1, 1);
    Array out = Array::from_shape({c.m, c.n});
    out.fill(Scalar(7));  // stored over, not added to
    detail::weight_gradient(G, X, out);
    const Array expected = reference_gradient(G, X);
    CHECK(same_bits(expected, out));

    // BLAS agrees to rounding (its kernels may sum in another order).
    Array blas = Array::from_shape({c.m, c.n});
    detail::gemm(true, false, Scalar(1), G, X, Scalar(0), blas);
    CHECK(xg_test::relative_gap(blas, out) <= xg_test::tol(1e-14, 1e-5));

    // The step: w − η·g rounded once, from the same sums.
    const Scalar eta = Scalar(0.37);
    Array w = rng.uniform_array({c.m, c.n}, -1, 1), stepped = w;
    detail::weight_gradient_step(G, X, eta, stepped);
    for (std::size_t e = 0; e < w.size(); ++e)
      w.data()[e] = detail::sgd_update(w.data()[e], eta, expected.data()[e]);
    CHECK(same_bits(w, stepped));
  }
}

TEST_CASE("weight_gradient: which shapes it takes", "[ops][weight_gradient]") {
  const bool kernel = detail::has_weight_gradient_kernel();
  CHECK(detail::weight_gradient_fits(30, 784, 256) == kernel);
  CHECK_FALSE(detail::weight_gradient_fits(30, 784, 257));  // larger batches: BLAS
  CHECK_FALSE(detail::weight_gradient_fits(30, 784, 0));
  CHECK_FALSE(detail::weight_gradient_fits(0, 784, 10));
  CHECK_FALSE(detail::weight_gradient_fits(30, 0, 10));
}

TEST_CASE("weight_gradient: threads cut the columns without changing a bit",
          "[ops][weight_gradient][threads]") {
  if (!detail::has_weight_gradient_kernel()) return;
  Rng rng(9);
  // 800·789·10 multiply-adds: enough for pieces on two threads. 789 columns
  // end in a part of a vector, which one thread pads and the other reads.
  const Array G = rng.uniform_array({10, 800}, -1, 1), X = rng.uniform_array({10, 789}, -1, 1);
  Array one = Array::from_shape({800, 789}), two = Array::from_shape({800, 789});
  const int before = num_threads();
  set_num_threads(1);
  detail::weight_gradient(G, X, one);
  set_num_threads(2);
  detail::weight_gradient(G, X, two);
  set_num_threads(before);
  CHECK(same_bits(one, two));
  CHECK(same_bits(reference_gradient(G, X), two));
}

namespace {

// Steps of a sigmoid network with the quadratic cost and plain SGD, the steps
// inside backward on or off; L2 on the weights when l2 > 0.
std::vector<Array> train_steps(bool exact, int steps, double l2 = 0.0) {
  Rng rng(11);
  auto model = nn::mlp({64, 40, 10}, "sigmoid", rng, nn::Init::large);
  optim::Regularization reg;
  if (l2 > 0) reg = {l2, 0.0, 1000, model->weights()};
  optim::SGD sgd(model->parameters(), 3.0, reg);
  sgd.set_exact_steps_in_backward(exact);
  const auto cost = make_cost("quadratic");
  Rng data(17);
  for (int s = 0; s < steps; ++s) {
    const Tensor x = Tensor::rand({10, 64}, data);
    Array y = Array::from_shape({10, 10});
    y.fill(0);
    for (std::size_t i = 0; i < 10; ++i) y(i, (i * 7 + s) % 10) = 1;
    sgd.zero_grad();
    (*cost)((*model)(x), Tensor(y)).backward();
    if (exact && l2 == 0.0 && detail::has_weight_gradient_kernel())
      for (const Tensor& p : model->parameters()) CHECK_FALSE(p.has_grad());
    sgd.step();
  }
  return xg_test::parameter_values(*model);
}

}  // namespace

TEST_CASE("exact steps inside backward: the bits of backward() then step()",
          "[optim][weight_gradient]") {
  SECTION("plain SGD: weights and biases step inside backward") {
    const auto ordinary = train_steps(false, 20), inside = train_steps(true, 20);
    const auto start = train_steps(false, 0);
    for (std::size_t i = 0; i < ordinary.size(); ++i) {
      INFO("parameter " << i);
      CHECK(same_bits(ordinary[i], inside[i]));
      CHECK_FALSE(same_bits(start[i], inside[i]));  // it trained
    }
  }
  SECTION("L2 on the weights: they take step(), the biases step inside backward") {
    const auto ordinary = train_steps(false, 5, 5.0), inside = train_steps(true, 5, 5.0);
    for (std::size_t i = 0; i < ordinary.size(); ++i) CHECK(same_bits(ordinary[i], inside[i]));
  }
}

TEST_CASE("exact steps inside backward: what takes them and what does not",
          "[optim][weight_gradient]") {
  Rng rng(3);
  auto model = nn::mlp({8, 5, 3}, "sigmoid", rng);
  Tensor extra = Tensor::rand({3, 3}, rng).requires_grad_();  // used through matmul
  std::vector<Tensor> params = model->parameters();
  params.push_back(extra);
  optim::SGD sgd(params, 0.5);
  CHECK_FALSE(sgd.exact_steps_in_backward());
  sgd.set_exact_steps_in_backward(true);
  CHECK(sgd.exact_steps_in_backward());
  CHECK(sgd.steps_in_backward());
  const Tensor x = Tensor::rand({4, 8}, rng);
  sgd.zero_grad();
  sum(matmul((*model)(x), extra)).backward();
  // matmul's operand keeps its gradient: its fused rule rounds as BLAS does,
  // not as step(), so it may not take an exact-only step.
  CHECK(extra.has_grad());
  const std::vector<Tensor>& ps = model->parameters();
  if (detail::has_weight_gradient_kernel()) {
    for (const Tensor& p : ps) CHECK_FALSE(p.has_grad());
    CHECK_THROWS_WITH(ps[0].grad(),
                      Catch::Contains("inside backward()") && Catch::Contains("train::fit"));
  }
  sgd.step();
  // Off again: every gradient is stored, at once (no zero_grad needed to disarm).
  sgd.set_exact_steps_in_backward(false);
  CHECK_FALSE(sgd.steps_in_backward());
  sgd.zero_grad();
  sum(matmul((*model)(x), extra)).backward();
  for (const Tensor& p : ps) CHECK(p.has_grad());
}

TEST_CASE("fit: its steps inside backward leave the results and the optimizer's mode as they were",
          "[train][weight_gradient]") {
  // fit against the same loop written out with backward() and step().
  Rng data_rng(21);
  const std::size_t n = 64;
  data::Dataset set;
  set.inputs = data_rng.uniform_array({n, 20}, 0, 1);
  set.targets = Array::from_shape({n, 4});
  set.targets.fill(0);
  for (std::size_t i = 0; i < n; ++i) {
    set.targets(i, i % 4) = 1;
    set.labels.push_back(i % 4);
  }

  Rng a_rng(4), b_rng(4);
  auto a = nn::mlp({20, 12, 4}, "sigmoid", a_rng);
  auto b = nn::mlp({20, 12, 4}, "sigmoid", b_rng);
  const auto cost = make_cost("quadratic");

  optim::SGD fit_sgd(a->parameters(), 1.5);
  train::FitOptions o;
  o.epochs = 2;
  o.batch_size = 10;
  o.seed = 8;
  train::fit(*a, *cost, fit_sgd, set, o);
  CHECK_FALSE(fit_sgd.exact_steps_in_backward());  // restored

  // The same order of mini-batches, by hand.
  optim::SGD hand_sgd(b->parameters(), 1.5);
  Rng order_rng(8);
  data::Batches batches(set, 10, &order_rng);
  for (int epoch = 0; epoch < 2; ++epoch) {
    Tensor x{Array()}, y{Array()};
    while (batches.next_into(x.mutable_value(), y.mutable_value())) {
      hand_sgd.zero_grad();
      (*cost)((*b)(x), y).backward();
      hand_sgd.step();
    }
  }
  const auto fa = xg_test::parameter_values(*a), fb = xg_test::parameter_values(*b);
  for (std::size_t i = 0; i < fa.size(); ++i) {
    INFO("parameter " << i);
    CHECK(same_bits(fa[i], fb[i]));
  }
}
