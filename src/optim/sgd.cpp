// Plain SGD in the book's form.
#include "xgrad/optim/sgd.hpp"

namespace xg::optim {

SGD::SGD(std::vector<Tensor> params, double lr, Regularization reg)
    : Optimizer(std::move(params), lr, std::move(reg), "sgd") {}

void SGD::step() {
  const auto eta = static_cast<Scalar>(lr_);
  // The book writes weight decay as a factor on w rather than a gradient term.
  const auto decay = static_cast<Scalar>(1.0 - lr_ * reg_.l2 / static_cast<double>(reg_.n));
  const auto shrink = static_cast<Scalar>(lr_ * reg_.l1 / static_cast<double>(reg_.n));
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (!has_update(i)) continue;
    // Plain loops over raw pointers: for the book's small matrices they run
    // about twice as fast as the equivalent xtensor assignments.
    Scalar* __restrict w = params_[i].mutable_value().data();
    const Scalar* __restrict g = params_[i].grad().data();
    const std::size_t n = params_[i].size();
    if (!regularized(i)) {
      for (std::size_t k = 0; k < n; ++k) w[k] -= eta * g[k];  // w ← w − η·g
    } else if (reg_.l1 == 0.0) {
      for (std::size_t k = 0; k < n; ++k) w[k] = decay * w[k] - eta * g[k];  // (1 − ηλ/n)·w − η·g
    } else {  // w ← (1 − ηλ₂/n)·w − (ηλ₁/n)·sgn(w) − η·g
      for (std::size_t k = 0; k < n; ++k) {
        const Scalar sgn = static_cast<Scalar>((w[k] > 0) - (w[k] < 0));
        w[k] = decay * w[k] - shrink * sgn - eta * g[k];
      }
    }
  }
}

}  // namespace xg::optim
