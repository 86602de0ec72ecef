// Autograd through the composed model equals the book's BP1–BP4.
#include <catch2/catch.hpp>

#include "precision.hpp"
#include "xgrad/book/check.hpp"
#include "xgrad/error.hpp"

using namespace xg;
using xg::book::OutputKind;
using xg_test::tol;

namespace {
Array one_hot_rows(std::size_t m, std::size_t classes, Rng& rng) {
  Array y = xt::zeros<Scalar>({m, classes});
  for (std::size_t i = 0; i < m; ++i) y(i, rng.below(classes)) = 1;
  return y;
}
}  // namespace

TEST_CASE("autograd gradients equal the closed-form BP1–BP4 to 1e-10", "[closed-form]") {
  const std::vector<std::vector<std::size_t>> sizes = {{4, 3, 2}, {10, 8, 6, 4}, {784, 30, 10}};
  const OutputKind kinds[] = {OutputKind::sigmoid_quadratic, OutputKind::sigmoid_cross_entropy,
                              OutputKind::softmax_log_likelihood};
  Rng rng(11);
  for (const auto& s : sizes)
    for (OutputKind kind : kinds)
      for (double lambda : {0.0, 5.0})
        for (std::size_t m : {1, 7}) {
          INFO(book::to_string(kind)
               << " sizes " << shape_str(s) << " lambda " << lambda << " batch " << m);
          Array X = rng.uniform_array({m, s.front()});
          Array Y = one_hot_rows(m, s.back(), rng);
          book::CheckCase c{s, kind, lambda, 1000};
          book::CheckResult r = book::compare_with_closed_form(c, X, Y, rng);
          // Both sides compute in Scalar: 1e-10 in double, 1e-5 in float (~80 ulps).
          CHECK(r.max_rel < tol(1e-10));
          CHECK(r.cost_autograd == Approx(r.cost_closed_form).epsilon(tol(1e-12)));
          REQUIRE(r.layers.size() == s.size() - 1);
          CHECK(r.max_abs < tol(1e-9));
          // Not vacuous: the gradients compared are not all zero.
          CHECK(r.grad_scale > 1e-4);
        }
}

TEST_CASE("the closed-form comparison notices a difference", "[closed-form]") {
  // Cross-entropy gradients against the quadratic closed form must differ:
  // proves the comparison is not blind.
  Rng rng(3);
  Array X = rng.uniform_array({5, 6});
  Array Y = one_hot_rows(5, 3, rng);
  Rng r1(9), r2(9);
  auto quad = book::compare_with_closed_form({{6, 4, 3}, OutputKind::sigmoid_quadratic}, X, Y, r1);
  auto ce =
      book::compare_with_closed_form({{6, 4, 3}, OutputKind::sigmoid_cross_entropy}, X, Y, r2);
  CHECK(quad.cost_autograd != Approx(ce.cost_autograd));
  CHECK(quad.max_rel < tol(1e-10));
}
