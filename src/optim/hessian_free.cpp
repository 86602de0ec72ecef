// Hessian-free steps: CG on Hessian-vector products (see hessian_free.hpp).
#include "xgrad/optim/hessian_free.hpp"

#include <cmath>
#include <xtensor/xbuilder.hpp>

#include "xgrad/ops.hpp"

namespace xg::optim {

namespace {

using Vec = std::vector<Array>;  // one array per parameter

double dot(const Vec& a, const Vec& b) {
  double s = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t k = 0; k < a[i].size(); ++k)
      s += static_cast<double>(a[i].data()[k]) * b[i].data()[k];
  return s;
}

// λ is kept rounded to Scalar: state() saves it as a Scalar array, so a
// checkpoint holds exactly the λ the next step uses, and a resumed run is
// bit-identical in the float build too (in double this changes nothing).
double at_scalar_precision(double v) { return static_cast<double>(static_cast<Scalar>(v)); }

/// a + s·b
Vec axpy(const Vec& a, double s, const Vec& b) {
  Vec r;
  for (std::size_t i = 0; i < a.size(); ++i) r.push_back(a[i] + static_cast<Scalar>(s) * b[i]);
  return r;
}

}  // namespace

HessianFree::HessianFree(std::vector<Tensor> params, Closure cost, HessianFreeOptions options)
    : Optimizer(std::move(params), 1.0, {}, "hessian-free"),
      cost_(std::move(cost)),
      opt_(options),
      lambda_(at_scalar_precision(options.damping)) {
  if (!cost_) throw value_error("hessian-free: the cost closure is empty");
  require_positive("damping", opt_.damping);
  if (opt_.cg_iterations == 0) throw value_error("hessian-free: cg_iterations must be >= 1");
}

void HessianFree::step() {
  const std::vector<Tensor>& ps = params();
  Tensor c = cost_();
  if (c.size() != 1)
    throw shape_error("hessian-free: the cost closure must return one element, got shape " +
                      shape_str(c.value().shape()));
  c0_ = c.item();
  GradOptions o;
  o.create_graph = true;
  o.allow_unused = true;
  std::vector<Tensor> g = grad({c}, ps, o);
  Vec gv;
  for (std::size_t i = 0; i < ps.size(); ++i)
    gv.push_back(g[i].defined() ? g[i].value() : Array(xt::zeros<Scalar>(ps[i].shape())));

  // H·v on the recorded graph of ∇C: the gradient of ⟨∇C, v⟩.
  auto hv = [&](const Vec& v) {
    Tensor s = Tensor::scalar(0);
    for (std::size_t i = 0; i < g.size(); ++i)
      if (g[i].defined() && g[i].requires_grad()) s = s + sum(g[i] * Tensor(v[i]));
    Vec out;
    std::vector<Tensor> h;
    if (s.requires_grad()) {
      GradOptions oh;
      oh.keep_graph = true;
      oh.allow_unused = true;
      h = grad({s}, ps, oh);
    }
    for (std::size_t i = 0; i < ps.size(); ++i)
      out.push_back(i < h.size() && h[i].defined() ? h[i].value()
                                                   : Array(xt::zeros<Scalar>(ps[i].shape())));
    return out;
  };

  // CG on (H + λI)d = −g, from d = 0.
  Vec d, r, p;
  for (const Array& gi : gv) {
    d.push_back(xt::zeros_like(gi));
    r.push_back(-gi);
  }
  p = r;
  double rr = dot(r, r);
  const double stop = opt_.cg_tolerance * std::sqrt(rr);
  cg_done_ = 0;
  while (cg_done_ < opt_.cg_iterations && std::sqrt(rr) > stop) {
    const Vec Ap = axpy(hv(p), lambda_, p);
    ++cg_done_;
    const double pAp = dot(p, Ap);
    if (!(pAp > 0)) {  // negative curvature: keep what we have (or −g)
      if (cg_done_ == 1) d = r;
      break;
    }
    const double alpha = rr / pAp;
    d = axpy(d, alpha, p);
    r = axpy(r, -alpha, Ap);
    const double rr_new = dot(r, r);
    p = axpy(r, rr_new / rr, p);
    rr = rr_new;
  }

  // Predicted decrease of the quadratic model, then the actual one.
  const double predicted = -(dot(gv, d) + 0.5 * dot(d, hv(d)));
  Vec saved;
  for (const Tensor& t : ps) saved.push_back(t.value());
  for (std::size_t i = 0; i < ps.size(); ++i)
    const_cast<Tensor&>(ps[i]).mutable_value() = saved[i] + d[i];
  {
    NoGradGuard no_grad;
    c1_ = cost_().item();
  }
  const double rho = predicted > 0 ? (c0_ - c1_) / predicted : -1.0;
  if (rho > 0.75) lambda_ = std::max(opt_.min_damping, lambda_ * 2.0 / 3.0);
  if (rho < 0.25) lambda_ = std::min(opt_.max_damping, lambda_ * 1.5);
  lambda_ = at_scalar_precision(lambda_);
  if (!(std::isfinite(c1_) && c1_ <= c0_)) {  // no decrease: undo, more damping next time
    for (std::size_t i = 0; i < ps.size(); ++i)
      const_cast<Tensor&>(ps[i]).mutable_value() = saved[i];
    c1_ = c0_;
  }
}

std::vector<Array> HessianFree::state() const { return {Array(static_cast<Scalar>(lambda_))}; }

void HessianFree::load_state(const std::vector<Array>& state) {
  check_state(state, {Shape{}});
  const double l = state[0]();
  require_positive("damping", l);
  lambda_ = l;
}

}  // namespace xg::optim
