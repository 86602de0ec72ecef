#pragma once
// One row of a Jacobian by reverse mode, shared by functional.cpp (jacobian,
// the Hessian in cost_derivatives) and gradcheck.cpp (the analytic second
// order): seeding a one-hot gradient for output element p gives
// ∂g[p]/∂params in a single backward.
#include <cstddef>
#include <vector>

#include "xgrad/tensor.hpp"

namespace xg::detail {

/// ∂g[p]/∂params (flat element p of g), one tensor a parameter, undefined
/// for a parameter g[p] does not depend on (all of them when g needs no
/// gradient). Keeps g's graph for the next row.
std::vector<Tensor> jacobian_row(const Tensor& g, std::size_t p, const std::vector<Tensor>& params);

}  // namespace xg::detail
