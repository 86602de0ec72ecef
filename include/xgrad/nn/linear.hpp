#pragma once
// The fully connected layer: y = x·Wᵀ + b for a batch x (m × n_in).
#include <cstddef>
#include <memory>
#include <string>

#include "xgrad/nn/init.hpp"
#include "xgrad/nn/module.hpp"
#include "xgrad/random.hpp"

namespace xg::nn {

/// Parameters "weight" (n_out × n_in, the book's W^l; an L1/L2 weight) and
/// "bias" (n_out). type_name "Linear", describe "Linear(784, 30)".
class Linear : public Module {
 public:
  /// Sizes must be positive (value_error). Draws W then b from rng (see init_linear).
  Linear(std::size_t n_in, std::size_t n_out, Rng& rng, Init init = Init::default_);

  /// x must be (m, n_in); shape_error "Linear(784, 30): input of shape (10, 783): expected (m,
  /// 784)".
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Linear"; }
  std::string describe() const override;

  Config config() const override { return Config().set("in", n_in_).set("out", n_out_); }
  /// The registry's factory: "in" and "out"; the values drawn are meant to be
  /// overwritten (a loaded model's).
  static std::shared_ptr<Linear> from_config(const LayerArgs& args);

  std::size_t in_features() const { return n_in_; }
  std::size_t out_features() const { return n_out_; }
  /// The registered parameter handles (writing their values updates the layer).
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }
  Tensor& weight() { return weight_; }
  Tensor& bias() { return bias_; }

 private:
  std::size_t n_in_;
  std::size_t n_out_;
  Tensor weight_;
  Tensor bias_;
};

}  // namespace xg::nn
