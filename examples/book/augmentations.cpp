#include "augmentations.hpp"

#include "xgrad/error.hpp"

namespace book_cli {

namespace {

using namespace xg::data;

constexpr ImageSize kMnist{28, 28};

// Rotations "by small angles", as the book's more-data section expands its set.
AffineRanges rotation() {
  AffineRanges r;
  r.rotation_deg = {-15, 15};
  return r;
}

// Simard et al. (2003) name rotation, translation and skew but not their
// ranges; these are our choice, small enough that every digit stays legible
// (xgrad-book augment --grid shows them).
AffineRanges affine() {
  AffineRanges r = rotation();
  r.scale = {0.9, 1.1};
  r.shear = {-0.2, 0.2};
  r.shift_x = {-2, 2};
  r.shift_y = {-2, 2};
  return r;
}

}  // namespace

const std::vector<std::string>& augmentation_names() {
  static const std::vector<std::string> names{"shift", "rotate", "affine", "elastic"};
  return names;
}

std::string describe_augmentation(const std::string& name) {
  if (name == "shift") return "one-pixel shifts up/down/left/right or none (the book's expansion)";
  if (name == "rotate") return "rotation uniform in ±15°";
  if (name == "affine")
    return "rotation ±15°, scale 0.9–1.1, shear ±0.2, translation ±2 px (affine, bilinear)";
  if (name == "elastic") return "elastic distortion, σ = 4, α = 34 (Simard et al. 2003)";
  make_augmentation(name);  // throws the listing error
  return "";
}

std::unique_ptr<Transform> make_augmentation(const std::string& name) {
  if (name == "shift") return std::make_unique<PixelShift>(kMnist, true);
  if (name == "rotate") return std::make_unique<Affine>(kMnist, rotation());
  if (name == "affine") return std::make_unique<Affine>(kMnist, affine());
  if (name == "elastic") return std::make_unique<Elastic>(kMnist, 4.0, 34.0);
  std::string known;
  for (const auto& n : augmentation_names()) known += (known.empty() ? "" : ", ") + n;
  throw xg::value_error("unknown augmentation '" + name + "'; expected one of " + known);
}

}  // namespace book_cli
