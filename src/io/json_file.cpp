#include "io/json_file.hpp"

#include "util/file.hpp"
#include "xgrad/error.hpp"

namespace xg::io::detail {

json parse_json_file(const std::string& path, std::size_t max_bytes) {
  const std::string text = file::read_file(path, max_bytes);
  try {
    return json::parse(text, [&](int depth, json::parse_event_t, json&) {
      if (depth > 256) throw io_error(path + ": JSON nested deeper than 256 levels");
      return true;
    });
  } catch (const json::exception& e) {
    throw io_error(path + ": malformed JSON: " + e.what());
  }
}

}  // namespace xg::io::detail
