#include "io/architecture.hpp"

#include <typeinfo>

#include "util/text.hpp"
#include "xgrad/error.hpp"
#include "xgrad/nn/activation.hpp"
#include "xgrad/nn/registry.hpp"

namespace xg::io::detail {

namespace {

// Nested modules deeper than this are not a real network but a hostile file.
constexpr int kMaxDepth = 32;
// Keys of a layer object that are not its configuration.
constexpr const char* kType = "type";
constexpr const char* kChildren = "layers";
constexpr const char* kChildName = "key";  // only when the name is not the position

std::string child_path(const std::string& path, const std::string& name) {
  return path.empty() ? name : path + "." + name;
}

// ------------------------------------------------------------ out

json config_json(const nn::Config& config, const std::string& path) {
  json out = json::object();
  for (const auto& [key, value] : config.items()) {
    if (key == kType || key == kChildren || key == kChildName)
      throw value_error("save_model: layer '" + path + "' has a configuration key '" + key +
                        "', which model files reserve");
    std::visit([&, k = key](const auto& v) { out[k] = v; }, value);
  }
  return out;
}

bool is_activation(const nn::Module& m) {
  const std::string name = m.type_name();
  if (!nn::has_activation(name) || !m.parameters().empty() || !m.children().empty()) return false;
  // The name must really rebuild a module of the same class.
  const auto rebuilt = nn::make_activation(name);
  const nn::Module& fresh = *rebuilt;
  return typeid(fresh) == typeid(m);
}

json describe(const nn::Module& m, const std::string& path, int depth) {
  if (depth > kMaxDepth)
    throw value_error("save_model: modules nested deeper than " + std::to_string(kMaxDepth) +
                      " at layer '" + path + "'");
  const std::string type = m.type_name();
  if (!nn::has_layer(type)) {
    if (is_activation(m)) return {{kType, "activation"}, {"name", type}};
    throw value_error("save_model: layer '" + path + "' (" + m.describe() +
                      ") cannot be described in a model file: its type is not registered (known "
                      "layers: " +
                      text::joined(nn::layer_names()) +
                      "; and registered activations); see docs/extending.md");
  }
  json j = {{kType, type}};
  const json config = config_json(m.config(), path);
  for (const auto& item : config.items()) j[item.key()] = item.value();
  const auto children = m.children();
  if (!children.empty()) {
    json layers = json::array();
    for (std::size_t i = 0; i < children.size(); ++i) {
      const auto& [name, child] = children[i];
      json c = describe(*child, child_path(path, name), depth + 1);
      if (name != std::to_string(i)) c[kChildName] = name;
      layers.push_back(std::move(c));
    }
    j[kChildren] = std::move(layers);
  }
  return j;
}

// ------------------------------------------------------------ in

class Builder {
 public:
  Builder(const std::string& file, int version, const ParameterCheck& check)
      : file_(file), version_(version), check_(check) {}

  std::shared_ptr<nn::Module> build(const json& j, const std::string& path, int depth) const {
    const std::string at = path.empty() ? "architecture" : "layer '" + path + "'";
    if (!j.is_object()) bad(at + " is not a JSON object");
    if (depth > kMaxDepth) bad(at + ": modules nested deeper than " + std::to_string(kMaxDepth));
    if (!j.contains(kType) || !j[kType].is_string()) bad(at + ": \"type\" must be a string");
    std::string type = j[kType].get<std::string>();
    // Version 1 spelled two activations as layer types; version 2 has one
    // spelling, {"type": "activation", "name": ...}.
    if (version_ == 1 && (type == "Softmax" || type == "Identity")) {
      if (j.size() != 1) bad(at + ": a " + type + " layer takes no other keys");
      return activation(type == "Softmax" ? "softmax" : "identity", at);
    }
    if (type == "activation") {
      for (const auto& item : j.items())
        if (item.key() != kType && item.key() != "name" && item.key() != kChildName)
          bad(at + ": unexpected key \"" + item.key() + "\"");
      if (!j.contains("name") || !j["name"].is_string()) bad(at + ": \"name\" must be a string");
      return activation(j["name"].get<std::string>(), at);
    }
    if (!nn::has_layer(type))
      bad(at + ": unknown layer type '" + type + "' (known: " + text::joined(nn::layer_names()) +
          ", activation)");

    nn::Config config;
    for (const auto& item : j.items()) {
      const std::string& key = item.key();
      if (key == kType || key == kChildren || key == kChildName) continue;
      const json& v = item.value();
      if (v.is_boolean())
        config.set(key, v.get<bool>());
      else if (v.is_number_unsigned())
        config.set(key, nn::Config::Value(v.get<std::uint64_t>()));
      else if (v.is_number())
        config.set(key, nn::Config::Value(v.get<double>()));
      else if (v.is_string())
        config.set(key, v.get<std::string>());
      else
        bad(at + ": \"" + key + "\" must be a number, a string or true/false");
    }
    std::vector<std::pair<std::string, const json*>> listed;
    if (j.contains(kChildren)) {
      const json& layers = j[kChildren];
      if (!layers.is_array()) bad(at + ": \"layers\" must be an array");
      for (std::size_t i = 0; i < layers.size(); ++i) {
        std::string name = std::to_string(i);
        if (layers[i].is_object() && layers[i].contains(kChildName)) {
          if (!layers[i][kChildName].is_string()) bad(at + ": a child's \"key\" must be a string");
          name = layers[i][kChildName].get<std::string>();
        }
        listed.emplace_back(name, &layers[i]);
      }
    }
    bool built_listed = false;
    auto children = [&] {
      built_listed = true;
      nn::LayerArgs::Children out;
      for (const auto& [name, spec] : listed)
        out.emplace_back(name, build(*spec, child_path(path, name), depth + 1));
      return out;
    };
    auto check = [&](const std::string& name, const Shape& shape) {
      if (check_) check_(child_path(path, name), shape);
    };
    std::shared_ptr<nn::Module> m;
    try {
      m = nn::make_layer(type, nn::LayerArgs(config, children, check));
    } catch (const io_error&) {
      throw;
    } catch (const xg::error& e) {
      bad(at + " (" + type + "): " + e.what());
    }
    const auto unread = config.unread();
    if (!unread.empty()) bad(at + ": unexpected key \"" + unread.front() + "\"");
    if (!built_listed) check_children(*m, listed, path, at);
    return m;
  }

 private:
  [[noreturn]] void bad(const std::string& what) const { throw io_error(file_ + ": " + what); }

  std::shared_ptr<nn::Module> activation(const std::string& name, const std::string& at) const {
    if (!nn::has_activation(name))
      bad(at + ": unknown activation '" + name +
          "' (known: " + text::joined(nn::activation_names()) + ")");
    return nn::make_activation(name);
  }

  // A module that built its own sub-modules must have built what the file lists.
  void check_children(const nn::Module& m,
                      const std::vector<std::pair<std::string, const json*>>& listed,
                      const std::string& path, const std::string& at) const {
    const auto children = m.children();
    if (children.size() != listed.size())
      bad(at + ": the file lists " + std::to_string(listed.size()) + " sub-modules but " +
          m.type_name() + " has " + std::to_string(children.size()));
    for (std::size_t i = 0; i < children.size(); ++i) {
      const auto& [name, child] = children[i];
      const json& spec = *listed[i].second;
      if (name != listed[i].first)
        bad(at + ": sub-module " + std::to_string(i) + " is '" + name + "' but the file lists '" +
            listed[i].first + "'");
      if (!spec.is_object() || !spec.contains(kType) || !spec[kType].is_string())
        bad("layer '" + child_path(path, name) + "': \"type\" must be a string");
      std::string type = spec[kType].get<std::string>();
      if (type == "activation" && spec.contains("name") && spec["name"].is_string())
        type = spec["name"].get<std::string>();
      if (child->type_name() != type)
        bad("layer '" + child_path(path, name) + "' is a " + child->type_name() +
            " but the file says " + type);
      std::vector<std::pair<std::string, const json*>> grand;
      if (spec.contains(kChildren) && spec[kChildren].is_array())
        for (std::size_t k = 0; k < spec[kChildren].size(); ++k) {
          const json& g = spec[kChildren][k];
          std::string gname = std::to_string(k);
          if (g.is_object() && g.contains(kChildName) && g[kChildName].is_string())
            gname = g[kChildName].get<std::string>();
          grand.emplace_back(gname, &g);
        }
      check_children(*child, grand, child_path(path, name),
                     "layer '" + child_path(path, name) + "'");
    }
  }

  const std::string& file_;
  int version_;
  const ParameterCheck& check_;
};

}  // namespace

json describe_architecture(const nn::Module& module) { return describe(module, "", 0); }

std::shared_ptr<nn::Module> build_architecture(const json& arch, int version,
                                               const std::string& file,
                                               const ParameterCheck& check) {
  return Builder(file, version, check).build(arch, "", 0);
}

}  // namespace xg::io::detail
