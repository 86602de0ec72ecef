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

#include <array>
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

struct Shape {
  int m, n, k, lda, ldb, ldc, flags;
  bool beta_one;
  bool operator==(const Shape& o) const {
    return m == o.m && n == o.n && k == o.k && lda == o.lda && ldb == o.ldb && ldc == o.ldc &&
           flags == o.flags && beta_one == o.beta_one;
  }
};

Kernel dispatch(const Shape& s) {
  const libxsmm_blasint cm = s.n, cn = s.m, ck = s.k, lda = s.ldb, ldb = s.lda, ldc = s.ldc;
  const Scalar alpha = 1, beta = s.beta_one ? 1 : 0;
  const int prefetch = LIBXSMM_PREFETCH_NONE;
#if defined(XGRAD_FLOAT)
  return libxsmm_smmdispatch(cm, cn, ck, &lda, &ldb, &ldc, &alpha, &beta, &s.flags, &prefetch);
#else
  return libxsmm_dmmdispatch(cm, cn, ck, &lda, &ldb, &ldc, &alpha, &beta, &s.flags, &prefetch);
#endif
}

// The last shapes this thread ran and their kernels (or nullptr: refused).
// A training step uses a handful of shapes; looking them up here is cheaper
// than libxsmm's own registry.
Kernel kernel_for(const Shape& s) {
  struct Entry {
    Shape shape{};
    Kernel kernel = nullptr;
    bool used = false;
  };
  thread_local std::array<Entry, 16> cache;
  thread_local std::size_t next = 0;
  for (const Entry& e : cache)
    if (e.used && e.shape == s) return e.kernel;
  Entry& e = cache[next];
  next = (next + 1) % cache.size();
  e = {s, dispatch(s), true};
  return e.kernel;
}

}  // namespace

bool libxsmm_gemm(bool trans_a, bool trans_b, int m, int n, int k, Scalar alpha, const Scalar* a,
                  int lda, const Scalar* b, int ldb, Scalar beta, Scalar* c, int ldc) {
  if (trans_b || m < 1 || n < 1 || k < 1) return false;
  if (double(m) * double(n) * double(k) > kMaxMacs) return false;
  if (beta != Scalar(0) && beta != Scalar(1)) return false;
  const std::size_t a_size = std::size_t(m) * std::size_t(k);
  if (alpha != Scalar(1) && a_size > kMaxScaledA) return false;
  Shape s{m, n, k, lda, ldb, ldc, trans_a ? LIBXSMM_GEMM_FLAG_TRANS_B : 0, beta == Scalar(1)};
  if (alpha != Scalar(1)) s.lda = trans_a ? m : k;  // the dense scaled copy
  const Kernel kernel = kernel_for(s);
  if (!kernel) return false;
  if (alpha != Scalar(1)) {
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
