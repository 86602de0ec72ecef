#pragma once
// Reports, tables and CSV files written the way the library writes its own
// files: all or nothing. The text goes to a temporary file beside `path`, is
// flushed to disk, and is then renamed over `path`, so a crash or a full disk
// leaves either the old file or the new one, never half of one.
#include <string>

namespace xg::io {

/// Replaces (or creates) `path` with `text` atomically. xg::io_error naming
/// the path and the system's reason on failure; `path` is then unchanged.
void write_text_file(const std::string& path, const std::string& text);

}  // namespace xg::io
