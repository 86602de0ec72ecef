#pragma once
// Momentum-based gradient descent, the book's form, and Nesterov's variant.
#include "xgrad/optim/optimizer.hpp"

namespace xg::optim {

/// v ← μ·v − η·g;  w ← w + v   (μ = 0 is plain SGD).
/// Nesterov: v ← μ·v − η·g;  w ← w + μ·v − η·g  (with the new v).
/// g includes the L2/L1 terms on weights. State: one velocity per parameter,
/// same shape, zero at the start.
class Momentum : public Optimizer {
 public:
  /// μ must be in [0, 1) (value_error otherwise).
  Momentum(std::vector<Tensor> params, double lr, double mu, Regularization reg = {},
           bool nesterov = false);
  void step() override;
  /// "momentum" or "nesterov".
  std::string name() const override { return nesterov_ ? "nesterov" : "momentum"; }
  double momentum() const { return mu_; }
  bool nesterov() const { return nesterov_; }
  /// The velocities v, by parameter position.
  std::vector<Array> state() const override { return velocity_; }
  void load_state(const std::vector<Array>& state) override;

 private:
  double mu_;
  bool nesterov_;
  std::vector<Array> velocity_;
};

}  // namespace xg::optim
