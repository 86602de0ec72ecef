#pragma once
// Plain stochastic gradient descent, the book's rule.
#include "xgrad/optim/optimizer.hpp"

namespace xg::optim {

/// w ← w − η·g (g = ∂C/∂w, the batch mean). On weights with L2 the book's
/// weight decay w ← (1 − ηλ/n)·w − η·g; with L1 w ← w − (ηλ/n)·sgn(w) − η·g.
/// No state.
class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, double lr, Regularization reg = {});
  void step() override;
  std::string name() const override { return "sgd"; }
};

}  // namespace xg::optim
