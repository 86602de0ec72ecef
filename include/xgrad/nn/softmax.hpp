#pragma once
// Softmax and log-softmax: the ops and their Modules. Both act on the last
// axis: each row of an m × n batch. Code: src/nn/softmax.cpp.
#include <string>

#include "xgrad/nn/module.hpp"
#include "xgrad/tensor.hpp"

namespace xg {

/// Softmax over the last axis (each row of a 2-D batch sums to 1), computed
/// with the row maximum subtracted so it is finite for any finite input.
/// Op name "softmax".
Tensor softmax(const Tensor& z);
/// ln softmax(z) over the last axis, as z − max − ln Σ e^{z−max}. Op name "log_softmax".
Tensor log_softmax(const Tensor& z);

namespace detail {
/// ln softmax over the last axis of an array, row by row in double (shared by
/// log_softmax and the costs on logits).
Array log_softmax_rows(const Array& z);
}  // namespace detail

}  // namespace xg

namespace xg::nn {

/// a_j = e^{z_j} / Σ_k e^{z_k} per row. Registry name "softmax".
class Softmax : public Module {
 public:
  Tensor forward(const Tensor& x) override { return xg::softmax(x); }
  std::string type_name() const override { return "softmax"; }
};

/// ln a_j per row, computed without forming a. Registry name "log_softmax".
class LogSoftmax : public Module {
 public:
  Tensor forward(const Tensor& x) override { return xg::log_softmax(x); }
  std::string type_name() const override { return "log_softmax"; }
};

}  // namespace xg::nn
