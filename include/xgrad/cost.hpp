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
// Logits path: when `a` is the output of the op "sigmoid" (for
// cross_entropy_cost) or "softmax" (for log_likelihood_cost) and its graph
// is alive (a.node()->inputs not empty), the cost is computed from that op's
// input z instead of from a, and its gradient goes straight to z as
// (a − y)/m: BP1's δ^L = a − y with no σ' factor. It is then finite and exact
// even when a rounds to exactly 0 or 1. The cost node's inputs are {z, y},
// so a retained gradient on `a` itself does not see this cost. Without a
// live graph (no-grad mode, a leaf, another producing op) the cost uses a's
// value with clamped logarithms (0·ln 0 = 0, as the book's nan_to_num).
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "xgrad/tensor.hpp"

namespace xg {

/// Quadratic cost: per sample ½‖a − y‖² (a sum of squares, never a norm),
/// averaged over the batch.
Tensor quadratic_cost(const Tensor& a, const Tensor& y);

/// Cross-entropy for sigmoid outputs: per sample −Σ_j [y_j ln a_j + (1−y_j) ln(1−a_j)],
/// averaged over the batch. Computed from the logits when `a` comes from "sigmoid".
Tensor cross_entropy_cost(const Tensor& a, const Tensor& y);

/// The same cost computed from the logits z (a = σ(z)): per element
/// max(z,0) − z·y + ln(1 + e^{−|z|}); gradient (σ(z) − y)/m.
Tensor binary_cross_entropy_with_logits(const Tensor& z, const Tensor& y);

/// Log-likelihood for softmax outputs: per sample −Σ_j y_j ln a_j (= −ln a_label
/// for a one-hot y), averaged over the batch. Computed from the logits when `a`
/// comes from "softmax" (softmax over the last axis).
Tensor log_likelihood_cost(const Tensor& a, const Tensor& y);

/// The same with integer class labels (one per row of the m × k tensor `a`);
/// labels must be < k (value_error naming the index and the value).
Tensor log_likelihood_cost(const Tensor& a, const std::vector<std::size_t>& labels);

/// Log-likelihood from logits: per sample −Σ_j y_j log_softmax(z)_j (last axis),
/// averaged over the batch; gradient (softmax(z)·Σ_j y_j − y)/m, i.e. (a − y)/m.
Tensor nll_from_logits(const Tensor& z, const Tensor& y);

/// The same with integer class labels (one per row of the m × k tensor `z`).
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
};

/// "quadratic", "cross-entropy", "log-likelihood" or "mae"; any other name
/// throws value_error listing these.
std::unique_ptr<Cost> make_cost(const std::string& name);

/// The names make_cost accepts, in a stable order.
std::vector<std::string> cost_names();

}  // namespace xg
