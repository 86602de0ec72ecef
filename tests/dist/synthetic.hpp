#pragma once
// A learnable 10-class data set of 28×28 "images" with no file to read: ten
// binary class patterns in [0, 1]^784 and noisy samples around them. Shared
// by the tests/dist programs.
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "xgrad/data/dataset.hpp"
#include "xgrad/random.hpp"

namespace xg_test {

constexpr std::size_t features = 784, classes = 10;

inline xg::data::Dataset synthetic(std::size_t n, std::uint64_t seed) {
  xg::Rng centre_rng(2024);  // the same classes in the training and the test set
  xg::Array centres = centre_rng.uniform_array({classes, features});
  xg::Rng rng(seed);
  for (auto& v : centres) v = v < 0.5 ? 0.0 : 1.0;  // distinct binary patterns
  xg::data::Dataset d;
  d.inputs = xg::Array::from_shape({n, features});
  d.labels.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t c = rng.below(classes);
    d.labels[i] = c;
    for (std::size_t j = 0; j < features; ++j)
      d.inputs(i, j) = std::fmin(1.0, std::fmax(0.0, centres(c, j) + rng.normal(0.0, 0.4)));
  }
  d.targets = xg::data::one_hot(d.labels, classes);
  return d;
}

}  // namespace xg_test
