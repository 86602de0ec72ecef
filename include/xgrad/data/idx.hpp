#pragma once
// The IDX format of MNIST and its look-alikes (Fashion-MNIST, KMNIST, EMNIST):
// a 4-byte magic (0x00 0x00 type rank), `rank` big-endian uint32 dimensions,
// then the elements in row-major order. xgrad reads only unsigned-byte
// elements (type 0x08), which is what every image/label file of these sets
// uses; the other IDX element types are rejected with a message that says so.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace xg::data {

/// An IDX file's contents: its dimensions and its bytes in row-major order.
struct IdxArray {
  std::vector<std::size_t> shape;
  std::vector<std::uint8_t> data;

  /// Product of the dimensions (what data.size() must equal).
  std::size_t elements() const;
};

/// Largest element count read_idx accepts. A corrupt or hostile header can
/// claim up to 2^128 elements; the bound is checked before any allocation.
inline constexpr std::size_t max_idx_elements = std::size_t{1} << 31;

/// Reads an IDX file, raw or gzip-compressed (recognised by its 0x1f 0x8b
/// magic, whatever the file is called). Throws xg::io_error naming the path and
/// the defect for: a missing or unreadable file, a short header, a wrong magic,
/// an element type other than 0x08, a rank outside 1..4, a zero dimension,
/// more than max_idx_elements elements, and a data section shorter or longer
/// than the header says.
IdxArray read_idx(const std::string& path);

/// Writes `array` as an IDX file of unsigned bytes, gzip-compressed if `gzip`.
/// The file is written under a temporary name and renamed into place, so a
/// failure never leaves a partial file at `path`. Throws xg::value_error for a
/// rank outside 1..4, a zero or > 2^32-1 dimension, or data whose size does not
/// match the shape; xg::io_error if the file cannot be written.
void write_idx(const std::string& path, const IdxArray& array, bool gzip = false);

}  // namespace xg::data
