// The engine: accumulation, release, deep graphs, no-grad, detach, errors.
#include <catch2/catch.hpp>
#include <memory>

#include "xgrad/ops.hpp"
#include "xgrad/tensor.hpp"

using namespace xg;

TEST_CASE("backward computes the gradient of a small expression", "[engine]") {
  Tensor x = Tensor{{1.0, 2.0}, {3.0, 4.0}}.requires_grad_();
  Tensor y = sum(x * x * 3.0);  // dy/dx = 6x
  y.backward();
  CHECK(y.item() == Approx(90.0));
  CHECK(x.grad()(0, 0) == Approx(6.0));
  CHECK(x.grad()(1, 1) == Approx(24.0));
}

TEST_CASE("gradients accumulate across backward calls until zero_grad", "[engine]") {
  Tensor x = Tensor::full({3}, 2.0, true);
  sum(x * 2.0).backward();
  sum(x * 2.0).backward();
  CHECK(x.grad()(1) == Approx(4.0));
  x.zero_grad();
  CHECK_FALSE(x.has_grad());
  sum(x * 5.0).backward();
  CHECK(x.grad()(1) == Approx(5.0));
}

TEST_CASE("a tensor used twice gets both contributions", "[engine]") {
  Tensor x = Tensor::full({2}, 3.0, true);
  Tensor y = sum(x * x + x);  // 2x + 1
  y.backward();
  CHECK(x.grad()(0) == Approx(7.0));
}

TEST_CASE("the graph is released after backward", "[engine]") {
  Tensor x = Tensor::full({4}, 1.5, true);
  std::weak_ptr<Node> interior;
  Tensor loss;
  {
    Tensor h = exp(x);
    interior = h.node_ptr();
    loss = sum(h * 2.0);
  }
  REQUIRE_FALSE(interior.expired());  // the loss's graph keeps it alive
  loss.backward();
  CHECK(interior.expired());
  CHECK(x.has_grad());
}

TEST_CASE("keep_graph allows a second backward, without it the second one is an error",
          "[engine]") {
  Tensor x = Tensor::full({2}, 1.0, true);
  Tensor y = sum(exp(x));
  y.backward(/*keep_graph=*/true);
  y.backward();
  CHECK(x.grad()(0) == Approx(2.0 * std::exp(1.0)));
  CHECK_THROWS_AS(y.backward(), graph_error);
  CHECK_THROWS_WITH(y.backward(), Catch::Contains("already freed"));
}

TEST_CASE("reusing an interior tensor of a released graph is a clear error", "[engine]") {
  Tensor x = Tensor::full({2}, 1.0, true);
  Tensor h = exp(x);
  sum(h).backward();
  Tensor again = sum(h * 2.0);
  CHECK_THROWS_AS(again.backward(), graph_error);
}

TEST_CASE("a chain of 100,000 ops neither overflows the stack in backward nor in teardown",
          "[engine]") {
  Tensor x = Tensor::full({1}, 1.0, true);
  std::weak_ptr<Node> first_interior;
  {
    Tensor y = x;
    for (int i = 0; i < 100000; ++i) {
      y = y * 1.0;
      if (i == 0) first_interior = y.node_ptr();
    }
    sum(y).backward();
    CHECK(x.grad()(0) == Approx(1.0));
  }
  CHECK(first_interior.expired());
  // Teardown without backward must not recurse either.
  {
    Tensor y = x;
    for (int i = 0; i < 100000; ++i) y = y + 1.0;
  }
  SUCCEED();
}

TEST_CASE("no-grad mode records nothing", "[engine]") {
  Tensor x = Tensor::full({3}, 2.0, true);
  {
    NoGradGuard guard;
    CHECK_FALSE(grad_enabled());
    Tensor y = x * x;
    CHECK_FALSE(y.requires_grad());
    CHECK(y.node()->inputs.empty());
    CHECK_FALSE(static_cast<bool>(y.node()->backward));
    CHECK_THROWS_AS(sum(y).backward(), graph_error);
  }
  CHECK(grad_enabled());
  CHECK((x * x).requires_grad());
}

TEST_CASE("detach cuts the graph", "[engine]") {
  Tensor x = Tensor::full({2}, 3.0, true);
  Tensor d = (x * 2.0).detach();
  CHECK_FALSE(d.requires_grad());
  Tensor y = sum(x * d);  // d is a constant 6
  y.backward();
  CHECK(x.grad()(0) == Approx(6.0));
}

TEST_CASE("retain_grad keeps an interior gradient", "[engine]") {
  Tensor x = Tensor::full({2}, 1.0, true);
  Tensor h = x * 3.0;
  h.retain_grad();
  sum(h * h).backward();
  CHECK(h.grad()(0) == Approx(6.0));
}

TEST_CASE("engine errors name what went wrong", "[engine]") {
  Tensor x = Tensor::zeros({2, 3}, true);
  CHECK_THROWS_WITH((x * 2.0).backward(), Catch::Contains("shape (2, 3)"));
  CHECK_THROWS_WITH(x.grad(), Catch::Contains("no gradient"));
  CHECK_THROWS_AS(Tensor().value(), value_error);
  CHECK_THROWS_WITH((x * 2.0).requires_grad_(false), Catch::Contains("leaf"));
  Tensor c = Tensor::ones({2});
  CHECK_THROWS_WITH(sum(c).backward(), Catch::Contains("does not require grad"));
  CHECK_THROWS_AS(x.backward(Array(xt::ones<Scalar>({3}))), shape_error);
}

TEST_CASE("explicit seed gradient on a non-scalar output", "[engine]") {
  Tensor x = Tensor{1.0, 2.0, 3.0}.requires_grad_();
  Tensor y = x * 2.0;
  y.backward(Array{1.0, 0.0, -1.0});
  CHECK(x.grad()(0) == Approx(2.0));
  CHECK(x.grad()(1) == Approx(0.0));
  CHECK(x.grad()(2) == Approx(-2.0));
}

TEST_CASE("anomaly mode names the op that produced a NaN", "[engine]") {
  Tensor x = Tensor{-1.0, 4.0}.requires_grad_();
  {
    AnomalyGuard anomaly;
    CHECK_THROWS_AS(log(x), numeric_error);
    CHECK_THROWS_WITH(sqrt(x), Catch::Contains("'sqrt'"));
  }
  CHECK_NOTHROW(log(x));  // off again: NaN passes silently, as in PyTorch
}

TEST_CASE("creation helpers are seeded and reproducible", "[engine]") {
  Rng a(7), b(7);
  Tensor t1 = Tensor::randn({5, 5}, a);
  Tensor t2 = Tensor::randn({5, 5}, b);
  CHECK(t1.value() == t2.value());
  Rng c(8);
  CHECK_FALSE(Tensor::randn({5, 5}, c).value() == t1.value());
  Tensor u = Tensor::rand({1000}, a, -1.0, 1.0);
  CHECK(xt::amax(u.value())() < 1.0);
  CHECK(xt::amin(u.value())() >= -1.0);
  CHECK(Tensor::ones({2, 2}).value()(1, 1) == 1.0);
  CHECK(Tensor::full({2}, 4.0).value()(0) == 4.0);
  CHECK(Tensor::scalar(3.0).item() == 3.0);
}

TEST_CASE("the normal sampler has the right moments and is platform-fixed", "[engine]") {
  Rng rng(42);
  Array v = rng.normal_array({200000});
  CHECK(xt::mean(v)() == Approx(0.0).margin(0.01));
  CHECK(xt::stddev(v)() == Approx(1.0).margin(0.01));
  // mt19937_64's first output for seed 42 is fixed by the standard, so the
  // first uniform is too.
  Rng fixed(42);
  CHECK(fixed.uniform() == Approx(static_cast<double>(13930160852258120406ULL >> 11) * 0x1.0p-53));
  Rng r1(3), r2(3);
  r1.normal();
  const std::string state = r1.state();
  r2.restore(state);
  CHECK(r1.normal() == r2.normal());
  CHECK(r1.uniform() == r2.uniform());
}

TEST_CASE("a moved Array becomes the tensor's value without a copy; a kept one is copied",
          "[engine]") {
  Array moved = {1.0, 2.0, 3.0};
  const Scalar* buffer = moved.data();
  Tensor t(std::move(moved), true);
  CHECK(t.value().data() == buffer);  // the buffer itself, not a copy of it

  const Array kept = {4.0, 5.0, 6.0};
  Tensor u(kept);
  CHECK(u.value().data() != kept.data());
  CHECK(u.value() == kept);

  // record() the same way: an op's fresh result is taken over, a value the
  // caller keeps is copied, and a lazy expression is evaluated once.
  Array y = Scalar(2) * t.value();
  const Scalar* y_buffer = y.data();
  Tensor a = record("double", std::move(y), {t}, [](auto& c) { c.add(0, c.gy() * Scalar(2)); });
  CHECK(a.value().data() == y_buffer);
  Tensor b = record("same", kept, {t}, [](auto& c) { c.add(0, c.gy()); });
  CHECK(b.value().data() != kept.data());
  CHECK(b.value() == kept);
  Tensor e = record("plus_one", t.value() + Scalar(1), {t}, [](auto& c) { c.add(0, c.gy()); });
  // The form with a run-time list of inputs (concat's) takes both too.
  Tensor v = record("kept", kept, std::vector<Tensor>{t}, [](auto& c) { c.add(0, c.gy()); });
  CHECK(v.value().data() != kept.data());
  Array fresh = kept;
  const Scalar* fresh_buffer = fresh.data();
  Tensor w = record("taken", std::move(fresh), std::vector<Tensor>{t}, [](auto&) {});
  CHECK(w.value().data() == fresh_buffer);
  CHECK(e.value() == Array{2.0, 3.0, 4.0});
  sum(a + b + e).backward();
  CHECK(t.grad() == Array{4.0, 4.0, 4.0});
}

TEST_CASE("record lists its inputs by reference: temporaries work, only the edges own them",
          "[engine]") {
  Tensor x = Tensor::full({3}, 2.0, true);
  const long owners = x.node_ptr().use_count();
  // A temporary in the input list lives until record() has returned.
  Tensor y = record("twice", Array(Scalar(6) * x.value()), {x * Scalar(3)},
                    [](auto& c) { c.add(0, c.gy() * Scalar(2)); });
  CHECK(x.node_ptr().use_count() == owners + 1);  // the product's edge to x, nothing else
  REQUIRE(y.node()->inputs.size() == 1);
  CHECK(y.node()->inputs[0].use_count() == 1);  // y's edge is the product's only owner
  sum(y).backward();
  CHECK(x.grad()(0) == Approx(6.0));  // d(2·3x)/dx
  CHECK(x.node_ptr().use_count() == owners);
}

TEST_CASE("a second backward through a kept graph refills interior gradients the first freed",
          "[engine]") {
  // backward() resets an interior node's gradient once its rule has run; a
  // kept graph's next backward must size it again, including where a matrix
  // product accumulates into it in place (grad_buffer), for one-element
  // interior nodes and for the root's implicit seed.
  Tensor x({{1.0, -2.0, 0.5}, {3.0, 0.25, -1.0}}, true);
  Tensor w({{0.5, 1.0}, {-1.0, 2.0}, {0.25, -0.5}}, true);
  Tensor s = Tensor::scalar(1.5, true);
  Tensor h = x * s;       // interior, read by matmul's rule into grad_buffer
  Tensor t = sum(x) * s;  // one-element interior nodes
  Tensor loss = sum(matmul(h, w)) + t * t;
  loss.backward(/*keep_graph=*/true);
  const Array gx = x.grad(), gw = w.grad(), gs = s.grad();
  x.zero_grad();
  w.zero_grad();
  s.zero_grad();
  loss.backward(/*keep_graph=*/true);
  CHECK(x.grad() == gx);
  CHECK(w.grad() == gw);
  CHECK(s.grad() == gs);
  loss.backward();  // accumulates onto the second
  CHECK(xt::allclose(x.grad(), Scalar(2) * gx));
  CHECK(xt::allclose(s.grad(), Scalar(2) * gs));
}
