#pragma once
// Finite-difference gradient checking, for users' own ops, layers and models.
//
//   auto r = xg::gradcheck([](const std::vector<xg::Tensor>& in) { return xg::exp(in[0]); },
//                          {xg::Tensor::randn({3, 4}, rng, 0, 1, true)});
//   REQUIRE(r);          // Catch2 prints r.message on failure
//
// A non-scalar output f(x) is checked through L = Σ r ⊙ f(x) with fixed random
// weights r, which exercises every row of the Jacobian at the cost of one
// backward pass. Numeric derivatives are central differences.
#include <functional>
#include <ostream>
#include <string>
#include <type_traits>
#include <vector>

#include "xgrad/tensor.hpp"

namespace xg {

/// The defaults follow Scalar. In double, f(x) is exact to ~1e-16, so a tiny
/// step and tight tolerances work. In float, f(x) carries ~1e-7 relative
/// rounding (more after sums) that the difference quotient divides by 2·eps:
/// the step sits near the central-difference optimum ∛1e-7 ≈ 5e-3, which still
/// leaves ~1e-3 of noise on outputs of size ~10, hence atol 1e-3 and rtol 1%.
/// A wrong derivative (a lost factor, a wrong sign) is off by far more. Keep
/// inputs further than eps from kinks (ReLU, abs, max ties).
struct GradcheckOptions {
  static constexpr bool single_precision = std::is_same<Scalar, float>::value;
  double eps = single_precision ? 5e-3 : 1e-6;  // finite-difference step
  // Pass when |analytic − numeric| ≤ atol + rtol·|numeric|.
  double atol = single_precision ? 1e-3 : 1e-6;
  double rtol = single_precision ? 1e-2 : 1e-4;
  std::uint64_t seed = 1234;  // for the output weights r
  /// Fail when every gradient is zero: a check that compares zeros with
  /// zeros proves nothing.
  bool require_nonzero = true;
  /// Compare one random projection vᵀJu (analytic against a central
  /// difference along u) instead of every element; on a mismatch the full
  /// check runs to name the element. For inputs of the book's size.
  bool fast_mode = false;
};

struct GradcheckResult {
  bool ok = true;
  std::string message;  // what failed and where, or a summary when ok
  double max_abs_error = 0.0;
  double max_rel_error = 0.0;
  explicit operator bool() const { return ok; }
};

std::ostream& operator<<(std::ostream& out, const GradcheckResult& r);

using GradcheckFn = std::function<Tensor(const std::vector<Tensor>&)>;

/// Compares autograd gradients of f with central finite differences for every
/// element of every input that requires a gradient. Inputs are restored after.
GradcheckResult gradcheck(const GradcheckFn& f, std::vector<Tensor> inputs,
                          const GradcheckOptions& options = {});

/// Thrown by check_gradients when a gradcheck fails.
class gradcheck_error : public error {
 public:
  using error::error;
};

/// Second order: the gradient g(x) = ∂⟨v, f(x)⟩/∂x (fixed random v, for each
/// input that requires a gradient) is differentiated again by autograd
/// (create_graph) and compared with central differences of the analytic g,
/// element by element: the message names the gradient's input and element and
/// the input and element it was differentiated by. With require_nonzero a
/// check whose second derivatives are all zero (a kink alone: ReLU, abs)
/// fails instead of passing vacuously; compose it (relu(x)·x) to check it.
GradcheckResult gradgradcheck(const GradcheckFn& f, std::vector<Tensor> inputs,
                              const GradcheckOptions& options = {});

/// gradcheck that throws gradcheck_error carrying the failure message.
void check_gradients(const GradcheckFn& f, std::vector<Tensor> inputs,
                     const GradcheckOptions& options = {});

}  // namespace xg
