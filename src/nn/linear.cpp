#include "xgrad/nn/linear.hpp"

#include "xgrad/error.hpp"
#include "xgrad/limits.hpp"
#include "xgrad/nn/registry.hpp"
#include "xgrad/ops.hpp"

namespace xg::nn {

namespace {
std::string linear_name(std::size_t n_in, std::size_t n_out) {
  return "Linear(" + std::to_string(n_in) + ", " + std::to_string(n_out) + ")";
}
}  // namespace

Linear::Linear(std::size_t n_in, std::size_t n_out, Rng& rng, Init init)
    : n_in_(n_in), n_out_(n_out) {
  if (n_in == 0 || n_out == 0)
    throw value_error(linear_name(n_in, n_out) + ": sizes must be positive");
  // Weights and bias, refused before xtensor would throw std::bad_alloc.
  check_allocation(linear_name(n_in, n_out),
                   checked_elements(linear_name(n_in, n_out), {n_out, n_in + 1}));
  Tensor w = Tensor::zeros({n_out, n_in});
  Tensor b = Tensor::zeros({n_out});
  init_linear(w, b, init, rng);
  weight_ = register_parameter("weight", w, /*decay=*/true);
  bias_ = register_parameter("bias", b, /*decay=*/false);
}

std::string Linear::describe() const { return linear_name(n_in_, n_out_); }

Tensor Linear::forward(const Tensor& x) {
  const auto& s = x.value().shape();
  if (s.size() != 2 || s[1] != n_in_)
    throw shape_error(describe() + ": input of shape " + shape_str(s) + ": expected (m, " +
                      std::to_string(n_in_) + ")");
  return xg::linear(x, weight_, bias_);
}

std::shared_ptr<Linear> Linear::from_config(const LayerArgs& args) {
  const std::size_t in = args.config().size("in"), out = args.config().size("out");
  if (in == 0 || out == 0) throw value_error("\"in\" and \"out\" must be positive");
  args.expect_parameter("weight", {out, in});
  args.expect_parameter("bias", {out});
  Rng rng(0);
  return std::make_shared<Linear>(in, out, rng);
}

}  // namespace xg::nn
