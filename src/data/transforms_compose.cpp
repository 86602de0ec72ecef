// Composition: several transforms applied in turn to each image, through two
// scratch buffers, and its JSON (the steps' own JSON in an array).
#include <nlohmann/json.hpp>

#include "xgrad/data/transforms.hpp"
#include "xgrad/error.hpp"

namespace xg::data {

using json = nlohmann::json;

namespace {

ImageSize first_size(const std::vector<std::unique_ptr<Transform>>& steps) {
  if (steps.empty()) throw value_error("Compose: expected at least one transform");
  for (std::size_t i = 0; i < steps.size(); ++i)
    if (!steps[i]) throw value_error("Compose: transform " + std::to_string(i) + " is null");
  return steps.front()->image_size();
}

}  // namespace

Compose::Compose(std::vector<std::unique_ptr<Transform>> steps)
    : Transform(first_size(steps), "Compose"), steps_(std::move(steps)) {
  const ImageSize s = image_size();
  for (std::size_t i = 1; i < steps_.size(); ++i) {
    const ImageSize t = steps_[i]->image_size();
    if (t.height != s.height || t.width != s.width)
      throw value_error("Compose: transform " + std::to_string(i) + " (" + steps_[i]->name() +
                        ") works on " + std::to_string(t.height) + "×" + std::to_string(t.width) +
                        " images, the first on " + std::to_string(s.height) + "×" +
                        std::to_string(s.width));
  }
  a_.resize(s.pixels());
  b_.resize(s.pixels());
}

void Compose::apply_image(const Scalar* in, Scalar* out, Rng& rng) {
  // Steps alternate between the two scratch buffers (b_, a_, b_, ...); the
  // last writes to out, which may be in: each step allows that.
  const Scalar* src = in;
  for (std::size_t i = 0; i < steps_.size(); ++i) {
    const bool last = i + 1 == steps_.size();
    Scalar* dst = last ? out : (i % 2 == 0 ? b_.data() : a_.data());
    steps_[i]->apply_image(src, dst, rng);
    src = dst;
  }
}

std::string Compose::to_json() const {
  json steps = json::array();
  for (const auto& s : steps_) steps.push_back(json::parse(s->to_json()));
  return json{{"type", name()}, {"steps", std::move(steps)}}.dump();
}

std::unique_ptr<Transform> Compose::clone() const {
  std::vector<std::unique_ptr<Transform>> copies;
  for (const auto& s : steps_) copies.push_back(s->clone());
  return std::make_unique<Compose>(std::move(copies));
}

}  // namespace xg::data
