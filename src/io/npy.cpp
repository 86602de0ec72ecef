// .npy reading and writing.
// Format reference: numpy/lib/format.py ("NEP 1"). Layout of a file:
//   "\x93NUMPY" major minor  header_len (u16 LE for 1.0, u32 LE for 2.0/3.0)
//   header: a Python dict literal {'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }
//           padded with spaces and ended by '\n'
//   data:   prod(shape) elements, C order, in the dtype's byte order
#include "xgrad/io/npy.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <system_error>
#include <utility>
#include <vector>

#include "util/file.hpp"
#include "xgrad/error.hpp"

namespace xg::io {

namespace fs = std::filesystem;

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicSize = 6;
constexpr bool kFloatBuild = sizeof(Scalar) == 4;

[[noreturn]] void fail(const std::string& source, const std::string& problem) {
  throw io_error("npy file '" + source + "': " + problem);
}

// ------------------------------------------------------------ header parsing
// The header is a Python literal; we accept exactly the subset NumPy writes
// (strings in either quote, True/False, tuples of non-negative integers) and
// reject everything else instead of evaluating it.

struct Header {
  std::string descr;
  bool fortran_order = false;
  Shape shape;
};

class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& source) : s_(text), source_(source) {}

  Header parse() {
    Header h;
    bool have_descr = false, have_order = false, have_shape = false;
    skip_ws();
    expect('{');
    for (;;) {
      skip_ws();
      if (peek() == '}') break;
      const std::string key = parse_string();
      skip_ws();
      expect(':');
      skip_ws();
      if (key == "descr") {
        if (have_descr) bad("key 'descr' appears twice");
        if (peek() != '\'' && peek() != '"')
          bad("unsupported dtype (a structured dtype, not a plain '<f8' or '<f4')");
        h.descr = parse_string();
        have_descr = true;
      } else if (key == "fortran_order") {
        if (have_order) bad("key 'fortran_order' appears twice");
        h.fortran_order = parse_bool();
        have_order = true;
      } else if (key == "shape") {
        if (have_shape) bad("key 'shape' appears twice");
        h.shape = parse_shape();
        have_shape = true;
      } else {
        bad("unexpected key '" + key + "' (expected only descr, fortran_order, shape)");
      }
      skip_ws();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      skip_ws();
      if (peek() != '}') bad("expected ',' or '}' at offset " + std::to_string(i_));
    }
    expect('}');
    skip_ws();
    if (i_ != s_.size()) bad("unexpected text after the closing '}'");
    if (!have_descr || !have_order || !have_shape)
      bad(std::string("missing key '") +
          (!have_descr   ? "descr"
           : !have_order ? "fortran_order"
                         : "shape") +
          "'");
    return h;
  }

 private:
  [[noreturn]] void bad(const std::string& what) const {
    fail(source_, "malformed header: " + what);
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
      ++i_;
  }
  void expect(char c) {
    if (peek() != c) bad(std::string("expected '") + c + "' at offset " + std::to_string(i_));
    ++i_;
  }
  std::string parse_string() {
    const char q = peek();
    if (q != '\'' && q != '"') bad("expected a quoted string at offset " + std::to_string(i_));
    ++i_;
    const std::size_t start = i_;
    while (i_ < s_.size() && s_[i_] != q) {
      if (s_[i_] == '\\') bad("escape sequences are not supported");
      ++i_;
    }
    if (i_ == s_.size()) bad("unterminated string");
    std::string out = s_.substr(start, i_ - start);
    ++i_;
    return out;
  }
  bool parse_bool() {
    if (s_.compare(i_, 4, "True") == 0) {
      i_ += 4;
      return true;
    }
    if (s_.compare(i_, 5, "False") == 0) {
      i_ += 5;
      return false;
    }
    bad("fortran_order must be True or False");
  }
  std::size_t parse_dim() {
    if (!(peek() >= '0' && peek() <= '9'))
      bad("shape entries must be non-negative integers (offset " + std::to_string(i_) + ")");
    // 2^62 leaves room for the byte count; larger dims can never fit a file anyway.
    constexpr std::uint64_t limit = std::uint64_t{1} << 62;
    std::uint64_t v = 0;
    while (peek() >= '0' && peek() <= '9') {
      v = v * 10 + static_cast<std::uint64_t>(peek() - '0');
      if (v > limit) bad("shape entry too large");
      ++i_;
    }
    if (peek() == 'L') ++i_;  // Python 2 longs, as very old NumPy wrote them
    return static_cast<std::size_t>(v);
  }
  Shape parse_shape() {
    Shape shape;
    expect('(');
    skip_ws();
    bool trailing_comma = false;
    while (peek() != ')') {
      shape.push_back(parse_dim());
      if (shape.size() > 64) bad("more than 64 dimensions");
      skip_ws();
      trailing_comma = peek() == ',';
      if (trailing_comma) {
        ++i_;
        skip_ws();
      } else if (peek() != ')') {
        bad("expected ',' or ')' in the shape at offset " + std::to_string(i_));
      }
    }
    // "(5)" is the integer 5 in Python, not a tuple; NumPy never writes it.
    if (shape.size() == 1 && !trailing_comma) bad("a 1-d shape must be written '(n,)'");
    expect(')');
    return shape;
  }

  const std::string& s_;
  const std::string& source_;
  std::size_t i_ = 0;
};

// ------------------------------------------------------------ byte order
// Assembled byte by byte, so the code is right on any host; compilers turn
// these loops into plain loads on little-endian machines.

std::uint64_t read_le64(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int k = 7; k >= 0; --k) v = (v << 8) | p[k];
  return v;
}
std::uint32_t read_le32(const unsigned char* p) {
  std::uint32_t v = 0;
  for (int k = 3; k >= 0; --k) v = (v << 8) | p[k];
  return v;
}
void write_le64(std::uint64_t v, char* p) {
  for (int k = 0; k < 8; ++k) p[k] = static_cast<char>((v >> (8 * k)) & 0xff);
}
void write_le32(std::uint32_t v, char* p) {
  for (int k = 0; k < 4; ++k) p[k] = static_cast<char>((v >> (8 * k)) & 0xff);
}

void convert(const unsigned char* bytes, std::size_t count, std::size_t itemsize, Scalar* out) {
  if (itemsize == 8) {
    static_assert(sizeof(double) == 8 && sizeof(std::uint64_t) == 8, "IEEE double expected");
    for (std::size_t k = 0; k < count; ++k) {
      const std::uint64_t bits = read_le64(bytes + 8 * k);
      double d;
      std::memcpy(&d, &bits, 8);
      out[k] = static_cast<Scalar>(d);
    }
  } else {
    static_assert(sizeof(float) == 4, "IEEE float expected");
    for (std::size_t k = 0; k < count; ++k) {
      const std::uint32_t bits = read_le32(bytes + 4 * k);
      float f;
      std::memcpy(&f, &bits, 4);
      out[k] = static_cast<Scalar>(f);
    }
  }
}

// ------------------------------------------------------------ shared reader
// `read(dst, n)` copies the next n bytes of the source or returns false if it
// has fewer. `total` is the source's exact size, known before reading, so
// every claim in the header is checked against it before any allocation.

struct Layout {
  Shape shape;
  std::size_t itemsize;
  std::size_t count;
};

template <class Read>
Layout read_header(Read& read, std::size_t total, const std::string& source) {
  unsigned char pre[8];
  if (total < 10 || !read(reinterpret_cast<char*>(pre), 8))
    fail(source, "too short to be a .npy file (" + std::to_string(total) + " bytes)");
  if (std::memcmp(pre, kMagic, kMagicSize) != 0)
    fail(source, "not a .npy file (the first bytes are not \\x93NUMPY)");
  const int major = pre[6], minor = pre[7];
  if (!((major == 1 || major == 2 || major == 3) && minor == 0))
    fail(source, "unsupported format version " + std::to_string(major) + "." +
                     std::to_string(minor) + " (supported: 1.0, 2.0, 3.0)");
  const std::size_t len_size = major == 1 ? 2 : 4;
  unsigned char len_bytes[4] = {0, 0, 0, 0};
  if (!read(reinterpret_cast<char*>(len_bytes), len_size))
    fail(source, "truncated in the header length");
  const std::size_t header_len = len_size == 2
                                     ? (std::size_t{len_bytes[0]} | std::size_t{len_bytes[1]} << 8)
                                     : static_cast<std::size_t>(read_le32(len_bytes));
  const std::size_t data_offset = 8 + len_size + header_len;
  if (data_offset > total)
    fail(source, "header length " + std::to_string(header_len) +
                     " runs past the end of the file (" + std::to_string(total) + " bytes)");
  std::string text(header_len, '\0');
  if (header_len > 0 && !read(text.data(), header_len)) fail(source, "truncated in the header");
  for (unsigned char c : text)
    if (!(c == '\n' || c == '\r' || c == '\t' || (c >= 0x20 && c < 0x7f)))
      fail(source, "malformed header: non-ASCII byte");
  const Header h = HeaderParser(text, source).parse();

  std::size_t itemsize = 0;
  if (h.descr == "<f8")
    itemsize = 8;
  else if (h.descr == "<f4")
    itemsize = 4;
  else
    fail(source,
         "unsupported dtype '" + h.descr + "' (only little-endian '<f8' and '<f4' are read)");
  if (h.fortran_order) fail(source, "fortran_order is True; only C-order arrays are read");

  // Element count, saturating instead of overflowing; a zero dimension makes it 0.
  std::size_t count = 1;
  bool overflow = false;
  for (std::size_t d : h.shape) {
    if (d != 0 && count > std::numeric_limits<std::size_t>::max() / d) overflow = true;
    count *= d;
  }
  const bool empty = std::find(h.shape.begin(), h.shape.end(), std::size_t{0}) != h.shape.end();
  if (empty) {
    // xtensor computes even an empty array's strides in signed arithmetic, so
    // its other dimensions must multiply to less than 2^63 (found by fuzz_npy).
    std::size_t rest = 1;
    for (std::size_t d : h.shape) {
      if (d != 0 && rest > static_cast<std::size_t>(PTRDIFF_MAX) / d)
        fail(source, "the shape " + shape_str(h.shape) +
                         " is empty, but its other dimensions multiply to more than 2^63");
      if (d != 0) rest *= d;
    }
    count = 0, overflow = false;
  }
  const std::size_t have = total - data_offset;
  if (overflow || count > have / itemsize)
    fail(source, "truncated: the header's shape " + shape_str(h.shape) + " needs " +
                     (overflow ? std::string("more than 2^64") : std::to_string(count)) +
                     " elements of " + std::to_string(itemsize) + " bytes but the file has " +
                     std::to_string(have) + " data bytes");
  if (count * itemsize != have)
    fail(source, "the shape " + shape_str(h.shape) + " needs " + std::to_string(count * itemsize) +
                     " data bytes but the file has " + std::to_string(have) +
                     (have > count * itemsize ? " (trailing bytes)" : " (truncated)"));
  return Layout{h.shape, itemsize, count};
}

template <class Read>
Array read_npy(Read& read, std::size_t total, const std::string& source) {
  const Layout layout = read_header(read, total, source);
  Array a = Array::from_shape(layout.shape);
  // Converted in chunks: peak memory is the array plus one chunk.
  constexpr std::size_t chunk_elems = 8192;
  std::vector<unsigned char> buf(std::min(layout.count, chunk_elems) * layout.itemsize);
  Scalar* out = a.data();
  for (std::size_t done = 0; done < layout.count;) {
    const std::size_t n = std::min(chunk_elems, layout.count - done);
    if (!read(reinterpret_cast<char*>(buf.data()), n * layout.itemsize))
      fail(source, "truncated in the data");
    convert(buf.data(), n, layout.itemsize, out + done);
    done += n;
  }
  return a;
}

}  // namespace

const char* npy_dtype() { return kFloatBuild ? "<f4" : "<f8"; }

std::string encode_npy(const Array& a) {
  static_assert(XTENSOR_DEFAULT_LAYOUT == xt::layout_type::row_major,
                "xg::Array must be row-major for C-order .npy data");
  std::string dict =
      std::string("{'descr': '") + npy_dtype() + "', 'fortran_order': False, 'shape': (";
  const auto& shape = a.shape();
  for (std::size_t k = 0; k < shape.size(); ++k) dict += (k ? ", " : "") + std::to_string(shape[k]);
  if (shape.size() == 1) dict += ",";
  dict += "), }";
  // Pad with spaces so magic + version + length + header is a multiple of 64
  // (NumPy aligns the data the same way), the header ending in '\n'.
  const std::size_t unpadded = kMagicSize + 2 + 2 + dict.size() + 1;
  const std::size_t padded = (unpadded + 63) / 64 * 64;
  dict.append(padded - unpadded, ' ');
  dict += '\n';
  if (dict.size() > 0xffff)
    throw io_error("encode_npy: header of " + std::to_string(dict.size()) +
                   " bytes does not fit format 1.0 (shape " + shape_str(shape) + ")");

  const std::size_t itemsize = sizeof(Scalar);
  std::string out;
  out.reserve(padded + a.size() * itemsize);
  out.append(kMagic, kMagicSize);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(dict.size() & 0xff);
  out += static_cast<char>((dict.size() >> 8) & 0xff);
  out += dict;
  const std::size_t data_start = out.size();
  out.resize(data_start + a.size() * itemsize);
  char* p = out.data() + data_start;
  const Scalar* v = a.data();
  for (std::size_t k = 0; k < a.size(); ++k, p += itemsize) {
    if constexpr (kFloatBuild) {
      std::uint32_t bits;
      std::memcpy(&bits, &v[k], 4);
      write_le32(bits, p);
    } else {
      std::uint64_t bits;
      std::memcpy(&bits, &v[k], 8);
      write_le64(bits, p);
    }
  }
  return out;
}

Array decode_npy(const std::string& bytes, const std::string& source) {
  std::size_t pos = 0;
  auto read = [&](char* dst, std::size_t n) {
    if (bytes.size() - pos < n) return false;
    std::memcpy(dst, bytes.data() + pos, n);
    pos += n;
    return true;
  };
  return read_npy(read, bytes.size(), source);
}

Array load_npy(const std::string& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) fail(path, "cannot open: no such file");
  if (!fs::is_regular_file(status)) fail(path, "cannot open: not a regular file");
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec) fail(path, "cannot read its size: " + ec.message());
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open: " + file::errno_text(errno));
  auto read = [&](char* dst, std::size_t n) {
    in.read(dst, static_cast<std::streamsize>(n));
    return static_cast<std::size_t>(in.gcount()) == n;
  };
  Array a = read_npy(read, static_cast<std::size_t>(size), path);
  // The file grew after we measured it: the header no longer describes it.
  if (in.peek() != std::char_traits<char>::eof())
    fail(path, "trailing bytes after the data (the file changed while it was read?)");
  return a;
}

void save_npy(const std::string& path, const Array& a) {
  file::write_atomically(path, encode_npy(a));
}

}  // namespace xg::io
