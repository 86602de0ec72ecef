#pragma once
// The book's Hessian technique (chapter 3, eqs. 103–106) as an optimizer, for
// small models: form H = ∇²C by second-order autograd, solve the damped
// system (H + μI)Δw = −∇C (Levenberg–Marquardt style), and adapt μ by how
// well the quadratic model predicted the decrease. docs/hessian.md.
#include <functional>

#include "xgrad/optim/optimizer.hpp"

namespace xg::optim {

struct NewtonOptions {
  double damping = 1e-3;              ///< the initial μ
  double min_damping = 1e-12;         ///< μ never goes below this
  double max_damping = 1e12;          ///< a step that fails at this μ is given up
  std::size_t max_parameters = 4096;  ///< H has n² entries: refuse larger models
};

/// w ← w + Δw with (H + μI)Δw = −∇C, where C is the closure's scalar cost
/// (put any regularisation into it). ρ = (C(w) − C(w + Δw)) / predicted
/// decrease; ρ > 3/4: μ /= 3; ρ < 1/4: μ *= 2; a step that does not lower C is
/// undone and retried with a larger μ. Solved by xt::linalg::solve; H's
/// eigenvalues (xt::linalg::eigvalsh) say whether it was positive definite.
/// State: { μ } (one rank-0 array; μ is kept at Scalar precision, so the
/// saved value is exact). μ is all that carries from step to step (H, ∇C and
/// the diagnostics below are recomputed), so a checkpoint resumes bit for bit.
/// Not in make_optimizer(): it needs the cost closure, so resuming takes a
/// constructed Newton (train::Checkpointer and io::load_checkpoint take the
/// object); a checkpoint of another rule is refused naming both.
class Newton : public Optimizer {
 public:
  using Closure = std::function<Tensor()>;
  Newton(std::vector<Tensor> params, Closure cost, NewtonOptions options = {});
  void step() override;
  std::string name() const override { return "newton"; }
  std::vector<Array> state() const override;
  void load_state(const std::vector<Array>& state) override;

  double damping() const { return mu_; }
  /// The smallest eigenvalue of the last H (> 0: positive definite there).
  double last_min_eigenvalue() const { return min_eig_; }
  /// The cost before and after the last step.
  double last_cost_before() const { return c0_; }
  double last_cost_after() const { return c1_; }

 private:
  Closure cost_;
  NewtonOptions opt_;
  double mu_;
  double min_eig_ = 0, c0_ = 0, c1_ = 0;
};

}  // namespace xg::optim
