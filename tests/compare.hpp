#pragma once
// Comparing a run's numbers with a reference run's: shared by the tests of
// options that round differently from the default path (fused SGD, libxsmm),
// and by the tests that promise the very same bits.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <vector>

#include "xgrad/nn/module.hpp"
#include "xgrad/scalar.hpp"

namespace xg_test {

/// The same shape and the same bits in every element (NaNs included).
inline bool same_bits(const xg::Array& a, const xg::Array& b) {
  // An empty array's data() may be null, and memcmp(null, null, 0) is undefined.
  return a.shape() == b.shape() &&
         (a.size() == 0 || std::memcmp(a.data(), b.data(), a.size() * sizeof(xg::Scalar)) == 0);
}

/// Largest |value − reference| over the largest |reference| (at least 1).
inline double relative_gap(const xg::Array& reference, const xg::Array& value) {
  REQUIRE(reference.shape() == value.shape());
  double worst = 0, scale = 1;
  for (std::size_t i = 0; i < reference.size(); ++i) {
    worst = std::max(worst, std::abs(double(reference.data()[i]) - double(value.data()[i])));
    scale = std::max(scale, std::abs(double(reference.data()[i])));
  }
  return worst / scale;
}

/// Copies of a model's parameter values, in parameters() order.
inline std::vector<xg::Array> parameter_values(const xg::nn::Module& model) {
  std::vector<xg::Array> values;
  for (const xg::Tensor& p : model.parameters()) values.push_back(p.value());
  return values;
}

}  // namespace xg_test
