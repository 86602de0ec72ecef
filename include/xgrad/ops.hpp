#pragma once
// Every differentiable primitive. Binary elementwise ops broadcast like numpy;
// their backward sums the gradient back to each input's shape. Every op's
// backward is itself made of these ops, so it can be differentiated again
// (xg::grad with create_graph, docs/autograd.md). Shape errors
// throw xg::shape_error naming the op and both shapes.
// Code: src/ops/{elementwise,reduce,linalg,shape}.cpp.
#include <cstddef>
#include <vector>
#include <xtensor/xarray.hpp>

#include "xgrad/tensor.hpp"

namespace xg {

// ------------------------------------------------ elementwise (src/ops/elementwise.cpp)
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor neg(const Tensor& x);
/// a^b elementwise (a > 0 where b is not an integer).
Tensor pow(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& x, Scalar p);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
/// sign(x) ∈ {−1, 0, 1}: a constant (piecewise constant, so nothing flows back).
Tensor sign(const Tensor& x);
/// |x|, with d|x|/dx = sign(x) (0 at 0).
Tensor abs(const Tensor& x);
/// Elementwise max; where a == b the gradient goes to a.
Tensor maximum(const Tensor& a, const Tensor& b);
/// Elementwise min; where a == b the gradient goes to a.
Tensor minimum(const Tensor& a, const Tensor& b);
/// x limited to [lo, hi]; gradient 1 where lo <= x <= hi, 0 outside.
Tensor clamp(const Tensor& x, Scalar lo, Scalar hi);
/// cond ? a : b elementwise (cond, a and b broadcast together).
Tensor where(const xt::xarray<bool>& cond, const Tensor& a, const Tensor& b);
/// x * mask, a constant (non-differentiable) mask such as dropout's.
Tensor mask(const Tensor& x, const Array& m);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& x);
Tensor operator+(const Tensor& a, Scalar b);
Tensor operator+(Scalar a, const Tensor& b);
Tensor operator-(const Tensor& a, Scalar b);
Tensor operator-(Scalar a, const Tensor& b);
Tensor operator*(const Tensor& a, Scalar b);
Tensor operator*(Scalar a, const Tensor& b);
Tensor operator/(const Tensor& a, Scalar b);
Tensor operator/(Scalar a, const Tensor& b);

// ------------------------------------------------ reductions (src/ops/reduce.cpp)
// Axes may be negative (counted from the end).
Tensor sum(const Tensor& x);
Tensor sum(const Tensor& x, int axis, bool keepdims = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, int axis, bool keepdims = false);
/// Maximum along an axis; the gradient flows to the first maximal element.
Tensor max(const Tensor& x, int axis, bool keepdims = false);
/// Index of the first maximal element along an axis (not differentiable).
xt::xarray<std::size_t> argmax(const Tensor& x, int axis);
/// x broadcast (numpy rules) to `shape`; the gradient sums back (sum_to).
Tensor broadcast_to(const Tensor& x, const Shape& shape);
/// x summed over the axes broadcasting would add or stretch to reach x's shape
/// from `shape`; the gradient broadcasts back (broadcast_to).
Tensor sum_to(const Tensor& x, const Shape& shape);

// ------------------------------------------------ linear algebra (src/ops/linalg.cpp)
/// 2-D matrix product by BLAS gemm; optional transposes are gemm flags, not copies.
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_a = false, bool transpose_b = false);
/// Fused affine map x·Wᵀ + b for x (m × n_in), W (n_out × n_in), b (n_out):
/// one gemm forward, two (or one, when x needs no gradient) backward.
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b);

// ------------------------------------------------ shape (src/ops/shape.cpp)
/// Transpose of a 2-D tensor.
Tensor transpose(const Tensor& x);
/// Same elements in a new shape (sizes must match).
Tensor reshape(const Tensor& x, const Shape& shape);
/// Rows [start, stop) of a tensor of rank >= 1.
Tensor slice_rows(const Tensor& x, std::size_t start, std::size_t stop);
/// The rows with the given indices (repeats allowed); backward scatters-adds.
Tensor gather_rows(const Tensor& x, const std::vector<std::size_t>& indices);
/// Joins tensors along an existing axis; all other sizes must agree.
Tensor concat(const std::vector<Tensor>& xs, int axis = 0);
/// Elements [start, start + length) along an axis; the gradient is embed().
Tensor narrow(const Tensor& x, int axis, std::size_t start, std::size_t length);
/// x placed at [start, start + x's size) along an axis of size `full`, zeros
/// elsewhere (the adjoint of narrow); the gradient is narrow().
Tensor embed(const Tensor& x, int axis, std::size_t start, std::size_t full);
/// A tensor of `rows` rows, zero except row indices[k] += x[k] (repeats add):
/// the adjoint of gather_rows; the gradient is gather_rows().
Tensor scatter_rows(const Tensor& x, const std::vector<std::size_t>& indices, std::size_t rows);

}  // namespace xg

namespace xg {
/// The older names of set_num_threads / num_threads (include/xgrad/threads.hpp):
/// xgrad cuts the large matrix products over its own threads and keeps
/// OpenBLAS on one thread (unless OPENBLAS_NUM_THREADS fixes it).
void set_blas_threads(int n);
int blas_threads();
}  // namespace xg
