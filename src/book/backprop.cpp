// BP1-BP4 from the book, vectorised over a batch. Deliberately independent of
// the autograd engine and of the ops' BLAS calls: the three matrix products
// are xtensor-blas's xt::linalg::dot (exactly the book's np.dot) on explicit
// transposes, not src/ops/blas.cpp's gemm with flags, so a wrong transpose
// flag or leading dimension in ops/linalg cannot be reproduced by the witness.
#include "xgrad/book/backprop.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xview.hpp>

#include "xgrad/error.hpp"

namespace xg::book {
namespace {

// ---- the three matrix products BP needs (all operands row-major, contiguous) ----

// C = A · Bᵀ with A m×k and B n×k (np.dot(A, B.T)).
Array times_transposed(const Array& A, const Array& B) {
  return xt::linalg::dot(A, Array(xt::transpose(B)));
}

// C = A · B with A m×n and B n×k (np.dot(A, B)).
Array times(const Array& A, const Array& B) { return xt::linalg::dot(A, B); }

// C = Aᵀ · B with A m×n and B m×k (np.dot(A.T, B)).
Array transposed_times(const Array& A, const Array& B) {
  return xt::linalg::dot(Array(xt::transpose(A)), B);
}

// ---- activations ----

// σ(z) = 1 / (1 + e^{−z}); for very negative z, e^{−z} = inf gives exactly 0, never NaN.
Array sigmoid(const Array& z) { return 1.0 / (1.0 + xt::exp(-z)); }

// softplus(z) = ln(1 + e^z) = max(z, 0) + ln(1 + e^{−|z|}), which never overflows.
Array softplus(const Array& z) {
  return xt::maximum(z, Scalar(0)) + xt::log1p(xt::exp(-xt::abs(z)));
}

// Row-wise log-softmax: z − max − ln Σ e^{z − max}. Subtracting the row max keeps every
// e^· ≤ 1 and the sum ≥ 1, so nothing overflows and the log is finite.
Array log_softmax_rows(const Array& z) {
  const std::size_t m = z.shape(0), k = z.shape(1);
  Array out = Array::from_shape({m, k});
  for (std::size_t i = 0; i < m; ++i) {
    const Scalar* zi = z.data() + i * k;
    Scalar* oi = out.data() + i * k;
    double top = zi[0];
    for (std::size_t j = 1; j < k; ++j) top = std::max(top, static_cast<double>(zi[j]));
    double sum = 0.0;
    for (std::size_t j = 0; j < k; ++j) sum += std::exp(zi[j] - top);
    const double log_norm = top + std::log(sum);
    for (std::size_t j = 0; j < k; ++j) oi[j] = static_cast<Scalar>(zi[j] - log_norm);
  }
  return out;
}

// Output activation a^L from the output layer's weighted input z^L.
Array output_activation(const Array& zL, OutputKind kind) {
  if (kind == OutputKind::softmax_log_likelihood) return xt::exp(log_softmax_rows(zL));
  return sigmoid(zL);
}

// ---- validation ----

std::string layer_name(std::size_t l) { return "layer " + std::to_string(l + 1); }

void check_network(const Network& net, const Array& X, const char* fn) {
  const std::string where = std::string("book::") + fn + ": ";
  if (net.weights.empty())
    throw shape_error(where + "the network has no layers (expected at least one weight matrix)");
  if (net.weights.size() != net.biases.size())
    throw shape_error(where + "expected as many bias vectors as weight matrices, got " +
                      std::to_string(net.weights.size()) + " weights and " +
                      std::to_string(net.biases.size()) + " biases");
  if (X.dimension() != 2)
    throw shape_error(where + "expected X to be m × n_in (2-D), got " + shape_str(X.shape()));
  if (X.shape(0) == 0) throw shape_error(where + "X has no rows, got " + shape_str(X.shape()));
  std::size_t fan_in = X.shape(1);
  for (std::size_t l = 0; l < net.weights.size(); ++l) {
    const Array& W = net.weights[l];
    const Array& b = net.biases[l];
    if (W.dimension() != 2 || W.shape(1) != fan_in) {
      const std::string source = l == 0 ? "the columns of X " + shape_str(X.shape())
                                        : layer_name(l - 1) + "'s width " + std::to_string(fan_in);
      throw shape_error(where + layer_name(l) + " weight: expected (n_out, " +
                        std::to_string(fan_in) + ") to match " + source + ", got " +
                        shape_str(W.shape()));
    }
    if (b.dimension() != 1 || b.shape(0) != W.shape(0))
      throw shape_error(where + layer_name(l) + " bias: expected (" + std::to_string(W.shape(0)) +
                        ",) to match weight " + shape_str(W.shape()) + ", got " +
                        shape_str(b.shape()));
    fan_in = W.shape(0);
  }
}

// Activations a^l of every layer (as[0] is X itself) and the output's weighted input z^L.
// Hidden z^l need not be kept: σ'(z^l) = a^l (1 − a^l) comes from the activations.
struct Pass {
  std::vector<Array> as;
  Array zL;
};

Pass forward(const Network& net, const Array& X, OutputKind kind) {
  Pass p;
  p.as.push_back(X);
  const std::size_t L = net.weights.size();
  for (std::size_t l = 0; l < L; ++l) {
    Array z = times_transposed(p.as.back(), net.weights[l]) + net.biases[l];
    p.as.push_back(l + 1 == L ? output_activation(z, kind) : sigmoid(z));
    if (l + 1 == L) p.zL = std::move(z);
  }
  return p;
}

// Mean over the batch of the per-sample cost (see the header for the formulas).
double batch_cost(const Array& zL, const Array& aL, const Array& Y, OutputKind kind) {
  const double m = static_cast<double>(Y.shape(0));
  switch (kind) {
    case OutputKind::sigmoid_quadratic: {
      // A plain sum of squares: no norm, whose derivative at 0 is undefined.
      Array d = aL - Y;
      return 0.5 * static_cast<double>(xt::sum(d * d)()) / m;
    }
    case OutputKind::sigmoid_cross_entropy:
      // −[y ln σ(z) + (1−y) ln(1−σ(z))] = softplus(z) − y z, since ln σ(z) = −softplus(−z)
      // and ln(1 − σ(z)) = −softplus(z): finite for every z, unlike ln a at a = 0 or 1.
      return static_cast<double>(xt::sum(softplus(zL) - Y * zL)()) / m;
    case OutputKind::softmax_log_likelihood:
      return -static_cast<double>(xt::sum(Y * log_softmax_rows(zL))()) / m;
  }
  throw value_error("book::backprop: unknown OutputKind");
}

// BP1 with the book's special cases: the error at the output layer, one row per sample.
Array output_error(const Array& aL, const Array& Y, OutputKind kind) {
  switch (kind) {
    case OutputKind::sigmoid_quadratic:
      // ∇_a C = a − y; σ'(z) = σ(z)(1 − σ(z)) = a(1 − a)
      return (aL - Y) * aL * (1.0 - aL);
    case OutputKind::sigmoid_cross_entropy:
      // ∇_a C = (a − y) / (a(1 − a)) cancels σ' exactly
      return aL - Y;
    case OutputKind::softmax_log_likelihood: {
      // ∂/∂z_k [−Σ_j y_j ln a_j] = a_k Σ_j y_j − y_k, i.e. a − y for rows of Y summing to 1
      const std::size_t m = Y.shape(0);
      Array row_mass = xt::sum(Y, {1});
      return aL * xt::reshape_view(row_mass, {m, std::size_t(1)}) - Y;
    }
  }
  throw value_error("book::backprop: unknown OutputKind");
}

}  // namespace

Array feedforward(const Network& net, const Array& X, OutputKind kind) {
  check_network(net, X, "feedforward");
  return forward(net, X, kind).as.back();
}

Gradients backprop(const Network& net, const Array& X, const Array& Y, OutputKind kind,
                   double lambda, std::size_t n) {
  check_network(net, X, "backprop");
  const std::size_t L = net.weights.size();
  const std::size_t n_out = net.weights.back().shape(0);
  if (Y.dimension() != 2 || Y.shape(0) != X.shape(0) || Y.shape(1) != n_out)
    throw shape_error("book::backprop: expected Y to be (" + std::to_string(X.shape(0)) + ", " +
                      std::to_string(n_out) + ") to match X " + shape_str(X.shape()) +
                      " and the output layer " + layer_name(L - 1) + ", got " +
                      shape_str(Y.shape()));
  if (!(lambda >= 0.0))
    throw value_error("book::backprop: expected lambda >= 0, got " + std::to_string(lambda));
  if (lambda > 0.0 && n == 0)
    throw value_error("book::backprop: lambda > 0 needs the training-set size n >= 1, got 0");

  const Pass p = forward(net, X, kind);
  const Scalar m = static_cast<Scalar>(X.shape(0));

  Gradients g;
  g.weights.resize(L);
  g.biases.resize(L);
  g.cost = batch_cost(p.zL, p.as.back(), Y, kind);

  Array delta = output_error(p.as.back(), Y, kind);  // BP1
  for (std::size_t l = L; l-- > 0;) {
    g.biases[l] = xt::sum(delta, {0}) / m;                // BP3
    g.weights[l] = transposed_times(delta, p.as[l]) / m;  // BP4
    if (l > 0) {
      const Array& a = p.as[l];                              // σ(z^l) of the layer below
      delta = times(delta, net.weights[l]) * a * (1.0 - a);  // BP2
    }
  }

  if (lambda > 0.0) {
    const double scale = lambda / static_cast<double>(n);
    double sum_sq = 0.0;
    for (std::size_t l = 0; l < L; ++l) {
      sum_sq += static_cast<double>(xt::sum(net.weights[l] * net.weights[l])());
      g.weights[l] += static_cast<Scalar>(scale) * net.weights[l];  // ∂/∂w (λ/2n) w² = (λ/n) w
    }
    g.cost += 0.5 * scale * sum_sq;
  }
  return g;
}

}  // namespace xg::book
