#pragma once
// The layer registry: type name -> factory, so a model file's
// {"type": "Linear", "in": 784, "out": 30} rebuilds the module. Every module
// describes itself (Module::type_name, config, children, extra_state); the
// model file is written from that and read back through here, so adding a
// layer is its class plus one registration line (docs/extending.md).
// Activations keep their own registry (nn/activation.hpp) and appear in
// model files as {"type": "activation", "name": ...}.
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "xgrad/nn/config.hpp"
#include "xgrad/nn/module.hpp"
#include "xgrad/tensor.hpp"

namespace xg::nn {

/// What a factory receives.
class LayerArgs {
 public:
  using Children = std::vector<std::pair<std::string, std::shared_ptr<Module>>>;
  using ChildBuilder = std::function<Children()>;
  using ParameterCheck = std::function<void(const std::string& name, const Shape& shape)>;

  explicit LayerArgs(const Config& config, ChildBuilder children = {}, ParameterCheck check = {})
      : config_(config), children_(std::move(children)), check_(std::move(check)) {}

  const Config& config() const { return config_; }
  /// The sub-modules the file lists, built now, with their names. For
  /// containers whose children are data (Sequential). A module that builds
  /// its sub-modules in its constructor does not call this; the loader then
  /// checks that the children it built match the file's.
  Children children() const { return children_ ? children_() : Children{}; }
  /// Call before allocating a parameter: when loading a file, throws unless
  /// the file holds a parameter `name` of this shape, so a hostile
  /// configuration (Linear(10⁹, 10⁹)) is refused before the memory is taken.
  void expect_parameter(const std::string& name, const Shape& shape) const {
    if (check_) check_(name, shape);
  }

 private:
  const Config& config_;
  ChildBuilder children_;
  ParameterCheck check_;
};

using LayerFactory = std::function<std::shared_ptr<Module>(const LayerArgs&)>;

/// Adds a layer type; value_error if the name is empty, "activation", or
/// already taken. The factory's module must report `type` as its type_name().
void register_layer(const std::string& type, LayerFactory factory);
/// Registers M under `type` with M::from_config as the factory. Returns true
/// (for static initialisers).
template <class M>
bool register_layer_type(const std::string& type) {
  register_layer(
      type, [](const LayerArgs& args) -> std::shared_ptr<Module> { return M::from_config(args); });
  return true;
}

bool has_layer(const std::string& type);
/// The registered layer types, sorted.
std::vector<std::string> layer_names();
/// A new module of a registered type; value_error listing the known types otherwise.
std::shared_ptr<Module> make_layer(const std::string& type, const LayerArgs& args);

}  // namespace xg::nn

#define XG_LAYER_CAT2_(a, b) a##b
#define XG_LAYER_CAT_(a, b) XG_LAYER_CAT2_(a, b)

/// Registers a module class by type name at program start:
///   XG_REGISTER_LAYER(Block, "Block")     // uses Block::from_config(const LayerArgs&)
/// at namespace scope in a .cpp file of an executable (in a static library
/// call xg::nn::register_layer_type<Block>("Block") instead; see
/// XG_REGISTER_ACTIVATION for why).
#define XG_REGISTER_LAYER(M, type)                                             \
  namespace {                                                                  \
  const bool XG_LAYER_CAT_(xg_layer_registered_,                               \
                           __LINE__) = ::xg::nn::register_layer_type<M>(type); \
  }
