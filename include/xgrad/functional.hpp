#pragma once
// Second-order tools built on xg::grad(create_graph): Hessian-vector products
// (Pearlmutter: the gradient of ⟨∇C, v⟩, never forming H), and the full
// Jacobian and Hessian for small inputs. Code: src/functional.cpp.
#include <functional>
#include <vector>

#include "xgrad/tensor.hpp"

namespace xg {

using TensorFn = std::function<Tensor(const Tensor&)>;
using ParamsFn = std::function<Tensor(const std::vector<Tensor>&)>;

/// H·v for the scalar C = f(params): one list of tensors shaped like params.
/// params must require gradients; v gives one array per parameter.
std::vector<Array> hvp(const ParamsFn& f, const std::vector<Tensor>& params,
                       const std::vector<Array>& v);

/// The Jacobian of f at x: (size of f(x)) × (size of x), row-major over both
/// (one backward per output element). x is not modified.
Array jacobian(const TensorFn& f, const Tensor& x);

/// The Hessian of the scalar f at x: size(x) × size(x) (one second-order
/// backward per element of x).
Array hessian(const TensorFn& f, const Tensor& x);

/// The value, gradient and Hessian of a one-element cost with respect to
/// several parameters, their elements concatenated in order (n = total size):
/// `gradient` has n entries, `hessian` is n × n, row k = ∂(∇C)_k/∂w.
/// Parameters the cost does not reach give zero rows and columns.
struct CostDerivatives {
  double value = 0;
  Array gradient;
  Array hessian;
};
CostDerivatives cost_derivatives(const std::function<Tensor()>& cost,
                                 const std::vector<Tensor>& params);

}  // namespace xg
