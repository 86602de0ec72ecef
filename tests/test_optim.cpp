// Update rules against steps computed by hand, regularisation on weights
// only, learning-rate changes, state round trips and validation; then every
// optimizer trains small real networks (XOR, two moons) to 100% accuracy.
#include <catch2/catch.hpp>
#include <cmath>
#include <xtensor/xmath.hpp>

#include "precision.hpp"
#include "xgrad/cost.hpp"
#include "xgrad/nn/sequential.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/optim.hpp"

using namespace xg;
using Catch::StartsWith;
using namespace xg::optim;
using Catch::Contains;
using xg_test::tol;

namespace {

const Array kW0{1.0, -2.0, 0.5};
const Array kG1{0.5, -1.0, 2.0};
const Array kG2{1.0, 1.0, -1.0};

/// Gives p the gradient g, as a backward pass would: d/dp Σ p ⊙ g = g.
void set_grad(Tensor& p, const Array& g) {
  p.zero_grad();
  sum(p * Tensor(g)).backward();
}

/// Runs `opt` on p with gradient g1, then g2, ... and returns p's value after each step.
std::vector<Array> run(Optimizer& opt, Tensor& p, const std::vector<Array>& grads) {
  std::vector<Array> out;
  for (const Array& g : grads) {
    set_grad(p, g);
    opt.step();
    out.push_back(p.value());
  }
  return out;
}

bool close(const Array& a, const Array& b, double atol = tol(1e-12)) {
  return a.shape() == b.shape() && xt::allclose(a, b, 0.0, atol);
}

Tensor param(const Array& v = kW0) { return Tensor(v, true); }

}  // namespace

// ---------------------------------------------------------------- update rules by hand

TEST_CASE("SGD: w ← w − ηg, the book's L2 and L1 forms", "[optim]") {
  SECTION("plain") {
    Tensor w = param();
    SGD opt({w}, 0.1);
    auto steps = run(opt, w, {kG1, kG1});
    CHECK(close(steps[0], Array{0.95, -1.9, 0.3}));
    CHECK(close(steps[1], Array{0.9, -1.8, 0.1}));
  }
  SECTION("L2: w ← (1 − ηλ/n)w − ηg") {
    Tensor w = param();
    SGD opt({w}, 0.1, Regularization{2.0, 0.0, 4, {w}});  // 1 − 0.1·2/4 = 0.95
    auto steps = run(opt, w, {kG1, kG1});
    CHECK(close(steps[0], Array{0.95 - 0.05, -1.9 + 0.1, 0.475 - 0.2}));
    CHECK(close(steps[1], Array{0.855 - 0.05, -1.71 + 0.1, 0.26125 - 0.2}));
  }
  SECTION("L1: w ← w − (ηλ/n)sgn(w) − ηg") {
    Tensor w = param();
    SGD opt({w}, 0.1, Regularization{0.0, 2.0, 4, {w}});  // ηλ/n = 0.05
    auto steps = run(opt, w, {kG1, kG1});
    CHECK(close(steps[0], Array{0.9, -1.85, 0.25}));
    CHECK(close(steps[1], Array{0.8, -1.7, 0.0}));
  }
  SECTION("L1 and L2 together") {
    Tensor w = param();
    SGD opt({w}, 0.1, Regularization{2.0, 2.0, 4, {w}});
    auto steps = run(opt, w, {kG1});
    CHECK(close(steps[0], Array{0.95 - 0.05 - 0.05, -1.9 + 0.05 + 0.1, 0.475 - 0.05 - 0.2}));
  }
}

TEST_CASE("Momentum: v ← μv − ηg, w ← w + v, and Nesterov looks ahead", "[optim]") {
  SECTION("the book's momentum") {
    Tensor w = param();
    Momentum opt({w}, 0.1, 0.9);
    auto steps = run(opt, w, {kG1, kG1});
    // v1 = −0.1·g = (−0.05, 0.1, −0.2)
    CHECK(close(steps[0], Array{0.95, -1.9, 0.3}));
    // v2 = 0.9·v1 − 0.1·g = (−0.095, 0.19, −0.38)
    CHECK(close(steps[1], Array{0.855, -1.71, -0.08}));
    CHECK(close(opt.state().at(0), Array{-0.095, 0.19, -0.38}));
  }
  SECTION("mu = 0 is plain SGD") {
    Tensor a = param(), b = param();
    Momentum m({a}, 0.1, 0.0);
    SGD s({b}, 0.1);
    auto sa = run(m, a, {kG1, kG2});
    auto sb = run(s, b, {kG1, kG2});
    CHECK(close(sa[1], sb[1], 0.0));
  }
  SECTION("Nesterov: w ← w + μv − ηg with the new v") {
    Tensor w = param();
    Momentum opt({w}, 0.1, 0.9, {}, /*nesterov=*/true);
    auto steps = run(opt, w, {kG1, kG1});
    // v1 = (−0.05, 0.1, −0.2); w1 = w0 + 0.9·v1 − 0.1·g
    CHECK(close(steps[0], Array{0.905, -1.81, 0.12}));
    // v2 = (−0.095, 0.19, −0.38); w2 = w1 + 0.9·v2 − 0.1·g
    CHECK(close(steps[1], Array{0.7695, -1.539, -0.422}));
    CHECK(opt.name() == "nesterov");
  }
  SECTION("L2 enters as a gradient term: v1 = −η(g + (λ/n)w)") {
    Tensor w = param();
    Momentum opt({w}, 0.1, 0.9, Regularization{2.0, 0.0, 4, {w}});
    auto steps = run(opt, w, {kG1});
    // g + 0.5·w = (1.0, −2.0, 2.25)
    CHECK(close(steps[0], Array{0.9, -1.8, 0.275}));
  }
}

TEST_CASE("Adam: bias-corrected moments, two steps by hand", "[optim]") {
  Tensor w = param();
  Adam opt({w}, 0.1, 0.9, 0.999, 1e-8);
  auto steps = run(opt, w, {kG1, kG2});
  // Step 1: m = 0.1·g1, v = 0.001·g1², so m̂ = g1, v̂ = g1² and the step is
  // η·g1/(|g1| + ε) = 0.1·sgn(g1) up to ε.
  CHECK(close(steps[0], Array{0.9, -1.9, 0.4}, tol(1e-8)));
  // Step 2, element 0: m = 0.9·0.05 + 0.1·1 = 0.145, m̂ = 0.145/0.19 = 0.763158;
  // v = 0.999·0.00025 + 0.001·1 = 0.00124975, v̂ = v/0.001999 = 0.625188;
  // w = 0.9 − 0.1·0.763158/(0.790688 + 1e-8) = 0.8034818.
  // Element 1: m = 0.01, m̂ = 0.0526316; v = 0.001999, v̂ = 1; w = −1.9 − 0.00526316.
  // Element 2: m = 0.08, m̂ = 0.421053; v = 0.004996, v̂ = 2.499250; w = 0.4 + 0.0266337.
  CHECK(
      close(steps[1], Array{0.803481800638509, -1.90526315884211, 0.373366296702432}, tol(1e-12)));
  const auto s = opt.state();
  REQUIRE(s.size() == 3);
  // The moments are ≤ 0.15: float gets 1e-6 absolute (its 1 − β alone is ~5e-5 off).
  CHECK(close(s[0], Array{0.145, 0.01, 0.08}, tol(1e-15, 1e-6)));
  CHECK(close(s[1], Array{0.00124975, 0.001999, 0.004996}, tol(1e-15, 1e-6)));
  CHECK(s[2].dimension() == 0);
  CHECK(s[2]() == 2.0);
}

TEST_CASE("RMSProp: s ← αs + (1−α)g², w ← w − ηg/(√s + ε)", "[optim]") {
  Tensor w = param();
  RMSProp opt({w}, 0.01, 0.99, 1e-8);
  auto steps = run(opt, w, {kG1, kG2});
  // Step 1: s = 0.01·g1², √s = 0.1·|g1|: the step is 0.1·sgn(g1) up to ε.
  CHECK(close(steps[0], Array{0.9, -1.9, 0.4}, 1e-7));
  // Step 2, element 0: s = 0.99·0.0025 + 0.01·1 = 0.012475, √s = 0.111692;
  // w = 0.9 − 0.01·1/0.111692 = 0.8104677.
  CHECK(
      close(steps[1], Array{0.810467731808858, -1.97088812547571, 0.444901328490565}, tol(1e-12)));
  CHECK(close(opt.state().at(0), Array{0.012475, 0.0199, 0.0496}, tol(1e-15, 1e-6)));
}

// ---------------------------------------------------------------- behaviour shared by all

TEST_CASE("regularisation applies to the listed weights only, in every rule", "[optim]") {
  for (const std::string& name : optimizer_names()) {
    INFO(name);
    const double mu = (name == "momentum" || name == "nesterov") ? 0.9 : 0.0;
    Tensor w = param(), b = param();
    auto opt = make_optimizer(name, {w, b}, 0.05, mu, Regularization{1.0, 0.5, 2, {w}});
    CHECK(opt->is_weight(0));
    CHECK_FALSE(opt->is_weight(1));
    Tensor ref = param();
    auto plain = make_optimizer(name, {ref}, 0.05, mu);
    for (const Array& g : {kG1, kG2}) {
      set_grad(w, g);
      set_grad(b, g);
      set_grad(ref, g);
      opt->step();
      plain->step();
    }
    CHECK(close(b.value(), ref.value(), 0.0));         // the bias: no decay
    CHECK_FALSE(close(w.value(), ref.value(), 1e-6));  // the weight: decayed
    // Matching is by identity: an equal-valued tensor is not a listed weight.
    Tensor twin = param();
    auto other = make_optimizer(name, {twin}, 0.05, mu, Regularization{1.0, 0.0, 2, {param()}});
    CHECK_FALSE(other->is_weight(0));
  }
}

TEST_CASE("set_learning_rate takes effect on the next step", "[optim]") {
  for (const std::string& name : optimizer_names()) {
    INFO(name);
    const double mu = (name == "momentum" || name == "nesterov") ? 0.5 : 0.0;
    Tensor a = param(), b = param();
    auto fast = make_optimizer(name, {a}, 0.1, mu);
    auto slow = make_optimizer(name, {b}, 0.1, mu);
    CHECK(fast->learning_rate() == 0.1);
    slow->set_learning_rate(0.0);
    CHECK(slow->learning_rate() == 0.0);
    run(*fast, a, {kG1});
    run(*slow, b, {kG1});
    CHECK_FALSE(close(a.value(), kW0, 1e-6));
    CHECK(close(b.value(), kW0, 0.0));  // η = 0 from a zero state: no move in any rule
    CHECK_THROWS_AS(slow->set_learning_rate(-1.0), value_error);
    CHECK_THROWS_AS(slow->set_learning_rate(std::nan("")), value_error);
    CHECK(slow->learning_rate() == 0.0);
  }
  // SGD: the size of the step is exactly η·g.
  Tensor w = param();
  SGD sgd({w}, 0.1);
  sgd.set_learning_rate(0.01);
  run(sgd, w, {kG1});
  CHECK(close(w.value(), kW0 - 0.01 * kG1));
}

TEST_CASE("state() and load_state() round-trip and validate", "[optim]") {
  for (const std::string& name : optimizer_names()) {
    INFO(name);
    const double mu = (name == "momentum" || name == "nesterov") ? 0.9 : 0.0;
    Tensor a = param(), a2 = param(Array{{0.3, -0.7}, {1.1, 0.2}});
    auto first = make_optimizer(name, {a, a2}, 0.05, mu);
    for (const Array& g : {kG1, kG2}) {
      set_grad(a, g);
      set_grad(a2, Array{{0.1, 0.2}, {-0.3, 0.4}});
      first->step();
    }
    // A fresh optimizer on copies of the parameters, with the saved state,
    // continues exactly as the original does.
    Tensor b(Array(a.value()), true), b2(Array(a2.value()), true);
    auto second = make_optimizer(name, {b, b2}, 0.05, mu);
    second->load_state(first->state());
    for (Tensor* p : {&a, &b}) set_grad(*p, kG1);
    for (Tensor* p : {&a2, &b2}) set_grad(*p, Array{{-0.5, 0.1}, {0.2, 0.3}});
    first->step();
    second->step();
    CHECK(close(a.value(), b.value(), 0.0));
    CHECK(close(a2.value(), b2.value(), 0.0));
    const auto s = first->state();
    CHECK(s.size() == second->state().size());
    for (std::size_t k = 0; k < s.size(); ++k) CHECK(close(s[k], second->state()[k], 0.0));

    // Wrong count, wrong shape: errors, and nothing changes.
    if (!s.empty()) {
      CHECK_THROWS_AS(second->load_state({}), value_error);
      auto wrong = s;
      wrong[0] = xt::zeros<Scalar>({7});
      CHECK_THROWS_AS(second->load_state(wrong), shape_error);
      CHECK_THROWS_WITH(second->load_state(wrong), Contains("(7,)") && Contains("(3,)"));
      for (std::size_t k = 0; k < s.size(); ++k) CHECK(close(s[k], second->state()[k], 0.0));
    } else {
      CHECK_THROWS_AS(second->load_state({Array{1.0}}), value_error);
    }
  }
  // Adam's step counts must be whole numbers >= 0.
  Tensor w = param();
  Adam adam({w}, 0.1);
  auto s = adam.state();
  s[2] = Array(-1.0);
  CHECK_THROWS_AS(adam.load_state(s), value_error);
  s[2] = Array(1.5);
  CHECK_THROWS_AS(adam.load_state(s), value_error);
}

TEST_CASE("optimizers reject invalid hyper-parameters", "[optim]") {
  Tensor w = param();
  CHECK_THROWS_AS(SGD({w}, -0.1), value_error);
  CHECK_THROWS_AS(SGD({w}, std::numeric_limits<double>::infinity()), value_error);
  CHECK_THROWS_WITH(SGD({w}, -0.1), Contains("learning rate") && Contains("-0.1"));
  // Messages name the rule, not just "optimizer".
  CHECK_THROWS_WITH(SGD({w}, -0.1), StartsWith("sgd:"));
  CHECK_THROWS_WITH(Adam({w}, -0.1), StartsWith("adam:"));
  CHECK_THROWS_WITH(RMSProp({w}, -0.1), StartsWith("rmsprop:"));
  CHECK_THROWS_WITH(Momentum({w}, -0.1, 0.5), StartsWith("momentum:"));
  CHECK_THROWS_WITH(Momentum({w}, -0.1, 0.5, {}, true), StartsWith("nesterov:"));
  CHECK_THROWS_WITH(SGD({w, w}, 0.1), StartsWith("sgd: parameter 1"));
  CHECK_THROWS_AS(SGD({w}, 0.1, Regularization{-1.0, 0.0, 10, {w}}), value_error);
  CHECK_THROWS_AS(SGD({w}, 0.1, Regularization{0.0, -1.0, 10, {w}}), value_error);
  CHECK_THROWS_WITH(SGD({w}, 0.1, Regularization{1.0, 0.0, 0, {w}}), Contains("n"));
  CHECK_THROWS_AS(Momentum({w}, 0.1, 1.0), value_error);
  CHECK_THROWS_AS(Momentum({w}, 0.1, -0.1), value_error);
  CHECK_THROWS_WITH(Momentum({w}, 0.1, 1.5), Contains("momentum") && Contains("1.5"));
  CHECK_THROWS_AS(Adam({w}, 0.1, 1.0), value_error);
  CHECK_THROWS_AS(Adam({w}, 0.1, 0.9, -0.5), value_error);
  CHECK_THROWS_WITH(Adam({w}, 0.1, 0.9, 0.999, 0.0), Contains("adam") && Contains("eps"));
  CHECK_THROWS_AS(RMSProp({w}, 0.1, 1.0), value_error);
  CHECK_THROWS_AS(RMSProp({w}, 0.1, 0.9, -1e-8), value_error);
  CHECK_THROWS_AS(SGD({w, w}, 0.1), value_error);  // the same tensor twice
  CHECK_THROWS_AS(SGD({Tensor()}, 0.1), value_error);
  CHECK_THROWS_WITH(make_optimizer("adamw", {w}, 0.1),
                    Contains("'adamw'") && Contains("sgd") && Contains("rmsprop"));
  CHECK_THROWS_AS(make_optimizer("sgd", {w}, 0.1, 0.9), value_error);  // μ would be ignored
  CHECK(make_optimizer("Adam", {w}, 0.1)->name() == "adam");
  for (const std::string& name : optimizer_names())
    CHECK(make_optimizer(name, {w}, 0.1, 0.0)->name() == name);
}

TEST_CASE("parameters without a gradient are skipped and steps update in place", "[optim]") {
  for (const std::string& name : optimizer_names()) {
    INFO(name);
    Tensor with = param(), without = param();
    const double mu = (name == "momentum" || name == "nesterov") ? 0.9 : 0.0;
    auto opt = make_optimizer(name, {with, without}, 0.1, mu);
    const Scalar* storage = with.value().data();
    set_grad(with, kG1);
    REQUIRE_FALSE(without.has_grad());
    const auto before = opt->state();
    opt->step();
    opt->step();
    CHECK(close(without.value(), kW0, 0.0));
    CHECK_FALSE(close(with.value(), kW0, 1e-6));
    CHECK(with.value().data() == storage);  // updated in place, same buffer
    // The skipped parameter's state is untouched too (Adam: its step count stays 0).
    const auto after = opt->state();
    const std::size_t per = after.size() / 2;
    for (std::size_t k = per; k < after.size(); ++k) CHECK(close(after[k], before[k], 0.0));
    opt->zero_grad();
    CHECK_FALSE(with.has_grad());
  }
}

// ---------------------------------------------------------------- small real problems

namespace {

struct Problem {
  Tensor x;  // m × 2
  Tensor y;  // m × 1, 0 or 1
};

Problem xor_problem() {
  Array y = Array::from_shape({4, 1});
  y(0, 0) = 0;
  y(1, 0) = 1;
  y(2, 0) = 1;
  y(3, 0) = 0;
  return {Tensor{{0.0, 0.0}, {0.0, 1.0}, {1.0, 0.0}, {1.0, 1.0}}, Tensor(y)};
}

/// Two interleaved half-moons (50 points each) with Gaussian noise, centred.
Problem moons(std::size_t per_class, double noise, Rng& rng) {
  const double pi = std::acos(-1.0);
  Array x = Array::from_shape({2 * per_class, 2});
  Array y = Array::from_shape({2 * per_class, 1});
  for (std::size_t i = 0; i < per_class; ++i) {
    const double t = pi * rng.uniform();
    x(2 * i, 0) = std::cos(t) - 0.5 + noise * rng.normal();
    x(2 * i, 1) = std::sin(t) - 0.25 + noise * rng.normal();
    y(2 * i, 0) = 0;
    const double s = pi * rng.uniform();
    x(2 * i + 1, 0) = 1.0 - std::cos(s) - 0.5 + noise * rng.normal();
    x(2 * i + 1, 1) = 0.5 - std::sin(s) - 0.25 + noise * rng.normal();
    y(2 * i + 1, 0) = 1;
  }
  return {Tensor(x), Tensor(y)};
}

double accuracy(nn::Module& net, const Problem& p) {
  NoGradGuard no_grad;
  const Array a = net(p.x).value();
  std::size_t right = 0;
  for (std::size_t i = 0; i < a.shape()[0]; ++i)
    right += (a(i, 0) > 0.5) == (p.y.value()(i, 0) > 0.5);
  return static_cast<double>(right) / static_cast<double>(a.shape()[0]);
}

/// Full-batch training of a tanh network with a sigmoid output and
/// cross-entropy cost; returns the training accuracy at the end.
double train(const std::string& optimizer, double lr, const Problem& p,
             const std::vector<std::size_t>& sizes, std::size_t steps, std::uint64_t seed) {
  Rng rng(seed);
  auto net = nn::mlp(sizes, "tanh", rng, nn::Init::xavier, "sigmoid");
  const double mu = (optimizer == "momentum" || optimizer == "nesterov") ? 0.9 : 0.0;
  auto opt = make_optimizer(optimizer, net->parameters(), lr, mu,
                            Regularization{1e-4, 0.0, p.x.shape()[0], net->weights()});
  for (std::size_t s = 0; s < steps; ++s) {
    opt->zero_grad();
    cross_entropy_cost((*net)(p.x), p.y).backward();
    opt->step();
  }
  return accuracy(*net, p);
}

struct Setting {
  const char* name;
  double lr;
};
const Setting kSettings[] = {
    {"sgd", 1.0}, {"momentum", 0.1}, {"nesterov", 0.1}, {"adam", 0.02}, {"rmsprop", 0.01}};

}  // namespace

TEST_CASE("every optimizer learns XOR", "[optim]") {
  const Problem p = xor_problem();
  for (const auto& s : kSettings) {
    INFO(s.name);
    CHECK(train(s.name, s.lr, p, {2, 8, 1}, 300, 1) == 1.0);
  }
}

TEST_CASE("every optimizer separates two noisy moons", "[optim]") {
  Rng rng(11);
  const Problem p = moons(50, 0.1, rng);
  // Not linearly separable: a single sigmoid unit stays below 100%, so the
  // hidden layers (and the optimizer) must do the work.
  CHECK(train("adam", 0.05, p, {2, 1}, 600, 2) < 1.0);
  for (const auto& s : kSettings) {
    INFO(s.name);
    CHECK(train(s.name, s.lr, p, {2, 16, 16, 1}, 600, 2) == 1.0);
  }
}
