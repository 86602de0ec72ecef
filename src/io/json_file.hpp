#pragma once
// Reading the JSON manifests of model and checkpoint directories (internal).
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>

namespace xg::io::detail {

using json = nlohmann::ordered_json;

/// Parses the file at `path` (at most `max_bytes`); io_error naming the path
/// for a missing or unreadable file, malformed JSON or nesting deeper than
/// 256 levels (parsing is iterative, but dump() recurses: deep nesting from a
/// hostile file would overflow the stack later).
json parse_json_file(const std::string& path, std::size_t max_bytes);

}  // namespace xg::io::detail
