// Gradients of gradients: xg::grad with create_graph, gradgradcheck over every
// op, activation and cost, the functional tools, and the book's Hessian.
#include <catch2/catch.hpp>
#include <cmath>
#include <xtensor/xmath.hpp>

#include "precision.hpp"
#include "xgrad/cost.hpp"
#include "xgrad/functional.hpp"
#include "xgrad/gradcheck.hpp"
#include "xgrad/nn/activation.hpp"
#include "xgrad/nn/dropout.hpp"
#include "xgrad/nn/linear.hpp"
#include "xgrad/nn/softmax.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/optim/hessian_free.hpp"
#include "xgrad/optim/newton.hpp"

using namespace xg;
using Catch::Matchers::Contains;
using Ins = const std::vector<Tensor>&;
using xg_test::tol;

namespace {

Tensor param(const Shape& s, std::uint64_t seed, double lo = -1.0, double hi = 1.0) {
  Rng rng(seed);
  return Tensor(rng.uniform_array(s, lo, hi), true);
}

void require_gradgrad(const GradcheckFn& f, std::vector<Tensor> in) {
  GradcheckResult r = gradgradcheck(f, in);
  INFO(r.message);
  CHECK(r.ok);
  GradcheckOptions fast;
  fast.fast_mode = true;
  GradcheckResult rf = gradgradcheck(f, in, fast);
  INFO(rf.message);
  CHECK(rf.ok);
}

// y = x³ with a deliberately wrong second derivative: the first-order rule is
// right (3x²), but on the create_graph path 3x² enters as a constant.
Tensor wrong_cube(const Tensor& x) {
  return record("wrong_cube", x.value() * x.value() * x.value(), {x}, [](auto& c) {
    if constexpr (std::is_same<std::decay_t<decltype(c)>, GraphContext>::value) {
      const Array& v = c.x(0).value();
      c.add(0, c.gy() * Tensor(Array(Scalar(3) * v * v)));
    } else {
      c.add(0, c.gy() * (Scalar(3) * c.x(0) * c.x(0)));
    }
  });
}

bool close_enough(const Array& a, const Array& b, double t = 1e-12) {
  const double tl = tol(t);
  if (a.shape() != b.shape()) return false;
  for (std::size_t k = 0; k < a.size(); ++k)
    if (std::abs(a.data()[k] - b.data()[k]) > tl * (1 + std::abs(b.data()[k]))) return false;
  return true;
}

struct ArrayOnlyAct {  // first order only
  static constexpr const char* name = "array_only";
  static Array f(const Array& z) { return z * z; }
  static Array df(const Array& z, const Array&) { return Scalar(2) * z; }
};

}  // namespace

TEST_CASE("grad: derivatives of x³ to third order", "[second-order]") {
  Tensor x = Tensor(Array{0.5, -1.5, 2.0}, true);
  Tensor y = sum(x * x * x);
  GradOptions o;
  o.create_graph = true;
  Tensor g1 = grad(y, x, o);        // 3x²
  Tensor g2 = grad(sum(g1), x, o);  // 6x
  Tensor g3 = grad(sum(g2), x, o);  // 6
  for (std::size_t i = 0; i < 3; ++i) {
    const double v = x.value()(i);
    CHECK(g1.value()(i) == Approx(3 * v * v).epsilon(tol(1e-14)));
    CHECK(g2.value()(i) == Approx(6 * v).epsilon(tol(1e-14)));
    CHECK(g3.value()(i) == Approx(6.0).epsilon(tol(1e-14)));
  }
  // grad() leaves x.grad() alone; backward(create_graph) fills grad_tensor().
  CHECK_FALSE(x.has_grad());
  Tensor z = sum(exp(x));
  z.backward(false, true);
  Tensor gx = x.grad_tensor();
  REQUIRE(gx.requires_grad());
  x.zero_grad();
  sum(gx).backward();
  CHECK(close_enough(x.grad(), xt::exp(x.value())));
}

TEST_CASE("gradgradcheck: every op", "[second-order]") {
  const Shape s{2, 3};
  auto a = [&] { return param(s, 1); };
  auto b = [&] { return param(s, 2); };
  auto pos = [&] { return param(s, 3, 0.5, 2.0); };
  require_gradgrad([](Ins in) { return sum((in[0] + in[1]) * in[0]); }, {a(), b()});
  require_gradgrad([](Ins in) { return sum((in[0] - in[1]) * (in[0] - in[1])); }, {a(), b()});
  require_gradgrad([](Ins in) { return in[0] * in[1]; }, {a(), b()});
  require_gradgrad([](Ins in) { return in[0] / in[1]; }, {a(), pos()});
  require_gradgrad([](Ins in) { return -(in[0] * in[0]); }, {a()});
  require_gradgrad([](Ins in) { return pow(in[0], in[1]); }, {pos(), b()});
  require_gradgrad([](Ins in) { return pow(in[0], Scalar(3)); }, {a()});
  require_gradgrad([](Ins in) { return exp(in[0]); }, {a()});
  require_gradgrad([](Ins in) { return log(in[0]); }, {pos()});
  require_gradgrad([](Ins in) { return sqrt(in[0]); }, {pos()});
  // Kinks: zero curvature alone, so each is composed with x to be checked.
  require_gradgrad([](Ins in) { return abs(in[0]) * in[0]; }, {a()});
  require_gradgrad([](Ins in) { return maximum(in[0], in[1]) * in[0]; }, {a(), b()});
  require_gradgrad([](Ins in) { return minimum(in[0], in[1]) * in[1]; }, {a(), b()});
  require_gradgrad([](Ins in) { return clamp(in[0], -0.5, 0.5) * in[0]; }, {a()});
  xt::xarray<bool> cond = {{true, false, true}, {false, true, false}};
  require_gradgrad([cond](Ins in) { return where(cond, in[0], in[1]) * in[0]; }, {a(), b()});
  require_gradgrad([](Ins in) { return mask(in[0], Array{1.0, 0.0, 2.0}) * in[0]; }, {a()});
  require_gradgrad([](Ins in) { return (in[0] + Scalar(2)) * (Scalar(1) - in[0]); }, {a()});
  require_gradgrad([](Ins in) { return Scalar(2) / in[0] * Scalar(3); }, {pos()});
  require_gradgrad([](Ins in) { return sum(in[0]) * sum(in[0], 1); }, {a()});
  require_gradgrad([](Ins in) { return mean(in[0]) * mean(in[0], 0); }, {a()});
  require_gradgrad([](Ins in) { return max(in[0], 1) * mean(in[0], 1); }, {a()});
  require_gradgrad([](Ins in) { return matmul(in[0], in[1], false, true) * Scalar(1); },
                   {a(), b()});
  require_gradgrad([](Ins in) { return matmul(in[0], in[1], true, false); }, {a(), b()});
  require_gradgrad([](Ins in) { return linear(in[0], in[1], in[2]) * linear(in[0], in[1], in[2]); },
                   {a(), param({4, 3}, 5), param({4}, 6)});
  require_gradgrad([](Ins in) { return transpose(in[0]) * transpose(in[0]); }, {a()});
  require_gradgrad([](Ins in) { return reshape(in[0], {3, 2}) * reshape(in[0], {3, 2}); }, {a()});
  require_gradgrad([](Ins in) { return slice_rows(in[0], 1, 2) * slice_rows(in[0], 0, 1); }, {a()});
  require_gradgrad(
      [](Ins in) {
        return gather_rows(in[0], {1, 1, 0}) * gather_rows(in[0], {0, 1, 0});
      },
      {a()});
  require_gradgrad(
      [](Ins in) {
        return concat({in[0], in[1]}, 1) * concat({in[1], in[0]}, 1);
      },
      {a(), b()});
  require_gradgrad([](Ins in) { return broadcast_to(in[0], {2, 2, 3}) * in[0]; }, {a()});
  require_gradgrad([](Ins in) { return narrow(in[0], 1, 1, 2) * narrow(in[0], 1, 0, 2); }, {a()});
}

TEST_CASE("gradgradcheck: activations, softmax, costs, penalties", "[second-order]") {
  const Shape s{2, 3};
  auto z = [&] { return param(s, 7, -2.0, 2.0); };
  auto y = [&] { return param(s, 8, 0.1, 0.9); };
  require_gradgrad([](Ins in) { return sigmoid(in[0]); }, {z()});
  require_gradgrad([](Ins in) { return tanh(in[0]); }, {z()});
  require_gradgrad([](Ins in) { return softplus(in[0]); }, {z()});
  require_gradgrad([](Ins in) { return relu(in[0]) * in[0]; }, {z()});
  require_gradgrad([](Ins in) { return activate<activations::Identity>(in[0]) * in[0]; }, {z()});
  require_gradgrad([](Ins in) { return softmax(in[0]); }, {z()});
  require_gradgrad([](Ins in) { return log_softmax(in[0]); }, {z()});
  require_gradgrad([](Ins in) { return quadratic_cost(sigmoid(in[0]), in[1]); }, {z(), y()});
  require_gradgrad([](Ins in) { return cross_entropy_cost(in[0], in[1]); },
                   {param(s, 9, 0.2, 0.8), y()});
  require_gradgrad([](Ins in) { return log_likelihood_cost(in[0], in[1]); },
                   {param(s, 9, 0.2, 0.8), y()});
  // The fused costs: their Hessian is not a silent zero (require_nonzero).
  require_gradgrad([](Ins in) { return sigmoid_cross_entropy(in[0], in[1]); }, {z(), y()});
  require_gradgrad([](Ins in) { return softmax_log_likelihood(in[0], in[1]); }, {z(), y()});
  require_gradgrad([](Ins in) { return sigmoid_quadratic_cost(in[0], in[1]); }, {z(), y()});
  require_gradgrad([](Ins in) { return mean_absolute_error(in[0], in[1]) * sum(in[0]); },
                   {z(), y()});
  require_gradgrad([](Ins in) { return l2_penalty({in[0], in[1]}, 0.3, 5); }, {z(), y()});
  require_gradgrad([](Ins in) { return l1_penalty({in[0]}, 0.3, 5) * sum(in[0]); }, {z()});
}

TEST_CASE("gradgradcheck: through the layers (Linear, Dropout in training)", "[second-order]") {
  Rng init(21);
  auto lin = std::make_shared<nn::Linear>(3, 4, init);
  auto drop = std::make_shared<nn::Dropout>(0.5, 22);
  // The same mask for every evaluation the check makes: reseeded before each.
  auto net = [lin, drop](Ins in) {
    drop->reseed(22);
    return sum(sigmoid(drop->forward(lin->forward(in[0]))));
  };
  require_gradgrad(net, {param({2, 3}, 23)});
  // The mask really zeroes some units and scales the rest (else this proves little).
  drop->reseed(22);
  const Array y = drop->forward(Tensor(xt::ones<Scalar>({2, 4}))).value();
  CHECK(xt::any(xt::equal(y, Scalar(0))));
  CHECK(xt::any(xt::equal(y, Scalar(2))));
}

TEST_CASE("gradgradcheck fails on a wrong second derivative and on a vacuous check",
          "[second-order]") {
  Tensor x = param({3}, 11, 0.5, 1.5);
  // First order is right...
  CHECK(gradcheck([](Ins in) { return wrong_cube(in[0]); }, {x}));
  // ...second order is not, and the message names where.
  GradcheckResult r = gradgradcheck([](Ins in) { return wrong_cube(in[0]); }, {x});
  CHECK_FALSE(r.ok);
  CHECK_THAT(r.message,
             Contains("input 0") && Contains("element (0,)") && Contains("finite difference"));
  GradcheckOptions fast;
  fast.fast_mode = true;
  GradcheckResult rf = gradgradcheck([](Ins in) { return wrong_cube(in[0]); }, {x}, fast);
  CHECK_FALSE(rf.ok);
  CHECK_THAT(rf.message, Contains("input 0"));
  // A kink alone: all second derivatives are zero, which proves nothing.
  GradcheckResult rk = gradgradcheck([](Ins in) { return relu(in[0]); }, {param({3}, 12)});
  CHECK_FALSE(rk.ok);
  CHECK_THAT(rk.message, Contains("vacuously"));
}

TEST_CASE("differentiating twice through a first-order-only rule names it", "[second-order]") {
  Tensor x = param({3}, 13);
  Tensor y = record("old_style", x.value() * 2.0, {x},
                    [](BackwardContext& c) { c.add(0, c.gy() * Scalar(2)); });
  GradOptions o;
  o.create_graph = true;
  CHECK_THROWS_WITH(grad(sum(y), x, o), Contains("old_style") && Contains("second-order"));
  Tensor a = activate<ArrayOnlyAct>(x);
  CHECK_THROWS_WITH(grad(sum(a), x, o), Contains("array_only") && Contains("twice"));
  // First order through both still works.
  Tensor a2 = activate<ArrayOnlyAct>(x);
  sum(a2).backward();
  CHECK(close_enough(x.grad(), Scalar(2) * x.value()));
}

TEST_CASE("fast-mode gradcheck passes a right gradient and names a wrong one", "[second-order]") {
  GradcheckOptions fast;
  fast.fast_mode = true;
  Tensor w = param({4, 3}, 14), xin = param({5, 3}, 15);
  CHECK(
      gradcheck([](Ins in) { return sigmoid(matmul(in[1], in[0], false, true)); }, {w, xin}, fast));
  Tensor x = param({3}, 16, 0.5, 1.5);
  auto wrong_first = [](Ins in) {
    return record("wrong_double", in[0].value() * 2.0, {in[0]},
                  [](auto& c) { c.add(0, c.gy() * Scalar(3)); });
  };
  GradcheckResult r = gradcheck(wrong_first, {x}, fast);
  CHECK_FALSE(r.ok);
  CHECK_THAT(r.message, Contains("input 0") && Contains("element"));
}

TEST_CASE("Hessian tools: quadratic form, symmetry, hvp", "[second-order]") {
  // f(x) = ½ xᵀAx with A symmetric: H = A exactly.
  const Array A = {{2.0, -1.0, 0.5}, {-1.0, 3.0, 0.25}, {0.5, 0.25, 1.0}};
  auto quad = [&](const Tensor& x) {
    Tensor row = reshape(x, {1, 3});
    return sum(matmul(row, Tensor(A)) * row) * Scalar(0.5);
  };
  const Array H = hessian(quad, Tensor(Array{0.3, -0.7, 1.1}));
  CHECK(close_enough(H, A, 0.0));
  CHECK(
      close_enough(jacobian([](const Tensor& x) { return x * Scalar(2); }, Tensor(Array{1.0, 2.0})),
                   Array{{2.0, 0.0}, {0.0, 2.0}}, 0.0));

  // A small network's cost: H symmetric (uᵀHv = vᵀHu) and hvp = H·v.
  Tensor w = param({2, 3}, 21), b = param({2}, 22);
  const Array X = Rng(23).uniform_array({4, 3}, -1.0, 1.0);
  const Array Y = Rng(24).uniform_array({4, 2}, 0.0, 1.0);
  auto cost = [&](Ins p) {
    return quadratic_cost(sigmoid(linear(Tensor(X), p[0], p[1])), Tensor(Y));
  };
  const Array u = Rng(25).uniform_array({2, 3}, -1.0, 1.0);
  const Array v = Rng(26).uniform_array({2, 3}, -1.0, 1.0);
  const Array zb = xt::zeros<Scalar>({2});
  const auto Hu = hvp(cost, {w, b}, {u, zb});
  const auto Hv = hvp(cost, {w, b}, {v, zb});
  const double vHu = xt::sum(v * Hu[0])(), uHv = xt::sum(u * Hv[0])();
  CHECK(std::abs(vHu - uHv) <= tol(1e-12) * (1 + std::abs(uHv)));
  // The full Hessian over w, times v.
  auto cost_w = [&](const Tensor& wf) { return cost({reshape(wf, {2, 3}), Tensor(b.value())}); };
  Array wflat = w.value();
  wflat.reshape({6});
  const Array Hw = hessian(cost_w, Tensor(wflat));
  for (std::size_t i = 0; i < 6; ++i) {
    double hv = 0;
    for (std::size_t j = 0; j < 6; ++j) hv += Hw(i, j) * v.data()[j];
    CHECK(Hv[0].data()[i] == Approx(hv).epsilon(tol(1e-12)).margin(tol(1e-14)));
  }
}

TEST_CASE("Hessian of the book's quadratic cost on a one-layer sigmoid net: closed form",
          "[second-order]") {
  // One sample x, a = σ(Wx + b), C = ½‖a − y‖² (docs/hessian.md):
  // ∂²C/∂W_ij∂W_kl = δ_ik [σ'(z_i)² + (a_i − y_i) σ''(z_i)] x_j x_l,
  // σ' = a(1 − a), σ'' = σ'(1 − 2a).
  const Array x = {{0.4, -0.8, 1.2}};
  const Array y = {{0.9, 0.1}};
  const Array b = {0.1, -0.2};
  const Array W0 = {{0.3, -0.5, 0.8}, {-0.6, 0.2, 0.4}};
  auto cost = [&](const Tensor& wf) {
    return quadratic_cost(sigmoid(linear(Tensor(x), reshape(wf, {2, 3}), Tensor(b))), Tensor(y));
  };
  Array wflat = W0;
  wflat.reshape({6});
  const Array H = hessian(cost, Tensor(wflat));
  for (std::size_t i = 0; i < 2; ++i) {
    double z = b(i);
    for (std::size_t j = 0; j < 3; ++j) z += W0(i, j) * x(0, j);
    const double a = 1 / (1 + std::exp(-z)), s1 = a * (1 - a), s2 = s1 * (1 - 2 * a);
    const double curv = s1 * s1 + (a - y(0, i)) * s2;
    for (std::size_t k = 0; k < 2; ++k)
      for (std::size_t j = 0; j < 3; ++j)
        for (std::size_t l = 0; l < 3; ++l) {
          const double expected = i == k ? curv * x(0, j) * x(0, l) : 0.0;
          CHECK(H(i * 3 + j, k * 3 + l) == Approx(expected).epsilon(tol(1e-12)).margin(tol(1e-15)));
        }
  }
}

TEST_CASE("optim::Newton reaches Rosenbrock's minimum in a handful of steps", "[second-order]") {
  // f(x, y) = (1 − x)² + 100(y − x²)², minimum 0 at (1, 1); the classic start.
  Tensor w(Array{-1.2, 1.0}, true);
  auto rosenbrock = [](const Tensor& p) {
    Tensor x = narrow(p, 0, 0, 1), y = narrow(p, 0, 1, 1);
    Tensor a = Scalar(1) - x, b = y - x * x;
    return sum(a * a + Scalar(100) * b * b);
  };
  optim::Newton newton({w}, [&] { return rosenbrock(w); });
  int steps = 0;
  while (steps < 100 && !(std::abs(w.value()(0) - 1) < tol(1e-10, 1e-3) &&
                          std::abs(w.value()(1) - 1) < tol(1e-10, 1e-3))) {
    newton.step();
    ++steps;
  }
  INFO("Newton steps: " << steps);
  CHECK(steps < 40);
  CHECK(newton.last_min_eigenvalue() > 0);  // positive definite at the minimum
  // Plain gradient descent from the same start is still far away after as many steps.
  Tensor v(Array{-1.2, 1.0}, true);
  for (int s = 0; s < steps; ++s) {
    Tensor c = rosenbrock(v);
    v.zero_grad();
    c.backward();
    v.mutable_value() -= Scalar(1e-3) * v.grad();
  }
  CHECK(std::abs(v.value()(0) - 1) > 0.1);

  // The damping is the state, and it round-trips.
  const auto st = newton.state();
  optim::Newton other({w}, [&] { return rosenbrock(w); });
  other.load_state(st);
  // Kept at Scalar precision, so saved exactly in the float build too.
  CHECK(other.damping() == newton.damping());
  CHECK_THROWS_AS(other.load_state({Array{1.0, 2.0}}), shape_error);
}

TEST_CASE("optim::Newton reports an indefinite Hessian at a saddle", "[second-order]") {
  Tensor w(Array{1.0, 1.0}, true);
  auto saddle = [&] {
    Tensor x = narrow(w, 0, 0, 1), y = narrow(w, 0, 1, 1);
    return sum(x * x - y * y * Scalar(0.5) + y * y * y * y * Scalar(0.25));
  };
  optim::Newton newton({w}, saddle);
  newton.step();
  // H = diag(2, −1 + 3y²) at y = 1: both positive; at y = 0.1 it would not be.
  CHECK(newton.last_min_eigenvalue() == Approx(2.0).epsilon(tol(1e-12)));
  Tensor w2(Array{1.0, 0.1}, true);
  auto saddle2 = [&] {
    Tensor x = narrow(w2, 0, 0, 1), y = narrow(w2, 0, 1, 1);
    return sum(x * x - y * y * Scalar(0.5) + y * y * y * y * Scalar(0.25));
  };
  optim::Newton n2({w2}, saddle2);
  n2.step();
  CHECK(n2.last_min_eigenvalue() == Approx(-1.0 + 3 * 0.01).epsilon(tol(1e-12)));
  CHECK(n2.last_cost_after() <= n2.last_cost_before());  // damping keeps it a descent
}

TEST_CASE("optim::HessianFree: CG on HVPs gives the Newton step without forming H",
          "[second-order]") {
  // C(w) = ½wᵀAw − bᵀw: the minimum A⁻¹b in one step with little damping.
  const Array A = {{4.0, 1.0, 0.5}, {1.0, 3.0, 0.25}, {0.5, 0.25, 2.0}};
  const Array b = {1.0, -2.0, 0.5};
  Tensor w(Array{0.0, 0.0, 0.0}, true);
  auto quad = [&] {
    Tensor row = reshape(w, {1, 3});
    return sum(matmul(row, Tensor(A)) * row) * Scalar(0.5) - sum(w * Tensor(b));
  };
  optim::HessianFreeOptions o;
  o.damping = 1e-10;
  optim::HessianFree hf({w}, quad, o);
  hf.step();
  // CG is exact in n = 3 steps in exact arithmetic; float's rounding needs a few more.
  CHECK(hf.last_cg_iterations() <= (xg_test::single_precision ? 8 : 3));
  // Check A·w = b.
  for (std::size_t i = 0; i < 3; ++i) {
    double s = 0;
    for (std::size_t j = 0; j < 3; ++j) s += A(i, j) * w.value()(j);
    CHECK(s == Approx(b(i)).epsilon(tol(1e-8, 1e-3)));
  }

  // A small sigmoid network: every accepted step lowers the cost.
  Tensor W = param({3, 4}, 31), bias = param({3}, 32);
  const Array X = Rng(33).uniform_array({16, 4}, -1.0, 1.0);
  const Array Y = Rng(34).uniform_array({16, 3}, 0.0, 1.0);
  auto cost = [&] { return quadratic_cost(sigmoid(linear(Tensor(X), W, bias)), Tensor(Y)); };
  optim::HessianFree net_hf({W, bias}, cost);
  double last = cost().item();
  const double first = last;
  for (int s = 0; s < 10; ++s) {
    net_hf.step();
    CHECK(net_hf.last_cost_after() <= last);
    last = net_hf.last_cost_after();
  }
  CHECK(last < first);
  optim::HessianFree other({W, bias}, cost);
  other.load_state(net_hf.state());
  CHECK(other.damping() == net_hf.damping());
}
