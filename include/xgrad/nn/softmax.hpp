#pragma once
// Softmax and log-softmax as Modules (the functional ops xg::softmax and
// xg::log_softmax are declared in activation.hpp). Both act on the last axis:
// each row of an m × n batch.
#include <string>

#include "xgrad/nn/activation.hpp"
#include "xgrad/nn/module.hpp"

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
