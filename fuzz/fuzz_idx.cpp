// Fuzzes xg::data::read_idx, the reader of MNIST's files, on both of its paths.
// Each input is read twice: as the file's raw bytes, and gzip-compressed (so
// the decompressing reader meets the same header and data, not just corrupt
// deflate streams). Both readers must agree: same array, or both an xg::error.
// An array read successfully must be self-consistent and survive write_idx.
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "fuzz_common.hpp"
#include "xgrad/data/idx.hpp"
#include "xgrad/error.hpp"

namespace {

using xg::data::IdxArray;

std::optional<IdxArray> try_read(const std::string& path) {
  try {
    return xg::data::read_idx(path);
  } catch (const xg::error&) {
    return std::nullopt;  // a clear refusal is the expected outcome for junk
  }
}

void write_gzip(const std::string& path, const std::uint8_t* data, std::size_t size) {
  gzFile f = gzopen(path.c_str(), "wb1");  // level 1: the fuzzer wants speed
  if (!f) std::abort();
  if (size > 0 && gzwrite(f, data, static_cast<unsigned>(size)) != static_cast<int>(size))
    std::abort();
  if (gzclose(f) != Z_OK) std::abort();
}

[[noreturn]] void finding(const char* what) {
  std::fprintf(stderr, "fuzz_idx: %s\n", what);
  std::abort();
}

void check_consistent(const IdxArray& a) {
  if (a.shape.empty() || a.shape.size() > 4) finding("read_idx returned a rank outside 1..4");
  if (a.data.size() != a.elements()) finding("read_idx returned data not matching its shape");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const fuzz::ScratchDir dir("idx");
  const std::string raw_path = dir / "input";
  const std::string gz_path = dir / "input.gz";

  fuzz::write_file(raw_path, data, size);
  const auto raw = try_read(raw_path);
  write_gzip(gz_path, data, size);
  const auto gz = try_read(gz_path);

  if (raw) check_consistent(*raw);
  if (gz) check_consistent(*gz);
  // Input that is itself gzip is decompressed by the raw read and is then
  // something else entirely; otherwise the two reads see the same bytes.
  const bool input_is_gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  if (!input_is_gzip) {
    if (raw.has_value() != gz.has_value()) finding("raw and gzip reads disagree on validity");
    if (raw && (raw->shape != gz->shape || raw->data != gz->data))
      finding("raw and gzip reads return different arrays");
  }
  if (raw) {
    // Round trip: what was read can be written and reads back identically.
    const std::string out_path = dir / "written";
    xg::data::write_idx(out_path, *raw);
    const IdxArray again = xg::data::read_idx(out_path);
    if (again.shape != raw->shape || again.data != raw->data)
      finding("write_idx -> read_idx changed the array");
  }
  return 0;
}
