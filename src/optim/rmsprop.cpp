// RMSProp: steps scaled by a running root-mean-square of the gradient.
#include "xgrad/optim/rmsprop.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>

#include "pieces.hpp"

namespace xg::optim {

RMSProp::RMSProp(std::vector<Tensor> params, double lr, double alpha, double eps,
                 Regularization reg)
    : Optimizer(std::move(params), lr, std::move(reg), "rmsprop"), alpha_(alpha), eps_(eps) {
  require_unit("alpha", alpha);
  require_positive("eps", eps);
  for (const Tensor& p : params_) square_avg_.push_back(xt::zeros<Scalar>(p.value().shape()));
}

void RMSProp::step() {
  const auto eta = static_cast<Scalar>(lr_);
  const auto alpha = static_cast<Scalar>(alpha_);
  const auto eps = static_cast<Scalar>(eps_);
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (!has_update(i)) continue;
    const Array& grad = regularized_grad(i);
    Array& weight = params_[i].mutable_value();
    detail::for_each_piece(weight.size(), [&](std::size_t from, std::size_t to) {
      const auto g = detail::flat(grad, from, to);
      auto s = detail::flat(square_avg_[i], from, to);
      auto w = detail::flat(weight, from, to);
      xt::noalias(s) = alpha * s + (Scalar(1) - alpha) * g * g;  // s ← αs + (1−α)g²
      xt::noalias(w) -= eta * g / (xt::sqrt(s) + eps);           // w ← w − ηg/(√s + ε)
    });
  }
}

void RMSProp::load_state(const std::vector<Array>& state) {
  std::vector<Shape> expected;
  for (const Tensor& p : params_) expected.push_back(p.shape());
  check_state(state, expected);
  for (std::size_t i = 0; i < state.size(); ++i) xt::noalias(square_avg_[i]) = state[i];
}

}  // namespace xg::optim
