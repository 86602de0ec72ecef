#pragma once
// Plain stochastic gradient descent, the book's rule.
#include "xgrad/optim/optimizer.hpp"

namespace xg::optim {

/// w ← w − η·g (g = ∂C/∂w, the batch mean). On weights with L2 the book's
/// weight decay w ← (1 − ηλ/n)·w − η·g; with L1 w ← w − (ηλ/n)·sgn(w) − η·g.
/// No state.
///
/// Fused steps (off by default, like PyTorch's `SGD(fused=True)`): with
/// set_fused(true), zero_grad() arms every parameter without L1/L2 terms, and
/// the op that produces such a parameter's whole gradient applies w ← w − η·g
/// itself during backward(). `linear`'s weight and bias and `matmul`'s second
/// operand do: the weight-gradient gemm then writes into the weights
/// (beta = 1), so no gradient buffer is written and streamed again. step()
/// updates the parameters backward did not (other ops, shared weights,
/// backward with keep_graph, regularised weights) as usual. What changes:
/// fused parameters keep no grad(); a second backward() before step() throws;
/// the weights round as the BLAS kernel does (η·g rounded, then the sum, where
/// the unfused step is one fused multiply-add: at most half a unit in the last
/// place of η·g apart per step), so results match the unfused ones to
/// rounding, not bit for bit. Data-parallel fit refuses it (the gradients must
/// be averaged first). The learning rate is read at zero_grad().
class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, double lr, Regularization reg = {});
  void step() override;
  void zero_grad() override;
  std::string name() const override { return "sgd"; }

  /// Steps inside backward where an op can (see above); takes effect at the
  /// next zero_grad().
  void set_fused(bool on);
  bool fused() const { return fused_; }
  bool steps_in_backward() const override { return fused_ || exact_; }
  /// Steps inside backward with step()'s bits only (Optimizer's doc;
  /// train::fit turns it on for its loop): `linear`'s weight through xgrad's
  /// weight-gradient kernel, its bias by its row sums. With set_fused(true)
  /// as well, fused steps win.
  void set_exact_steps_in_backward(bool on) override;
  bool exact_steps_in_backward() const override { return exact_; }

 private:
  void arm_or_disarm();
  bool fused_ = false;
  bool exact_ = false;
};

}  // namespace xg::optim
