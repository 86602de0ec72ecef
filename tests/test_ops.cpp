// Every primitive is gradchecked, including broadcasting and reductions.
#include <catch2/catch.hpp>

#include "xgrad/gradcheck.hpp"
#include "xgrad/ops.hpp"

using namespace xg;
using Ins = const std::vector<Tensor>&;

namespace {
Rng rng(2024);
Tensor param(const Shape& s, double lo = -2.0, double hi = 2.0) {
  return Tensor::rand(s, rng, lo, hi, true);
}
Tensor positive(const Shape& s) { return param(s, 0.5, 2.0); }
/// Distinct values at least 0.25 apart in a scrambled order: a finite
/// difference step (5e-3 in float) never crosses a tie of max.
Tensor separated(const Shape& s) {
  Tensor t = Tensor::zeros(s, true);
  Array& v = t.mutable_value();
  for (std::size_t i = 0; i < v.size(); ++i)
    v.data()[i] = Scalar(0.25) * Scalar((i * 7) % v.size()) - Scalar(3);
  return t;
}
}  // namespace

TEST_CASE("binary elementwise ops pass gradcheck with and without broadcasting", "[ops]") {
  using Op = Tensor (*)(const Tensor&, const Tensor&);
  struct Case {
    const char* name;
    Op op;
  };
  const Case cases[] = {{"add", add}, {"sub", sub}, {"mul", mul}};
  const std::pair<Shape, Shape> shapes[] = {
      {{3, 4}, {3, 4}}, {{3, 4}, {4}}, {{3, 1}, {1, 4}}, {{2, 3, 4}, {3, 1}}, {{3, 4}, {}}};
  for (const auto& c : cases)
    for (const auto& [sa, sb] : shapes) {
      INFO(c.name << " " << shape_str(sa) << " with " << shape_str(sb));
      CHECK(gradcheck([&](Ins in) { return c.op(in[0], in[1]); }, {param(sa), param(sb)}));
    }
  CHECK(gradcheck([](Ins in) { return div(in[0], in[1]); }, {param({3, 4}), positive({4})}));
  CHECK(gradcheck([](Ins in) { return pow(in[0], in[1]); }, {positive({3, 4}), param({3, 1})}));
}

TEST_CASE("unary elementwise ops pass gradcheck", "[ops]") {
  CHECK(gradcheck([](Ins in) { return neg(in[0]); }, {param({3, 4})}));
  CHECK(gradcheck([](Ins in) { return exp(in[0]); }, {param({3, 4})}));
  CHECK(gradcheck([](Ins in) { return log(in[0]); }, {positive({3, 4})}));
  CHECK(gradcheck([](Ins in) { return sqrt(in[0]); }, {positive({3, 4})}));
  CHECK(gradcheck([](Ins in) { return pow(in[0], 3.0); }, {param({3, 4})}));
  CHECK(gradcheck([](Ins in) { return pow(in[0], -1.5); }, {positive({3, 4})}));
  // Away from the kink at 0.
  CHECK(gradcheck([](Ins in) { return abs(in[0]); },
                  {Tensor{{-2.0, -0.5}, {0.7, 1.9}}.requires_grad_()}));
  CHECK(gradcheck([](Ins in) { return clamp(in[0], -1.0, 1.0); },
                  {Tensor{-1.7, -0.3, 0.4, 1.8}.requires_grad_()}));
}

TEST_CASE("scalar operator overloads pass gradcheck", "[ops]") {
  CHECK(gradcheck([](Ins in) { return in[0] + 2.0; }, {param({2, 3})}));
  CHECK(gradcheck([](Ins in) { return 2.0 - in[0]; }, {param({2, 3})}));
  CHECK(gradcheck([](Ins in) { return in[0] - 2.0; }, {param({2, 3})}));
  CHECK(gradcheck([](Ins in) { return in[0] * 3.0; }, {param({2, 3})}));
  CHECK(gradcheck([](Ins in) { return 3.0 * in[0] / 2.0; }, {param({2, 3})}));
  CHECK(gradcheck([](Ins in) { return 3.0 / in[0]; }, {positive({2, 3})}));
  CHECK(gradcheck([](Ins in) { return -(in[0] / in[1]); }, {param({2, 3}), positive({2, 3})}));
}

TEST_CASE("maximum, minimum, where and mask pass gradcheck", "[ops]") {
  Tensor a = Tensor{{1.0, -2.0, 3.0}, {0.5, 2.5, -1.0}}.requires_grad_();
  Tensor b = Tensor{{0.0, -1.0, 4.0}, {1.5, 2.0, -3.0}}.requires_grad_();
  CHECK(gradcheck([](Ins in) { return maximum(in[0], in[1]); }, {a, b}));
  CHECK(gradcheck([](Ins in) { return minimum(in[0], in[1]); }, {a, b}));
  xt::xarray<bool> cond = {{true, false, true}, {false, false, true}};
  CHECK(gradcheck([&](Ins in) { return xg::where(cond, in[0], in[1]); }, {a, b}));
  Array m = {{1.0, 0.0, 2.0}, {0.0, 2.0, 2.0}};
  CHECK(gradcheck([&](Ins in) { return mask(in[0], m); }, {a}));
  // maximum against a broadcast scalar is ReLU.
  CHECK(gradcheck([](Ins in) { return maximum(in[0], in[1]); }, {a, Tensor::zeros({})}));
}

TEST_CASE("reductions pass gradcheck over every axis, with keepdims", "[ops]") {
  CHECK(gradcheck([](Ins in) { return sum(in[0]); }, {param({3, 4})}));
  CHECK(gradcheck([](Ins in) { return mean(in[0]); }, {param({3, 4})}));
  for (int axis : {0, 1, 2, -1})
    for (bool keep : {false, true}) {
      INFO("axis " << axis << " keepdims " << keep);
      CHECK(gradcheck([=](Ins in) { return sum(in[0], axis, keep); }, {param({2, 3, 4})}));
      CHECK(gradcheck([=](Ins in) { return mean(in[0], axis, keep); }, {param({2, 3, 4})}));
      CHECK(gradcheck([=](Ins in) { return max(in[0], axis, keep); }, {separated({2, 3, 4})}));
    }
  Tensor x = Tensor{{1.0, 5.0, 2.0}, {7.0, 0.0, 3.0}};
  CHECK(max(x, 1).value() == Array{5.0, 7.0});
  CHECK((argmax(x, 1) == xt::xarray<std::size_t>{1, 0}));
  CHECK(sum(x, 0, true).shape() == Shape{1, 3});
  CHECK(mean(x, -1).shape() == Shape{2});
}

TEST_CASE("matmul passes gradcheck with every transpose flag", "[ops]") {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      INFO("ta " << ta << " tb " << tb);
      Tensor a = ta ? param({4, 3}) : param({3, 4});
      Tensor b = tb ? param({5, 4}) : param({4, 5});
      CHECK(gradcheck([=](Ins in) { return matmul(in[0], in[1], ta, tb); }, {a, b}));
    }
  Tensor a = Tensor{{1.0, 2.0}, {3.0, 4.0}};
  Tensor b = Tensor{{5.0, 6.0}, {7.0, 8.0}};
  CHECK(matmul(a, b).value() == Array{{19.0, 22.0}, {43.0, 50.0}});
  CHECK(matmul(a, b, true, false).value() == Array{{26.0, 30.0}, {38.0, 44.0}});
  CHECK(matmul(a, b, false, true).value() == Array{{17.0, 23.0}, {39.0, 53.0}});
}

TEST_CASE("linear passes gradcheck and equals x·Wᵀ + b", "[ops]") {
  Tensor x = param({5, 4}), w = param({3, 4}), b = param({3});
  CHECK(gradcheck([](Ins in) { return linear(in[0], in[1], in[2]); }, {x, w, b}));
  Tensor direct = matmul(x, w, false, true) + b;
  CHECK(xt::allclose(linear(x, w, b).value(), direct.value()));
  // Batch of one, and an input that needs no gradient.
  Tensor x1 = Tensor::rand({1, 4}, rng, -1, 1);
  CHECK(gradcheck([&](Ins in) { return linear(x1, in[0], in[1]); }, {w, b}));
}

TEST_CASE("shape ops pass gradcheck", "[ops]") {
  CHECK(gradcheck([](Ins in) { return transpose(in[0]); }, {param({3, 4})}));
  CHECK(gradcheck([](Ins in) { return reshape(in[0], {6, 2}); }, {param({3, 4})}));
  CHECK(gradcheck([](Ins in) { return slice_rows(in[0], 1, 3); }, {param({4, 3})}));
  CHECK(gradcheck([](Ins in) { return gather_rows(in[0], {2, 0, 2, 3}); }, {param({4, 3})}));
  CHECK(gradcheck(
      [](Ins in) {
        return concat({in[0], in[1]}, 0);
      },
      {param({2, 3}), param({4, 3})}));
  CHECK(gradcheck(
      [](Ins in) {
        return concat({in[0], in[1], in[0]}, 1);
      },
      {param({2, 3}), param({2, 1})}));
  Tensor x = Tensor{{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}};
  CHECK(gather_rows(x, {2, 0}).value() == Array{{5.0, 6.0}, {1.0, 2.0}});
  CHECK(slice_rows(x, 1, 2).value() == Array{{3.0, 4.0}});
  CHECK(concat({x, x}, 1).shape() == Shape{3, 4});
}

TEST_CASE("a composed expression passes gradcheck", "[ops]") {
  // A two-layer network with a softplus-like hidden layer and a squared error.
  auto f = [](Ins in) {
    Tensor h = log(exp(linear(in[0], in[1], in[2])) + 1.0);
    Tensor out = matmul(h, in[3], false, true);
    Tensor d = out - in[4];
    return mean(sum(d * d, 1)) * 0.5;
  };
  Tensor x = param({6, 4}), w1 = param({5, 4}), b1 = param({5}), w2 = param({2, 5});
  Tensor y = Tensor::rand({6, 2}, rng);
  CHECK(gradcheck(f, {x, w1, b1, w2, y}));
}

TEST_CASE("ops reject bad shapes with messages naming the op and shapes", "[ops]") {
  Tensor a = Tensor::zeros({10, 784}), b = Tensor::zeros({30, 784});
  CHECK_THROWS_AS(matmul(a, b), shape_error);
  CHECK_THROWS_WITH(matmul(a, b),
                    "matmul: (10, 784) x (30, 784): inner dimensions differ (784 vs 30)");
  CHECK_THROWS_WITH(add(Tensor::zeros({3, 4}), Tensor::zeros({3})),
                    Catch::Contains("add") && Catch::Contains("(3, 4)") && Catch::Contains("(3,)"));
  CHECK_THROWS_WITH(linear(a, Tensor::zeros({30, 783}), Tensor::zeros({30})),
                    Catch::Contains("linear") && Catch::Contains("(30, 783)"));
  CHECK_THROWS_WITH(linear(a, b, Tensor::zeros({29})), Catch::Contains("bias"));
  CHECK_THROWS_AS(matmul(Tensor::zeros({3}), b), shape_error);
  CHECK_THROWS_AS(sum(a, 2), shape_error);
  CHECK_THROWS_AS(reshape(a, {7, 7}), shape_error);
  CHECK_THROWS_AS(slice_rows(a, 5, 11), shape_error);
  CHECK_THROWS_AS(gather_rows(a, {10}), shape_error);
  CHECK_THROWS_AS(concat({a, Tensor::zeros({2, 3})}, 0), shape_error);
  CHECK_THROWS_AS(mean(Tensor::zeros({0, 3})), shape_error);
  CHECK_THROWS_AS(clamp(a, 1.0, -1.0), value_error);
}
