#pragma once
// Reading the JSON manifests of model and checkpoint directories (internal).
#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace xg::io::detail {

using json = nlohmann::ordered_json;

/// Parses the file at `path` (at most `max_bytes`); io_error naming the path
/// for a missing or unreadable file, malformed JSON or nesting deeper than
/// 256 levels (parsing is iterative, but dump() recurses: deep nesting from a
/// hostile file would overflow the stack later).
json parse_json_file(const std::string& path, std::size_t max_bytes);
/// The same for the file `relative` inside the saved directory `dir`, opened
/// without following links (file::read_file_in).
json parse_json_in(const std::string& dir, const std::string& relative, std::size_t max_bytes);

/// Typed access to the fields of a JSON object read from `file`: every
/// reader checks the type first and throws io_error naming the file and the
/// field ("checkpoint.json: "progress": "best_epoch" must be ..."), so a
/// wrong-typed field in a file can never reach a nlohmann type error.
class Fields {
 public:
  /// `where` prefixes field names in messages ("\"progress\": "); io_error
  /// if `object` is not an object.
  Fields(const json& object, std::string file, std::string where = "");

  /// Present and not null.
  bool has(const char* key) const;
  std::size_t count(const char* key) const;  // a non-negative integer
  /// null or a non-negative integer.
  std::optional<std::size_t> optional_count(const char* key) const;
  double number(const char* key) const;  // finite
  std::string text(const char* key) const;
  const json& object(const char* key) const;
  const json& array(const char* key) const;
  /// Fields of a nested object, for messages naming the path.
  Fields nested(const char* key) const;

  [[noreturn]] void fail(const char* key, const std::string& what) const;
  [[noreturn]] void fail(const std::string& what) const;

 private:
  const json& get(const char* key, bool (json::*is)() const noexcept, const char* wanted) const;

  const json& j_;
  std::string file_, where_;
};

}  // namespace xg::io::detail
