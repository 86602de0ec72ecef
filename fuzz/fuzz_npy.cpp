// Fuzzes xg::io::decode_npy, the parser behind every saved parameter. Junk
// must be an xg::error; a file that decodes must re-encode to a file that
// decodes to the same shape and the same bits.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "xgrad/error.hpp"
#include "xgrad/io/npy.hpp"

namespace {

[[noreturn]] void finding(const char* what) {
  std::fprintf(stderr, "fuzz_npy: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  xg::Array a;
  try {
    a = xg::io::decode_npy(bytes, "fuzz-input");
  } catch (const xg::error&) {
    return 0;
  }
  std::size_t count = 1;
  for (auto d : a.shape()) count *= d;
  if (count != a.size()) finding("decoded array's size does not match its shape");

  // Encoding can legitimately refuse (a header too long for format 1.0), but
  // only with an xg::error; what it writes must decode to the same array.
  std::string encoded;
  try {
    encoded = xg::io::encode_npy(a);
  } catch (const xg::error&) {
    return 0;
  }
  const xg::Array b = xg::io::decode_npy(encoded, "re-encoded");
  if (b.shape() != a.shape()) finding("re-encoding changed the shape");
  if (xg::io::encode_npy(b) != encoded) finding("re-encoding changed the values");
  return 0;
}
