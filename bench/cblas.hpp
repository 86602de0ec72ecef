#pragma once
// One row-major cblas_?gemm for xg::Scalar, shared by the benchmarks that go
// around the library on purpose (the gemm floor, the hand-written network).
#include <cblas.h>

#include "xgrad/scalar.hpp"

namespace xg::bench {

/// C (m × n) = alpha·op(A)·op(B) + beta·C, row-major; op transposes when
/// `ta` / `tb` is set. Straight to OpenBLAS: no check, no copy.
inline void cblas_gemm(bool ta, bool tb, int m, int n, int k, Scalar alpha, const Scalar* a,
                       int lda, const Scalar* b, int ldb, Scalar beta, Scalar* c, int ldc) {
  const auto opa = ta ? CblasTrans : CblasNoTrans;
  const auto opb = tb ? CblasTrans : CblasNoTrans;
  if constexpr (sizeof(Scalar) == sizeof(float)) {
    cblas_sgemm(CblasRowMajor, opa, opb, m, n, k, float(alpha), reinterpret_cast<const float*>(a),
                lda, reinterpret_cast<const float*>(b), ldb, float(beta),
                reinterpret_cast<float*>(c), ldc);
  } else {
    cblas_dgemm(CblasRowMajor, opa, opb, m, n, k, double(alpha), reinterpret_cast<const double*>(a),
                lda, reinterpret_cast<const double*>(b), ldb, double(beta),
                reinterpret_cast<double*>(c), ldc);
  }
}

}  // namespace xg::bench
