#pragma once
// L2/L1 regularisation in one place: its cost term (what fit reports) and
// its gradient (what the optimizers apply), so the two cannot disagree.
// Formulas and the book's notation: docs/training-parts.md.
#include <cstddef>
#include <vector>

#include "xgrad/tensor.hpp"

namespace xg::optim {

/// L2/L1 strengths λ, the training-set size n they are divided by (the book's
/// λ/n scaling), and the tensors they apply to: a model's weights
/// (Module::weights()), never its biases. An optimizer covers the listed
/// tensors that are among its parameters (matched by identity, not value) and
/// ignores the others; fit reports the term over exactly the tensors the
/// optimizer covers (Optimizer::regularized_tensors()).
struct Regularization {
  double l2 = 0.0;
  double l1 = 0.0;
  std::size_t n = 1;
  std::vector<Tensor> weights;

  bool active() const { return l2 > 0.0 || l1 > 0.0; }
  /// λ₂/n and λ₁/n: the coefficients of w and sgn(w) in the gradient.
  double l2_rate() const { return l2 / static_cast<double>(n); }
  double l1_rate() const { return l1 / static_cast<double>(n); }

  /// The cost term over `tensors`: (λ₂/2n)·Σ w² + (λ₁/n)·Σ |w|
  /// (xg::l2_penalty + xg::l1_penalty), without recording a graph.
  double value(const std::vector<Tensor>& tensors) const;
  /// Its gradient for one tensor added to g: out = g + (λ₂/n)·w + (λ₁/n)·sgn(w)
  /// (sgn(0) = 0). `out` is resized by the first call only.
  void add_gradient(const Array& w, const Array& g, Array& out) const;
};

}  // namespace xg::optim
