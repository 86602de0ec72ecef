#pragma once
// The closed-form check: autograd through a composed xgrad model against the
// book's BP1–BP4 (book/backprop.hpp), element by element.
#include <cstddef>
#include <string>
#include <vector>

#include "xgrad/book/backprop.hpp"
#include "xgrad/random.hpp"

namespace xg::book {

struct CheckCase {
  std::vector<std::size_t> sizes;  // e.g. {784, 30, 10}
  OutputKind kind = OutputKind::sigmoid_quadratic;
  double lambda = 0.0;  // L2; n below is the training-set size it is scaled by
  std::size_t n = 50000;
};

/// Differences for one layer's weight and bias gradients: the largest
/// elementwise |a − b|, and the normwise relative difference
/// max|a − b| / max(|a|, |b|) over the tensor. (An elementwise ratio would
/// measure rounding in gradients that cancel to nearly zero, not agreement.)
struct LayerDiff {
  std::size_t layer = 0;  // 1-based, the book's l
  double weight_abs = 0, weight_rel = 0, bias_abs = 0, bias_rel = 0;
};

struct CheckResult {
  CheckCase config;
  std::size_t batch = 0;
  double cost_autograd = 0, cost_closed_form = 0;
  std::vector<LayerDiff> layers;
  double max_abs = 0, max_rel = 0;
  /// The largest gradient element compared: shows the check was not of zeros.
  double grad_scale = 0;
};

/// "sigmoid+quadratic", "sigmoid+cross-entropy", "softmax+log-likelihood".
std::string to_string(OutputKind kind);

/// Builds nn::mlp(sizes) with sigmoid hidden layers and the case's output
/// layer, initialised from `rng` (default init), computes the batch-mean cost
/// (+ L2) with autograd, and compares every gradient with book::backprop on
/// the same weights. X is m × sizes.front(), Y is m × sizes.back().
CheckResult compare_with_closed_form(const CheckCase& c, const Array& X, const Array& Y, Rng& rng);

}  // namespace xg::book
