#pragma once
// A layer's configuration: the named hyper-parameters (sizes, probabilities,
// names) that rebuild it. Module::config() returns one, a model file stores it
// as the layer's JSON keys, and the layer's registered factory reads it back
// (nn/registry.hpp).
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace xg::nn {

class Config {
 public:
  /// A value: a flag, a non-negative integer, a number or a string.
  using Value = std::variant<bool, std::uint64_t, double, std::string>;

  /// Adds or replaces `key` (returns *this for chaining). A negative integer
  /// is stored as a number.
  Config& set(const std::string& key, Value value);
  Config& set(const std::string& key, int v) {
    return v < 0 ? set(key, Value(static_cast<double>(v))) : set(key, Value(std::uint64_t(v)));
  }
  Config& set(const std::string& key, unsigned v) { return set(key, Value(std::uint64_t{v})); }
  Config& set(const std::string& key, unsigned long v) {
    return set(key, Value(static_cast<std::uint64_t>(v)));
  }
  Config& set(const std::string& key, unsigned long long v) {
    return set(key, Value(static_cast<std::uint64_t>(v)));
  }
  Config& set(const std::string& key, double v) { return set(key, Value(v)); }
  Config& set(const std::string& key, bool v) { return set(key, Value(v)); }
  Config& set(const std::string& key, const std::string& v) { return set(key, Value(v)); }
  Config& set(const std::string& key, const char* v) { return set(key, Value(std::string(v))); }

  bool has(const std::string& key) const;
  /// Typed readers; value_error naming the key when it is missing or of another type.
  std::size_t size(const std::string& key) const;  // a non-negative integer
  double number(const std::string& key) const;     // an integer or a number
  const std::string& text(const std::string& key) const;
  bool flag(const std::string& key) const;

  /// The entries in insertion order.
  const std::vector<std::pair<std::string, Value>>& items() const { return items_; }
  bool empty() const { return items_.empty(); }
  /// Keys no reader has asked for yet: a loader refuses them, since a key the
  /// layer does not know could change what it means.
  std::vector<std::string> unread() const;

 private:
  const Value& at(const std::string& key, const char* wanted) const;

  std::vector<std::pair<std::string, Value>> items_;
  mutable std::set<std::string> read_;
};

}  // namespace xg::nn
