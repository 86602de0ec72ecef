#include "xgrad/nn/registry.hpp"

#include <map>
#include <mutex>

#include "util/text.hpp"
#include "xgrad/error.hpp"
#include "xgrad/nn/dropout.hpp"
#include "xgrad/nn/linear.hpp"
#include "xgrad/nn/sequential.hpp"

namespace xg::nn {

namespace {

// Built on first use, for the reasons given in activation.cpp: a static
// library drops object files holding nothing but registration objects.
struct Registry {
  std::mutex mutex;
  std::map<std::string, LayerFactory> factories;  // sorted: messages list names in order

  template <class M>
  void add(const std::string& type) {
    factories.emplace(type, [](const LayerArgs& args) -> std::shared_ptr<Module> {
      return M::from_config(args);
    });
  }

  // The built-in layers: one line each.
  Registry() {
    add<Sequential>("Sequential");
    add<Linear>("Linear");
    add<Dropout>("Dropout");
  }
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

void register_layer(const std::string& type, LayerFactory factory) {
  if (type.empty()) throw value_error("register_layer: the type name must not be empty");
  if (type == "activation")
    throw value_error(
        "register_layer: 'activation' is reserved (register activations with "
        "register_activation)");
  if (!factory) throw value_error("register_layer: the factory for '" + type + "' is empty");
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  if (r.factories.count(type))
    throw value_error("register_layer: the type '" + type + "' is already registered");
  r.factories.emplace(type, std::move(factory));
}

bool has_layer(const std::string& type) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  return r.factories.count(type) > 0;
}

std::vector<std::string> layer_names() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  std::vector<std::string> names;
  for (const auto& entry : r.factories) names.push_back(entry.first);
  return names;
}

std::shared_ptr<Module> make_layer(const std::string& type, const LayerArgs& args) {
  LayerFactory factory;
  {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    auto it = r.factories.find(type);
    if (it != r.factories.end()) factory = it->second;
  }
  if (!factory)
    throw value_error("make_layer: unknown layer type '" + type +
                      "' (known: " + text::joined(layer_names()) + ")");
  std::shared_ptr<Module> m = factory(args);
  if (!m) throw value_error("make_layer: the factory for '" + type + "' returned null");
  if (m->type_name() != type)
    throw value_error("make_layer: the factory for '" + type +
                      "' built a module whose type_name() is '" + m->type_name() + "'");
  return m;
}

}  // namespace xg::nn
