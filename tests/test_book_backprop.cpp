// The book's closed-form backprop against central finite differences of its own cost.
// Being the witness autograd is checked against, it must itself be checked from first
// principles: numbers, not another implementation.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include "xgrad/book/backprop.hpp"
#include "xgrad/error.hpp"
#include "xgrad/random.hpp"

using xg::Array;
using xg::Scalar;
using xg::Shape;
using xg::book::backprop;
using xg::book::feedforward;
using xg::book::Gradients;
using xg::book::Network;
using xg::book::OutputKind;

namespace {

constexpr bool kDouble = std::is_same<Scalar, double>::value;
// A float build can only resolve much coarser differences.
constexpr double kStep = kDouble ? 1e-5 : 1e-2;
constexpr double kTolerance = kDouble ? 1e-7 : 1e-3;
// A gradient error the comparison must notice: well above the tolerance, yet small
// (in double, 1e-3 is a fraction of a percent of a typical entry here).
const Scalar kWrong = static_cast<Scalar>(kDouble ? 1e-3 : 0.05);

Network random_network(const std::vector<std::size_t>& sizes, xg::Rng& rng) {
  Network net;
  for (std::size_t l = 1; l < sizes.size(); ++l) {
    net.weights.push_back(rng.normal_array({sizes[l], sizes[l - 1]}, 0.0, 0.7));
    net.biases.push_back(rng.normal_array({sizes[l]}, 0.0, 0.5));
  }
  return net;
}

// One-hot rows for softmax (its δ^L = a − y assumes rows summing to 1), soft targets in
// [0, 1] for the sigmoid outputs, which the costs allow.
Array random_targets(OutputKind kind, std::size_t m, std::size_t n_out, xg::Rng& rng) {
  if (kind != OutputKind::softmax_log_likelihood) return rng.uniform_array({m, n_out});
  Array Y = xt::zeros<Scalar>(Shape{m, n_out});
  for (std::size_t i = 0; i < m; ++i) Y(i, rng.below(n_out)) = 1;
  return Y;
}

struct Comparison {
  double worst_error = 0.0;   // largest |analytic − numeric| / max(1, |numeric|)
  double largest_grad = 0.0;  // largest |numeric|: guards against a vacuous all-zero pass
  std::string worst_where;
};

// Compares every entry of g with (C(θ + h) − C(θ − h)) / 2h, C being backprop's own cost.
// The error is relative for gradients above 1 and absolute below, so tiny entries are not
// judged on rounding noise.
Comparison compare_with_finite_differences(const Network& net, const Array& X, const Array& Y,
                                           OutputKind kind, double lambda, std::size_t n,
                                           const Gradients& g) {
  Comparison result;
  Network probe = net;
  auto cost = [&] { return backprop(probe, X, Y, kind, lambda, n).cost; };
  auto check_all = [&](std::vector<Array>& params, const std::vector<Array>& grads,
                       const char* what) {
    for (std::size_t l = 0; l < params.size(); ++l) {
      for (std::size_t i = 0; i < params[l].size(); ++i) {
        Scalar& theta = params[l].flat(i);
        const Scalar saved = theta;
        theta = static_cast<Scalar>(saved + kStep);
        const double up = cost();
        theta = static_cast<Scalar>(saved - kStep);
        const double down = cost();
        theta = saved;
        const double numeric = (up - down) / (2 * kStep);
        const double analytic = grads[l].flat(i);
        const double err = std::abs(analytic - numeric) / std::max(1.0, std::abs(numeric));
        result.largest_grad = std::max(result.largest_grad, std::abs(numeric));
        if (err > result.worst_error) {
          result.worst_error = err;
          result.worst_where = std::string(what) + "[" + std::to_string(l) + "] entry " +
                               std::to_string(i) + ": analytic " + std::to_string(analytic) +
                               " numeric " + std::to_string(numeric);
        }
      }
    }
  };
  check_all(probe.weights, g.weights, "W");
  check_all(probe.biases, g.biases, "b");
  return result;
}

const char* kind_name(OutputKind kind) {
  switch (kind) {
    case OutputKind::sigmoid_quadratic:
      return "sigmoid_quadratic";
    case OutputKind::sigmoid_cross_entropy:
      return "sigmoid_cross_entropy";
    case OutputKind::softmax_log_likelihood:
      return "softmax_log_likelihood";
  }
  return "?";
}

const OutputKind kAllKinds[] = {OutputKind::sigmoid_quadratic, OutputKind::sigmoid_cross_entropy,
                                OutputKind::softmax_log_likelihood};

}  // namespace

TEST_CASE("book backprop matches central finite differences", "[book]") {
  const std::vector<std::vector<std::size_t>> all_sizes = {{4, 3, 2}, {5, 4, 3, 3}, {3, 4}};
  xg::Rng rng(2024);
  for (OutputKind kind : kAllKinds) {
    for (const auto& sizes : all_sizes) {
      for (std::size_t m : {std::size_t(1), std::size_t(5)}) {
        for (double lambda : {0.0, 0.7}) {
          const std::size_t n = 13;  // training-set size for the L2 term
          Network net = random_network(sizes, rng);
          Array X = rng.uniform_array({m, sizes.front()}, -1.0, 1.0);
          Array Y = random_targets(kind, m, sizes.back(), rng);
          Gradients g = backprop(net, X, Y, kind, lambda, n);
          Comparison c = compare_with_finite_differences(net, X, Y, kind, lambda, n, g);
          INFO(kind_name(kind) << " layers " << sizes.size() << " m " << m << " lambda " << lambda
                               << " worst at " << c.worst_where);
          CHECK(std::isfinite(g.cost));
          CHECK(c.largest_grad > 1e-3);
          CHECK(c.worst_error < kTolerance);
        }
      }
    }
  }
}

TEST_CASE("the finite-difference comparison catches wrong gradients", "[book]") {
  xg::Rng rng(7);
  Network net = random_network({4, 3, 2}, rng);
  Array X = rng.uniform_array({5, 4}, -1.0, 1.0);
  Array Y = random_targets(OutputKind::sigmoid_cross_entropy, 5, 2, rng);
  const OutputKind kind = OutputKind::sigmoid_cross_entropy;
  Gradients g = backprop(net, X, Y, kind, 0.5, 10);
  REQUIRE(compare_with_finite_differences(net, X, Y, kind, 0.5, 10, g).worst_error < kTolerance);

  SECTION("one perturbed weight entry") {
    g.weights[0](1, 2) += kWrong;
    CHECK(compare_with_finite_differences(net, X, Y, kind, 0.5, 10, g).worst_error > kTolerance);
  }
  SECTION("one perturbed bias entry") {
    g.biases[1](0) -= kWrong;
    CHECK(compare_with_finite_differences(net, X, Y, kind, 0.5, 10, g).worst_error > kTolerance);
  }
  SECTION("L2 term forgotten in the gradient") {
    Gradients plain = backprop(net, X, Y, kind, 0.0, 10);
    CHECK(compare_with_finite_differences(net, X, Y, kind, 0.5, 10, plain).worst_error >
          kTolerance);
  }
  SECTION("cross-entropy's δ^L = a − y used with the quadratic cost (σ' dropped)") {
    Gradients ce = backprop(net, X, Y, OutputKind::sigmoid_cross_entropy);
    CHECK(compare_with_finite_differences(net, X, Y, OutputKind::sigmoid_quadratic, 0.0, 1, ce)
              .worst_error > kTolerance);
  }
}

TEST_CASE("book backprop's output error follows the book's special cases", "[book]") {
  // With a single layer, ∂C/∂b = mean over rows of δ^L and ∂C/∂W = (δ^L)ᵀ X / m, so the
  // gradients expose δ^L directly.
  xg::Rng rng(11);
  const std::size_t m = 4;
  Network net = random_network({3, 5}, rng);
  Array X = rng.uniform_array({m, 3}, -1.0, 1.0);
  const double tol = kDouble ? 1e-12 : 1e-5;

  auto expect_delta = [&](OutputKind kind, const Array& Y, const Array& delta) {
    Gradients g = backprop(net, X, Y, kind);
    Array db = xt::mean(delta, {0});
    Array dW = xt::zeros<Scalar>(Shape{5, 3});
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t j = 0; j < 5; ++j)
        for (std::size_t k = 0; k < 3; ++k) dW(j, k) += delta(i, j) * X(i, k) / Scalar(m);
    CHECK(xt::allclose(g.biases[0], db, 0.0, tol));
    CHECK(xt::allclose(g.weights[0], dW, 0.0, tol));
  };

  SECTION("sigmoid + cross-entropy: δ^L = a − y") {
    Array Y = rng.uniform_array({m, 5});
    Array a = feedforward(net, X, OutputKind::sigmoid_cross_entropy);
    expect_delta(OutputKind::sigmoid_cross_entropy, Y, Array(a - Y));
  }
  SECTION("softmax + log-likelihood, one-hot y: δ^L = a − y") {
    Array Y = random_targets(OutputKind::softmax_log_likelihood, m, 5, rng);
    Array a = feedforward(net, X, OutputKind::softmax_log_likelihood);
    expect_delta(OutputKind::softmax_log_likelihood, Y, Array(a - Y));
  }
  SECTION("sigmoid + quadratic: δ^L = (a − y) ⊙ σ'(z)") {
    Array Y = rng.uniform_array({m, 5});
    Array a = feedforward(net, X, OutputKind::sigmoid_quadratic);
    expect_delta(OutputKind::sigmoid_quadratic, Y, Array((a - Y) * a * (1.0 - a)));
  }
}

TEST_CASE("book feedforward computes the sigmoid and softmax outputs", "[book]") {
  Network net;
  net.weights.push_back(Array{{1.0, -2.0}, {0.5, 0.0}, {0.0, 0.0}});
  net.biases.push_back(Array{0.0, 1.0, -1.0});
  Array X{{1.0, 1.0}, {0.0, 2.0}};
  // z row 0 = (−1, 1.5, −1), row 1 = (−4, 1, −1)
  Array z{{-1.0, 1.5, -1.0}, {-4.0, 1.0, -1.0}};
  Array sig = feedforward(net, X, OutputKind::sigmoid_quadratic);
  CHECK(xt::allclose(sig, Array(1.0 / (1.0 + xt::exp(-z)))));
  CHECK(xt::allclose(feedforward(net, X, OutputKind::sigmoid_cross_entropy), sig));
  Array soft = feedforward(net, X, OutputKind::softmax_log_likelihood);
  Array e = xt::exp(z);
  Array expected = e / xt::view(xt::sum(e, {1}), xt::all(), xt::newaxis());
  CHECK(xt::allclose(soft, expected));
}

TEST_CASE("book backprop costs match their definitions and stay finite", "[book]") {
  Network net;
  net.weights.push_back(Array{{0.2, -0.4}, {0.1, 0.3}});
  net.biases.push_back(Array{0.1, -0.2});
  Array X{{1.0, 0.5}, {-0.5, 2.0}};
  Array Y{{1.0, 0.0}, {0.25, 0.75}};
  Array a = feedforward(net, X, OutputKind::sigmoid_quadratic);
  const double tol = kDouble ? 1e-12 : 1e-5;

  SECTION("quadratic: mean of ½‖a − y‖²") {
    const double expected = 0.5 * static_cast<double>(xt::sum((a - Y) * (a - Y))()) / 2;
    CHECK(backprop(net, X, Y, OutputKind::sigmoid_quadratic).cost == Approx(expected).epsilon(tol));
  }
  SECTION("cross-entropy: mean of −Σ [y ln a + (1 − y) ln(1 − a)]") {
    double expected = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
      expected -= Y.flat(i) * std::log(a.flat(i)) + (1 - Y.flat(i)) * std::log(1 - a.flat(i));
    expected /= 2;
    CHECK(backprop(net, X, Y, OutputKind::sigmoid_cross_entropy).cost ==
          Approx(expected).epsilon(tol));
  }
  SECTION("log-likelihood: mean of −ln a_y for one-hot y") {
    Array onehot{{0.0, 1.0}, {1.0, 0.0}};
    Array s = feedforward(net, X, OutputKind::softmax_log_likelihood);
    const double expected = -(std::log(s(0, 1)) + std::log(s(1, 0))) / 2;
    CHECK(backprop(net, X, onehot, OutputKind::softmax_log_likelihood).cost ==
          Approx(expected).epsilon(tol));
  }
  SECTION("L2 adds (λ/2n) Σ w² to the cost and (λ/n) W to the weight gradient only") {
    const double lambda = 3.0;
    const std::size_t n = 6;
    Gradients plain = backprop(net, X, Y, OutputKind::sigmoid_cross_entropy);
    Gradients reg = backprop(net, X, Y, OutputKind::sigmoid_cross_entropy, lambda, n);
    const double sum_sq = static_cast<double>(xt::sum(net.weights[0] * net.weights[0])());
    CHECK(reg.cost - plain.cost == Approx(lambda / (2.0 * n) * sum_sq).epsilon(1e-6));
    CHECK(xt::allclose(reg.weights[0] - plain.weights[0], Array(lambda / n * net.weights[0])));
    CHECK((reg.biases[0] == plain.biases[0]));
  }
  SECTION("saturated outputs: finite cost, exact-match zero, mismatch grows with z") {
    Network sat;
    sat.weights.push_back(xt::zeros<Scalar>(Shape{2, 2}));
    sat.biases.push_back(Array{800.0, -800.0});  // σ rounds to exactly 1 and 0
    Array matching{{1.0, 0.0}, {1.0, 0.0}};
    Array wrong{{0.0, 1.0}, {0.0, 1.0}};
    Array out = feedforward(sat, X, OutputKind::sigmoid_cross_entropy);
    REQUIRE(out(0, 0) == 1.0);
    REQUIRE(out(0, 1) == 0.0);
    Gradients good = backprop(sat, X, matching, OutputKind::sigmoid_cross_entropy);
    CHECK(good.cost == Approx(0.0).margin(1e-12));
    Gradients bad = backprop(sat, X, wrong, OutputKind::sigmoid_cross_entropy);
    CHECK(std::isfinite(bad.cost));
    CHECK(bad.cost == Approx(1600.0).epsilon(1e-6));  // softplus(800) + softplus(800) per row
    CHECK(xt::all(xt::isfinite(bad.biases[0])));

    Gradients soft = backprop(sat, X, wrong, OutputKind::softmax_log_likelihood);
    CHECK(soft.cost == Approx(1600.0).epsilon(1e-6));  // −ln a_2 = 800 − (−800)
    CHECK(xt::all(xt::isfinite(soft.weights[0])));
  }
}

TEST_CASE("book backprop rejects shapes that do not chain", "[book]") {
  xg::Rng rng(3);
  Network net = random_network({4, 3, 2}, rng);
  Array X = rng.uniform_array({5, 4});
  Array Y = rng.uniform_array({5, 2});
  const OutputKind kind = OutputKind::sigmoid_quadratic;

  auto message_of = [&](const Network& bad, const Array& x, const Array& y) -> std::string {
    try {
      backprop(bad, x, y, kind);
    } catch (const xg::shape_error& e) {
      return e.what();
    }
    return "no shape_error thrown";
  };

  SECTION("second weight matrix has the wrong fan-in") {
    Network bad = net;
    bad.weights[1] = xt::zeros<Scalar>(Shape{2, 4});
    const std::string msg = message_of(bad, X, Y);
    CHECK_THAT(msg, Catch::Contains("layer 2") && Catch::Contains("(2, 4)"));
  }
  SECTION("bias length differs from the weight's rows") {
    Network bad = net;
    bad.biases[0] = xt::zeros<Scalar>(Shape{4});
    const std::string msg = message_of(bad, X, Y);
    CHECK_THAT(msg, Catch::Contains("layer 1") && Catch::Contains("(4,)"));
  }
  SECTION("X with the wrong number of columns") {
    const std::string msg = message_of(net, rng.uniform_array({5, 3}), Y);
    CHECK_THAT(
        msg, Catch::Contains("layer 1") && Catch::Contains("(5, 3)") && Catch::Contains("(3, 4)"));
  }
  SECTION("Y with the wrong shape") {
    const std::string msg = message_of(net, X, rng.uniform_array({5, 3}));
    CHECK_THAT(msg, Catch::Contains("Y") && Catch::Contains("(5, 3)") && Catch::Contains("(5, 2)"));
  }
  SECTION("1-D X, empty network, mismatched list lengths") {
    CHECK_THROWS_AS(backprop(net, Array{1.0, 2.0, 3.0, 4.0}, Y, kind), xg::shape_error);
    CHECK_THROWS_AS(backprop(Network{}, X, Y, kind), xg::shape_error);
    Network bad = net;
    bad.biases.pop_back();
    CHECK_THROWS_AS(backprop(bad, X, Y, kind), xg::shape_error);
    CHECK_THROWS_AS(feedforward(bad, X, kind), xg::shape_error);
  }
  SECTION("bad L2 arguments are value errors") {
    CHECK_THROWS_AS(backprop(net, X, Y, kind, -1.0, 10), xg::value_error);
    CHECK_THROWS_AS(backprop(net, X, Y, kind, 1.0, 0), xg::value_error);
  }
}
