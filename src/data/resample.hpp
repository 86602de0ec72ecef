#pragma once
// The one bilinear sampler behind every resampling transform (affine and
// elastic). It runs once per output pixel, so it has no branches: the image
// is first copied into a buffer with a zero border (one pixel above and to
// the left, two below and to the right), and sample points are clamped into
// [−1, W] × [−1, H], where everything they can touch is that border.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <vector>

#include "xgrad/scalar.hpp"

namespace xg::data::detail {

/// A view of a caller-owned buffer of padded_size(h, w) Scalars, zeroed once
/// (by the owner, e.g. a transform's constructor): load() only writes the
/// interior, so the border stays zero.
class PaddedImage {
 public:
  static std::size_t padded_size(std::size_t h, std::size_t w) { return (h + 3) * (w + 3); }

  PaddedImage(Scalar* buffer, std::size_t h, std::size_t w)
      : buffer_(buffer), h_(h), w_(w), stride_(w + 3) {}

  /// Copies the h×w row-major image `in` inside the zero border.
  void load(const Scalar* in) {
    for (std::size_t y = 0; y < h_; ++y)
      std::memcpy(buffer_ + (y + 1) * stride_ + 1, in + y * w_, w_ * sizeof(Scalar));
  }

  /// Bilinear interpolation at (x, y) = (column, row); pixels outside the
  /// image count as 0. At integer points the weights are exactly 1 and 0, so
  /// the result is the pixel itself, bit for bit (identities and right-angle
  /// rotations are exact).
  Scalar sample(double x, double y) const {
    // Clamping keeps far-away points on the border, where all four
    // neighbours are 0, as they would be for any point outside.
    x = std::min(std::max(x, -1.0), static_cast<double>(w_));
    y = std::min(std::max(y, -1.0), static_cast<double>(h_));
    const double fx0 = std::floor(x), fy0 = std::floor(y);
    const double fx = x - fx0, fy = y - fy0;
    const Scalar* p =
        buffer_ + static_cast<std::size_t>(fy0 + 1) * stride_ + static_cast<std::size_t>(fx0 + 1);
    const double top = (1 - fx) * p[0] + fx * p[1];
    const double bottom = (1 - fx) * p[stride_] + fx * p[stride_ + 1];
    return static_cast<Scalar>((1 - fy) * top + fy * bottom);
  }

 private:
  Scalar* buffer_;
  std::size_t h_, w_, stride_;
};

}  // namespace xg::data::detail
