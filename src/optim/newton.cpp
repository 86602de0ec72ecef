// Damped Newton steps on the full Hessian (see include/xgrad/optim/newton.hpp).
#include "xgrad/optim/newton.hpp"

#include <cmath>
#include <xtensor-blas/xlinalg.hpp>
#include <xtensor/xbuilder.hpp>

#include "xgrad/functional.hpp"
#include "xgrad/ops.hpp"

namespace xg::optim {

namespace {

// μ is kept rounded to Scalar: state() saves it as a Scalar array, so a
// checkpoint holds exactly the μ the next step uses, and a resumed run is
// bit-identical in the float build too (in double this changes nothing).
double at_scalar_precision(double v) { return static_cast<double>(static_cast<Scalar>(v)); }

}  // namespace

Newton::Newton(std::vector<Tensor> params, Closure cost, NewtonOptions options)
    : Optimizer(std::move(params), 1.0, {}, "newton"),
      cost_(std::move(cost)),
      opt_(options),
      mu_(at_scalar_precision(options.damping)) {
  if (!cost_) throw value_error("newton: the cost closure is empty");
  require_positive("damping", opt_.damping);
  std::size_t n = 0;
  for (const Tensor& p : this->params()) n += p.size();
  if (n > opt_.max_parameters)
    throw value_error("newton: " + std::to_string(n) + " parameters give a Hessian of " +
                      std::to_string(n) + "² entries; the limit is " +
                      std::to_string(opt_.max_parameters) + " (use Hessian-vector products)");
}

void Newton::step() {
  const std::vector<Tensor>& ps = params();
  std::size_t n = 0;
  for (const Tensor& p : ps) n += p.size();

  // ∇C and H by second-order autograd: row k of H is ∂(∇C)_k/∂w.
  CostDerivatives d = cost_derivatives(cost_, ps);
  c0_ = d.value;
  const Array& gv = d.gradient;
  Array& H = d.hessian;
  H = (H + xt::transpose(H)) * Scalar(0.5);  // symmetric up to rounding
  const Array eig = xt::linalg::eigvalsh(H);
  min_eig_ = eig(0);

  std::vector<Array> saved;
  for (const Tensor& p : ps) saved.push_back(p.value());
  while (true) {
    Array damped = H + mu_ * xt::eye<Scalar>(n);
    const Array delta = xt::linalg::solve(damped, Array(-gv));
    // Predicted decrease of the quadratic model: −(gᵀΔ + ½ΔᵀHΔ).
    const double predicted = -(xt::linalg::vdot(gv, delta) +
                               0.5 * xt::linalg::vdot(delta, Array(xt::linalg::dot(H, delta))));
    std::size_t k = 0;
    for (std::size_t i = 0; i < ps.size(); ++i) {
      Array& v = const_cast<Tensor&>(ps[i]).mutable_value();
      for (std::size_t q = 0; q < v.size(); ++q, ++k) v.data()[q] = saved[i].data()[q] + delta(k);
    }
    {
      NoGradGuard no_grad;
      c1_ = cost_().item();
    }
    const double rho = predicted > 0 ? (c0_ - c1_) / predicted : -1.0;
    if (rho > 0.75) mu_ = std::max(opt_.min_damping, mu_ / 3);
    if (rho < 0.25) mu_ = std::min(opt_.max_damping, mu_ * 2);
    mu_ = at_scalar_precision(mu_);
    if (std::isfinite(c1_) && c1_ <= c0_) return;  // accepted
    for (std::size_t i = 0; i < ps.size(); ++i)
      const_cast<Tensor&>(ps[i]).mutable_value() = saved[i];
    c1_ = c0_;
    if (mu_ >= opt_.max_damping) return;  // no decrease found: stay put
  }
}

std::vector<Array> Newton::state() const { return {Array(static_cast<Scalar>(mu_))}; }

void Newton::load_state(const std::vector<Array>& state) {
  check_state(state, {Shape{}});
  const double mu = state[0]();
  require_positive("damping", mu);
  mu_ = mu;
}

}  // namespace xg::optim
