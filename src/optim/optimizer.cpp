// The shared part of every update rule: validation, gradients with the
// L1/L2 terms, and checking restored state.
#include "xgrad/optim/optimizer.hpp"

#include <algorithm>
#include <cmath>
#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>

#include "util/text.hpp"

namespace xg::optim {

namespace {

bool same_dims(const Shape& expected, const Array& a) {
  return a.dimension() == expected.size() &&
         std::equal(expected.begin(), expected.end(), a.shape().begin());
}

void require_rate(const std::string& who, double lr) {
  if (!std::isfinite(lr) || lr < 0.0)
    throw value_error(who + ": learning rate must be finite and >= 0, got " + text::number(lr));
}

}  // namespace

std::string Optimizer::number(double v) { return text::number(v); }

Optimizer::Optimizer(std::vector<Tensor> params, double lr, Regularization reg, const char* rule)
    : params_(std::move(params)), lr_(lr), reg_(std::move(reg)) {
  const std::string who = rule;
  require_rate(who, lr);
  if (!std::isfinite(reg_.l2) || reg_.l2 < 0.0)
    throw value_error(who + ": L2 lambda must be finite and >= 0, got " + number(reg_.l2));
  if (!std::isfinite(reg_.l1) || reg_.l1 < 0.0)
    throw value_error(who + ": L1 lambda must be finite and >= 0, got " + number(reg_.l1));
  if (reg_.n < 1)
    throw value_error(who + ": regularisation training-set size n must be >= 1, got 0");

  is_weight_.assign(params_.size(), false);
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    if (!p.defined())
      throw value_error(who + ": parameter " + std::to_string(i) + " is an undefined tensor");
    for (std::size_t j = 0; j < i; ++j)
      if (params_[j].node() == p.node())
        throw value_error(who + ": parameter " + std::to_string(i) +
                          " is the same tensor as parameter " + std::to_string(j) +
                          " (it would be updated twice per step)");
    for (const Tensor& w : reg_.weights)
      if (w.node() == p.node()) is_weight_[i] = true;
  }
  reg_grad_.resize(params_.size());
}

void Optimizer::zero_grad() {
  for (Tensor& p : params_) p.zero_grad();
}

void Optimizer::set_learning_rate(double lr) {
  require_rate(name() + " set_learning_rate", lr);
  lr_ = lr;
}

void Optimizer::load_state(const std::vector<Array>& state) { check_state(state, {}); }

bool Optimizer::has_update(std::size_t i) const {
  const Tensor& p = params_[i];
  if (!p.has_grad()) return false;
  const Array& g = p.grad();
  const Array& w = p.value();
  if (g.dimension() != w.dimension() ||
      !std::equal(w.shape().begin(), w.shape().end(), g.shape().begin()))
    throw shape_error(name() + " step: parameter " + std::to_string(i) + " has shape " +
                      shape_str(w.shape()) + " but its gradient has shape " + shape_str(g.shape()));
  return true;
}

const Array& Optimizer::regularized_grad(std::size_t i) {
  const Array& g = params_[i].grad();
  if (!regularized(i)) return g;
  reg_.add_gradient(params_[i].value(), g, reg_grad_[i]);
  return reg_grad_[i];
}

std::vector<Tensor> Optimizer::regularized_tensors() const {
  std::vector<Tensor> out;
  for (std::size_t i = 0; i < params_.size(); ++i)
    if (is_weight_[i]) out.push_back(params_[i]);
  return out;
}

void Optimizer::check_state(const std::vector<Array>& state,
                            const std::vector<Shape>& expected) const {
  if (state.size() != expected.size())
    throw value_error(name() + " load_state: expected " + std::to_string(expected.size()) +
                      " state arrays for " + std::to_string(params_.size()) + " parameters, got " +
                      std::to_string(state.size()));
  for (std::size_t k = 0; k < state.size(); ++k)
    if (!same_dims(expected[k], state[k]))
      throw shape_error(name() + " load_state: state array " + std::to_string(k) + " has shape " +
                        shape_str(state[k].shape()) + ", expected " + shape_str(expected[k]));
}

void Optimizer::require_unit(const char* what, double v) const {
  if (!std::isfinite(v) || v < 0.0 || v >= 1.0)
    throw value_error(name() + ": " + what + " must be in [0, 1), got " + number(v));
}

void Optimizer::require_positive(const char* what, double v) const {
  if (!std::isfinite(v) || v <= 0.0)
    throw value_error(name() + ": " + what + " must be finite and > 0, got " + number(v));
}

}  // namespace xg::optim
