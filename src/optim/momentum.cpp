// Momentum (the book's velocity form) and Nesterov momentum.
#include "xgrad/optim/momentum.hpp"

#include <xtensor/xbuilder.hpp>
#include <xtensor/xnoalias.hpp>

#include "pieces.hpp"

namespace xg::optim {

Momentum::Momentum(std::vector<Tensor> params, double lr, double mu, Regularization reg,
                   bool nesterov)
    : Optimizer(std::move(params), lr, std::move(reg), nesterov ? "nesterov" : "momentum"),
      mu_(mu),
      nesterov_(nesterov) {
  require_unit("momentum coefficient mu", mu);
  velocity_.reserve(params_.size());
  for (const Tensor& p : params_) velocity_.push_back(xt::zeros<Scalar>(p.value().shape()));
}

void Momentum::step() {
  const auto eta = static_cast<Scalar>(lr_);
  const auto mu = static_cast<Scalar>(mu_);
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (!has_update(i)) continue;
    const Array& grad = regularized_grad(i);
    Array& velocity = velocity_[i];
    Array& weight = params_[i].mutable_value();
    detail::for_each_piece(weight.size(), [&](std::size_t from, std::size_t to) {
      const auto g = detail::flat(grad, from, to);
      auto v = detail::flat(velocity, from, to);
      auto w = detail::flat(weight, from, to);
      xt::noalias(v) = mu * v - eta * g;  // v ← μv − ηg
      if (nesterov_)
        xt::noalias(w) += mu * v - eta * g;  // w ← w + μv − ηg (look ahead along the new v)
      else
        xt::noalias(w) += v;  // w ← w + v
    });
  }
}

void Momentum::load_state(const std::vector<Array>& state) {
  std::vector<Shape> expected;
  for (const Tensor& p : params_) expected.push_back(p.shape());
  check_state(state, expected);
  for (std::size_t i = 0; i < state.size(); ++i) xt::noalias(velocity_[i]) = state[i];
}

}  // namespace xg::optim
