#pragma once
// The one door to BLAS: row-major gemm on contiguous Arrays, transposes as flags.
#include "xgrad/scalar.hpp"

namespace xg::detail {

/// C = alpha·op(A)·op(B) + beta·C, op = transpose when the flag is set.
/// A, B, C are contiguous row-major 2-D Arrays; C must already have its shape.
void gemm(bool trans_a, bool trans_b, Scalar alpha, const Array& a, const Array& b, Scalar beta,
          Array& c);

/// The same product by OpenBLAS alone, in one call on this thread, whatever
/// set_gemm_kernels and set_num_threads chose: for comparing bits with it.
void openblas_gemm(bool trans_a, bool trans_b, Scalar alpha, const Array& a, const Array& b,
                   Scalar beta, Array& c);

}  // namespace xg::detail
