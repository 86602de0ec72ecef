#include "xgrad/nn/registry.hpp"

#include "named_registry.hpp"
#include "xgrad/error.hpp"
#include "xgrad/nn/dropout.hpp"
#include "xgrad/nn/linear.hpp"
#include "xgrad/nn/sequential.hpp"

namespace xg::nn {

namespace {

template <class M>
std::pair<std::string, LayerFactory> builtin(const std::string& type) {
  return {type,
          [](const LayerArgs& args) -> std::shared_ptr<Module> { return M::from_config(args); }};
}

using Registry = detail::NamedRegistry<LayerFactory>;

// Built on first use, for the reasons given in activation.cpp: a static
// library drops object files holding nothing but registration objects.
// The built-in layers: one line each.
Registry& registry() {
  static Registry r(
      "type", "layer type",
      {builtin<Sequential>("Sequential"), builtin<Linear>("Linear"), builtin<Dropout>("Dropout")});
  return r;
}

}  // namespace

void register_layer(const std::string& type, LayerFactory factory) {
  if (type.empty()) throw value_error("register_layer: the type name must not be empty");
  if (type == "activation")
    throw value_error(
        "register_layer: 'activation' is reserved (register activations with "
        "register_activation)");
  registry().add("register_layer", type, std::move(factory));
}

bool has_layer(const std::string& type) { return registry().has(type); }

std::vector<std::string> layer_names() { return registry().names(); }

std::shared_ptr<Module> make_layer(const std::string& type, const LayerArgs& args) {
  const LayerFactory factory = registry().find("make_layer", type);
  std::shared_ptr<Module> m = factory(args);
  if (!m) throw value_error("make_layer: the factory for '" + type + "' returned null");
  if (m->type_name() != type)
    throw value_error("make_layer: the factory for '" + type +
                      "' built a module whose type_name() is '" + m->type_name() + "'");
  return m;
}

}  // namespace xg::nn
