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
#include <vector>

#include "xgrad/tensor.hpp"

namespace xg {

struct GradcheckOptions {
  double eps = 1e-6;   // finite-difference step
  double atol = 1e-6;  // pass when |analytic − numeric| ≤ atol + rtol·|numeric|
  double rtol = 1e-4;
  std::uint64_t seed = 1234;  // for the output weights r
  /// Fail when every gradient is zero: a check that compares zeros with
  /// zeros proves nothing.
  bool require_nonzero = true;
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

/// gradcheck that throws gradcheck_error carrying the failure message.
void check_gradients(const GradcheckFn& f, std::vector<Tensor> inputs,
                     const GradcheckOptions& options = {});

}  // namespace xg
