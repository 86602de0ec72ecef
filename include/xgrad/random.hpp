#pragma once
// A seeded engine whose streams are identical on every platform.
// std::normal_distribution and std::shuffle are implementation-defined, so
// xgrad derives every random number itself from std::mt19937_64, whose output
// the standard fixes bit for bit.
#include <cstdint>
#include <random>
#include <string>

#include "xgrad/scalar.hpp"

namespace xg {

/// splitmix64's output function (Steele, Lea & Flood 2014): a fixed, portable
/// bijection of 64 bits. Applied to seed + k·0x9E3779B97F4A7C15 it gives the
/// k-th value of a splitmix64 stream, which is how xgrad derives independent
/// seeds from counters (an image's position, a rank) without any shared state.
inline std::uint64_t splitmix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/// The seed of stream `k` derived from `seed`: splitmix64 at counter k + 1.
inline std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t k) {
  return splitmix64(seed + (k + 1) * 0x9E3779B97F4A7C15ULL);
}

class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0) : engine_(seed) {}

  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  /// Uniform in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// Standard normal by the Marsaglia polar method (one value cached).
  double normal();
  double normal(double mean, double stddev) { return mean + stddev * normal(); }
  /// Uniform integer in [0, n) without modulo bias; n must be > 0.
  std::uint64_t below(std::uint64_t n);
  /// True with probability p.
  bool bernoulli(double p) { return uniform() < p; }

  /// Fisher-Yates shuffle of a random-access range, the same on every platform.
  template <class It>
  void shuffle(It first, It last) {
    const auto n = static_cast<std::uint64_t>(last - first);
    for (std::uint64_t i = n; i > 1; --i) {
      std::uint64_t j = below(i);
      std::swap(first[i - 1], first[j]);
    }
  }

  /// Array of the given shape filled with N(mean, stddev^2) draws.
  Array normal_array(const Shape& shape, double mean = 0.0, double stddev = 1.0);
  /// Array of the given shape filled with U[lo, hi) draws.
  Array uniform_array(const Shape& shape, double lo = 0.0, double hi = 1.0);

  /// The full engine state as text, for checkpoints; restore() takes it back.
  std::string state() const;
  void restore(const std::string& state);

 private:
  std::mt19937_64 engine_;
  bool has_spare_ = false;
  double spare_ = 0.0;
};

}  // namespace xg
