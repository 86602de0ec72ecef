#pragma once
// Cost functions and the L1/L2 regularisation terms. Each cost is ONE fused
// op: a scalar Tensor equal to the MEAN over the batch (rows, axis 0) of the
// book's per-sample cost, with its derivative written next to its value in
// src/cost.cpp. The formulas and conventions: docs/training-parts.md.
//
// Batch convention: a tensor of rank >= 2 holds one sample per row, so the
// batch size m is shape[0]; a tensor of rank 0 or 1 is ONE sample (m = 1).
// An empty tensor is rejected (value_error); `a` and `y` must have exactly
// the same shape (shape_error naming the cost and both shapes, no broadcast).
//
// Costs on outputs never look at how their input was made. The book's exact
// δ^L = a − y at a sigmoid or softmax output comes from the costs on LOGITS,
// named for the activation they fuse with: sigmoid_cross_entropy(z, y) and
// softmax_log_likelihood(z, y) take z with a = σ(z) or softmax(z), are
// finite for any z and give dC/dz = (a − y)/m. A Cost says which activation
// it fuses with (fused_activation()), and cost_on_model() uses it to run a
// model that ends in that activation on its logits (docs/training-parts.md).
// Every cost, fused or not, can be differentiated twice (xg::grad).
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "xgrad/tensor.hpp"

namespace xg {

/// Quadratic cost: per sample ½‖a − y‖² (a sum of squares, never a norm),
/// averaged over the batch.
Tensor quadratic_cost(const Tensor& a, const Tensor& y);

/// The quadratic cost of a = σ(z), from the logits z: the same numbers as
/// quadratic_cost(sigmoid(z), y), value and gradients bit for bit
/// (dC/dz = (a − y)/m ⊙ a(1 − a), BP1 with the quadratic cost), in one op
/// instead of two. A speed fusion only: unlike the cross-entropy pairing
/// nothing cancels, a saturated wrong output still learns slowly.
Tensor sigmoid_quadratic_cost(const Tensor& z, const Tensor& y);

/// Cross-entropy of probabilities a: per sample −Σ_j [y_j ln a_j + (1−y_j) ln(1−a_j)],
/// averaged over the batch, with ln clamped at −100 (0·ln 0 = 0, the book's
/// nan_to_num). At a sigmoid output prefer sigmoid_cross_entropy on the logits.
Tensor cross_entropy_cost(const Tensor& a, const Tensor& y);

/// The same cost from the logits z (a = σ(z)): per element
/// max(z,0) − z·y + ln(1 + e^{−|z|}); gradient (σ(z) − y)/m (BP1's δ^L = a − y).
Tensor sigmoid_cross_entropy(const Tensor& z, const Tensor& y);
/// Older name of sigmoid_cross_entropy (op name "binary_cross_entropy_with_logits").
Tensor binary_cross_entropy_with_logits(const Tensor& z, const Tensor& y);

/// Log-likelihood of probabilities a: per sample −Σ_j y_j ln a_j (= −ln a_label
/// for a one-hot y), averaged over the batch, ln clamped at −100. At a softmax
/// output prefer softmax_log_likelihood on the logits.
Tensor log_likelihood_cost(const Tensor& a, const Tensor& y);

/// The same with integer class labels (one per row of the m × k tensor `a`);
/// labels must be < k (value_error naming the index and the value).
Tensor log_likelihood_cost(const Tensor& a, const std::vector<std::size_t>& labels);

/// Log-likelihood from logits: per sample −Σ_j y_j log_softmax(z)_j (last axis),
/// averaged over the batch; gradient (softmax(z)·Σ_j y_j − y)/m, i.e. (a − y)/m.
Tensor softmax_log_likelihood(const Tensor& z, const Tensor& y);
/// The same with integer class labels (one per row of the m × k tensor `z`).
Tensor softmax_log_likelihood(const Tensor& z, const std::vector<std::size_t>& labels);

/// Older name of softmax_log_likelihood (op name "nll_from_logits").
Tensor nll_from_logits(const Tensor& z, const Tensor& y);
Tensor nll_from_logits(const Tensor& z, const std::vector<std::size_t>& labels);

/// Mean absolute error: mean of |a − y| over ALL elements (the study notes'
/// convention); d|u|/du = sign(u), 0 at 0.
Tensor mean_absolute_error(const Tensor& a, const Tensor& y);

/// L2 term (λ/2n) Σ_w Σ w² over the given tensors (the weights, not the biases);
/// n is the training-set size. An empty list gives the constant 0.
Tensor l2_penalty(const std::vector<Tensor>& weights, double lambda, std::size_t n);

/// L1 term (λ/n) Σ_w Σ |w|; gradient (λ/n)·sgn(w), 0 at 0.
Tensor l1_penalty(const std::vector<Tensor>& weights, double lambda, std::size_t n);

/// A cost chosen by name, for the training loop, the CLI and the model file.
struct Cost {
  virtual ~Cost();
  /// The scalar batch-mean cost of outputs `a` against targets `y`.
  virtual Tensor operator()(const Tensor& a, const Tensor& y) const = 0;
  /// The registered name ("quadratic", "cross-entropy", ...).
  virtual std::string name() const = 0;
  /// The output activation this cost fuses with ("sigmoid" for cross-entropy,
  /// "softmax" for log-likelihood), "" for none.
  virtual std::string fused_activation() const { return ""; }
  /// The cost from that activation's logits z: equal to (*this)(act(z), y),
  /// finite for any z, gradient (a − y)/m. value_error for a cost without one.
  virtual Tensor from_logits(const Tensor& z, const Tensor& y) const;
};

namespace nn {
class Module;
}
/// The cost of `model` on inputs x against targets y, as a training loop
/// wants it: when the cost fuses with an activation and the model is an
/// nn::Sequential ending in that activation, the model runs up to its logits
/// (Sequential::forward_logits) and the cost is taken on them; otherwise
/// cost(model(x), y). Code: src/nn/cost_model.cpp.
Tensor cost_on_model(const Cost& cost, nn::Module& model, const Tensor& x, const Tensor& y);

/// "quadratic", "cross-entropy", "log-likelihood" or "mae"; any other name
/// throws value_error listing these.
std::unique_ptr<Cost> make_cost(const std::string& name);

/// The names make_cost accepts, in a stable order.
std::vector<std::string> cost_names();

}  // namespace xg
