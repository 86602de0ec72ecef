#include "io/json_file.hpp"

#include <cmath>
#include <filesystem>

#include "util/file.hpp"
#include "xgrad/error.hpp"

namespace xg::io::detail {

namespace {
json parse_json_text(const std::string& text, const std::string& path) {
  try {
    return json::parse(text, [&](int depth, json::parse_event_t, json&) {
      if (depth > 256) throw io_error(path + ": JSON nested deeper than 256 levels");
      return true;
    });
  } catch (const json::exception& e) {
    throw io_error(path + ": malformed JSON: " + e.what());
  }
}
}  // namespace

json parse_json_file(const std::string& path, std::size_t max_bytes) {
  return parse_json_text(file::read_file(path, max_bytes), path);
}

json parse_json_in(const std::string& dir, const std::string& relative, std::size_t max_bytes) {
  return parse_json_text(file::read_file_in(dir, relative, max_bytes),
                         (std::filesystem::path(dir) / relative).string());
}

Fields::Fields(const json& object, std::string file, std::string where)
    : j_(object), file_(std::move(file)), where_(std::move(where)) {
  if (!j_.is_object()) fail(where_.empty() ? "not a JSON object" : where_ + "not a JSON object");
}

void Fields::fail(const std::string& what) const { throw io_error(file_ + ": " + what); }
void Fields::fail(const char* key, const std::string& what) const {
  fail(where_ + "\"" + key + "\" " + what);
}

bool Fields::has(const char* key) const { return j_.contains(key) && !j_[key].is_null(); }

const json& Fields::get(const char* key, bool (json::*is)() const noexcept,
                        const char* wanted) const {
  if (!j_.contains(key)) fail(key, std::string("is missing (expected ") + wanted + ")");
  const json& v = j_[key];
  if (!(v.*is)()) fail(key, std::string("must be ") + wanted + ", got " + v.type_name());
  return v;
}

std::size_t Fields::count(const char* key) const {
  return get(key, &json::is_number_unsigned, "a non-negative integer").get<std::size_t>();
}

std::optional<std::size_t> Fields::optional_count(const char* key) const {
  if (j_.contains(key) && j_[key].is_null()) return std::nullopt;
  return get(key, &json::is_number_unsigned, "null or a non-negative integer").get<std::size_t>();
}

double Fields::number(const char* key) const {
  const double v = get(key, &json::is_number, "a number").get<double>();
  if (!std::isfinite(v)) fail(key, "must be finite");
  return v;
}

std::string Fields::text(const char* key) const {
  return get(key, &json::is_string, "a string").get<std::string>();
}

const json& Fields::object(const char* key) const {
  return get(key, &json::is_object, "an object");
}

const json& Fields::array(const char* key) const { return get(key, &json::is_array, "an array"); }

Fields Fields::nested(const char* key) const {
  return Fields(object(key), file_, where_ + "\"" + key + "\": ");
}

}  // namespace xg::io::detail
