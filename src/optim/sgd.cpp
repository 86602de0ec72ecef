// Plain SGD in the book's form.
#include "xgrad/optim/sgd.hpp"

#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>

namespace xg::optim {

SGD::SGD(std::vector<Tensor> params, double lr, Regularization reg)
    : Optimizer(std::move(params), lr, std::move(reg)) {}

void SGD::step() {
  const auto eta = static_cast<Scalar>(lr_);
  // The book writes weight decay as a factor on w rather than a gradient term.
  const auto decay = static_cast<Scalar>(1.0 - lr_ * reg_.l2 / static_cast<double>(reg_.n));
  const auto shrink = static_cast<Scalar>(lr_ * reg_.l1 / static_cast<double>(reg_.n));
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (!has_update(i)) continue;
    Array& w = params_[i].mutable_value();
    const Array& g = params_[i].grad();
    if (!regularized(i))
      xt::noalias(w) -= eta * g;  // w ← w − η·g
    else if (reg_.l1 == 0.0)
      xt::noalias(w) = decay * w - eta * g;  // w ← (1 − ηλ/n)·w − η·g
    else  // w ← (1 − ηλ₂/n)·w − (ηλ₁/n)·sgn(w) − η·g
      xt::noalias(w) = decay * w - shrink * xt::sign(w) - eta * g;
  }
}

}  // namespace xg::optim
