#pragma once
// RMSProp (Hinton's lecture 6e; PyTorch's form, ε outside the root).
#include "xgrad/optim/optimizer.hpp"

namespace xg::optim {

/// s ← α·s + (1−α)·g²;  w ← w − η·g/(√s + ε).
/// g includes the L2/L1 terms on weights. State: the mean square s per
/// parameter, same shape, zero at the start.
class RMSProp : public Optimizer {
 public:
  /// α in [0, 1); ε > 0 (value_error otherwise).
  RMSProp(std::vector<Tensor> params, double lr = 1e-2, double alpha = 0.99, double eps = 1e-8,
          Regularization reg = {});
  void step() override;
  std::string name() const override { return "rmsprop"; }
  double alpha() const { return alpha_; }
  double eps() const { return eps_; }
  /// The mean squares s, by parameter position.
  std::vector<Array> state() const override { return square_avg_; }
  void load_state(const std::vector<Array>& state) override;

 private:
  double alpha_, eps_;
  std::vector<Array> square_avg_;
};

}  // namespace xg::optim
