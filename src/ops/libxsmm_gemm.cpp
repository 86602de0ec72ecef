// libxsmm's side of detail::gemm. libxsmm is column-major: the row-major
// product C = op(A)·op(B) (m × n) is its C' = B'·op(A') (n × m) on the same
// memory, with B' = B and A' = A. Its generated kernels can transpose their
// second operand (A here: TRANS_B) but not the first, so a product with
// op(B) = Bᵀ stays with OpenBLAS. They know alpha = 1 only: another alpha
// (the fused SGD step, α = −η) scales the copy of A it multiplies, the
// smaller operand of the weight gradient's product.
#include "ops/libxsmm_gemm.hpp"

#if defined(XGRAD_HAVE_LIBXSMM)
#include <libxsmm.h>

#include <cstddef>
#include <vector>
#endif

namespace xg::detail {

#if defined(XGRAD_HAVE_LIBXSMM)
namespace {

// Larger products run faster through OpenBLAS's packed kernels.
constexpr double kMaxMacs = 4.0 * 1024 * 1024;
// The largest A copied to scale it by alpha ≠ 1 (elements).
constexpr std::size_t kMaxScaledA = 64 * 1024;

#if defined(XGRAD_FLOAT)
using Kernel = libxsmm_smmfunction;
#else
using Kernel = libxsmm_dmmfunction;
#endif

// libxsmm generates a kernel at a shape's first use and finds it again in
// its registry (about 17 ns a lookup here: under 1 % of a batch-10 step).
Kernel kernel_for(int m, int n, int k, int lda, int ldb, int ldc, int flags, Scalar beta) {
  // Column-major: C' (n × m) = B' (n × k) · op(A') (k × m), so the operands,
  // their leading dimensions and m, n swap.
  const libxsmm_blasint cm = n, cn = m, ck = k, first_ld = ldb, second_ld = lda, c_ld = ldc;
  const Scalar alpha = 1;
  const int prefetch = LIBXSMM_PREFETCH_NONE;
#if defined(XGRAD_FLOAT)
  return libxsmm_smmdispatch(cm, cn, ck, &first_ld, &second_ld, &c_ld, &alpha, &beta, &flags,
                             &prefetch);
#else
  return libxsmm_dmmdispatch(cm, cn, ck, &first_ld, &second_ld, &c_ld, &alpha, &beta, &flags,
                             &prefetch);
#endif
}

}  // namespace

bool libxsmm_gemm(bool trans_a, bool trans_b, int m, int n, int k, Scalar alpha, const Scalar* a,
                  int lda, const Scalar* b, int ldb, Scalar beta, Scalar* c, int ldc) {
  if (trans_b || m < 1 || n < 1 || k < 1) return false;
  if (double(m) * double(n) * double(k) > kMaxMacs) return false;
  if (beta != Scalar(0) && beta != Scalar(1)) return false;
  const std::size_t a_size = std::size_t(m) * std::size_t(k);
  const bool scaled_a = alpha != Scalar(1);
  if (scaled_a && a_size > kMaxScaledA) return false;
  const Kernel kernel = kernel_for(m, n, k, scaled_a ? (trans_a ? m : k) : lda, ldb, ldc,
                                   trans_a ? LIBXSMM_GEMM_FLAG_TRANS_B : 0, beta);
  if (!kernel) return false;
  if (scaled_a) {  // into the dense copy the kernel was made for
    thread_local std::vector<Scalar> scaled;
    scaled.resize(a_size);
    const int rows = trans_a ? k : m, cols = trans_a ? m : k;  // A as stored
    for (int r = 0; r < rows; ++r)
      for (int j = 0; j < cols; ++j)
        scaled[std::size_t(r) * cols + j] = alpha * a[std::size_t(r) * lda + j];
    a = scaled.data();
  }
  kernel(b, a, c);
  return true;
}

#else

bool libxsmm_gemm(bool, bool, int, int, int, Scalar, const Scalar*, int, const Scalar*, int, Scalar,
                  Scalar*, int) {
  return false;
}

#endif

}  // namespace xg::detail
