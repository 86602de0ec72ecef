// Jacobians, Hessians and Hessian-vector products from xg::grad.
#include "xgrad/functional.hpp"

#include <xtensor/xbuilder.hpp>

#include "jacobian_row.hpp"
#include "xgrad/ops.hpp"

namespace xg {

namespace detail {

std::vector<Tensor> jacobian_row(const Tensor& g, std::size_t p,
                                 const std::vector<Tensor>& params) {
  if (!g.requires_grad()) return std::vector<Tensor>(params.size());
  Array e = xt::zeros<Scalar>(g.value().shape());
  e.data()[p] = Scalar(1);
  GradOptions o;
  o.seeds = {Tensor(e)};
  o.keep_graph = true;
  o.allow_unused = true;
  return grad({g}, params, o);
}

}  // namespace detail

namespace {

/// Row r of a rows × cols matrix set from the flat values of t (zeros if undefined).
void set_row(Array& m, std::size_t r, const Tensor& t) {
  const std::size_t cols = m.shape()[1];
  for (std::size_t c = 0; c < cols; ++c) m(r, c) = t.defined() ? t.value().data()[c] : Scalar(0);
}

Tensor fresh_leaf(const Tensor& x) { return Tensor(Array(x.value()), true); }

}  // namespace

std::vector<Array> hvp(const ParamsFn& f, const std::vector<Tensor>& params,
                       const std::vector<Array>& v) {
  if (v.size() != params.size())
    throw value_error("hvp: " + std::to_string(v.size()) + " directions for " +
                      std::to_string(params.size()) + " parameters");
  Tensor c = f(params);
  if (c.size() != 1)
    throw shape_error("hvp: f must return a one-element cost, got shape " +
                      shape_str(c.value().shape()));
  GradOptions o;
  o.create_graph = true;
  o.allow_unused = true;
  std::vector<Tensor> g = grad({c}, params, o);
  // ⟨∇C, v⟩, then its gradient: H·v.
  Tensor dot = Tensor::scalar(0);
  for (std::size_t i = 0; i < g.size(); ++i) {
    if (!detail::shapes_equal(v[i].shape(), params[i].value().shape()))
      throw shape_error("hvp: direction " + std::to_string(i) + " has shape " +
                        shape_str(v[i].shape()) + ", its parameter " +
                        shape_str(params[i].value().shape()));
    if (g[i].defined()) dot = dot + sum(g[i] * Tensor(v[i]));
  }
  std::vector<Array> out;
  std::vector<Tensor> h;
  if (dot.requires_grad()) {
    GradOptions o2;
    o2.allow_unused = true;
    h = grad({dot}, params, o2);
  }
  for (std::size_t i = 0; i < params.size(); ++i)
    out.push_back(i < h.size() && h[i].defined() ? h[i].value()
                                                 : Array(xt::zeros<Scalar>(params[i].shape())));
  return out;
}

Array jacobian(const TensorFn& f, const Tensor& x0) {
  Tensor x = fresh_leaf(x0);
  Tensor y = f(x);
  Array jac = xt::zeros<Scalar>({y.size(), x.size()});
  if (!y.requires_grad()) return jac;
  for (std::size_t k = 0; k < y.size(); ++k) set_row(jac, k, detail::jacobian_row(y, k, {x})[0]);
  return jac;
}

Array hessian(const TensorFn& f, const Tensor& x0) {
  Tensor x = fresh_leaf(x0);
  return cost_derivatives([&] { return f(x); }, {x}).hessian;
}

CostDerivatives cost_derivatives(const std::function<Tensor()>& cost,
                                 const std::vector<Tensor>& params) {
  std::size_t n = 0;
  for (const Tensor& p : params) n += p.size();
  Tensor c = cost();
  if (c.size() != 1)
    throw shape_error("hessian: the cost must be a one-element tensor, got shape " +
                      shape_str(c.value().shape()));
  CostDerivatives d{c.item(), xt::zeros<Scalar>({n}), xt::zeros<Scalar>({n, n})};
  if (!c.requires_grad()) return d;
  GradOptions o;
  o.create_graph = true;
  o.allow_unused = true;
  const std::vector<Tensor> g = grad({c}, params, o);
  std::size_t row = 0;
  for (std::size_t i = 0; i < g.size(); ++i) {
    if (!g[i].defined()) {
      row += params[i].size();
      continue;
    }
    for (std::size_t p = 0; p < g[i].size(); ++p, ++row) {
      d.gradient(row) = g[i].value().data()[p];
      if (!g[i].requires_grad()) continue;  // ∇C does not depend on w: a zero row
      const std::vector<Tensor> r = detail::jacobian_row(g[i], p, params);
      std::size_t col = 0;
      for (std::size_t j = 0; j < r.size(); ++j)
        for (std::size_t q = 0; q < params[j].size(); ++q, ++col)
          d.hessian(row, col) = r[j].defined() ? r[j].value().data()[q] : Scalar(0);
    }
  }
  return d;
}

}  // namespace xg
