#include "xgrad/io/text_file.hpp"

#include "util/file.hpp"

namespace xg::io {

void write_text_file(const std::string& path, const std::string& text) {
  file::write_atomically(path, text);
}

}  // namespace xg::io
