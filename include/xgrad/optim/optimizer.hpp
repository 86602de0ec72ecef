#pragma once
// The small base every update rule shares: the parameters (shared Tensor
// handles, updated in place through mutable_value()), the learning rate, the
// L1/L2 regularisation and the per-position state used by checkpoints.
// Formulas and the book's notation: docs/training-parts.md.
#include <cstddef>
#include <string>
#include <vector>

#include "xgrad/optim/regularization.hpp"
#include "xgrad/tensor.hpp"

namespace xg::optim {

class Optimizer {
 public:
  /// Validates lr (finite, >= 0), the regularisation (λ finite and >= 0, n >= 1)
  /// and the parameters (defined, no tensor twice): value_error otherwise,
  /// whose message starts with `rule` (the subclass's name(), which a base
  /// constructor cannot call yet).
  Optimizer(std::vector<Tensor> params, double lr, Regularization reg = {},
            const char* rule = "optimizer");
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// One update of every parameter from its grad(); a parameter without a
  /// gradient (backward did not reach it since zero_grad) is left untouched,
  /// and so is its state. No heap allocation after the first step.
  virtual void step() = 0;
  /// Forgets every parameter's gradient (and, for a rule that steps inside
  /// backward, arms the next backward to do so).
  virtual void zero_grad();
  /// Whether some parameters take their step inside backward() rather than in
  /// step() (optim::SGD::set_fused): their gradients are then never stored.
  virtual bool steps_in_backward() const { return false; }
  /// For loops that read no gradient between backward() and step(), as
  /// train::fit: lets the rule take inside backward() the steps an op can
  /// apply with exactly step()'s bits (SGD: `linear`'s weight and bias without
  /// L1/L2 terms), so those gradients are never stored or streamed again.
  /// Results do not change. Off by default; rules without such steps ignore
  /// it. Takes effect at the next zero_grad().
  virtual void set_exact_steps_in_backward(bool on) { (void)on; }
  virtual bool exact_steps_in_backward() const { return false; }

  /// η, readable and settable between steps (learning-rate schedules).
  double learning_rate() const { return lr_; }
  /// Sets η for the next steps; value_error unless finite and >= 0.
  void set_learning_rate(double lr);

  /// The rule's name, as make_optimizer() spells it ("sgd", "momentum", ...).
  virtual std::string name() const = 0;

  /// The rule's state (velocities, moments, step counts) by parameter
  /// position, for checkpoints; the layout is documented by each rule.
  virtual std::vector<Array> state() const { return {}; }
  /// Restores state() output; value_error for a wrong count, shape_error for a
  /// wrong shape (naming the position). Nothing changes when it throws.
  virtual void load_state(const std::vector<Array>& state);

  const std::vector<Tensor>& params() const { return params_; }
  const Regularization& regularization() const { return reg_; }
  /// Whether parameter i is one of Regularization::weights.
  bool is_weight(std::size_t i) const { return is_weight_[i]; }
  /// The parameters the L1/L2 terms apply to: the listed weights that are
  /// parameters of this optimizer, in parameter order.
  std::vector<Tensor> regularized_tensors() const;
  /// The regularisation term over regularized_tensors() (0 when inactive):
  /// what fit adds to the reported cost, and whose gradient step() applies.
  double regularization_penalty() const { return reg_.value(regularized_tensors()); }

 protected:
  /// Whether parameter i has a gradient to apply (shape_error if its shape is wrong).
  bool has_update(std::size_t i) const;
  /// Whether the L1/L2 terms apply to parameter i.
  bool regularized(std::size_t i) const { return is_weight_[i] && reg_.active(); }
  /// ∇C plus the regularisation terms for parameter i: g + (l2/n)·w + (l1/n)·sgn(w)
  /// for a weight (in a buffer kept per position, so no allocation after the
  /// first step); the gradient itself, uncopied, for anything else.
  const Array& regularized_grad(std::size_t i);

  /// For load_state(): throws unless `state` has exactly the expected shapes.
  void check_state(const std::vector<Array>& state, const std::vector<Shape>& expected) const;
  /// value_error unless v is finite and in [0, 1).
  void require_unit(const char* what, double v) const;
  /// value_error unless v is finite and > 0.
  void require_positive(const char* what, double v) const;
  /// A number for messages as people write it (1e-08, 0.5), unlike std::to_string.
  static std::string number(double v);

  std::vector<Tensor> params_;
  std::vector<bool> is_weight_;
  double lr_;
  Regularization reg_;

 private:
  std::vector<Array> reg_grad_;  // per-position buffers of regularized_grad()
};

}  // namespace xg::optim
