#include "xgrad/nn/dropout.hpp"

#include <cmath>
#include <limits>
#include <sstream>

#include "xgrad/error.hpp"
#include "xgrad/nn/registry.hpp"
#include "xgrad/ops.hpp"

namespace xg::nn {

namespace {
double checked_p(double p) {
  // Written so that NaN fails too.
  if (!(p >= 0.0 && p < 1.0)) {
    std::ostringstream msg;
    msg << "Dropout: drop probability p = " << p << " must be in [0, 1)";
    throw value_error(msg.str());
  }
  return p;
}
}  // namespace

Dropout::Dropout(double p, std::uint64_t seed) : p_(checked_p(p)), rng_(seed) {}

Dropout::Dropout(double p, Rng& rng)
    : p_(checked_p(p)), rng_(rng.below(std::numeric_limits<std::uint64_t>::max())) {}

std::string Dropout::describe() const {
  std::ostringstream s;
  s << "Dropout(p=" << p_ << ")";
  return s.str();
}

// y = x ⊙ m with m_i = 1/(1−p) with probability 1−p, else 0; dy/dx = m (xg::mask).
Tensor Dropout::forward(const Tensor& x) {
  if (!is_training() || p_ == 0.0) return x;
  const double keep = 1.0 - p_;
  const Scalar scale = static_cast<Scalar>(1.0 / keep);
  Array m = Array::from_shape(x.value().shape());
  for (auto& v : m) v = rng_.bernoulli(keep) ? scale : Scalar(0);
  return xg::mask(x, m);
}

void Dropout::load_extra_state(const ExtraState& state) {
  Rng restored = rng_;
  bool seen = false;
  for (const auto& [name, text] : state) {
    if (name != "rng" || seen)
      throw value_error(describe() + ": unexpected extra state '" + name +
                        "' (expected one 'rng')");
    restored.restore(text);  // value_error for a malformed state, rng_ untouched
    seen = true;
  }
  if (!seen) throw value_error(describe() + ": extra state 'rng' is missing");
  rng_ = restored;
}

std::shared_ptr<Dropout> Dropout::from_config(const LayerArgs& args) {
  return std::make_shared<Dropout>(args.config().number("p"), std::uint64_t{0});
}

}  // namespace xg::nn
