// The checker itself: it must fail on a wrong backward and refuse vacuous passes.
#include <catch2/catch.hpp>
#include <sstream>

#include "xgrad/gradcheck.hpp"
#include "xgrad/ops.hpp"

using namespace xg;
using Ins = const std::vector<Tensor>&;

namespace {
// y = x³ with a deliberately wrong derivative (2x² instead of 3x²).
Tensor wrong_cube(const Tensor& x) {
  return record("wrong_cube", x.value() * x.value() * x.value(), {x},
                [](BackwardContext& c) { c.add(0, Array(c.gy() * 2.0 * c.x(0) * c.x(0))); });
}
}  // namespace

TEST_CASE("gradcheck catches a wrong backward and says where", "[gradcheck]") {
  Tensor x = Tensor{{1.0, 2.0}, {-1.5, 0.5}}.requires_grad_();
  GradcheckResult r = gradcheck([](Ins in) { return wrong_cube(in[0]); }, {x});
  CHECK_FALSE(r);
  CHECK_THAT(r.message, Catch::Contains("input 0") && Catch::Contains("element (0, 0)") &&
                            Catch::Contains("autograd") && Catch::Contains("finite difference"));
  std::ostringstream out;
  out << r;
  CHECK_THAT(out.str(), Catch::StartsWith("gradcheck FAILED"));
  CHECK_THROWS_AS(check_gradients([](Ins in) { return wrong_cube(in[0]); }, {x}), gradcheck_error);
  // The input is restored and its gradient cleared.
  CHECK(x.value()(0, 1) == 2.0);
  CHECK_FALSE(x.has_grad());
}

TEST_CASE("gradcheck refuses to pass vacuously", "[gradcheck]") {
  Tensor x = Tensor{1.0, 2.0}.requires_grad_();
  // Gradient is identically zero: nothing is proven.
  GradcheckResult zero = gradcheck([](Ins in) { return in[0] * 0.0; }, {x});
  CHECK_FALSE(zero);
  CHECK_THAT(zero.message, Catch::Contains("zero"));
  // No input requires a gradient.
  GradcheckResult none = gradcheck([](Ins in) { return in[0] * 2.0; }, {Tensor{1.0, 2.0}});
  CHECK_FALSE(none);
  GradcheckOptions allow;
  allow.require_nonzero = false;
  CHECK(gradcheck([](Ins in) { return in[0] * 0.0; }, {x}, allow));
}

TEST_CASE("gradcheck passes a correct backward with a readable summary", "[gradcheck]") {
  Tensor x = Tensor{{1.0, 2.0}, {-1.5, 0.5}}.requires_grad_();
  GradcheckResult r = gradcheck([](Ins in) { return pow(in[0], 3.0); }, {x});
  CHECK(r);
  CHECK_THAT(r.message, Catch::Contains("4 elements agree"));
}
