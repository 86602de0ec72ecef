#include "xgrad/gradcheck.hpp"

#include <cmath>
#include <sstream>

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
  const Array r = rng.uniform_array(Shape(y.value().shape().begin(), y.value().shape().end()),
                                    0.5, 1.5);
  if (!y.requires_grad()) {
    result.ok = false;
    result.message = "the output does not depend on any input that requires a gradient";
    return result;
  }
  y.backward(r);

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
