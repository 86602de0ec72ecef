// Adam with bias-corrected moments.
#include "xgrad/optim/adam.hpp"

#include <cmath>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>

#include "pieces.hpp"

namespace xg::optim {

Adam::Adam(std::vector<Tensor> params, double lr, double beta1, double beta2, double eps,
           Regularization reg)
    : Optimizer(std::move(params), lr, std::move(reg), "adam"),
      beta1_(beta1),
      beta2_(beta2),
      eps_(eps) {
  require_unit("beta1", beta1);
  require_unit("beta2", beta2);
  require_positive("eps", eps);
  for (const Tensor& p : params_) {
    m_.push_back(xt::zeros<Scalar>(p.value().shape()));
    v_.push_back(xt::zeros<Scalar>(p.value().shape()));
  }
  t_.assign(params_.size(), 0);
}

void Adam::step() {
  const auto b1 = static_cast<Scalar>(beta1_);
  const auto b2 = static_cast<Scalar>(beta2_);
  const auto eps = static_cast<Scalar>(eps_);
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (!has_update(i)) continue;
    const Array& grad = regularized_grad(i);
    Array& weight = params_[i].mutable_value();
    const double t = static_cast<double>(++t_[i]);
    // The moments start at 0, so early averages are biased toward 0 by the
    // factor (1 − β^t); dividing by it removes the bias.
    const auto step = static_cast<Scalar>(lr_ / (1.0 - std::pow(beta1_, t)));
    const auto root_bc2 = static_cast<Scalar>(std::sqrt(1.0 - std::pow(beta2_, t)));
    detail::for_each_piece(weight.size(), [&](std::size_t from, std::size_t to) {
      const auto g = detail::flat(grad, from, to);
      auto m = detail::flat(m_[i], from, to);
      auto v = detail::flat(v_[i], from, to);
      auto w = detail::flat(weight, from, to);
      xt::noalias(m) = b1 * m + (Scalar(1) - b1) * g;
      xt::noalias(v) = b2 * v + (Scalar(1) - b2) * g * g;
      // w ← w − η·m̂/(√v̂ + ε), m̂ = m/(1−β1^t), √v̂ = √v/√(1−β2^t)
      xt::noalias(w) -= step * m / (xt::sqrt(v) / root_bc2 + eps);
    });
  }
}

std::vector<Array> Adam::state() const {
  std::vector<Array> s;
  s.reserve(3 * params_.size());
  for (std::size_t i = 0; i < params_.size(); ++i) {
    s.push_back(m_[i]);
    s.push_back(v_[i]);
    s.push_back(Array(static_cast<Scalar>(t_[i])));
  }
  return s;
}

void Adam::load_state(const std::vector<Array>& state) {
  std::vector<Shape> expected;
  for (const Tensor& p : params_) {
    expected.push_back(p.shape());
    expected.push_back(p.shape());
    expected.push_back(Shape{});
  }
  check_state(state, expected);
  std::vector<std::size_t> counts;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const double t = state[3 * i + 2]();
    if (!std::isfinite(t) || t < 0 || t != std::floor(t))
      throw value_error("adam load_state: step count of parameter " + std::to_string(i) +
                        " must be a whole number >= 0, got " + number(t));
    counts.push_back(static_cast<std::size_t>(t));
  }
  for (std::size_t i = 0; i < params_.size(); ++i) {
    xt::noalias(m_[i]) = state[3 * i];
    xt::noalias(v_[i]) = state[3 * i + 1];
  }
  t_ = counts;
}

}  // namespace xg::optim
