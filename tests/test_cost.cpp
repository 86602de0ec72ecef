// Costs and regularisation terms: hand-computed values, gradchecks, the
// logits path (δ^L = a − y) and its exactness at saturated outputs, errors.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <xtensor/xmath.hpp>

#include "compare.hpp"
#include "precision.hpp"
#include "xgrad/cost.hpp"
#include "xgrad/gradcheck.hpp"
#include "xgrad/nn/activation.hpp"
#include "xgrad/nn/linear.hpp"
#include "xgrad/nn/sequential.hpp"
#include "xgrad/nn/softmax.hpp"
#include "xgrad/ops.hpp"

using namespace xg;
using Ins = const std::vector<Tensor>&;
using Catch::Contains;
using xg_test::tol;

using xg_test::same_bits;

namespace {

Tensor leaf(Array v) { return Tensor(std::move(v), true); }

/// Every element finite.
bool all_finite(const Array& a) {
  for (Scalar v : a)
    if (!std::isfinite(v)) return false;
  return true;
}

/// The gradient of cost(in[0], in[1]) with respect to in[0].
Array grad_of(const std::function<Tensor(const Tensor&, const Tensor&)>& cost, Tensor x,
              const Tensor& y) {
  x.zero_grad();
  cost(x, y).backward();
  return x.grad();
}

bool close(const Array& a, const Array& b, double atol = 1e-12) {
  return a.shape() == b.shape() && xt::allclose(a, b, 0.0, atol);
}

}  // namespace

// ---------------------------------------------------------------- values

TEST_CASE("quadratic cost is the batch mean of ½‖a − y‖²", "[cost]") {
  Tensor a{{0.5, 0.2}, {0.1, 0.9}};
  Tensor y{{1.0, 0.0}, {0.0, 1.0}};
  // rows: ½(0.25 + 0.04) = 0.145 and ½(0.01 + 0.01) = 0.01; mean 0.0775
  CHECK(quadratic_cost(a, y).item() == Approx(0.0775).epsilon(tol(1e-14)));
  // A batch of two copies of one row costs what the row costs: a mean, not a sum.
  Tensor row{{0.5, 0.2}};
  Tensor twice{{0.5, 0.2}, {0.5, 0.2}};
  Tensor t1{{1.0, 0.0}}, t2{{1.0, 0.0}, {1.0, 0.0}};
  CHECK(quadratic_cost(twice, t2).item() == Approx(quadratic_cost(row, t1).item()));
  // A vector is one sample (m = 1): the sum, not a mean over elements.
  CHECK(quadratic_cost(Tensor{0.5, 0.2}, Tensor{1.0, 0.0}).item() == Approx(0.145));
  // Zero at a = y, with a zero (not NaN) gradient: a sum of squares, no norm.
  Tensor same = leaf(Array{{0.3, 0.7}});
  Tensor c = quadratic_cost(same, Tensor{{0.3, 0.7}});
  CHECK(c.item() == 0.0);
  c.backward();
  CHECK(xt::all(xt::equal(same.grad(), Scalar(0))));
}

TEST_CASE("cross-entropy, log-likelihood and MAE match hand-computed values", "[cost]") {
  Tensor a{{0.8, 0.3}, {0.6, 0.9}};
  Tensor y{{1.0, 0.0}, {0.0, 1.0}};
  // row 1: −ln 0.8 − ln 0.7; row 2: −ln 0.4 − ln 0.9
  const double ce = (-std::log(0.8) - std::log(0.7) - std::log(0.4) - std::log(0.9)) / 2;
  CHECK(cross_entropy_cost(a, y).item() == Approx(ce).epsilon(tol(1e-14)));
  // Fractional targets use both terms: −[0.25 ln 0.8 + 0.75 ln 0.2].
  CHECK(cross_entropy_cost(Tensor{0.8}, Tensor{0.25}).item() ==
        Approx(-(0.25 * std::log(0.8) + 0.75 * std::log(0.2))));

  Tensor p{{0.7, 0.2, 0.1}, {0.1, 0.1, 0.8}};
  Tensor onehot{{1.0, 0.0, 0.0}, {0.0, 0.0, 1.0}};
  CHECK(log_likelihood_cost(p, onehot).item() ==
        Approx((-std::log(0.7) - std::log(0.8)) / 2).epsilon(tol(1e-14)));

  // |a − y| = 0.2, 0.3, 0.6, 0.1: mean over all four elements = 0.3
  CHECK(mean_absolute_error(a, y).item() == Approx(0.3).epsilon(tol(1e-14)));

  // σ(0) = ½ so each element costs ln 2; two elements per row, one row.
  CHECK(binary_cross_entropy_with_logits(Tensor{{0.0, 0.0}}, Tensor{{1.0, 0.0}}).item() ==
        Approx(2 * std::log(2.0)));
  // softmax of equal logits is uniform: −ln(1/3) = ln 3 per row.
  CHECK(nll_from_logits(Tensor{{0.0, 0.0, 0.0}, {5.0, 5.0, 5.0}}, std::vector<std::size_t>{0, 2})
            .item() == Approx(std::log(3.0)));
  // From logits equals from probabilities.
  Tensor z{{0.3, -1.2}, {2.0, 0.1}};
  const Array s = 1.0 / (1.0 + xt::exp(-z.value()));
  CHECK(binary_cross_entropy_with_logits(z, y).item() ==
        Approx(cross_entropy_cost(Tensor(s), y).item()).epsilon(tol(1e-12)));
}

// ---------------------------------------------------------------- gradients

TEST_CASE("every cost passes gradcheck in both its inputs", "[cost]") {
  Rng rng(7);
  auto probs = [&](const Shape& s) { return Tensor::rand(s, rng, 0.1, 0.9, true); };
  auto any = [&](const Shape& s) { return Tensor::rand(s, rng, -2.0, 2.0, true); };
  const Shape s{4, 3};

  CHECK(gradcheck([](Ins in) { return quadratic_cost(in[0], in[1]); }, {any(s), any(s)}));
  CHECK(gradcheck([](Ins in) { return cross_entropy_cost(in[0], in[1]); }, {probs(s), probs(s)}));
  CHECK(gradcheck([](Ins in) { return log_likelihood_cost(in[0], in[1]); }, {probs(s), probs(s)}));
  CHECK(gradcheck([](Ins in) { return binary_cross_entropy_with_logits(in[0], in[1]); },
                  {any(s), probs(s)}));
  CHECK(gradcheck([](Ins in) { return nll_from_logits(in[0], in[1]); }, {any(s), probs(s)}));
  CHECK(gradcheck([](Ins in) { return sigmoid_quadratic_cost(in[0], in[1]); }, {any(s), probs(s)}));
  // |a − y| away from its kink at 0.
  Tensor a = leaf(Array{{0.5, -1.0, 2.0}, {0.0, 1.5, -0.3}});
  Tensor y = leaf(Array{{0.1, -0.2, 1.0}, {0.4, 2.5, 0.6}});
  CHECK(gradcheck([](Ins in) { return mean_absolute_error(in[0], in[1]); }, {a, y}));
  // Through the logits paths, with a produced by sigmoid / softmax.
  CHECK(gradcheck([](Ins in) { return cross_entropy_cost(sigmoid(in[0]), in[1]); },
                  {any(s), probs(s)}));
  CHECK(gradcheck([](Ins in) { return log_likelihood_cost(softmax(in[0]), in[1]); },
                  {any(s), probs(s)}));
  // Through quadratic cost after a sigmoid: BP1's δ^L = (a − y) ⊙ σ'(z).
  CHECK(
      gradcheck([](Ins in) { return quadratic_cost(sigmoid(in[0]), in[1]); }, {any(s), probs(s)}));
}

TEST_CASE("cross-entropy at a sigmoid output gives δ^L = a − y, from the logits", "[cost]") {
  Tensor z = leaf(Array{{0.5, -1.5, 3.0}, {-0.2, 0.0, 1.0}});
  Tensor y{{1.0, 0.0, 1.0}, {0.0, 1.0, 0.0}};
  Tensor a = sigmoid(z);
  Tensor c = sigmoid_cross_entropy(z, y);
  // The cost is recorded on z itself, so no σ' factor enters the gradient.
  REQUIRE(c.node() != nullptr);
  REQUIRE(c.node()->inputs.size() == 2);
  CHECK(c.node()->inputs[0].get() == z.node());
  CHECK(c.item() == Approx(cross_entropy_cost(a, y).item()).epsilon(tol(1e-14)));
  c.backward();
  const Array delta = (a.value() - y.value()) / 2.0;  // m = 2
  CHECK(close(z.grad(), delta, tol(1e-15)));

  // Softmax output with log-likelihood: also a − y.
  Tensor z2 = leaf(Array{{0.5, -1.5, 3.0}, {-0.2, 0.0, 1.0}});
  Tensor a2 = softmax(z2);
  Tensor onehot{{0.0, 0.0, 1.0}, {0.0, 1.0, 0.0}};
  Tensor c3 = softmax_log_likelihood(z2, onehot);
  CHECK(c3.node()->inputs[0].get() == z2.node());
  CHECK(c3.item() == Approx(log_likelihood_cost(a2, onehot).item()).epsilon(tol(1e-14)));
  c3.backward();
  CHECK(close(z2.grad(), (a2.value() - onehot.value()) / 2.0, tol(1e-15)));
}

TEST_CASE("cross-entropy is finite and exact at saturated outputs", "[cost]") {
  SECTION("logits ±1000 through sigmoid, targets matching") {
    Tensor z = leaf(Array{{1000.0, -1000.0}});
    Tensor y{{1.0, 0.0}};
    Tensor a = sigmoid(z);
    REQUIRE(a.value()(0, 0) == 1.0);  // σ saturated to exactly 1 and 0
    REQUIRE(a.value()(0, 1) == 0.0);
    Tensor c = cross_entropy_cost(a, y);
    CHECK(c.item() == 0.0);
    c.backward();
    CHECK(z.grad()(0, 0) == 0.0);
    CHECK(z.grad()(0, 1) == 0.0);
  }
  SECTION("logits ±1000, targets wrong: the exact cost on logits, 1000 each") {
    Tensor z = leaf(Array{{1000.0, -1000.0}});
    Tensor y{{0.0, 1.0}};
    Tensor c = sigmoid_cross_entropy(z, y);
    CHECK(c.item() == Approx(2000.0).epsilon(1e-15));
    c.backward();
    CHECK(z.grad()(0, 0) == 1.0);  // σ(z) − y
    CHECK(z.grad()(0, 1) == -1.0);
    CHECK(binary_cross_entropy_with_logits(Tensor{{1000.0, -1000.0}}, y).item() == Approx(2000.0));
  }
  SECTION("a given as exact 0 and 1 (no graph): 0·ln 0 = 0 in value and gradient") {
    Tensor a = leaf(Array{{1.0, 0.0}, {0.0, 1.0}});
    Tensor y{{1.0, 0.0}, {0.0, 1.0}};
    Tensor c = cross_entropy_cost(a, y);
    CHECK(c.item() == 0.0);
    c.backward();
    // d/da[−ln a] at a = 1 is −1; d/da[−ln(1 − a)] at a = 0 is +1; m = 2.
    CHECK(close(a.grad(), Array{{-0.5, 0.5}, {0.5, -0.5}}, 0.0));
  }
  SECTION("wrong saturated a without logits: clamped, finite") {
    Tensor a = leaf(Array{{0.0, 1.0}});
    Tensor c = cross_entropy_cost(a, Tensor{{1.0, 0.0}});
    CHECK(std::isfinite(c.item()));
    // ln clamped at −100 per element; in float at ln of the smallest normal, −87.3.
    const double clamped_ln =
        std::max(-100.0, std::log(double{std::numeric_limits<Scalar>::min()}));
    CHECK(c.item() == Approx(-2.0 * clamped_ln));
    c.backward();
    CHECK(all_finite(a.grad()));
    CHECK(a.grad()(0, 0) < 0);
    CHECK(a.grad()(0, 1) > 0);
  }
  SECTION("no-grad mode: a has no graph, the clamped formula is used") {
    NoGradGuard guard;
    Tensor a = sigmoid(Tensor{{1000.0, -1000.0}});
    CHECK(cross_entropy_cost(a, Tensor{{1.0, 0.0}}).item() == 0.0);
  }
  SECTION("on probabilities the logarithm is clamped: no rewiring through the graph") {
    Tensor z = leaf(Array{{1000.0, -1000.0}});
    Tensor c = cross_entropy_cost(sigmoid(z), Tensor{{0.0, 1.0}});
    // Two clamped logs: of e^−100, or of float's smallest normal in the float build.
    const double floor = std::max(std::exp(-100.0), double(std::numeric_limits<Scalar>::min()));
    CHECK(c.item() == Approx(-2 * std::log(floor)).epsilon(tol(1e-12)));
    c.backward();
    CHECK(all_finite(z.grad()));
  }
  SECTION("log-likelihood at softmax logits ±1000") {
    Tensor z = leaf(Array{{1000.0, 0.0, -1000.0}});
    Tensor c = softmax_log_likelihood(z, Tensor{{0.0, 0.0, 1.0}});
    CHECK(c.item() == Approx(2000.0).epsilon(1e-15));
    c.backward();
    CHECK(close(z.grad(), Array{{1.0, 0.0, -1.0}}, 0.0));
    Tensor z2 = leaf(Array{{1000.0, 0.0, -1000.0}});
    Tensor c2 = softmax_log_likelihood(z2, std::vector<std::size_t>{0});
    CHECK(c2.item() == 0.0);
    c2.backward();
    CHECK(all_finite(z2.grad()));
    CHECK(xt::amax(xt::abs(z2.grad()))() == 0.0);
  }
}

TEST_CASE("log-likelihood with integer labels equals the one-hot form", "[cost]") {
  Rng rng(3);
  const Array p0 = rng.uniform_array({4, 5}, 0.05, 1.0);
  const std::vector<std::size_t> labels{3, 0, 4, 1};
  Array onehot = xt::zeros<Scalar>({4, 5});
  for (std::size_t i = 0; i < labels.size(); ++i) onehot(i, labels[i]) = 1;

  auto by_labels = [&](const Tensor& a, const Tensor&) { return log_likelihood_cost(a, labels); };
  auto by_onehot = [&](const Tensor& a, const Tensor& y) { return log_likelihood_cost(a, y); };
  Tensor y(onehot);
  CHECK(log_likelihood_cost(Tensor(p0), labels).item() ==
        Approx(log_likelihood_cost(Tensor(p0), y).item()).epsilon(1e-15));
  CHECK(close(grad_of(by_labels, leaf(p0), y), grad_of(by_onehot, leaf(p0), y), 0.0));
  // On the logits (softmax_log_likelihood) and its older name nll_from_logits too.
  auto sm_labels = [&](const Tensor& z, const Tensor&) {
    return softmax_log_likelihood(z, labels);
  };
  auto nll_labels = [&](const Tensor& z, const Tensor&) { return nll_from_logits(z, labels); };
  const Array e = xt::exp(p0);
  const Array row_sums = xt::sum(e, {1}, xt::keep_dims | xt::evaluation_strategy::immediate);
  const Array softmax_p0 = e / row_sums;
  CHECK(close(grad_of(sm_labels, leaf(p0), y), (softmax_p0 - onehot) / 4.0, tol(1e-14)));
  CHECK(close(grad_of(nll_labels, leaf(p0), y), grad_of(sm_labels, leaf(p0), y), 1e-15));
}

// ---------------------------------------------------------------- errors

TEST_CASE("costs reject mismatched shapes, bad labels and empty batches", "[cost]") {
  Tensor a = Tensor::zeros({2, 3});
  Tensor y = Tensor::zeros({2, 2});
  CHECK_THROWS_AS(quadratic_cost(a, y), shape_error);
  CHECK_THROWS_WITH(cross_entropy_cost(a, y),
                    Contains("cross_entropy_cost") && Contains("(2, 3)") && Contains("(2, 2)"));
  CHECK_THROWS_WITH(log_likelihood_cost(a, y), Contains("log_likelihood_cost"));
  CHECK_THROWS_WITH(mean_absolute_error(a, y), Contains("mean_absolute_error"));
  CHECK_THROWS_WITH(nll_from_logits(a, y), Contains("nll_from_logits"));
  CHECK_THROWS_WITH(binary_cross_entropy_with_logits(a, y),
                    Contains("binary_cross_entropy_with_logits"));
  // No broadcasting, even where it would be possible.
  CHECK_THROWS_AS(quadratic_cost(Tensor::zeros({2, 3}), Tensor::zeros({3})), shape_error);

  const std::vector<std::size_t> bad{1, 3};
  CHECK_THROWS_AS(log_likelihood_cost(a, bad), value_error);
  CHECK_THROWS_WITH(log_likelihood_cost(a, bad),
                    Contains("index 1") && Contains("is 3") && Contains("3 classes"));
  CHECK_THROWS_AS(nll_from_logits(a, bad), value_error);
  CHECK_THROWS_AS(log_likelihood_cost(a, std::vector<std::size_t>{0}), shape_error);
  CHECK_THROWS_AS(log_likelihood_cost(Tensor::zeros({6}), std::vector<std::size_t>{0}),
                  shape_error);

  CHECK_THROWS_AS(quadratic_cost(Tensor::zeros({0, 3}), Tensor::zeros({0, 3})), value_error);
  CHECK_THROWS_WITH(cross_entropy_cost(Tensor::zeros({0, 3}), Tensor::zeros({0, 3})),
                    Contains("empty"));
  CHECK_THROWS_AS(quadratic_cost(Tensor(), y), value_error);
}

// ---------------------------------------------------------------- regularisation

TEST_CASE("L2 and L1 penalties: values, gradients, validation", "[cost]") {
  Tensor w1 = leaf(Array{{1.0, -2.0}, {3.0, 0.5}});
  Tensor w2 = leaf(Array{-1.0});
  const double lambda = 0.5;
  const std::size_t n = 10;
  // Σw² = 1 + 4 + 9 + 0.25 + 1 = 15.25;  (λ/2n)·15.25 = 0.025 · 15.25
  Tensor l2 = l2_penalty({w1, w2}, lambda, n);
  CHECK(l2.item() == Approx(0.38125).epsilon(tol(1e-14)));
  l2.backward();
  CHECK(close(w1.grad(), 0.05 * w1.value(), 1e-15));  // (λ/n)·w
  CHECK(close(w2.grad(), Array{-0.05}, 1e-15));

  w1.zero_grad();
  w2.zero_grad();
  // Σ|w| = 7.5;  (λ/n)·7.5 = 0.375
  Tensor l1 = l1_penalty({w1, w2}, lambda, n);
  CHECK(l1.item() == Approx(0.375).epsilon(1e-14));
  l1.backward();
  CHECK(close(w1.grad(), Array{{0.05, -0.05}, {0.05, 0.05}}, 1e-15));  // (λ/n)·sgn(w)
  CHECK(close(w2.grad(), Array{-0.05}, 1e-15));

  CHECK(gradcheck([&](Ins in) { return l2_penalty({in[0], in[1]}, 0.7, 3); }, {w1, w2}));
  CHECK(gradcheck([&](Ins in) { return l1_penalty({in[0], in[1]}, 0.7, 3); }, {w1, w2}));
  // Added to a cost, the usual way (the penalty does not depend on the batch size).
  CHECK(gradcheck(
      [&](Ins in) {
        return quadratic_cost(in[0], Tensor{{0.0, 1.0}}) + l2_penalty({in[0]}, 2.0, 5);
      },
      {leaf(Array{{0.3, -0.4}})}));

  CHECK(l2_penalty({}, 1.0, 1).item() == 0.0);
  CHECK_THROWS_AS(l2_penalty({w1}, -0.1, 10), value_error);
  CHECK_THROWS_AS(l1_penalty({w1}, std::nan(""), 10), value_error);
  CHECK_THROWS_WITH(l2_penalty({w1}, 0.1, 0), Contains("l2_penalty") && Contains("n"));
}

// ---------------------------------------------------------------- by name

TEST_CASE("make_cost builds each cost by name", "[cost]") {
  Tensor a{{0.8, 0.3}, {0.6, 0.9}};
  Tensor y{{1.0, 0.0}, {0.0, 1.0}};
  for (const std::string& name : cost_names()) {
    auto cost = make_cost(name);
    CHECK(cost->name() == name);
  }
  CHECK(cost_names().size() == 4);
  CHECK((*make_cost("quadratic"))(a, y).item() == quadratic_cost(a, y).item());
  CHECK((*make_cost("cross-entropy"))(a, y).item() == cross_entropy_cost(a, y).item());
  CHECK((*make_cost("log-likelihood"))(a, y).item() == log_likelihood_cost(a, y).item());
  CHECK((*make_cost("mae"))(a, y).item() == mean_absolute_error(a, y).item());
  CHECK_THROWS_AS(make_cost("hinge"), value_error);
  CHECK_THROWS_WITH(make_cost("hinge"), Contains("'hinge'") && Contains("quadratic") &&
                                            Contains("cross-entropy") && Contains("mae"));
}

// ---------------------------------------------------------------- quadratic on logits

TEST_CASE("sigmoid_quadratic_cost is quadratic_cost(sigmoid(z), y) bit for bit", "[cost]") {
  Rng rng(21);
  for (const Shape& s : {Shape{7}, Shape{1, 10}, Shape{10, 10}, Shape{33, 3}}) {
    Array zv = rng.normal_array(s, 0.0, 3.0);
    zv.data()[0] = 40;  // a saturated output: a rounds to 1 (float) and σ′ underflows
    if (zv.size() > 1) zv.data()[1] = -40;
    if (zv.size() > 2) zv.data()[2] = 0;
    const Array yv = rng.uniform_array(s, 0.0, 1.0);
    Tensor z1(zv, true), y1(yv, true), z2(zv, true), y2(yv, true);
    const Tensor fused = sigmoid_quadratic_cost(z1, y1);
    const Tensor plain = quadratic_cost(sigmoid(z2), y2);
    CHECK(std::string(fused.op()) == "sigmoid_quadratic_cost");
    CHECK(same_bits(fused.value(), plain.value()));
    fused.backward();
    plain.backward();
    CHECK(same_bits(z1.grad(), z2.grad()));
    CHECK(same_bits(y1.grad(), y2.grad()));
  }
  // Either input alone.
  Tensor z = Tensor::randn({4, 3}, rng, 0.0, 2.0, true);
  Tensor y(rng.uniform_array({4, 3}, 0.0, 1.0));
  sigmoid_quadratic_cost(z, y).backward();
  const Array dz = z.grad();
  z.zero_grad();
  quadratic_cost(sigmoid(z), y).backward();
  CHECK(same_bits(dz, z.grad()));
  Tensor y3(y.value(), true);
  sigmoid_quadratic_cost(Tensor(z.value()), y3).backward();
  CHECK(close(y3.grad(), -(sigmoid(Tensor(z.value())).value() - y.value()) / 4.0, tol(1e-15)));
}

TEST_CASE("sigmoid_quadratic_cost: second derivatives equal the two-op form", "[cost]") {
  Rng rng(22);
  const Array zv = rng.normal_array({3, 4}, 0.0, 1.5), yv = rng.uniform_array({3, 4}, 0.0, 1.0);
  const Array v = rng.normal_array({3, 4}, 0.0, 1.0);
  auto hvp = [&](bool fused) {
    Tensor z(zv, true);
    const Tensor y(yv);
    const Tensor c = fused ? sigmoid_quadratic_cost(z, y) : quadratic_cost(sigmoid(z), y);
    GradOptions o;
    o.create_graph = true;
    const Tensor g = grad(c, z, o);
    return grad(sum(g * Tensor(v)), z).value();
  };
  const Array fused = hvp(true), plain = hvp(false);
  CHECK(close(fused, plain, tol(1e-15)));
  CHECK(xt::amax(xt::abs(fused))() > 1e-3);  // not a silent zero
}

TEST_CASE("the quadratic cost fuses with a final sigmoid in cost_on_model, same bits", "[cost]") {
  const auto cost = make_cost("quadratic");
  CHECK(cost->fused_activation() == "sigmoid");
  Rng init(5), init2(5), data(6);
  auto net = [](Rng& rng) {
    auto seq = std::make_shared<nn::Sequential>();
    seq->add(std::make_shared<nn::Linear>(6, 5, rng));
    seq->add(std::make_shared<nn::Sigmoid>());
    seq->add(std::make_shared<nn::Linear>(5, 3, rng));
    seq->add(std::make_shared<nn::Sigmoid>());
    return seq;
  };
  auto fused_net = net(init), plain_net = net(init2);
  const Tensor x(data.normal_array({8, 6}, 0.0, 1.0)), y(data.uniform_array({8, 3}, 0.0, 1.0));
  const Tensor fused = cost_on_model(*cost, *fused_net, x, y);
  const Tensor plain = quadratic_cost((*plain_net)(x), y);
  CHECK(std::string(fused.op()) == "sigmoid_quadratic_cost");
  CHECK(same_bits(fused.value(), plain.value()));
  fused.backward();
  plain.backward();
  const auto pf = fused_net->parameters(), pp = plain_net->parameters();
  REQUIRE(pf.size() == pp.size());
  for (std::size_t i = 0; i < pf.size(); ++i) CHECK(same_bits(pf[i].grad(), pp[i].grad()));
  // Not ending in a sigmoid: the cost on outputs, as before.
  auto relu_net = std::make_shared<nn::Sequential>();
  relu_net->add(std::make_shared<nn::Linear>(6, 3, init));
  CHECK(std::string(cost_on_model(*cost, *relu_net, x, y).op()) == "quadratic_cost");
  // A subclass of Sequential is still one, and a lone sigmoid has the input
  // as its logits.
  struct MySequential : nn::Sequential {};
  MySequential mine;
  const auto template_net = net(init);
  for (std::size_t i = 0; i < template_net->size(); ++i) mine.add((*template_net)[i]);
  CHECK(std::string(cost_on_model(*cost, mine, x, y).op()) == "sigmoid_quadratic_cost");
  nn::Sequential lone;
  lone.add(std::make_shared<nn::Sigmoid>());
  const Tensor z(data.normal_array({8, 3}, 0.0, 1.0));
  CHECK(same_bits(cost_on_model(*cost, lone, z, y).value(), quadratic_cost(sigmoid(z), y).value()));
}

TEST_CASE("sigmoid_quadratic_cost refuses mismatched shapes by name", "[cost]") {
  CHECK_THROWS_AS(sigmoid_quadratic_cost(Tensor::zeros({2, 3}), Tensor::zeros({3, 2})),
                  shape_error);
  CHECK_THROWS_WITH(sigmoid_quadratic_cost(Tensor::zeros({2, 3}), Tensor::zeros({3, 2})),
                    Contains("sigmoid_quadratic_cost") && Contains("(2, 3)") && Contains("(3, 2)"));
}
