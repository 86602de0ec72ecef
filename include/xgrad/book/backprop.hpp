#pragma once
// The book's closed-form backpropagation (BP1-BP4), written straight from the
// equations in plain xtensor. It is the INDEPENDENT WITNESS that xgrad's
// autograd is checked against, so it must never use xg::Tensor, autograd or
// ops.hpp: a bug shared by both sides would otherwise go unseen.
//
// Network: layers l = 1..L. W^l is n_l × n_{l-1} (the book's W^l), b^l has n_l
// elements. Hidden layers are sigmoid; the output layer depends on OutputKind.
// Batch layout is one sample per row, so for a batch X (m × n_0):
//   z^l = a^{l-1} · (W^l)ᵀ + b^l        (b^l broadcast over the rows)
//   a^l = σ(z^l)                         (softmax at the output for softmax_log_likelihood)
//
// Cost (returned in Gradients::cost) = mean over the m rows of the per-sample cost
//   sigmoid_quadratic:       ½ Σ_j (a_j − y_j)²
//   sigmoid_cross_entropy:   −Σ_j [y_j ln a_j + (1 − y_j) ln(1 − a_j)]
//                            computed from z as Σ_j [softplus(z_j) − y_j z_j], finite
//                            even where a_j rounds to exactly 0 or 1
//   softmax_log_likelihood:  −Σ_j y_j ln a_j  (= −ln a_y for a one-hot y), with
//                            ln a_j = z_j − max z − ln Σ_k e^{z_k − max z}
// plus (λ / 2n) Σ_l Σ w² over the weights only when λ > 0 (n = training-set size).
//
// Output error δ^L (m × n_L), one row per sample (BP1 and the book's special cases):
//   sigmoid_quadratic:       (a − y) ⊙ σ'(z^L)
//   sigmoid_cross_entropy:   a − y                    (σ' cancels)
//   softmax_log_likelihood:  a ⊙ (Σ_j y_j) − y        (= the book's a − y when each
//                            row of Y sums to 1, e.g. one-hot; exact for any Y)
// BP2  δ^l = (δ^{l+1} · W^{l+1}) ⊙ σ'(z^l),  σ' = σ(1 − σ)
// BP3  ∂C/∂b^l = (1/m) Σ_rows δ^l
// BP4  ∂C/∂W^l = (δ^l)ᵀ · a^{l-1} / m  + (λ/n) W^l
//
// Every shape is validated first; a mismatch throws xg::shape_error naming the
// layer and both shapes. λ < 0, or λ > 0 with n = 0, throws xg::value_error.
#include <cstddef>
#include <vector>

#include "xgrad/scalar.hpp"

namespace xg::book {

/// Which output layer and cost the network has (hidden layers are always sigmoid).
enum class OutputKind { sigmoid_quadratic, sigmoid_cross_entropy, softmax_log_likelihood };

/// The book's network as bare arrays: weights[l] is n_{l+1} × n_l, biases[l] has n_{l+1}
/// elements (1-D). Index 0 is the first layer after the input.
struct Network {
  std::vector<Array> weights;
  std::vector<Array> biases;
};

/// ∂C/∂W^l and ∂C/∂b^l, shaped like the network's weights and biases, and the cost C itself.
struct Gradients {
  std::vector<Array> weights;
  std::vector<Array> biases;
  double cost = 0.0;
};

/// Output activations a^L (m × n_L) of the batch X (m × n_0).
/// Throws shape_error on an empty network or shapes that do not chain.
Array feedforward(const Network& net, const Array& X, OutputKind kind);

/// Cost of the batch (X: m × n_0, Y: m × n_L) and its gradient by BP1-BP4; see the top of
/// this header for the exact formulas. n is the training-set size used by the L2 term.
Gradients backprop(const Network& net, const Array& X, const Array& Y, OutputKind kind,
                   double lambda = 0.0, std::size_t n = 1);

}  // namespace xg::book
