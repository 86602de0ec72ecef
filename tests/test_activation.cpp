// Activations, softmax and the name registry: gradients, stability at ±1000,
// and extension by a struct or a function of Tensors.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <xtensor/xmath.hpp>

#include "precision.hpp"
#include "xgrad/gradcheck.hpp"
#include "xgrad/nn.hpp"
#include "xgrad/ops.hpp"

using namespace xg;
using Ins = const std::vector<Tensor>&;
using xg_test::tol;

namespace {

Rng act_rng(77);
Tensor act_param(const Shape& s, double lo = -3.0, double hi = 3.0) {
  return Tensor::rand(s, act_rng, lo, hi, true);
}

bool all_finite(const Array& a) {
  for (Scalar v : a)
    if (!std::isfinite(v)) return false;
  return true;
}

// ln, one element at a time: xsimd 8's vector log fails to compile for
// AVX-512BW targets at -O0 (Debug builds with -march=native).
Array log_of(const Array& a) {
  Array r = a;
  for (auto& v : r) v = std::log(v);
  return r;
}

// Gradient of Σ f(z) with respect to z.
Array grad_of_sum(Tensor (*f)(const Tensor&), const Array& z) {
  Tensor t(z, true);
  sum(f(t)).backward();
  return t.grad();
}

// A user's activation, written the documented way: one struct, one line.
// softsign(z) = z/(1+|z|);  softsign'(z) = 1/(1+|z|)²
struct TestSoftsign {
  static constexpr const char* name = "test_softsign";
  static Array f(const Array& z) { return z / (Scalar(1) + xt::abs(z)); }
  static Array df(const Array& z, const Array&) {
    Array d = Scalar(1) + xt::abs(z);
    return Scalar(1) / (d * d);
  }
};

// A user's activation composed from primitives: no derivative written.
Tensor test_swish(const Tensor& x) { return x * sigmoid(x); }

}  // namespace

XG_REGISTER_ACTIVATION(TestSoftsign)
XG_REGISTER_ACTIVATION_FN("test_swish", test_swish)

TEST_CASE("every built-in activation passes gradcheck, functional and as a Module", "[nn]") {
  CHECK(gradcheck([](Ins in) { return sigmoid(in[0]); }, {act_param({4, 5})}));
  CHECK(gradcheck([](Ins in) { return xg::tanh(in[0]); }, {act_param({4, 5})}));
  CHECK(gradcheck([](Ins in) { return softplus(in[0]); }, {act_param({4, 5})}));
  CHECK(gradcheck([](Ins in) { return activate<activations::Identity>(in[0]); },
                  {act_param({4, 5})}));
  // ReLU away from its kink: every |z| ≥ 0.1, both signs present.
  Tensor z = Tensor{{-2.0, -0.1, 0.1, 1.5}, {0.3, -0.7, 2.2, -1.1}}.requires_grad_();
  CHECK(gradcheck([](Ins in) { return relu(in[0]); }, {z}));

  for (const std::string name :
       {"sigmoid", "tanh", "softplus", "identity", "relu", "softmax", "log_softmax"}) {
    INFO(name);
    auto m = nn::make_activation(name);
    CHECK(m->type_name() == name);
    CHECK(m->parameters().empty());
    CHECK(gradcheck([&](Ins in) { return m->forward(in[0]); }, {z}));
  }
}

TEST_CASE("activation values and derivatives follow their formulas", "[nn]") {
  const Array z = {-4.0, -1.0, -0.25, 0.0, 0.5, 3.0};
  const Array s = 1.0 / (1.0 + xt::exp(-z));
  CHECK(xt::allclose(sigmoid(Tensor(z)).value(), s, tol(1e-14), tol(1e-15)));
  CHECK(xt::allclose(grad_of_sum(sigmoid, z), s * (1.0 - s), tol(1e-14), tol(1e-15)));
  CHECK(xt::allclose(xg::tanh(Tensor(z)).value(), xt::tanh(z)));
  CHECK(xt::allclose(grad_of_sum(xg::tanh, z), 1.0 - xt::tanh(z) * xt::tanh(z), tol(1e-5),
                     tol(1e-8)));
  CHECK(xt::allclose(softplus(Tensor(z)).value(), xt::log1p(xt::exp(z)), tol(1e-14), tol(1e-15)));
  CHECK(xt::allclose(grad_of_sum(softplus, z), s, tol(1e-14), tol(1e-15)));
  CHECK(relu(Tensor(z)).value() == Array{0.0, 0.0, 0.0, 0.0, 0.5, 3.0});
  // ReLU'(0) = 0 by the house convention.
  const Array relu_grad = grad_of_sum(relu, z);
  CHECK(relu_grad == Array{0.0, 0.0, 0.0, 0.0, 1.0, 1.0});
  // Tiny sigmoid values keep their relative precision, and do not underflow
  // until e^z does: z = −701 in double, −80 in float.
  CHECK(sigmoid(Tensor{-40.0}).value()(0) == Approx(std::exp(-40.0)).epsilon(tol(1e-12)));
  const double far_tail = std::log(std::numeric_limits<Scalar>::min()) + 7.0;
  CHECK(sigmoid(Tensor{far_tail}).value()(0) > 0.0);
}

TEST_CASE("sigmoid's loop gives the bits of the xtensor expressions it replaced", "[nn]") {
  // The library computed σ as xt::where(z >= 0, 1/(1+e), e/(1+e)) with
  // e = xt::exp(-xt::abs(z)); training results for fixed seeds must not move.
  const Scalar inf = std::numeric_limits<Scalar>::infinity();
  const std::vector<Scalar> special = {0,  -0.0f, 1e-30f, -1e-30f, 17,  -17,
                                       88, -88,   100,    -100,    inf, -inf};
  Rng rng(5);
  for (std::size_t n = 1; n <= 70; ++n) {
    INFO("size " << n);
    Array z = Tensor::rand({n}, rng, -30.0, 30.0).value();
    for (std::size_t i = 0; i < n && i < special.size(); ++i) z((i * 5) % n) = special[i];
    const Array e = xt::exp(-xt::abs(z));
    const Array expected =
        xt::where(z >= Scalar(0), Scalar(1) / (Scalar(1) + e), e / (Scalar(1) + e));
    const Array got = sigmoid(Tensor(z)).value();
    REQUIRE(got.shape() == expected.shape());
    CHECK(std::memcmp(got.data(), expected.data(), n * sizeof(Scalar)) == 0);
  }
  // NaN stays NaN.
  CHECK(std::isnan(sigmoid(Tensor{std::numeric_limits<double>::quiet_NaN()}).value()(0)));
}

TEST_CASE("sigmoid's in-place backward gives the bits of dC/dy * df and spares a kept dC/dy",
          "[nn]") {
  Rng rng(8);
  for (std::size_t n : {std::size_t(1), std::size_t(15), std::size_t(300), std::size_t(301)}) {
    INFO("size " << n);
    Tensor z = Tensor::rand({n}, rng, -9.0, 9.0, true);
    const Tensor w = Tensor::rand({n}, rng, -2.0, 2.0);
    Tensor a = sigmoid(z);
    a.retain_grad();  // take_gy must copy: the kept dC/dy stays w
    sum(a * w).backward();
    const Array expected = w.value() * activations::Sigmoid::df(z.value(), a.value());
    CHECK(std::memcmp(z.grad().data(), expected.data(), n * sizeof(Scalar)) == 0);
    CHECK(std::memcmp(a.grad().data(), w.value().data(), n * sizeof(Scalar)) == 0);
  }
  // An activation without multiply_df (every user struct so far) uses df.
  STATIC_REQUIRE(detail::has_multiply_df<activations::Sigmoid>::value);
  STATIC_REQUIRE_FALSE(detail::has_multiply_df<activations::Tanh>::value);
  Array g = {1.0, 2.0};
  CHECK_THROWS_AS(activations::Sigmoid::multiply_df(Array{0.0}, Array{0.5}, g), shape_error);
}

TEST_CASE("the op is named after the activation, so costs can find the logits", "[nn]") {
  Tensor z = act_param({2, 3});
  CHECK(std::string(sigmoid(z).op()) == "sigmoid");
  CHECK(std::string(relu(z).op()) == "relu");
  CHECK(std::string(softmax(z).op()) == "softmax");
  CHECK(std::string(log_softmax(z).op()) == "log_softmax");
  Tensor a = sigmoid(z);
  REQUIRE(a.node()->inputs.size() == 1);
  CHECK(a.node()->inputs[0].get() == z.node());
}

TEST_CASE("sigmoid, tanh, softplus, softmax and log_softmax are finite at ±1000", "[nn]") {
  const Array z = {{-1000.0, -1.0, 0.0, 1000.0}, {1000.0, 1000.0, -1000.0, 999.0}};
  for (auto f : {sigmoid, xg::tanh, softplus, relu, softmax, log_softmax}) {
    Tensor t(z, true);
    Tensor y = f(t);
    INFO(y.op());
    CHECK(all_finite(y.value()));
    (sum(y * Tensor(act_rng.uniform_array({2, 4}, 0.5, 1.5)))).backward();
    CHECK(all_finite(t.grad()));
  }
  CHECK(sigmoid(Tensor(z)).value()(0, 0) == 0.0);
  CHECK(sigmoid(Tensor(z)).value()(0, 3) == 1.0);
  CHECK(softplus(Tensor(z)).value()(0, 3) == 1000.0);
  CHECK(softplus(Tensor(z)).value()(0, 0) >= 0.0);
  CHECK(softplus(Tensor(z)).value()(0, 0) < 1e-300);
  // Row 1: two equal maxima share the mass, the rest is exactly e^{-1} of one.
  const Array a = softmax(Tensor(z)).value();
  CHECK(a(1, 0) == Approx(1.0 / (2.0 + std::exp(-1.0))));
  CHECK(a(1, 2) == 0.0);
  const Array la = log_softmax(Tensor(z)).value();
  CHECK(la(0, 0) == Approx(-2000.0));
  CHECK(la(0, 3) == Approx(0.0).margin(1e-12));
}

TEST_CASE("softmax rows sum to 1 and match the textbook formula", "[nn]") {
  Tensor z = act_param({5, 7});
  const Array a = softmax(z).value();
  CHECK(xt::allclose(xt::sum(a, {1}), xt::ones<Scalar>({5})));
  const Array e = xt::exp(z.value());
  // (A lazy keep_dims reducer broadcast in a division miscomputes in xtensor
  // 0.24: evaluate the row sums first.)
  const Array row_sums = xt::sum(e, {1}, xt::keep_dims | xt::evaluation_strategy::immediate);
  const Array naive = e / row_sums;
  CHECK(xt::allclose(a, naive, tol(1e-13), tol(1e-15)));
  // Shift invariance: the max subtraction changes nothing.
  CHECK(xt::allclose(softmax(Tensor(z.value() + 500.0)).value(), a, tol(1e-12), tol(1e-15)));
  // log_softmax = ln softmax.
  CHECK(xt::allclose(log_softmax(z).value(), log_of(a), tol(1e-12), tol(1e-14)));
  // A 1-D input is one row.
  const Array one = softmax(Tensor{1.0, 2.0, 3.0}).value();
  CHECK(xt::sum(one)() == Approx(1.0));
  CHECK(one(2) == Approx(std::exp(3.0) / (std::exp(1.0) + std::exp(2.0) + std::exp(3.0))));
}

TEST_CASE("softmax and log_softmax pass gradcheck", "[nn]") {
  CHECK(gradcheck([](Ins in) { return softmax(in[0]); }, {act_param({4, 6})}));
  CHECK(gradcheck([](Ins in) { return log_softmax(in[0]); }, {act_param({4, 6})}));
  CHECK(gradcheck([](Ins in) { return softmax(in[0]); }, {act_param({5})}));
  CHECK(gradcheck([](Ins in) { return log_softmax(in[0]); }, {act_param({5})}));
  // Large logits: the gradient is still right (a saturated row has tiny gradients).
  Tensor big = Tensor{{300.0, 299.0, 301.5}, {-500.0, -498.0, -499.0}}.requires_grad_();
  CHECK(gradcheck([](Ins in) { return softmax(in[0]); }, {big}));
  CHECK(gradcheck([](Ins in) { return log_softmax(in[0]); }, {big}));
  // Softmax into a per-row cost: the classic δ = a − y.
  Tensor z = act_param({3, 4});
  const Array y = {{0.0, 1.0, 0.0, 0.0}, {1.0, 0.0, 0.0, 0.0}, {0.0, 0.0, 0.0, 1.0}};
  (-sum(log_softmax(z) * Tensor(y))).backward();
  CHECK(xt::allclose(z.grad(), softmax(z.detach()).value() - y));
}

TEST_CASE("softmax rejects a scalar or an empty row", "[nn]") {
  CHECK_THROWS_AS(softmax(Tensor::scalar(1.0)), shape_error);
  CHECK_THROWS_WITH(log_softmax(Tensor::zeros({3, 0})),
                    Catch::Contains("log_softmax") && Catch::Contains("(3, 0)"));
}

TEST_CASE("the registry knows the built-ins and names them in its errors", "[nn]") {
  const auto names = nn::activation_names();
  for (const char* n :
       {"identity", "log_softmax", "relu", "sigmoid", "softmax", "softplus", "tanh"})
    CHECK(std::find(names.begin(), names.end(), n) != names.end());
  CHECK(std::is_sorted(names.begin(), names.end()));
  CHECK(nn::has_activation("relu"));
  CHECK_FALSE(nn::has_activation("Relu"));
  CHECK_THROWS_AS(nn::make_activation("sigmod"), value_error);
  CHECK_THROWS_WITH(nn::make_activation("sigmod"),
                    Catch::Contains("'sigmod'") && Catch::Contains("sigmoid") &&
                        Catch::Contains("relu") && Catch::Contains("softmax"));
  CHECK_THROWS_AS(nn::register_activation("sigmoid", [] { return nn::make_activation("tanh"); }),
                  value_error);
  CHECK_THROWS_AS(nn::register_activation("", [] { return nn::make_activation("tanh"); }),
                  value_error);
  // Each call builds a new module.
  CHECK(nn::make_activation("relu") != nn::make_activation("relu"));
}

TEST_CASE("a user's activation struct: one line makes the op, the Module and the name", "[nn]") {
  REQUIRE(nn::has_activation("test_softsign"));
  auto m = nn::make_activation("test_softsign");
  CHECK(m->type_name() == "test_softsign");
  Tensor z = act_param({3, 4});
  CHECK(xt::allclose(m->forward(z).value(), z.value() / (1.0 + xt::abs(z.value()))));
  CHECK(std::string(activate<TestSoftsign>(z).op()) == "test_softsign");
  CHECK(gradcheck([](Ins in) { return activate<TestSoftsign>(in[0]); }, {z}));
  nn::Activation<TestSoftsign> module;
  CHECK(gradcheck([&](Ins in) { return module(in[0]); }, {z}));
  // A wrong derivative is caught: the check is not vacuous.
  struct WrongSoftsign : TestSoftsign {
    static Array df(const Array& z, const Array&) { return Scalar(1) / (Scalar(1) + xt::abs(z)); }
  };
  CHECK_FALSE(gradcheck([](Ins in) { return activate<WrongSoftsign>(in[0]); }, {z}));
}

TEST_CASE("a composed activation is a Lambda and can be registered by name", "[nn]") {
  REQUIRE(nn::has_activation("test_swish"));
  auto m = nn::make_activation("test_swish");
  CHECK(m->type_name() == "test_swish");
  Tensor z = act_param({3, 4});
  const Array s = 1.0 / (1.0 + xt::exp(-z.value()));
  CHECK(xt::allclose(m->forward(z).value(), z.value() * s));
  CHECK(gradcheck([&](Ins in) { return m->forward(in[0]); }, {z}));

  nn::Lambda cube("cube", [](const Tensor& x) { return x * x * x; });
  CHECK(cube.type_name() == "cube");
  CHECK(gradcheck([&](Ins in) { return cube(in[0]); }, {z}));
  CHECK_THROWS_AS(nn::Lambda("empty", nullptr), value_error);

  // register_activation with a factory, then used inside mlp by name.
  if (!nn::has_activation("test_cube"))
    nn::register_activation("test_cube", [] {
      return std::make_shared<nn::Lambda>("test_cube", [](const Tensor& x) { return x * x * x; });
    });
  Rng rng(3);
  auto net = nn::mlp({2, 3, 1}, "test_cube", rng, nn::Init::default_, "identity");
  CHECK((*net)[1]->type_name() == "test_cube");
  CHECK((*net)[3]->type_name() == "identity");
}
