// xgrad-book check: autograd through the composed model vs the book's BP1–BP4.
#include <fmt/core.h>

#include <filesystem>
#include <type_traits>

#include "common.hpp"
#include "xgrad/book/check.hpp"

namespace book_cli {

int cmd_check(const std::string& data_dir, std::uint64_t seed, std::size_t batch) {
  using xg::book::OutputKind;
  xg::Rng rng(seed);
  // A real batch when MNIST is there, otherwise MNIST-like sparse pixels.
  xg::Array X, Y;
  if (std::filesystem::exists(std::filesystem::path(data_dir) / "t10k-images-idx3-ubyte") ||
      std::filesystem::exists(std::filesystem::path(data_dir) / "t10k-images-idx3-ubyte.gz")) {
    auto m = xg::data::load_mnist(data_dir);
    auto b = m.test.take(batch);
    X = b.inputs;
    Y = b.targets;
    fmt::print("batch: the first {} MNIST test images\n", batch);
  } else {
    X = xg::Array::from_shape({batch, 784});
    for (auto& v : X) v = rng.bernoulli(0.2) ? static_cast<xg::Scalar>(rng.uniform()) : 0;
    Y = xt::zeros<xg::Scalar>({batch, std::size_t(10)});
    for (std::size_t i = 0; i < batch; ++i) Y(i, rng.below(10)) = 1;
    fmt::print("batch: {} synthetic MNIST-like images (no data in {})\n", batch, data_dir);
  }

  double worst = 0;
  fmt::print("{:<12} {:<24} {:>6} {:>5} {:>12} {:>12} {:>12} {:>12}\n", "network", "case", "lambda",
             "layer", "dW max abs", "dW max rel", "db max abs", "db max rel");
  for (const auto& sizes : {std::vector<std::size_t>{784, 30, 10}, {784, 100, 10}})
    for (OutputKind kind : {OutputKind::sigmoid_quadratic, OutputKind::sigmoid_cross_entropy,
                            OutputKind::softmax_log_likelihood})
      for (double lambda : {0.0, 5.0}) {
        xg::book::CheckCase c{sizes, kind, lambda, 50000};
        auto r = xg::book::compare_with_closed_form(c, X, Y, rng);
        for (const auto& l : r.layers)
          fmt::print("{:<12} {:<24} {:>6} {:>5} {:>12.3e} {:>12.3e} {:>12.3e} {:>12.3e}\n",
                     fmt::format("{}-{}-{}", sizes[0], sizes[1], sizes[2]), to_string(kind), lambda,
                     l.layer, l.weight_abs, l.weight_rel, l.bias_abs, l.bias_rel);
        worst = std::max(worst, r.max_rel);
      }
  // Both sides round each op at Scalar precision: ~1e-15 apart in double,
  // ~1e-7 in float (-DXGRAD_FLOAT=ON).
  const double limit = std::is_same_v<xg::Scalar, float> ? 1e-5 : 1e-8;
  fmt::print("max_rel_diff: {:.3e}\n", worst);
  if (worst > limit) {
    fmt::print(stderr, "check FAILED: relative difference {:.3e} exceeds {:.0e}\n", worst, limit);
    return 1;
  }
  return 0;
}

}  // namespace book_cli
