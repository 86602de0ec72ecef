#include "xgrad/optim/regularization.hpp"

#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>

#include "pieces.hpp"
#include "xgrad/cost.hpp"

namespace xg::optim {

double Regularization::value(const std::vector<Tensor>& tensors) const {
  if (!active() || tensors.empty()) return 0.0;
  NoGradGuard no_graph;
  double v = 0.0;
  if (l2 > 0.0) v += l2_penalty(tensors, l2, n).item();
  if (l1 > 0.0) v += l1_penalty(tensors, l1, n).item();
  return v;
}

// d/dw [(λ₂/2n)·w² + (λ₁/n)·|w|] = (λ₂/n)·w + (λ₁/n)·sgn(w)
void Regularization::add_gradient(const Array& w, const Array& g, Array& out) const {
  const auto a = static_cast<Scalar>(l2_rate());
  const auto b = static_cast<Scalar>(l1_rate());
  if (out.shape() != w.shape()) out.resize(w.shape());
  detail::for_each_piece(w.size(), [&](std::size_t from, std::size_t to) {
    const auto wp = detail::flat(w, from, to);
    const auto gp = detail::flat(g, from, to);
    auto o = detail::flat(out, from, to);
    if (l1 == 0.0)
      xt::noalias(o) = gp + a * wp;
    else
      xt::noalias(o) = gp + a * wp + b * xt::sign(wp);
  });
}

}  // namespace xg::optim
