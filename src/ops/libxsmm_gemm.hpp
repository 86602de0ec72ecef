#pragma once
// libxsmm's side of detail::gemm (include/xgrad/gemm.hpp says when it runs).
#include "xgrad/scalar.hpp"

namespace xg::detail {

/// Row-major C = alpha·op(A)·op(B) + beta·C through a libxsmm kernel, when
/// libxsmm takes this product (then true); false, with C untouched,
/// otherwise — or always, in a build without libxsmm.
bool libxsmm_gemm(bool trans_a, bool trans_b, int m, int n, int k, Scalar alpha, const Scalar* a,
                  int lda, const Scalar* b, int ldb, Scalar beta, Scalar* c, int ldc);

}  // namespace xg::detail
