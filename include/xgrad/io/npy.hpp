#pragma once
// A small, hardened reader and writer for NumPy's .npy format (the parameter
// files of a saved model). Why not xt::load_npy: it trusts the header, so a
// file claiming 10^12 elements makes it allocate before it notices the file is
// short. Here every size is checked against the bytes actually present first.
//
// Written: format version 1.0, little-endian '<f8' ('<f4' in a float build,
// i.e. by sizeof(Scalar)), C order; the header is padded so the data starts on
// a 64-byte boundary, as NumPy does. Read: versions 1.0, 2.0 and 3.0 with
// dtype '<f8' or '<f4' (converted to Scalar) in C order. Anything else is an
// xg::io_error naming the file and what is wrong.
#include <cstddef>
#include <string>

#include "xgrad/scalar.hpp"

namespace xg::io {

/// The dtype string this build writes: "<f8", or "<f4" when Scalar is float.
const char* npy_dtype();

/// The complete .npy file for `a` (header and data) as bytes.
std::string encode_npy(const Array& a);

/// Parses a complete .npy file held in memory. `source` names it in error
/// messages (a path, or something like "<memory>").
Array decode_npy(const std::string& bytes, const std::string& source = "<memory>");

/// Writes `a` to `path` atomically: the bytes go to a temporary file in the
/// same directory, are flushed to disk (fsync), and the file is then renamed
/// over `path`. On error `path` is unchanged and no temporary file remains.
void save_npy(const std::string& path, const Array& a);

/// Reads `path`. Memory use is bounded by the file's size: the header's shape
/// must match the number of data bytes exactly before anything is allocated.
Array load_npy(const std::string& path);

}  // namespace xg::io
