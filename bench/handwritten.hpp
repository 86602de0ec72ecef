#pragma once
// The book's network trained with no framework at all: what xgrad-bench sets
// xgrad's epoch against besides the gemm floor, so that the engine's own cost
// (graph, ops, tensors) is told apart from the work any training program
// must do around the gemms (docs/performance.md, "A hand-written step").
#include <cstddef>
#include <vector>

#include "xgrad/data/dataset.hpp"
#include "xgrad/nn/module.hpp"
#include "xgrad/scalar.hpp"

namespace xg::bench {

/// n_in–hidden–n_out, sigmoid layers, quadratic cost (mean over the
/// mini-batch), SGD with the update inside the weight-gradient gemm as fused
/// SGD does it. Buffers are allocated once; every step is: the mini-batch
/// from `Batches::next_into` (the library's gather and prefetch, so the data
/// path is the same as xgrad's), two forward gemms onto the bias rows,
/// sigmoids, the output error, dh = G·W2, the two weight gemms with
/// alpha = −η and beta = 1, and the bias steps — written as plain loops.
class HandwrittenMlp {
 public:
  /// Starts from `model`'s parameters, which must be W1 (hidden × n_in),
  /// b1, W2 (n_out × hidden), b2 in parameters() order (nn::mlp's
  /// two-layer network); throws value_error otherwise.
  HandwrittenMlp(const nn::Module& model, Scalar eta, std::size_t batch);

  /// One epoch: every mini-batch `batches` gives until it reports the end.
  void epoch(data::Batches& batches);

  /// Correctly classified samples of `data` (argmax of the output row).
  std::size_t correct(const data::Dataset& data) const;

  /// W1, b1, W2, b2 as Arrays, in the model's shapes.
  std::vector<Array> parameters() const;

 private:
  void step(const Scalar* x, const Scalar* y, std::size_t m);
  void forward(const Scalar* x, std::size_t m, Scalar* h, Scalar* out) const;

  std::size_t n_in_, hidden_, n_out_, batch_;
  Scalar eta_;
  std::vector<Scalar> w1_, b1_, w2_, b2_;
  std::vector<Scalar> h_, out_, g2_, g1_;  // activations and errors of one mini-batch
  Array x_, y_;                            // the mini-batch, refilled by Batches::next_into
};

}  // namespace xg::bench
