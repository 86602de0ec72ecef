#pragma once
// Adam (Kingma & Ba 2015) with bias correction.
#include "xgrad/optim/optimizer.hpp"

namespace xg::optim {

/// t ← t + 1;  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
/// w ← w − η·m̂/(√v̂ + ε)  with m̂ = m/(1−β1^t), v̂ = v/(1−β2^t).
/// g includes the L2/L1 terms on weights (coupled decay, not AdamW).
/// State: per parameter, in order, m, v (its shape) and t (a rank-0 array):
/// [m_0, v_0, t_0, m_1, v_1, t_1, ...]. t counts the steps that parameter
/// actually received, so a parameter without a gradient keeps its own count.
class Adam : public Optimizer {
 public:
  /// β1, β2 in [0, 1); ε > 0 (value_error otherwise).
  Adam(std::vector<Tensor> params, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
       double eps = 1e-8, Regularization reg = {});
  void step() override;
  std::string name() const override { return "adam"; }
  double beta1() const { return beta1_; }
  double beta2() const { return beta2_; }
  double eps() const { return eps_; }
  std::vector<Array> state() const override;
  void load_state(const std::vector<Array>& state) override;

 private:
  double beta1_, beta2_, eps_;
  std::vector<Array> m_, v_;
  std::vector<std::size_t> t_;
};

}  // namespace xg::optim
