// The costs and regularisation terms, each ONE fused op: its value (a plain
// loop, accumulated in double) and its backward rule side by side, the
// derivative in the comment above. Each rule is one generic lambda (arrays on
// the fast path, Tensors with create_graph), so every cost, the fused ones
// included, can be differentiated twice. Closures capture only numbers: they
// read the inputs' values from the context, so a cost keeps no extra array
// alive. Conventions and formulas: docs/training-parts.md.
#include "xgrad/cost.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <xtensor/xmath.hpp>

#include "ops/backward.hpp"
#include "util/text.hpp"
#include "xgrad/nn/activation.hpp"
#include "xgrad/nn/softmax.hpp"

namespace xg {

namespace {

// ------------------------------------------------------------ checks

/// The batch size: rows of a rank >= 2 tensor; a vector or a scalar is one sample.
std::size_t batch_rows(const Array& v) { return v.dimension() >= 2 ? v.shape()[0] : 1; }

void check_defined(const char* cost, const Tensor& t, const char* what) {
  if (!t.defined()) throw value_error(std::string(cost) + ": " + what + " is an undefined tensor");
}

/// a and y must be defined, non-empty and of exactly the same shape.
void check_pair(const char* cost, const char* a_name, const Tensor& a, const Tensor& y) {
  check_defined(cost, a, a_name);
  check_defined(cost, y, "y");
  const Array& av = a.value();
  const Array& yv = y.value();
  if (av.dimension() != yv.dimension() ||
      !std::equal(av.shape().begin(), av.shape().end(), yv.shape().begin()))
    throw shape_error(std::string(cost) + ": " + a_name + " has shape " + shape_str(av.shape()) +
                      " but y has shape " + shape_str(yv.shape()) + "; they must be equal");
  if (av.size() == 0)
    throw value_error(std::string(cost) + ": empty batch (" + a_name + " has shape " +
                      shape_str(av.shape()) + ")");
}

void check_lambda(const char* term, double lambda, std::size_t n) {
  if (!(lambda >= 0.0) || !std::isfinite(lambda))
    throw value_error(std::string(term) + ": lambda must be finite and >= 0, got " +
                      text::number(lambda));
  if (n < 1) throw value_error(std::string(term) + ": training-set size n must be >= 1, got 0");
}

/// The one-element (rank-0) value of a cost.
Array scalar_array(double v) { return Array(static_cast<Scalar>(v)); }

// ------------------------------------------------------------ stable helpers

/// Smallest argument given to ln() on the clamped paths: ln stays >= −100 (as
/// PyTorch's BCELoss) and 1/floor stays finite in float builds too.
const double kLogFloor =
    std::max(std::exp(-100.0), static_cast<double>(std::numeric_limits<Scalar>::min()));

/// ln(max(x, floor)): finite for x = 0 and for x slightly below 0 (rounding).
inline double safe_log(double x) { return std::log(std::max(x, kLogFloor)); }

/// ln(1 + e^z) = max(z, 0) + ln(1 + e^{−|z|}), exact for large |z| (the same
/// formula as activations::Softplus::f, here in double). With it
/// −[y ln σ(z) + (1−y) ln(1−σ(z))] = softplus(z) − z·y.
inline double stable_softplus(double z) {
  return std::max(z, 0.0) + std::log1p(std::exp(-std::abs(z)));
}

const Scalar kFloor = static_cast<Scalar>(kLogFloor);

/// The m × k one-hot matrix of integer labels for a cost on `a` (m × k).
Array one_hot(const char* cost, const Tensor& a, const std::vector<std::size_t>& labels) {
  check_defined(cost, a, "a");
  const Array& av = a.value();
  if (av.dimension() != 2)
    throw shape_error(std::string(cost) + ": with integer labels the outputs must be m × k, got " +
                      shape_str(av.shape()));
  const std::size_t m = av.shape()[0], k = av.shape()[1];
  if (labels.size() != m)
    throw shape_error(std::string(cost) + ": " + std::to_string(labels.size()) +
                      " labels for outputs of shape " + shape_str(av.shape()) +
                      " (one label per row expected)");
  Array y = xt::zeros<Scalar>(av.shape());
  for (std::size_t i = 0; i < m; ++i) {
    if (labels[i] >= k)
      throw value_error(std::string(cost) + ": label at index " + std::to_string(i) + " is " +
                        std::to_string(labels[i]) + ", out of range for " + std::to_string(k) +
                        " classes (valid: 0.." + std::to_string(k == 0 ? 0 : k - 1) + ")");
    y(i, labels[i]) = Scalar(1);
  }
  return y;
}

// ------------------------------------------------------------ shared fused ops

// C = (1/m) Σ [max(z,0) − z·y + ln(1 + e^{−|z|})]   (= cross-entropy of a = σ(z))
// dC/dz = (σ(z) − y)/m;   dC/dy = −z/m
Tensor bce_from_logits(const char* op, const Tensor& z, const Tensor& y) {
  const Array& zv = z.value();
  const Array& yv = y.value();
  const std::size_t m = batch_rows(zv);
  const Scalar* zp = zv.data();
  const Scalar* yp = yv.data();
  double sum = 0.0;
  for (std::size_t i = 0, n = zv.size(); i < n; ++i) {
    const double zi = zp[i];
    sum += stable_softplus(zi) - zi * yp[i];
  }
  return record(op, scalar_array(sum / m), {z, y}, [m](auto& c) {
    const auto k = bw::seed(c.gy(), 1.0 / static_cast<double>(m));
    if (c.needs(0)) c.add(0, k * (bw::sigmoid(c.x(0)) - c.x(1)));
    if (c.needs(1)) c.add(1, -k * c.x(0));
  });
}

// C = −(1/m) Σ_rows Σ_j y_j ls_j,  ls = log_softmax(z) over the last axis
// dC/dz_j = (softmax(z)_j · Σ_i y_i − y_j)/m   (= (a − y)/m for a one-hot y);
// dC/dy = −ls/m
Tensor nll_from_logits_op(const char* op, const Tensor& z, const Tensor& y) {
  const Array& zv = z.value();
  const Array& yv = y.value();
  if (zv.dimension() == 0)
    throw shape_error(std::string(op) + ": logits of shape () have no class axis");
  const std::size_t m = batch_rows(zv);
  const std::size_t axis = zv.dimension() - 1;
  const Array ls = detail::log_softmax_rows(zv);
  double sum = 0.0;
  for (std::size_t i = 0, n = zv.size(); i < n; ++i) sum -= yv.data()[i] * ls.data()[i];
  return record(op, scalar_array(sum / m), {z, y}, [m, axis](auto& c) {
    const auto k = bw::seed(c.gy(), 1.0 / static_cast<double>(m));
    if (c.needs(0)) c.add(0, k * (bw::softmax(c.x(0)) * bw::row_sum(c.x(1), axis) - c.x(1)));
    if (c.needs(1)) c.add(1, -k * bw::log_softmax(c.x(0)));
  });
}

}  // namespace

// ------------------------------------------------------------ quadratic

namespace {
/// (1/m) Σ ½(a − y)², summed in double in storage order: the one value of the
/// quadratic cost, on outputs or on logits.
double mean_half_squares(const Array& a, const Array& y, std::size_t m) {
  double sum = 0.0;
  for (std::size_t i = 0, n = a.size(); i < n; ++i) {
    const double d = static_cast<double>(a.data()[i]) - y.data()[i];
    sum += d * d;
  }
  return 0.5 * sum / m;
}
}  // namespace

// C = (1/m) Σ ½(a − y)²;   dC/da = (a − y)/m;   dC/dy = −(a − y)/m
Tensor quadratic_cost(const Tensor& a, const Tensor& y) {
  check_pair("quadratic_cost", "a", a, y);
  const std::size_t m = batch_rows(a.value());
  Array value = scalar_array(mean_half_squares(a.value(), y.value(), m));
  return record("quadratic_cost", std::move(value), {a, y}, [m](auto& c) {
    const auto k = bw::seed(c.gy(), 1.0 / static_cast<double>(m));
    auto g = bw::eval(k * (c.x(0) - c.x(1)));
    if (c.needs(1)) c.add(1, -g);
    if (c.needs(0)) c.add(0, std::move(g));
  });
}

// With a = σ(z), from the logits, the same operations as quadratic_cost on
// sigmoid(z) followed by the sigmoid's rule (so the same bits):
// C = (1/2m) Σ (a − y)²;  dC/dz = (k(a − y)) ⊙ (a(1 − a)), k = 1/m;  dC/dy = −k(a − y)
Tensor sigmoid_quadratic_cost(const Tensor& z, const Tensor& y) {
  check_pair("sigmoid_quadratic_cost", "z", z, y);
  const std::size_t m = batch_rows(z.value());
  auto compute = [&](Array& value) {
    value() =
        static_cast<Scalar>(mean_half_squares(activations::Sigmoid::f(z.value()), y.value(), m));
  };
  // The rule recomputes a from z (a few hundred exponentials on a mini-batch)
  // rather than keep it: the closure holds only m, as every cost's does. The
  // value goes into a kept node's buffer (record_into): this cost ends every
  // training step's graph.
  return record_into("sigmoid_quadratic_cost", {}, {z, y}, compute, [m](auto& c) {
    const auto k = bw::seed(c.gy(), 1.0 / static_cast<double>(m));
    if constexpr (std::is_same<std::decay_t<decltype(c)>, BackwardContext>::value) {
      Array a = activations::Sigmoid::f(c.x(0));
      const Array& yv = c.x(1);
      if (c.needs(1)) c.add(1, -(k * (a - yv)));
      if (!c.needs(0)) return;
      Scalar* ap = a.data();
      const Scalar* yp = yv.data();
      for (std::size_t i = 0, n = a.size(); i < n; ++i) {
        const Scalar ai = ap[i];
        ap[i] = (k * (ai - yp[i])) * (ai * (Scalar(1) - ai));
      }
      c.add(0, std::move(a));  // a's buffer becomes dC/dz
    } else {
      const Tensor a = sigmoid(c.x(0));
      const Tensor g = k * (a - c.x(1));
      if (c.needs(1)) c.add(1, -g);
      if (c.needs(0)) c.add(0, g * (a * (Scalar(1) - a)));
    }
  });
}

// ------------------------------------------------------------ cross-entropy

// From a's value, with 0·ln 0 = 0 and ln clamped at −100:
// C = −(1/m) Σ [y ln a + (1−y) ln(1−a)]
// dC/da = (−y/a + (1−y)/(1−a))/m;   dC/dy = (−ln a + ln(1−a))/m
Tensor cross_entropy_cost(const Tensor& a, const Tensor& y) {
  check_pair("cross_entropy_cost", "a", a, y);
  const Array& av = a.value();
  const Array& yv = y.value();
  const std::size_t m = batch_rows(av);
  double sum = 0.0;
  for (std::size_t i = 0, n = av.size(); i < n; ++i) {
    const double ai = av.data()[i], yi = yv.data()[i];
    if (yi != 0.0) sum -= yi * safe_log(ai);
    if (yi != 1.0) sum -= (1.0 - yi) * safe_log(1.0 - ai);
  }
  // (0·(1/floor) = 0, so the y = 0 and y = 1 terms need no special case here.)
  return record("cross_entropy_cost", scalar_array(sum / m), {a, y}, [m](auto& c) {
    const auto k = bw::seed(c.gy(), 1.0 / static_cast<double>(m));
    const auto& a = c.x(0);
    const auto& y = c.x(1);
    if (c.needs(0))
      c.add(0, k * ((Scalar(1) - y) / bw::floor_at(Scalar(1) - a, kFloor) -
                    y / bw::floor_at(a, kFloor)));
    if (c.needs(1))
      c.add(1, k * (log(bw::floor_at(Scalar(1) - a, kFloor)) - log(bw::floor_at(a, kFloor))));
  });
}

Tensor sigmoid_cross_entropy(const Tensor& z, const Tensor& y) {
  check_pair("sigmoid_cross_entropy", "z", z, y);
  return bce_from_logits("sigmoid_cross_entropy", z, y);
}

Tensor binary_cross_entropy_with_logits(const Tensor& z, const Tensor& y) {
  check_pair("binary_cross_entropy_with_logits", "z", z, y);
  return bce_from_logits("binary_cross_entropy_with_logits", z, y);
}

// ------------------------------------------------------------ log-likelihood

// From a's value, with 0·ln 0 = 0 and ln clamped at −100:
// C = −(1/m) Σ y ln a;   dC/da = −(y/a)/m;   dC/dy = −(ln a)/m
Tensor log_likelihood_cost(const Tensor& a, const Tensor& y) {
  check_pair("log_likelihood_cost", "a", a, y);
  const Array& av = a.value();
  const Array& yv = y.value();
  const std::size_t m = batch_rows(av);
  double sum = 0.0;
  for (std::size_t i = 0, n = av.size(); i < n; ++i) {
    const double yi = yv.data()[i];
    if (yi != 0.0) sum -= yi * safe_log(av.data()[i]);
  }
  return record("log_likelihood_cost", scalar_array(sum / m), {a, y}, [m](auto& c) {
    const auto k = bw::seed(c.gy(), 1.0 / static_cast<double>(m));
    if (c.needs(0)) c.add(0, -k * (c.x(1) / bw::floor_at(c.x(0), kFloor)));
    if (c.needs(1)) c.add(1, -k * log(bw::floor_at(c.x(0), kFloor)));
  });
}

Tensor log_likelihood_cost(const Tensor& a, const std::vector<std::size_t>& labels) {
  return log_likelihood_cost(a, Tensor(one_hot("log_likelihood_cost", a, labels)));
}

Tensor softmax_log_likelihood(const Tensor& z, const Tensor& y) {
  check_pair("softmax_log_likelihood", "z", z, y);
  return nll_from_logits_op("softmax_log_likelihood", z, y);
}

Tensor softmax_log_likelihood(const Tensor& z, const std::vector<std::size_t>& labels) {
  return softmax_log_likelihood(z, Tensor(one_hot("softmax_log_likelihood", z, labels)));
}

Tensor nll_from_logits(const Tensor& z, const Tensor& y) {
  check_pair("nll_from_logits", "z", z, y);
  return nll_from_logits_op("nll_from_logits", z, y);
}

Tensor nll_from_logits(const Tensor& z, const std::vector<std::size_t>& labels) {
  return nll_from_logits(z, Tensor(one_hot("nll_from_logits", z, labels)));
}

// ------------------------------------------------------------ mean absolute error

// C = (1/N) Σ |a − y| over all N elements;   dC/da = sgn(a − y)/N;   dC/dy = −sgn(a − y)/N
Tensor mean_absolute_error(const Tensor& a, const Tensor& y) {
  check_pair("mean_absolute_error", "a", a, y);
  const Array& av = a.value();
  const Array& yv = y.value();
  const std::size_t n = av.size();
  double sum = 0.0;
  for (std::size_t i = 0; i < n; ++i)
    sum += std::abs(static_cast<double>(av.data()[i]) - yv.data()[i]);
  return record("mean_absolute_error", scalar_array(sum / n), {a, y}, [n](auto& c) {
    const auto k = bw::seed(c.gy(), 1.0 / static_cast<double>(n));
    auto g = bw::eval(k * bw::sign(bw::eval(c.x(0) - c.x(1))));
    if (c.needs(1)) c.add(1, -g);
    if (c.needs(0)) c.add(0, std::move(g));
  });
}

// ------------------------------------------------------------ regularisation

// P = (λ/2n) Σ_w Σ w²;   dP/dw = (λ/n)·w
Tensor l2_penalty(const std::vector<Tensor>& weights, double lambda, std::size_t n) {
  check_lambda("l2_penalty", lambda, n);
  double sum = 0.0;
  for (const Tensor& w : weights) {
    check_defined("l2_penalty", w, "a weight");
    for (Scalar v : w.value()) sum += static_cast<double>(v) * v;
  }
  const double scale = lambda / static_cast<double>(n);
  const std::size_t count = weights.size();
  return record("l2_penalty", scalar_array(0.5 * scale * sum), weights, [scale, count](auto& c) {
    const auto k = bw::seed(c.gy(), scale);
    for (std::size_t i = 0; i < count; ++i)
      if (c.needs(i)) c.add(i, k * c.x(i));
  });
}

// P = (λ/n) Σ_w Σ |w|;   dP/dw = (λ/n)·sgn(w)   (0 at w = 0)
Tensor l1_penalty(const std::vector<Tensor>& weights, double lambda, std::size_t n) {
  check_lambda("l1_penalty", lambda, n);
  double sum = 0.0;
  for (const Tensor& w : weights) {
    check_defined("l1_penalty", w, "a weight");
    for (Scalar v : w.value()) sum += std::abs(static_cast<double>(v));
  }
  const double scale = lambda / static_cast<double>(n);
  const std::size_t count = weights.size();
  return record("l1_penalty", scalar_array(scale * sum), weights, [scale, count](auto& c) {
    const auto k = bw::seed(c.gy(), scale);
    for (std::size_t i = 0; i < count; ++i)
      if (c.needs(i)) c.add(i, k * bw::sign(c.x(i)));
  });
}

// ------------------------------------------------------------ by name

Cost::~Cost() = default;

Tensor Cost::from_logits(const Tensor&, const Tensor&) const {
  throw value_error("cost '" + name() + "' has no fused activation: it takes outputs, not logits");
}

namespace {

using CostFn = Tensor (*)(const Tensor&, const Tensor&);

/// A named cost: a function of outputs, and for the costs that pair with an
/// output activation that activation's name and the same cost on its logits.
struct CostEntry {
  const char* name;
  CostFn on_outputs;
  const char* activation;  // "" when the cost fuses with nothing
  CostFn on_logits;
};

class FunctionCost : public Cost {
 public:
  explicit FunctionCost(const CostEntry& e) : e_(e) {}
  Tensor operator()(const Tensor& a, const Tensor& y) const override { return e_.on_outputs(a, y); }
  std::string name() const override { return e_.name; }
  std::string fused_activation() const override { return e_.activation; }
  Tensor from_logits(const Tensor& z, const Tensor& y) const override {
    if (e_.on_logits == nullptr) return Cost::from_logits(z, y);
    return e_.on_logits(z, y);
  }

 private:
  CostEntry e_;
};

/// The one table of named costs: make_cost and cost_names both read it.
const std::vector<CostEntry>& cost_table() {
  static const std::vector<CostEntry> table = {
      {"quadratic", quadratic_cost, "sigmoid", sigmoid_quadratic_cost},
      {"cross-entropy", cross_entropy_cost, "sigmoid", sigmoid_cross_entropy},
      {"log-likelihood", static_cast<CostFn>(log_likelihood_cost), "softmax",
       static_cast<CostFn>(softmax_log_likelihood)},
      {"mae", mean_absolute_error, "", nullptr}};
  return table;
}

}  // namespace

std::vector<std::string> cost_names() {
  std::vector<std::string> names;
  for (const auto& entry : cost_table()) names.push_back(entry.name);
  return names;
}

std::unique_ptr<Cost> make_cost(const std::string& name) {
  for (const auto& entry : cost_table())
    if (entry.name == name) return std::make_unique<FunctionCost>(entry);
  std::string known;
  for (const auto& n : cost_names()) known += (known.empty() ? "" : ", ") + n;
  throw value_error("make_cost: unknown cost '" + name + "' (known: " + known + ")");
}

}  // namespace xg
