#pragma once
// What the tests/dist programs share: a learnable 10-class data set of 28×28
// "images" with no file to read (ten binary class patterns in [0, 1]^784 and
// noisy samples around them), the configuration of one training run, its
// optimizer and cost, and how close a data-parallel run must come to one
// process.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <type_traits>

#include "xgrad/cost.hpp"
#include "xgrad/data/dataset.hpp"
#include "xgrad/nn/module.hpp"
#include "xgrad/optim.hpp"
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

/// One training run of a test. The programs initialise it by position
/// ({name, optimizer, lr, momentum, l2, cost, batch, samples}): keep the order.
struct Config {
  std::string name;
  std::string optimizer = "sgd";
  double lr = 3.0;
  double momentum = 0.0;
  double l2 = 0.0;
  std::string cost = "quadratic";
  std::size_t batch = 10;
  std::size_t samples = 300;  // training samples
  std::size_t epochs = 3;
  bool elastic = false;   // an elastic distortion of every image (fit only)
  bool schedule = false;  // FitOptions::schedule (fit only)
  double dropout = 0.0;   // after the hidden layer (the hand-written loop only)
};

/// c's optimizer for `model`, with c.l2 over an `n`-sample training set.
inline std::unique_ptr<xg::optim::Optimizer> optimizer_for(const Config& c, xg::nn::Module& model,
                                                           std::size_t n) {
  const xg::optim::Regularization reg{c.l2, 0.0, n, model.weights()};
  return xg::optim::make_optimizer(c.optimizer, model.parameters(), c.lr, c.momentum, reg);
}

/// Summation order is the only difference between a data-parallel run and
/// one process: a few ulps per step, which stay far below this after several
/// epochs.
constexpr double tolerance = std::is_same<xg::Scalar, double>::value ? 1e-12 : 1e-4;

/// The largest difference between a's and b's parameters, relative to the
/// largest magnitude in b's tensor (the reference).
inline double max_relative_difference(const xg::nn::Module& a, const xg::nn::Module& b) {
  const auto pa = a.parameters(), pb = b.parameters();
  double worst = 0;
  for (std::size_t k = 0; k < pa.size(); ++k) {
    const xg::Array &x = pa[k].value(), &y = pb[k].value();
    double diff = 0, scale = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      diff = std::fmax(diff, std::fabs(double(x.data()[i]) - double(y.data()[i])));
      scale = std::fmax(scale, std::fabs(double(y.data()[i])));
    }
    worst = std::fmax(worst, scale > 0 ? diff / scale : diff);
  }
  return worst;
}

/// v for a message, with 3 significant digits.
inline std::string number(double v) {
  std::ostringstream out;
  out.precision(3);
  out << v;
  return out.str();
}

}  // namespace xg_test
