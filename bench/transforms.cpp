// xgrad-bench's augmentation figures: what a fresh distortion of every image
// costs, next to a training epoch (target ≤ 10 µs per 28×28 image per core
// for elastic; docs/data-augmentation.md).
#include "transforms.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <vector>

#include "bench.hpp"
#include "xgrad/data/transforms.hpp"

namespace xg::bench {

namespace {

double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

/// Median CPU µs per image of `reps` passes of t over a copy of `batch`
/// (the copy is outside the timed part; the first pass is a warm-up).
double us_per_image(data::Transform& t, const Array& batch, int reps) {
  Rng rng(2003);
  Array work = batch;
  t.apply(work, rng);
  std::vector<double> us;
  for (int r = 0; r < reps; ++r) {
    work = batch;
    const double t0 = cpu_now();
    t.apply(work, rng);
    us.push_back((cpu_now() - t0) * 1e6 / static_cast<double>(batch.shape(0)));
  }
  return median(us);
}

}  // namespace

void transforms_bench(const data::Dataset& images, bool quick) {
  const std::size_t m = std::min<std::size_t>(1000, images.size());
  const Array batch = images.input_rows(0, m);
  const data::ImageSize size{28, 28};
  data::AffineRanges ranges;
  ranges.rotation_deg = {-15, 15};
  ranges.shear = {-0.2, 0.2};
  ranges.shift_x = {-2, 2};
  ranges.shift_y = {-2, 2};
  data::Affine affine(size, ranges);
  data::Elastic elastic(size, 4.0, 34.0);
  const int reps = quick ? 3 : 15;
  fmt::print("affine_us_per_image: {:.3f}\n", us_per_image(affine, batch, reps));
  fmt::print("elastic_us_per_image: {:.3f}\n", us_per_image(elastic, batch, reps));
  std::fflush(stdout);
}

}  // namespace xg::bench
