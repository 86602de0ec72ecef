#include "xgrad/nn/sequential.hpp"

#include "xgrad/error.hpp"
#include "xgrad/nn/activation.hpp"
#include "xgrad/nn/linear.hpp"
#include "xgrad/nn/registry.hpp"

namespace xg::nn {

Sequential::Sequential(std::vector<std::shared_ptr<Module>> layers) {
  for (auto& layer : layers) add(std::move(layer));
}

Sequential& Sequential::add(std::shared_ptr<Module> layer) {
  if (!layer)
    throw value_error("Sequential::add: layer " + std::to_string(layers_.size()) + " is null");
  register_module(std::to_string(layers_.size()), layer);
  layers_.push_back(std::move(layer));
  return *this;
}

std::shared_ptr<Module> Sequential::operator[](std::size_t i) const {
  if (i >= layers_.size())
    throw value_error("Sequential: layer index " + std::to_string(i) + " out of range (size " +
                      std::to_string(layers_.size()) + ")");
  return layers_[i];
}

Tensor Sequential::forward(const Tensor& x) {
  if (layers_.empty())
    throw value_error("Sequential: forward through an empty Sequential (add layers first)");
  Tensor h = layers_.front()->forward(x);
  for (std::size_t i = 1; i < layers_.size(); ++i) h = layers_[i]->forward(h);
  return h;
}

bool Sequential::ends_with(const std::string& type) const {
  return !layers_.empty() && layers_.back()->type_name() == type;
}

Tensor Sequential::forward_logits(const Tensor& x, const std::string& activation) {
  if (!ends_with(activation))
    throw value_error("Sequential::forward_logits: the last layer is " +
                      (layers_.empty() ? std::string("missing (empty Sequential)")
                                       : "'" + layers_.back()->type_name() + "'") +
                      ", not the activation '" + activation + "' whose logits were asked for");
  if (layers_.size() == 1) return x;
  Tensor h = layers_.front()->forward(x);  // (no copy of x: each is an atomic count)
  for (std::size_t i = 1; i + 1 < layers_.size(); ++i) h = layers_[i]->forward(h);
  return h;
}

std::shared_ptr<Sequential> Sequential::from_config(const LayerArgs& args) {
  auto seq = std::make_shared<Sequential>();
  for (auto& [name, child] : args.children()) {
    if (name != std::to_string(seq->size()))
      throw value_error("a Sequential's layers are named by position, got '" + name + "'");
    seq->add(child);
  }
  if (seq->empty()) throw value_error("a Sequential needs at least one layer");
  return seq;
}

std::string Sequential::describe() const {
  std::string s = "Sequential(";
  for (std::size_t i = 0; i < layers_.size(); ++i) s += (i ? ", " : "") + layers_[i]->describe();
  return s + ")";
}

std::shared_ptr<Sequential> mlp(const std::vector<std::size_t>& sizes,
                                const std::string& activation, Rng& rng, Init init,
                                const std::string& output) {
  if (sizes.size() < 2)
    throw value_error("mlp: need at least 2 layer sizes (inputs and outputs), got " +
                      std::to_string(sizes.size()));
  for (std::size_t i = 0; i < sizes.size(); ++i)
    if (sizes[i] == 0)
      throw value_error("mlp: layer size " + std::to_string(i) + " is 0; sizes must be positive");
  const std::string& out = output.empty() ? activation : output;
  for (const std::string* name : {&activation, &out})
    if (!has_activation(*name)) make_activation(*name);  // throws, listing the known names

  auto net = std::make_shared<Sequential>();
  for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
    net->add(std::make_shared<Linear>(sizes[l], sizes[l + 1], rng, init));
    net->add(make_activation(l + 2 == sizes.size() ? out : activation));
  }
  return net;
}

}  // namespace xg::nn
