// The costs and regularisation terms, each ONE fused op: its value (a plain
// loop, accumulated in double) and its backward closure side by side, the
// derivative in the comment above. Closures capture only numbers: they read
// the inputs' values from the context, so a cost keeps no extra array alive.
// Conventions and formulas: docs/training-parts.md.
#include "xgrad/cost.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <xtensor/xmath.hpp>

namespace xg {

namespace {

// ------------------------------------------------------------ checks

/// A number as people write it: 1e-08, 0.5, -2 (std::to_string prints 0.000000 for 1e-8).
std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

/// The batch size: rows of a rank >= 2 tensor; a vector or a scalar is one sample.
std::size_t batch_rows(const Array& v) { return v.dimension() >= 2 ? v.shape()[0] : 1; }

/// The length of the last axis (the class axis of softmax); 1 for a scalar.
std::size_t last_axis(const Array& v) { return v.dimension() == 0 ? 1 : v.shape().back(); }

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
                      number(lambda));
  if (n < 1) throw value_error(std::string(term) + ": training-set size n must be >= 1, got 0");
}

/// The one-element (rank-0) value of a cost.
Array scalar_array(double v) { return Array(static_cast<Scalar>(v)); }

/// dC/dy of a scalar op: its one element.
Scalar seed_of(const BackwardContext& c) { return c.gy().data()[0]; }

// ------------------------------------------------------------ stable helpers

/// Smallest argument given to ln() on the clamped paths: ln stays >= −100 (as
/// PyTorch's BCELoss) and 1/floor stays finite in float builds too.
const double kLogFloor =
    std::max(std::exp(-100.0), static_cast<double>(std::numeric_limits<Scalar>::min()));

/// ln(max(x, floor)): finite for x = 0 and for x slightly below 0 (rounding).
inline double safe_log(double x) { return std::log(std::max(x, kLogFloor)); }

/// σ(z) without overflow for any z: e^{−|z|} never exceeds 1.
inline double stable_sigmoid(double z) {
  const double e = std::exp(-std::abs(z));
  return z >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}

/// ln(1 + e^z) = max(z, 0) + ln(1 + e^{−|z|}), exact for large |z|. With it
/// −[y ln σ(z) + (1−y) ln(1−σ(z))] = softplus(z) − z·y.
inline double stable_softplus(double z) {
  return std::max(z, 0.0) + std::log1p(std::exp(-std::abs(z)));
}

/// Log-softmax over the last axis, rows in place of a row-major array:
/// z − max − ln Σ e^{z − max}. Subtracting the max keeps every exponent <= 0.
Array log_softmax_rows(const Array& z) {
  Array out = Array::from_shape(z.shape());
  const std::size_t k = last_axis(z);
  const std::size_t rows = z.size() / k;
  const Scalar* in = z.data();
  Scalar* o = out.data();
  for (std::size_t r = 0; r < rows; ++r, in += k, o += k) {
    double mx = in[0];
    for (std::size_t j = 1; j < k; ++j) mx = std::max(mx, static_cast<double>(in[j]));
    double sum = 0.0;
    for (std::size_t j = 0; j < k; ++j) sum += std::exp(in[j] - mx);
    const double shift = mx + std::log(sum);
    for (std::size_t j = 0; j < k; ++j) o[j] = static_cast<Scalar>(in[j] - shift);
  }
  return out;
}

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

/// The input z of `a` when `a` was produced by the op `op` and its graph is alive.
bool producer_input(const Tensor& a, const char* op, Tensor& z) {
  const Node* n = a.node();
  if (n == nullptr || std::string(n->op) != op || n->inputs.empty()) return false;
  z = Tensor(n->inputs[0]);
  return true;
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
  return record(op, scalar_array(sum / m), {z, y}, [m](BackwardContext& c) {
    const double k = seed_of(c) / static_cast<double>(m);
    const Array& zv = c.x(0);
    const Array& yv = c.x(1);
    if (c.needs(0)) {
      Array g = Array::from_shape(zv.shape());
      for (std::size_t i = 0, n = zv.size(); i < n; ++i)
        g.data()[i] = static_cast<Scalar>(k * (stable_sigmoid(zv.data()[i]) - yv.data()[i]));
      c.add(0, std::move(g));
    }
    if (c.needs(1)) c.add(1, Array(static_cast<Scalar>(-k) * zv));
  });
}

// C = −(1/m) Σ_rows Σ_j y_j ls_j,  ls = log_softmax(z) over the last axis
// dC/dz_j = (softmax(z)_j · Σ_i y_i − y_j)/m   (= (a − y)/m for a one-hot y);
// dC/dy = −ls/m
Tensor nll_from_logits_op(const char* op, const Tensor& z, const Tensor& y) {
  const Array& zv = z.value();
  const Array& yv = y.value();
  const std::size_t m = batch_rows(zv);
  const Array ls = log_softmax_rows(zv);
  double sum = 0.0;
  for (std::size_t i = 0, n = zv.size(); i < n; ++i) sum -= yv.data()[i] * ls.data()[i];
  return record(op, scalar_array(sum / m), {z, y}, [m](BackwardContext& c) {
    const double k = seed_of(c) / static_cast<double>(m);
    const Array ls = log_softmax_rows(c.x(0));
    const Array& yv = c.x(1);
    if (c.needs(0)) {
      const std::size_t cols = last_axis(ls);
      Array g = Array::from_shape(ls.shape());
      for (std::size_t r = 0, rows = ls.size() / cols; r < rows; ++r) {
        const Scalar* l = ls.data() + r * cols;
        const Scalar* t = yv.data() + r * cols;
        Scalar* o = g.data() + r * cols;
        double mass = 0.0;  // Σ_j y_j: 1 for a one-hot row
        for (std::size_t j = 0; j < cols; ++j) mass += t[j];
        for (std::size_t j = 0; j < cols; ++j)
          o[j] = static_cast<Scalar>(k * (std::exp(l[j]) * mass - t[j]));
      }
      c.add(0, std::move(g));
    }
    if (c.needs(1)) c.add(1, Array(static_cast<Scalar>(-k) * ls));
  });
}

}  // namespace

// ------------------------------------------------------------ quadratic

// C = (1/m) Σ ½(a − y)²;   dC/da = (a − y)/m;   dC/dy = −(a − y)/m
Tensor quadratic_cost(const Tensor& a, const Tensor& y) {
  check_pair("quadratic_cost", "a", a, y);
  const Array& av = a.value();
  const Array& yv = y.value();
  const std::size_t m = batch_rows(av);
  double sum = 0.0;
  for (std::size_t i = 0, n = av.size(); i < n; ++i) {
    const double d = static_cast<double>(av.data()[i]) - yv.data()[i];
    sum += d * d;
  }
  return record("quadratic_cost", scalar_array(0.5 * sum / m), {a, y}, [m](BackwardContext& c) {
    const Scalar k = static_cast<Scalar>(seed_of(c) / static_cast<double>(m));
    Array g = k * (c.x(0) - c.x(1));
    if (c.needs(1)) c.add(1, -g);
    if (c.needs(0)) c.add(0, std::move(g));
  });
}

// ------------------------------------------------------------ cross-entropy

// From a's value, with 0·ln 0 = 0 and ln clamped at −100:
// C = −(1/m) Σ [y ln a + (1−y) ln(1−a)]
// dC/da = (−y/a + (1−y)/(1−a))/m;   dC/dy = (−ln a + ln(1−a))/m
Tensor cross_entropy_cost(const Tensor& a, const Tensor& y) {
  check_pair("cross_entropy_cost", "a", a, y);
  Tensor z;
  if (producer_input(a, "sigmoid", z)) return bce_from_logits("cross_entropy_cost", z, y);

  const Array& av = a.value();
  const Array& yv = y.value();
  const std::size_t m = batch_rows(av);
  double sum = 0.0;
  for (std::size_t i = 0, n = av.size(); i < n; ++i) {
    const double ai = av.data()[i], yi = yv.data()[i];
    if (yi != 0.0) sum -= yi * safe_log(ai);
    if (yi != 1.0) sum -= (1.0 - yi) * safe_log(1.0 - ai);
  }
  return record("cross_entropy_cost", scalar_array(sum / m), {a, y}, [m](BackwardContext& c) {
    const double k = seed_of(c) / static_cast<double>(m);
    const Array& av = c.x(0);
    const Array& yv = c.x(1);
    const std::size_t n = av.size();
    if (c.needs(0)) {
      Array g = Array::from_shape(av.shape());
      for (std::size_t i = 0; i < n; ++i) {
        const double ai = av.data()[i], yi = yv.data()[i];
        double d = 0.0;
        if (yi != 0.0) d -= yi / std::max(ai, kLogFloor);
        if (yi != 1.0) d += (1.0 - yi) / std::max(1.0 - ai, kLogFloor);
        g.data()[i] = static_cast<Scalar>(k * d);
      }
      c.add(0, std::move(g));
    }
    if (c.needs(1)) {
      Array g = Array::from_shape(av.shape());
      for (std::size_t i = 0; i < n; ++i) {
        const double ai = av.data()[i];
        g.data()[i] = static_cast<Scalar>(k * (safe_log(1.0 - ai) - safe_log(ai)));
      }
      c.add(1, std::move(g));
    }
  });
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
  Tensor z;
  if (producer_input(a, "softmax", z)) return nll_from_logits_op("log_likelihood_cost", z, y);

  const Array& av = a.value();
  const Array& yv = y.value();
  const std::size_t m = batch_rows(av);
  double sum = 0.0;
  for (std::size_t i = 0, n = av.size(); i < n; ++i) {
    const double yi = yv.data()[i];
    if (yi != 0.0) sum -= yi * safe_log(av.data()[i]);
  }
  return record("log_likelihood_cost", scalar_array(sum / m), {a, y}, [m](BackwardContext& c) {
    const double k = seed_of(c) / static_cast<double>(m);
    const Array& av = c.x(0);
    const Array& yv = c.x(1);
    const std::size_t n = av.size();
    if (c.needs(0)) {
      Array g = Array::from_shape(av.shape());
      for (std::size_t i = 0; i < n; ++i) {
        const double yi = yv.data()[i];
        g.data()[i] = static_cast<Scalar>(
            yi != 0.0 ? -k * yi / std::max<double>(av.data()[i], kLogFloor) : 0.0);
      }
      c.add(0, std::move(g));
    }
    if (c.needs(1)) {
      Array g = Array::from_shape(av.shape());
      for (std::size_t i = 0; i < n; ++i)
        g.data()[i] = static_cast<Scalar>(-k * safe_log(av.data()[i]));
      c.add(1, std::move(g));
    }
  });
}

Tensor log_likelihood_cost(const Tensor& a, const std::vector<std::size_t>& labels) {
  return log_likelihood_cost(a, Tensor(one_hot("log_likelihood_cost", a, labels)));
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
  return record("mean_absolute_error", scalar_array(sum / n), {a, y}, [n](BackwardContext& c) {
    const Scalar k = static_cast<Scalar>(seed_of(c) / static_cast<double>(n));
    Array g = k * xt::sign(c.x(0) - c.x(1));
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
  return record("l2_penalty", scalar_array(0.5 * scale * sum), weights,
                [scale, count](BackwardContext& c) {
                  const Scalar k = static_cast<Scalar>(seed_of(c) * scale);
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
  return record("l1_penalty", scalar_array(scale * sum), weights,
                [scale, count](BackwardContext& c) {
                  const Scalar k = static_cast<Scalar>(seed_of(c) * scale);
                  for (std::size_t i = 0; i < count; ++i)
                    if (c.needs(i)) c.add(i, k * xt::sign(c.x(i)));
                });
}

// ------------------------------------------------------------ by name

Cost::~Cost() = default;

namespace {

using CostFn = Tensor (*)(const Tensor&, const Tensor&);

/// A Cost that forwards to one of the functions above.
class FunctionCost : public Cost {
 public:
  FunctionCost(std::string name, CostFn fn) : name_(std::move(name)), fn_(fn) {}
  Tensor operator()(const Tensor& a, const Tensor& y) const override { return fn_(a, y); }
  std::string name() const override { return name_; }

 private:
  std::string name_;
  CostFn fn_;
};

/// The one table of named costs: make_cost and cost_names both read it.
const std::vector<std::pair<std::string, CostFn>>& cost_table() {
  static const std::vector<std::pair<std::string, CostFn>> table = {
      {"quadratic", quadratic_cost},
      {"cross-entropy", cross_entropy_cost},
      {"log-likelihood", static_cast<CostFn>(log_likelihood_cost)},
      {"mae", mean_absolute_error}};
  return table;
}

}  // namespace

std::vector<std::string> cost_names() {
  std::vector<std::string> names;
  for (const auto& entry : cost_table()) names.push_back(entry.first);
  return names;
}

std::unique_ptr<Cost> make_cost(const std::string& name) {
  for (const auto& [known_name, fn] : cost_table())
    if (known_name == name) return std::make_unique<FunctionCost>(known_name, fn);
  std::string known;
  for (const auto& n : cost_names()) known += (known.empty() ? "" : ", ") + n;
  throw value_error("make_cost: unknown cost '" + name + "' (known: " + known + ")");
}

}  // namespace xg
