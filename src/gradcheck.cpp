#include "xgrad/gradcheck.hpp"

#include <cmath>
#include <sstream>
#include <xtensor/xbuilder.hpp>

#include "jacobian_row.hpp"
#include "xgrad/ops.hpp"

namespace xg {

std::ostream& operator<<(std::ostream& out, const GradcheckResult& r) {
  return out << (r.ok ? "gradcheck passed: " : "gradcheck FAILED: ") << r.message;
}

namespace {

double weighted_sum(const Tensor& y, const Array& r) {
  double s = 0.0;
  const Scalar* a = y.value().data();
  for (std::size_t k = 0; k < r.size(); ++k) s += static_cast<double>(a[k]) * r.data()[k];
  return s;
}

std::string index_str(const Array& a, std::size_t flat) {
  std::vector<std::size_t> idx(a.dimension());
  for (std::size_t d = a.dimension(); d-- > 0;) {
    idx[d] = flat % a.shape()[d];
    flat /= a.shape()[d];
  }
  return shape_str(idx);
}

}  // namespace

GradcheckResult gradcheck(const GradcheckFn& f, std::vector<Tensor> inputs,
                          const GradcheckOptions& opt) {
  GradcheckResult result;
  for (auto& t : inputs) t.zero_grad();

  // Analytic: one backward of L = Σ r ⊙ f(x).
  Tensor y = f(inputs);
  Rng rng(opt.seed);
  const Array r =
      rng.uniform_array(Shape(y.value().shape().begin(), y.value().shape().end()), 0.5, 1.5);
  if (!y.requires_grad()) {
    result.ok = false;
    result.message = "the output does not depend on any input that requires a gradient";
    return result;
  }
  y.backward(r);

  if (opt.fast_mode) {
    // rᵀJu: the analytic gradient projected on a random direction u against
    // one central difference along u; a mismatch falls through to the full
    // check below, which names the element.
    double analytic = 0.0;
    std::vector<Array> u;
    for (auto& x : inputs) {
      u.push_back(x.requires_grad() ? rng.uniform_array(x.shape(), -1.0, 1.0) : Array());
      if (x.requires_grad() && x.has_grad())
        for (std::size_t k = 0; k < u.back().size(); ++k)
          analytic += static_cast<double>(x.grad().data()[k]) * u.back().data()[k];
    }
    auto shifted = [&](double sign) {
      NoGradGuard no_grad;
      std::vector<Array> saved;
      for (std::size_t i = 0; i < inputs.size(); ++i) {
        saved.push_back(inputs[i].value());
        if (inputs[i].requires_grad())
          inputs[i].mutable_value() += static_cast<Scalar>(sign * opt.eps) * u[i];
      }
      const double v = weighted_sum(f(inputs), r);
      for (std::size_t i = 0; i < inputs.size(); ++i) inputs[i].mutable_value() = saved[i];
      return v;
    };
    const double numeric = (shifted(1.0) - shifted(-1.0)) / (2.0 * opt.eps);
    const double err = std::abs(analytic - numeric);
    if (err <= opt.atol + opt.rtol * std::abs(numeric) &&
        (!opt.require_nonzero || analytic != 0.0 || numeric != 0.0)) {
      for (auto& t : inputs) t.zero_grad();
      std::ostringstream msg;
      msg << "fast mode: projection " << analytic << " agrees with finite difference " << numeric;
      result.max_abs_error = err;
      result.message = msg.str();
      return result;
    }
  }

  bool any_nonzero = false;
  std::size_t checked = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    Tensor& x = inputs[i];
    if (!x.requires_grad()) continue;
    const Array analytic = x.has_grad() ? x.grad() : Array(xt::zeros<Scalar>(x.value().shape()));
    Array& v = x.mutable_value();
    for (std::size_t k = 0; k < v.size(); ++k) {
      const Scalar saved = v.data()[k];
      // Divide by the step actually taken: x ± eps rounds to Scalar, and in
      // float that rounding alone would be ~1e-4 of the step.
      const Scalar up = static_cast<Scalar>(saved + opt.eps);
      const Scalar down = static_cast<Scalar>(saved - opt.eps);
      double plus, minus;
      {
        NoGradGuard no_grad;
        v.data()[k] = up;
        plus = weighted_sum(f(inputs), r);
        v.data()[k] = down;
        minus = weighted_sum(f(inputs), r);
        v.data()[k] = saved;
      }
      const double numeric = (plus - minus) / (static_cast<double>(up) - static_cast<double>(down));
      const double a = analytic.data()[k];
      const double abs_err = std::abs(a - numeric);
      const double rel_err = abs_err / std::max(std::abs(numeric), 1e-300);
      any_nonzero = any_nonzero || a != 0.0 || numeric != 0.0;
      result.max_abs_error = std::max(result.max_abs_error, abs_err);
      if (abs_err > opt.atol) result.max_rel_error = std::max(result.max_rel_error, rel_err);
      ++checked;
      if (!(abs_err <= opt.atol + opt.rtol * std::abs(numeric))) {
        std::ostringstream msg;
        msg.precision(10);
        msg << "input " << i << " (shape " << shape_str(v.shape()) << "), element "
            << index_str(v, k) << ": autograd " << a << " vs finite difference " << numeric
            << " (abs error " << abs_err << ", rel error " << rel_err << "; tolerance atol "
            << opt.atol << " + rtol " << opt.rtol << ")";
        result.ok = false;
        result.message = msg.str();
        for (auto& t : inputs) t.zero_grad();
        return result;
      }
    }
  }
  for (auto& t : inputs) t.zero_grad();
  if (checked == 0) {
    result.ok = false;
    result.message = "no input requires a gradient: nothing was checked";
  } else if (opt.require_nonzero && !any_nonzero) {
    result.ok = false;
    result.message = "every gradient is zero (" + std::to_string(checked) +
                     " elements): the check would pass vacuously";
  } else {
    std::ostringstream msg;
    msg << checked << " elements agree; max abs error " << result.max_abs_error;
    result.message = msg.str();
  }
  return result;
}

void check_gradients(const GradcheckFn& f, std::vector<Tensor> inputs,
                     const GradcheckOptions& options) {
  GradcheckResult r = gradcheck(f, std::move(inputs), options);
  if (!r.ok) throw gradcheck_error("gradcheck: " + r.message);
}

}  // namespace xg

// ---------------------------------------------------------------- second order

namespace xg {

namespace {

struct SecondOrder {
  const GradcheckFn& f;
  std::vector<Tensor>& inputs;
  std::vector<std::size_t> idx;  // inputs that require a gradient
  Array v;                       // seed of f's output

  std::vector<Tensor> xs() const {
    std::vector<Tensor> r;
    for (std::size_t i : idx) r.push_back(inputs[i]);
    return r;
  }
  /// g(x) = ∂⟨v, f(x)⟩/∂x for each checked input (zeros where unused).
  std::vector<Tensor> grads(bool create_graph) const {
    Tensor y = f(inputs);
    GradOptions o;
    o.seeds = {Tensor(v)};
    o.create_graph = create_graph;
    o.allow_unused = true;
    std::vector<Tensor> g = grad({y}, xs(), o);
    for (std::size_t k = 0; k < g.size(); ++k)
      if (!g[k].defined()) g[k] = Tensor::zeros(inputs[idx[k]].shape());
    return g;
  }
};

std::string where_str(const std::vector<Tensor>& inputs, const std::vector<std::size_t>& idx,
                      std::size_t k, std::size_t flat) {
  const Array& a = inputs[idx[k]].value();
  return "input " + std::to_string(idx[k]) + " (shape " + shape_str(a.shape()) + ") element " +
         index_str(a, flat);
}

GradcheckResult full_second_order(SecondOrder& s, const GradcheckOptions& opt) {
  GradcheckResult result;
  // Analytic rows: one backward per element of g, through g's own graph.
  const std::vector<Tensor> g = s.grads(true);
  const std::vector<Tensor> xs = s.xs();
  std::vector<std::vector<std::vector<Array>>> rows;  // rows[k][p][j] = d g_k[p] / d x_j
  for (std::size_t k = 0; k < g.size(); ++k) {
    rows.emplace_back();
    for (std::size_t p = 0; p < g[k].size(); ++p) {
      std::vector<Array> row;
      const std::vector<Tensor> r = detail::jacobian_row(g[k], p, xs);  // undefined: zeros
      for (std::size_t j = 0; j < r.size(); ++j)
        row.push_back(r[j].defined() ? r[j].value()
                                     : Array(xt::zeros<Scalar>(xs[j].value().shape())));
      rows.back().push_back(std::move(row));
    }
  }
  // Numeric columns: central differences of the analytic first-order g.
  bool any_nonzero = false;
  std::size_t checked = 0;
  for (std::size_t j = 0; j < xs.size(); ++j) {
    Array& val = s.inputs[s.idx[j]].mutable_value();
    for (std::size_t q = 0; q < val.size(); ++q) {
      const Scalar saved = val.data()[q];
      const Scalar up = static_cast<Scalar>(saved + opt.eps);
      const Scalar down = static_cast<Scalar>(saved - opt.eps);
      val.data()[q] = up;
      const std::vector<Tensor> gp = s.grads(false);
      val.data()[q] = down;
      const std::vector<Tensor> gm = s.grads(false);
      val.data()[q] = saved;
      const double step = static_cast<double>(up) - static_cast<double>(down);
      for (std::size_t k = 0; k < g.size(); ++k)
        for (std::size_t p = 0; p < g[k].size(); ++p) {
          const double numeric =
              (static_cast<double>(gp[k].value().data()[p]) - gm[k].value().data()[p]) / step;
          const double a = rows[k][p][j].data()[q];
          const double err = std::abs(a - numeric);
          any_nonzero = any_nonzero || a != 0.0 || numeric != 0.0;
          result.max_abs_error = std::max(result.max_abs_error, err);
          ++checked;
          if (!(err <= opt.atol + opt.rtol * std::abs(numeric))) {
            std::ostringstream msg;
            msg.precision(10);
            msg << "d/d[" << where_str(s.inputs, s.idx, j, q) << "] of the gradient of "
                << where_str(s.inputs, s.idx, k, p) << ": autograd " << a
                << " vs finite difference " << numeric << " (abs error " << err
                << "; tolerance atol " << opt.atol << " + rtol " << opt.rtol << ")";
            result.ok = false;
            result.message = msg.str();
            return result;
          }
        }
    }
  }
  if (opt.require_nonzero && !any_nonzero) {
    result.ok = false;
    result.message = "every second derivative is zero (" + std::to_string(checked) +
                     " elements): the check would pass vacuously (a kink alone has zero "
                     "curvature; compose it, e.g. relu(x)·x)";
    return result;
  }
  std::ostringstream msg;
  msg << checked << " second derivatives agree; max abs error " << result.max_abs_error;
  result.message = msg.str();
  return result;
}

double dot_all(const std::vector<Tensor>& a, const std::vector<Array>& b) {
  double s = 0.0;
  for (std::size_t k = 0; k < a.size(); ++k)
    for (std::size_t p = 0; p < b[k].size(); ++p)
      s += static_cast<double>(a[k].value().data()[p]) * b[k].data()[p];
  return s;
}

}  // namespace

GradcheckResult gradgradcheck(const GradcheckFn& f, std::vector<Tensor> inputs,
                              const GradcheckOptions& opt) {
  SecondOrder s{f, inputs, {}, Array()};
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].requires_grad()) s.idx.push_back(i);
  GradcheckResult result;
  if (s.idx.empty()) {
    result.ok = false;
    result.message = "no input requires a gradient: nothing was checked";
    return result;
  }
  Rng rng(opt.seed);
  {
    Tensor y = f(inputs);
    if (!y.requires_grad()) {
      result.ok = false;
      result.message = "the output does not depend on any input that requires a gradient";
      return result;
    }
    s.v = rng.uniform_array(y.shape(), 0.5, 1.5);
  }
  if (opt.fast_mode) {
    // wᵀ (∂g/∂x) u: analytic by one more backward, numeric along u.
    const std::vector<Tensor> g = s.grads(true);
    std::vector<Array> w, u;
    for (const Tensor& t : g) w.push_back(rng.uniform_array(t.shape(), -1.0, 1.0));
    for (std::size_t i : s.idx) u.push_back(rng.uniform_array(inputs[i].shape(), -1.0, 1.0));
    Tensor proj = Tensor::scalar(0);
    for (std::size_t k = 0; k < g.size(); ++k) proj = proj + sum(g[k] * Tensor(w[k]));
    double analytic = 0.0;
    if (proj.requires_grad()) {
      GradOptions o;
      o.allow_unused = true;
      std::vector<Tensor> d = grad({proj}, s.xs(), o);
      for (std::size_t j = 0; j < d.size(); ++j)
        if (d[j].defined())
          for (std::size_t q = 0; q < u[j].size(); ++q)
            analytic += static_cast<double>(d[j].value().data()[q]) * u[j].data()[q];
    }
    auto shifted = [&](double sign) {
      std::vector<Array> saved;
      for (std::size_t j = 0; j < s.idx.size(); ++j) {
        Array& val = inputs[s.idx[j]].mutable_value();
        saved.push_back(val);
        val += static_cast<Scalar>(sign * opt.eps) * u[j];
      }
      const double r = dot_all(s.grads(false), w);
      for (std::size_t j = 0; j < s.idx.size(); ++j) inputs[s.idx[j]].mutable_value() = saved[j];
      return r;
    };
    const double numeric = (shifted(1.0) - shifted(-1.0)) / (2.0 * opt.eps);
    const double err = std::abs(analytic - numeric);
    if (err <= opt.atol + opt.rtol * std::abs(numeric) &&
        (!opt.require_nonzero || analytic != 0.0 || numeric != 0.0)) {
      result.max_abs_error = err;
      std::ostringstream msg;
      msg << "fast mode: projection wᵀHu " << analytic << " agrees with finite difference "
          << numeric;
      result.message = msg.str();
      return result;
    }
    // Fall back to the full check, which names the element.
  }
  return full_second_order(s, opt);
}

}  // namespace xg
