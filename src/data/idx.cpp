#include "xgrad/data/idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <system_error>

#include "util/file.hpp"
#include "xgrad/error.hpp"

namespace xg::data {

namespace fs = std::filesystem;

std::size_t IdxArray::elements() const {
  std::size_t n = 1;
  for (auto d : shape) n *= d;
  return shape.empty() ? 0 : n;
}

namespace {

constexpr std::uint8_t unsigned_byte_type = 0x08;
constexpr std::size_t max_rank = 4;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw io_error("idx: " + path + ": " + what);
}

std::string hex_byte(unsigned value) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", value & 0xFFu);
  return buf;
}

// The IDX element types besides 0x08, so a rejection can say what the file holds.
const char* idx_type_name(std::uint8_t type) {
  switch (type) {
    case 0x08:
      return "unsigned byte";
    case 0x09:
      return "signed byte";
    case 0x0B:
      return "int16";
    case 0x0C:
      return "int32";
    case 0x0D:
      return "float32";
    case 0x0E:
      return "float64";
    default:
      return nullptr;
  }
}

// A byte stream that is either a plain file or a gzip stream. read() returns
// fewer bytes than asked only at the end of the data; errors throw.
class Source {
 public:
  virtual ~Source() = default;
  virtual std::size_t read(std::uint8_t* out, std::size_t n) = 0;
  // "file" or "decompressed stream", for messages.
  virtual const char* noun() const = 0;
};

class RawSource : public Source {
 public:
  RawSource(const std::string& path, std::FILE* file) : path_(path), file_(file) {}
  ~RawSource() override { std::fclose(file_); }

  std::size_t read(std::uint8_t* out, std::size_t n) override {
    const std::size_t got = std::fread(out, 1, n, file_);
    if (got < n && std::ferror(file_))
      fail(path_, std::string("read error: ") + std::strerror(errno));
    return got;
  }
  const char* noun() const override { return "file"; }

 private:
  std::string path_;
  std::FILE* file_;
};

class GzipSource : public Source {
 public:
  GzipSource(const std::string& path, gzFile file) : path_(path), file_(file) {}
  ~GzipSource() override { gzclose(file_); }

  std::size_t read(std::uint8_t* out, std::size_t n) override {
    std::size_t total = 0;
    while (total < n) {
      // gzread takes an unsigned int count: feed it at most 1 GiB at a time.
      const unsigned ask = static_cast<unsigned>(std::min<std::size_t>(n - total, 1u << 30));
      const int got = gzread(file_, out + total, ask);
      check_stream();
      if (got <= 0) break;
      total += static_cast<std::size_t>(got);
      if (static_cast<unsigned>(got) < ask) break;
    }
    return total;
  }
  const char* noun() const override { return "decompressed stream"; }

 private:
  // A cut-off or damaged gzip member shows up only through gzerror, even when
  // gzread has returned some bytes.
  void check_stream() {
    int code = Z_OK;
    const char* message = gzerror(file_, &code);
    if (code == Z_BUF_ERROR) fail(path_, "corrupt gzip stream: compressed data ends early");
    if (code != Z_OK) fail(path_, std::string("corrupt gzip stream: ") + message);
  }

  std::string path_;
  gzFile file_;
};

std::uint32_t big_endian_u32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

bool starts_with_gzip_magic(std::FILE* file) {
  std::uint8_t magic[2] = {0, 0};
  const std::size_t got = std::fread(magic, 1, 2, file);
  std::rewind(file);
  return got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

// Parses and validates the header; returns the shape.
std::vector<std::size_t> read_header(const std::string& path, Source& in) {
  std::uint8_t magic[4];
  const std::size_t got = in.read(magic, 4);
  if (got < 4)
    fail(path, "truncated header: the " + std::string(in.noun()) + " has " + std::to_string(got) +
                   " bytes, an IDX header needs at least 4");
  if (magic[0] != 0 || magic[1] != 0)
    fail(path, "bad magic number " + hex_byte(magic[0]) + " " + hex_byte(magic[1]) + " " +
                   hex_byte(magic[2]) + " " + hex_byte(magic[3]) +
                   ", expected 0x00 0x00 <type> <rank>: not an IDX file");
  const std::uint8_t type = magic[2];
  if (type != unsigned_byte_type) {
    const char* name = idx_type_name(type);
    if (name)
      fail(path, "element type " + hex_byte(type) + " (" + name +
                     ") is not supported, only 0x08 (unsigned byte)");
    fail(path, "unknown element type " + hex_byte(type) + ", expected 0x08 (unsigned byte)");
  }
  const std::size_t rank = magic[3];
  if (rank < 1 || rank > max_rank)
    fail(path, "rank " + std::to_string(rank) + " is not supported, expected 1 to " +
                   std::to_string(max_rank) + " dimensions");

  std::array<std::uint8_t, 4 * max_rank> dims_bytes{};
  const std::size_t dims_got = in.read(dims_bytes.data(), 4 * rank);
  if (dims_got < 4 * rank)
    fail(path, "truncated header: rank " + std::to_string(rank) + " needs " +
                   std::to_string(4 * rank) + " bytes of dimensions, the " + in.noun() + " has " +
                   std::to_string(dims_got));

  std::vector<std::size_t> shape(rank);
  for (std::size_t i = 0; i < rank; ++i) shape[i] = big_endian_u32(&dims_bytes[4 * i]);
  for (std::size_t i = 0; i < rank; ++i)
    if (shape[i] == 0)
      fail(path, "dimension " + std::to_string(i) + " of shape " + shape_str(shape) + " is zero");
  // Overflow-safe: stop multiplying as soon as the bound is passed.
  std::size_t elements = 1;
  for (auto d : shape) {
    if (d > max_idx_elements / elements)
      fail(path, "header claims shape " + shape_str(shape) + ", more than the " +
                     std::to_string(max_idx_elements) +
                     " elements read_idx accepts (corrupt header?)");
    elements *= d;
  }
  return shape;
}

std::size_t header_bytes(std::size_t rank) { return 4 + 4 * rank; }

IdxArray read_raw(const std::string& path, std::FILE* file) {
  RawSource in(path, file);
  std::error_code ec;
  const auto file_size = static_cast<std::size_t>(fs::file_size(path, ec));
  if (ec) fail(path, "cannot get file size: " + ec.message());

  IdxArray out;
  out.shape = read_header(path, in);
  const std::size_t expected = out.elements();
  const std::size_t present = file_size - header_bytes(out.shape.size());
  // Compared with the real size before allocating, so a lying header costs nothing.
  if (present < expected)
    fail(path, "truncated: header says " + std::to_string(expected) + " bytes of data, file has " +
                   std::to_string(present));
  if (present > expected)
    fail(path, "trailing bytes: header says " + std::to_string(expected) +
                   " bytes of data, file has " + std::to_string(present) + " (" +
                   std::to_string(present - expected) + " extra)");
  out.data.resize(expected);
  const std::size_t got = in.read(out.data.data(), expected);
  if (got < expected)
    fail(path, "truncated: header says " + std::to_string(expected) +
                   " bytes of data, could read " + std::to_string(got) +
                   " (file changed while reading?)");
  return out;
}

IdxArray read_gzip(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (!file) fail(path, std::string("cannot open: ") + std::strerror(errno));
  GzipSource in(path, file);

  IdxArray out;
  out.shape = read_header(path, in);
  const std::size_t expected = out.elements();
  // The uncompressed size is unknown until the stream ends, so the buffer
  // grows with the data actually present (doubling from 1 MiB): a tiny file
  // whose header claims 2 GiB fails at its end without allocating 2 GiB.
  std::size_t have = 0;
  while (have < expected) {
    const std::size_t chunk = std::min(expected - have, std::max<std::size_t>(have, 1u << 20));
    out.data.resize(have + chunk);
    const std::size_t got = in.read(out.data.data() + have, chunk);
    have += got;
    if (got < chunk)
      fail(path, "truncated: header says " + std::to_string(expected) +
                     " bytes of data, the decompressed stream has " + std::to_string(have));
  }
  std::uint8_t extra[1];
  if (in.read(extra, 1) > 0)
    fail(path, "trailing bytes: header says " + std::to_string(expected) +
                   " bytes of data, the decompressed stream has more");
  return out;
}

void write_all(const std::string& path, const std::string& tmp,
               const std::vector<std::uint8_t>& header, const IdxArray& array, bool gzip) {
  if (gzip) {
    gzFile file = gzopen(tmp.c_str(), "wb");
    if (!file) fail(path, "cannot create " + tmp + ": " + std::strerror(errno));
    bool ok = gzwrite(file, header.data(), static_cast<unsigned>(header.size())) ==
              static_cast<int>(header.size());
    for (std::size_t at = 0; ok && at < array.data.size();) {
      const unsigned n =
          static_cast<unsigned>(std::min<std::size_t>(array.data.size() - at, 1u << 30));
      ok = gzwrite(file, array.data.data() + at, n) == static_cast<int>(n);
      at += n;
    }
    if (gzclose(file) != Z_OK || !ok) fail(path, "write error while writing " + tmp);
    return;
  }
  std::FILE* file = std::fopen(tmp.c_str(), "wb");
  if (!file) fail(path, "cannot create " + tmp + ": " + std::strerror(errno));
  bool ok = std::fwrite(header.data(), 1, header.size(), file) == header.size() &&
            std::fwrite(array.data.data(), 1, array.data.size(), file) == array.data.size();
  if (std::fclose(file) != 0 || !ok)
    fail(path, "write error while writing " + tmp + ": " + std::strerror(errno));
}

}  // namespace

IdxArray read_idx(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) fail(path, "is a directory, expected an IDX file");
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) fail(path, std::string("cannot open: ") + std::strerror(errno));
  if (starts_with_gzip_magic(file)) {
    std::fclose(file);
    return read_gzip(path);
  }
  return read_raw(path, file);  // takes ownership of `file`
}

void write_idx(const std::string& path, const IdxArray& array, bool gzip) {
  const auto& shape = array.shape;
  if (shape.empty() || shape.size() > max_rank)
    throw value_error("write_idx: " + path + ": rank " + std::to_string(shape.size()) +
                      " is not supported, expected 1 to " + std::to_string(max_rank));
  for (auto d : shape)
    if (d == 0 || d > 0xFFFFFFFFu)
      throw value_error("write_idx: " + path + ": shape " + shape_str(shape) +
                        " has a dimension that is zero or does not fit 32 bits");
  if (array.data.size() != array.elements())
    throw value_error("write_idx: " + path + ": shape " + shape_str(shape) + " needs " +
                      std::to_string(array.elements()) + " bytes of data, got " +
                      std::to_string(array.data.size()));

  std::vector<std::uint8_t> header = {0, 0, unsigned_byte_type,
                                      static_cast<std::uint8_t>(shape.size())};
  for (auto d : shape)
    for (int shift = 24; shift >= 0; shift -= 8)
      header.push_back(static_cast<std::uint8_t>(d >> shift));

  file::write_atomically_with(
      path, [&](const std::string& tmp) { write_all(path, tmp, header, array, gzip); });
}

}  // namespace xg::data
