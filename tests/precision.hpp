#pragma once
// Tolerances for tests that run in both the double build and the float build
// (-DXGRAD_FLOAT=ON). A test writes the tolerance it means in double; the float
// build raises it to float's rounding level and never lowers it. (Scaling by a
// fixed factor would not do: some double tolerances sit at rounding level,
// 1e-15, others well above it, 1e-7, and only the former need to move.)
#include <algorithm>
#include <type_traits>

#include "xgrad/scalar.hpp"

namespace xg_test {

constexpr bool single_precision = std::is_same<xg::Scalar, float>::value;

/// What float results a few operations deep, of size ~1, reliably meet:
/// ~100 ulps of 1, the same as Catch's default Approx epsilon.
constexpr double float_rounding = 1e-5;

/// `double_tol` in the double build; at least `float_tol` in the float build.
constexpr double tol(double double_tol, double float_tol = float_rounding) {
  return single_precision ? std::max(double_tol, float_tol) : double_tol;
}

}  // namespace xg_test
