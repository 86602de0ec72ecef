#pragma once
// The one shape of xgrad's registries (activations, layers): factories by
// name, thread-safe, listed in name order. Internal: src/nn only.
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "util/text.hpp"
#include "xgrad/error.hpp"

namespace xg::nn::detail {

template <class Factory>
class NamedRegistry {
 public:
  /// `noun` names a key in messages ("name", "type"); `unknown` what a key
  /// stands for ("activation", "layer type").
  NamedRegistry(std::string noun, std::string unknown, std::map<std::string, Factory> builtins)
      : noun_(std::move(noun)), unknown_(std::move(unknown)), factories_(std::move(builtins)) {}

  /// Adds `factory` under `key`; value_error (prefixed by `caller`) if the
  /// factory is empty or the key taken.
  void add(const std::string& caller, const std::string& key, Factory factory) {
    if (!factory) throw value_error(caller + ": the factory for '" + key + "' is empty");
    std::lock_guard<std::mutex> lock(mutex_);
    if (factories_.count(key))
      throw value_error(caller + ": the " + noun_ + " '" + key + "' is already registered");
    factories_.emplace(key, std::move(factory));
  }

  /// The factory of `key`; value_error listing the known keys otherwise.
  Factory find(const std::string& caller, const std::string& key) const {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = factories_.find(key);
      if (it != factories_.end()) return it->second;
    }
    throw value_error(caller + ": unknown " + unknown_ + " '" + key +
                      "' (known: " + text::joined(names()) + ")");
  }

  bool has(const std::string& key) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return factories_.count(key) != 0;
  }

  std::vector<std::string> names() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::string> out;
    for (const auto& entry : factories_) out.push_back(entry.first);
    return out;
  }

 private:
  std::string noun_, unknown_;
  mutable std::mutex mutex_;
  std::map<std::string, Factory> factories_;  // sorted: messages list keys in order
};

}  // namespace xg::nn::detail
