// The transform base (the batch check and the row loop), the book's
// one-pixel shifts, and rebuilding any transform from its JSON parameters.
// The affine resampler, the elastic distortion and composition have files of
// their own (transforms_affine.cpp, transforms_elastic.cpp, transforms_compose.cpp).
#include "xgrad/data/transforms.hpp"

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "xgrad/error.hpp"

namespace xg::data {

using json = nlohmann::json;

// ------------------------------------------------------------------ base

Transform::Transform(ImageSize size, const std::string& who) : size_(size) {
  if (size.height < 2 || size.width < 2)
    throw value_error(who + ": images must be at least 2×2 pixels, got " +
                      std::to_string(size.height) + "×" + std::to_string(size.width) +
                      " (a transform needs image data)");
}

void Transform::check_batch(const Array& batch) const {
  if (batch.dimension() != 2 || batch.shape(1) != size_.pixels())
    throw shape_error(name() + " transform: expected a batch of " + std::to_string(size_.height) +
                      "×" + std::to_string(size_.width) + " images, one per row (m × " +
                      std::to_string(size_.pixels()) + "), got shape " + shape_str(batch.shape()));
}

void Transform::apply(Array& batch, Rng& rng) {
  check_batch(batch);
  const std::size_t n = size_.pixels();
  Scalar* data = batch.data();
  for (std::size_t i = 0; i < batch.shape(0); ++i) apply_image(data + i * n, data + i * n, rng);
}

void Transform::apply_indexed(Array& batch, std::uint64_t seed, std::size_t first_index) {
  check_batch(batch);
  const std::size_t n = size_.pixels();
  Scalar* data = batch.data();
  for (std::size_t i = 0; i < batch.shape(0); ++i) {
    Rng rng(derive_seed(seed, first_index + i));
    apply_image(data + i * n, data + i * n, rng);
  }
}

// ------------------------------------------------------------------ pixel shifts

PixelShift::PixelShift(ImageSize size, bool keep_original)
    : Transform(size, "PixelShift"), keep_original_(keep_original), scratch_(size.pixels()) {}

void PixelShift::apply_image(const Scalar* image, Scalar* out, Rng& rng) {
  const std::size_t h = image_size().height, w = image_size().width;
  // A copy first: out may be the input itself.
  std::memcpy(scratch_.data(), image, h * w * sizeof(Scalar));
  const Scalar* in = scratch_.data();
  // Choice 0..3: up, down, left, right; 4: unchanged (only with keep_original).
  const std::uint64_t choice = rng.below(keep_original_ ? 5 : 4);
  if (choice == 4) {
    std::memcpy(out, in, h * w * sizeof(Scalar));
    return;
  }
  std::fill(out, out + h * w, Scalar(0));
  if (choice == 0)  // up: row y reads row y + 1
    std::memcpy(out, in + w, (h - 1) * w * sizeof(Scalar));
  else if (choice == 1)  // down: row y reads row y − 1
    std::memcpy(out + w, in, (h - 1) * w * sizeof(Scalar));
  else
    for (std::size_t y = 0; y < h; ++y) {
      if (choice == 2)  // left: column x reads column x + 1
        std::memcpy(out + y * w, in + y * w + 1, (w - 1) * sizeof(Scalar));
      else  // right
        std::memcpy(out + y * w + 1, in + y * w, (w - 1) * sizeof(Scalar));
    }
}

std::string PixelShift::to_json() const {
  return json{{"type", name()},
              {"height", image_size().height},
              {"width", image_size().width},
              {"keep_original", keep_original_}}
      .dump();
}

std::unique_ptr<Transform> PixelShift::clone() const {
  return std::make_unique<PixelShift>(image_size(), keep_original_);
}

// ------------------------------------------------------------------ from JSON

namespace {

[[noreturn]] void bad(const std::string& what) {
  throw value_error("transform_from_json: " + what);
}

const json& member(const json& j, const char* key) {
  if (!j.contains(key)) bad(std::string("missing \"") + key + "\" in " + j.dump());
  return j.at(key);
}

double number(const json& j, const char* key) {
  const json& v = member(j, key);
  if (!v.is_number()) bad(std::string("\"") + key + "\" must be a number, got " + v.dump());
  return v.get<double>();
}

std::size_t count(const json& j, const char* key) {
  const json& v = member(j, key);
  if (!v.is_number_unsigned())
    bad(std::string("\"") + key + "\" must be a non-negative integer, got " + v.dump());
  return v.get<std::size_t>();
}

Range range(const json& j, const char* key) {
  const json& v = member(j, key);
  if (!v.is_array() || v.size() != 2 || !v[0].is_number() || !v[1].is_number())
    bad(std::string("\"") + key + "\" must be [lo, hi], got " + v.dump());
  return {v[0].get<double>(), v[1].get<double>()};
}

std::unique_ptr<Transform> build(const json& j) {
  if (!j.is_object()) bad("expected a JSON object, got " + j.dump());
  const json& type = member(j, "type");
  if (!type.is_string()) bad("\"type\" must be a string, got " + type.dump());
  const std::string t = type.get<std::string>();
  if (t == "compose") {
    const json& steps = member(j, "steps");
    if (!steps.is_array()) bad("\"steps\" must be an array, got " + steps.dump());
    std::vector<std::unique_ptr<Transform>> parts;
    for (const json& s : steps) parts.push_back(build(s));
    return std::make_unique<Compose>(std::move(parts));
  }
  if (t != "affine" && t != "elastic" && t != "pixel_shift")
    bad("unknown transform type \"" + t + "\" (affine, elastic, pixel_shift, compose)");
  const std::size_t height = count(j, "height");
  const ImageSize size{height, count(j, "width")};
  if (t == "affine")
    return std::make_unique<Affine>(
        size, AffineRanges{range(j, "rotation_deg"), range(j, "scale"), range(j, "shear"),
                           range(j, "shift_x"), range(j, "shift_y")});
  if (t == "elastic") {
    const double sigma = number(j, "sigma");
    return std::make_unique<Elastic>(size, sigma, number(j, "alpha"));
  }
  const json& keep = member(j, "keep_original");
  if (!keep.is_boolean()) bad("\"keep_original\" must be true or false, got " + keep.dump());
  return std::make_unique<PixelShift>(size, keep.get<bool>());
}

}  // namespace

std::unique_ptr<Transform> transform_from_json(const std::string& text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    bad(std::string("malformed JSON: ") + e.what());
  }
  return build(j);
}

}  // namespace xg::data
