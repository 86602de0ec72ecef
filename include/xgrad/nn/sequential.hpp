#pragma once
// A chain of modules, and mlp(): the book's network built from it.
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "xgrad/nn/init.hpp"
#include "xgrad/nn/module.hpp"
#include "xgrad/random.hpp"

namespace xg::nn {

/// forward(x) = layer_{n−1}(…layer_1(layer_0(x))). Children are named "0", "1",
/// ... by position, so parameters are "0.weight", "0.bias", "2.weight", ...
class Sequential : public Module {
 public:
  Sequential() = default;
  explicit Sequential(std::vector<std::shared_ptr<Module>> layers);

  /// Appends a layer named by its position; returns *this for chaining.
  Sequential& add(std::shared_ptr<Module> layer);
  std::size_t size() const { return layers_.size(); }
  bool empty() const { return layers_.empty(); }
  /// Layer i; value_error if i >= size().
  std::shared_ptr<Module> operator[](std::size_t i) const;

  /// value_error for an empty Sequential.
  Tensor forward(const Tensor& x) override;
  /// Whether the last layer's type_name() is `type` (false when empty).
  bool ends_with(const std::string& type) const;
  /// Every layer but the last, which must be the activation `activation`
  /// (value_error naming both otherwise): the logits that activation would
  /// turn into outputs, for a cost that fuses with it (Cost::from_logits).
  Tensor forward_logits(const Tensor& x, const std::string& activation);
  std::string type_name() const override { return "Sequential"; }
  /// The registry's factory: the children listed in the file, in order
  /// (value_error for none).
  static std::shared_ptr<Sequential> from_config(const LayerArgs& args);
  /// "Sequential(Linear(784, 30), sigmoid, Linear(30, 10), sigmoid)"
  std::string describe() const override;

 private:
  std::vector<std::shared_ptr<Module>> layers_;
};

/// The book's network: for sizes {n0, n1, ..., nL} the layers
/// Linear(n0, n1), act, Linear(n1, n2), act, ..., Linear(n_{L−1}, nL), out
/// where act = make_activation(activation) and out = make_activation(output)
/// (output "" means the hidden activation). Parameters are drawn layer by layer
/// (W then b) from rng. value_error for fewer than 2 sizes, a zero size or an
/// unknown activation name (checked before anything is drawn).
std::shared_ptr<Sequential> mlp(const std::vector<std::size_t>& sizes,
                                const std::string& activation, Rng& rng, Init init = Init::default_,
                                const std::string& output = "");

}  // namespace xg::nn
