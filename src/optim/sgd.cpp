// Plain SGD in the book's form.
#include "xgrad/optim/sgd.hpp"

#include "ops/weight_gradient.hpp"
#include "pieces.hpp"

namespace xg::optim {

SGD::SGD(std::vector<Tensor> params, double lr, Regularization reg)
    : Optimizer(std::move(params), lr, std::move(reg), "sgd") {}

void SGD::set_fused(bool on) {
  fused_ = on;
  arm_or_disarm();
}

void SGD::set_exact_steps_in_backward(bool on) {
  exact_ = on;
  arm_or_disarm();
}

// Turning both modes off takes effect now (no step inside the next backward
// even without zero_grad); turning one on, at the next zero_grad().
void SGD::arm_or_disarm() {
  if (!fused_ && !exact_)
    for (Tensor& p : params_) p.node()->step = {};
}

void SGD::zero_grad() {
  Optimizer::zero_grad();
  if (!fused_ && !exact_) return;
  const auto alpha = static_cast<Scalar>(-lr_);
  for (std::size_t i = 0; i < params_.size(); ++i)
    params_[i].node()->step = {/*armed=*/!regularized(i), /*applied=*/false,
                               /*exact=*/!fused_, /*uses=*/0, alpha};
}

void SGD::step() {
  const auto eta = static_cast<Scalar>(lr_);
  // The book writes weight decay as a factor on w rather than a gradient term.
  const auto decay = static_cast<Scalar>(1.0 - lr_ * reg_.l2 / static_cast<double>(reg_.n));
  const auto shrink = static_cast<Scalar>(lr_ * reg_.l1 / static_cast<double>(reg_.n));
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (!has_update(i)) continue;
    // Plain loops over raw pointers: for the book's small matrices they run
    // about twice as fast as the equivalent xtensor assignments.
    Scalar* const w = params_[i].mutable_value().data();
    const Scalar* const g = params_[i].grad().data();
    const bool plain = !regularized(i), l2_only = reg_.l1 == 0.0;
    detail::for_each_piece(params_[i].size(), [&](std::size_t from, std::size_t to) {
      Scalar* __restrict wp = w;
      const Scalar* __restrict gp = g;
      if (plain) {
        // w ← w − η·g, rounded as steps inside backward round it.
        for (std::size_t k = from; k < to; ++k) wp[k] = xg::detail::sgd_update(wp[k], eta, gp[k]);
      } else if (l2_only) {
        for (std::size_t k = from; k < to; ++k)
          wp[k] = decay * wp[k] - eta * gp[k];  // (1 − ηλ/n)·w − η·g
      } else {  // w ← (1 − ηλ₂/n)·w − (ηλ₁/n)·sgn(w) − η·g
        for (std::size_t k = from; k < to; ++k) {
          const Scalar sgn = static_cast<Scalar>((wp[k] > 0) - (wp[k] < 0));
          wp[k] = decay * wp[k] - shrink * sgn - eta * gp[k];
        }
      }
    });
  }
  // No more steps inside backward until zero_grad() arms them again; the
  // `applied` marks stay, so grad() keeps saying where the gradients went.
  if (fused_ || exact_)
    for (Tensor& p : params_) p.node()->step.armed = false;
}

}  // namespace xg::optim
