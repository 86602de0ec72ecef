#include "xgrad/nn/config.hpp"

#include "xgrad/error.hpp"

namespace xg::nn {

Config& Config::set(const std::string& key, Value value) {
  if (key.empty()) throw value_error("Config: a key must not be empty");
  for (auto& item : items_)
    if (item.first == key) {
      item.second = std::move(value);
      return *this;
    }
  items_.emplace_back(key, std::move(value));
  return *this;
}

bool Config::has(const std::string& key) const {
  for (const auto& item : items_)
    if (item.first == key) return true;
  return false;
}

const Config::Value& Config::at(const std::string& key, const char* wanted) const {
  for (const auto& item : items_)
    if (item.first == key) {
      read_.insert(key);
      return item.second;
    }
  throw value_error("\"" + key + "\" is missing (expected " + wanted + ")");
}

std::size_t Config::size(const std::string& key) const {
  const Value& v = at(key, "a non-negative integer");
  if (const auto* n = std::get_if<std::uint64_t>(&v)) return static_cast<std::size_t>(*n);
  throw value_error("\"" + key + "\" must be a non-negative integer");
}

double Config::number(const std::string& key) const {
  const Value& v = at(key, "a number");
  if (const auto* n = std::get_if<std::uint64_t>(&v)) return static_cast<double>(*n);
  if (const auto* d = std::get_if<double>(&v)) return *d;
  throw value_error("\"" + key + "\" must be a number");
}

const std::string& Config::text(const std::string& key) const {
  const Value& v = at(key, "a string");
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  throw value_error("\"" + key + "\" must be a string");
}

bool Config::flag(const std::string& key) const {
  const Value& v = at(key, "true or false");
  if (const auto* b = std::get_if<bool>(&v)) return *b;
  throw value_error("\"" + key + "\" must be true or false");
}

std::vector<std::string> Config::unread() const {
  std::vector<std::string> out;
  for (const auto& item : items_)
    if (!read_.count(item.first)) out.push_back(item.first);
  return out;
}

}  // namespace xg::nn
