#pragma once
// The cost of data augmentation: µs per image for the affine and elastic
// transforms (include/xgrad/data/transforms.hpp) on real MNIST digits.
#include "xgrad/data/dataset.hpp"

namespace xg::bench {

/// Times Affine (rotation, shear, shift) and Elastic (σ = 4, α = 34) on the
/// first 1,000 images of `images` (28×28) and prints `affine_us_per_image:`
/// and `elastic_us_per_image:` (CPU time, median of repeats, one thread).
void transforms_bench(const data::Dataset& images, bool quick);

}  // namespace xg::bench
