#pragma once
// Hessian-free optimisation (Martens 2010): the Newton step of the book's
// Hessian technique without ever forming H. The damped system
// (H + λI)d = −∇C is solved by conjugate gradient, each iteration needing
// one Hessian-vector product (Pearlmutter: the gradient of ⟨∇C, v⟩ on the
// graph of ∇C, recorded once per step). These are exact Hessian products,
// not Gauss–Newton ones, so CG stops at the first direction of negative
// curvature. λ is adapted Levenberg–Marquardt style. docs/hessian.md.
#include <functional>

#include "xgrad/optim/optimizer.hpp"

namespace xg::optim {

struct HessianFreeOptions {
  double damping = 1.0;  ///< the initial λ
  double min_damping = 1e-8;
  double max_damping = 1e8;
  std::size_t cg_iterations = 50;  ///< at most this many HVPs per step
  double cg_tolerance = 1e-10;     ///< stop when ‖r‖ ≤ tol·‖∇C‖
};

/// State: { λ } (one rank-0 array; λ is kept at Scalar precision, so the
/// saved value is exact). λ is all that carries from step to step (CG starts
/// from d = 0 each step: no warm start), so a checkpoint resumes bit for bit.
/// Not in make_optimizer(): it needs the cost closure, so resuming takes a
/// constructed HessianFree (train::Checkpointer and io::load_checkpoint take
/// the object); a checkpoint of another rule is refused naming both.
class HessianFree : public Optimizer {
 public:
  using Closure = std::function<Tensor()>;
  HessianFree(std::vector<Tensor> params, Closure cost, HessianFreeOptions options = {});
  void step() override;
  std::string name() const override { return "hessian-free"; }
  std::vector<Array> state() const override;
  void load_state(const std::vector<Array>& state) override;

  double damping() const { return lambda_; }
  std::size_t last_cg_iterations() const { return cg_done_; }
  double last_cost_before() const { return c0_; }
  double last_cost_after() const { return c1_; }

 private:
  Closure cost_;
  HessianFreeOptions opt_;
  double lambda_;
  std::size_t cg_done_ = 0;
  double c0_ = 0, c1_ = 0;
};

}  // namespace xg::optim
