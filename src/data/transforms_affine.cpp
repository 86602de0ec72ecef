// The random affine distortion: rotation, scale, shear and translation
// composed into one 2×2 matrix plus offset, applied by inverse mapping
// through the bilinear sampler (each output pixel reads the input where the
// inverse map sends it, so there are no holes).
#include <cmath>
#include <nlohmann/json.hpp>

#include "resample.hpp"
#include "xgrad/data/transforms.hpp"
#include "xgrad/error.hpp"

namespace xg::data {

namespace {

void check_range(const Range& r, const char* what) {
  if (!std::isfinite(r.lo) || !std::isfinite(r.hi))
    throw value_error(std::string("Affine: ") + what + " range [" + std::to_string(r.lo) + ", " +
                      std::to_string(r.hi) + "] is not finite");
  if (r.lo > r.hi)
    throw value_error(std::string("Affine: ") + what + " range has lo " + std::to_string(r.lo) +
                      " > hi " + std::to_string(r.hi));
}

/// cos and sin of an angle in degrees; exact (0, ±1) at multiples of 90°, so
/// that a right-angle rotation moves pixels without interpolating.
void cos_sin_deg(double deg, double& c, double& s) {
  const double quarter = deg / 90.0;
  if (quarter == std::floor(quarter) && std::abs(quarter) < 1e15) {
    const long q = static_cast<long>(std::fmod(quarter, 4.0) + 4.0) % 4;
    static const double cs[4][2] = {{1, 0}, {0, 1}, {-1, 0}, {0, -1}};
    c = cs[q][0];
    s = cs[q][1];
    return;
  }
  const double rad = deg * (3.14159265358979323846 / 180.0);
  c = std::cos(rad);
  s = std::sin(rad);
}

std::vector<double> to_pair(const Range& r) { return {r.lo, r.hi}; }

}  // namespace

Affine::Affine(ImageSize size, AffineRanges ranges)
    : Transform(size, "Affine"),
      ranges_(ranges),
      padded_(detail::PaddedImage::padded_size(size.height, size.width), Scalar(0)) {
  check_range(ranges.rotation_deg, "rotation_deg");
  check_range(ranges.scale, "scale");
  check_range(ranges.shear, "shear");
  check_range(ranges.shift_x, "shift_x");
  check_range(ranges.shift_y, "shift_y");
  if (!(ranges.scale.lo > 0))
    throw value_error("Affine: scale range must be positive, got [" +
                      std::to_string(ranges.scale.lo) + ", " + std::to_string(ranges.scale.hi) +
                      "]");
  const bool rotates = ranges.rotation_deg.lo != 0 || ranges.rotation_deg.hi != 0;
  if (rotates && size.height != size.width)
    throw value_error("Affine: rotation needs square images, got " + std::to_string(size.height) +
                      "×" + std::to_string(size.width));
}

void Affine::apply_image(const Scalar* in, Scalar* out, Rng& rng) {
  const std::size_t h = image_size().height, w = image_size().width;
  // Fixed draw order (θ, s, k, tx, ty), one draw each even for a fixed range,
  // so the engine advances the same way whatever the parameters.
  const double theta = rng.uniform(ranges_.rotation_deg.lo, ranges_.rotation_deg.hi);
  const double scale = rng.uniform(ranges_.scale.lo, ranges_.scale.hi);
  const double shear = rng.uniform(ranges_.shear.lo, ranges_.shear.hi);
  const double tx = rng.uniform(ranges_.shift_x.lo, ranges_.shift_x.hi);
  const double ty = rng.uniform(ranges_.shift_y.lo, ranges_.shift_y.hi);

  // Forward map about the centre c: q = M (p − c) + c + t with
  // M = R·Shear·Scale. With y pointing down, counter-clockwise on screen is
  // R = [[cos, sin], [−sin, cos]]; Shear = [[1, k], [0, 1]]; Scale = s·I.
  double cs, sn;
  cos_sin_deg(theta, cs, sn);
  const double m00 = scale * cs, m01 = scale * (cs * shear + sn);
  const double m10 = -scale * sn, m11 = scale * (cs - sn * shear);
  // Inverse: p = M⁻¹ (q − c − t) + c. det = s² (cos² + sin²) = s² > 0.
  const double det = m00 * m11 - m01 * m10;
  const double i00 = m11 / det, i01 = -m01 / det, i10 = -m10 / det, i11 = m00 / det;
  const double cx = (static_cast<double>(w) - 1) / 2, cy = (static_cast<double>(h) - 1) / 2;
  const double ox = cx + tx, oy = cy + ty;
  detail::PaddedImage src(padded_.data(), h, w);
  src.load(in);  // before out is written: out may be in
  // Source point of output pixel (x, y): (i00 x + i01 y + bx, i10 x + i11 y + by).
  const double bx = cx - (i00 * ox + i01 * oy), by = cy - (i10 * ox + i11 * oy);
  for (std::size_t y = 0; y < h; ++y) {
    const double yd = static_cast<double>(y);
    double sx = i01 * yd + bx, sy = i11 * yd + by;
    for (std::size_t x = 0; x < w; ++x) {
      const double xd = static_cast<double>(x);
      out[y * w + x] = src.sample(i00 * xd + sx, i10 * xd + sy);
    }
  }
}

std::string Affine::to_json() const {
  return nlohmann::json{{"type", name()},
                        {"height", image_size().height},
                        {"width", image_size().width},
                        {"rotation_deg", to_pair(ranges_.rotation_deg)},
                        {"scale", to_pair(ranges_.scale)},
                        {"shear", to_pair(ranges_.shear)},
                        {"shift_x", to_pair(ranges_.shift_x)},
                        {"shift_y", to_pair(ranges_.shift_y)}}
      .dump();
}

std::unique_ptr<Transform> Affine::clone() const {
  return std::make_unique<Affine>(image_size(), ranges_);
}

}  // namespace xg::data
