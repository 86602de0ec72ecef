#include "ops/blas.hpp"

#include <cblas.h>

#include <cstdlib>
#include <mutex>

#include "xgrad/ops.hpp"

extern "C" void openblas_set_num_threads(int num_threads);
extern "C" int openblas_get_num_threads(void);

namespace xg {

namespace detail {
namespace {
// The default of one thread is applied once, before the first gemm or the
// first explicit setting, so that a set_blas_threads() made before any gemm
// is not overridden by it.
void default_threads_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (!std::getenv("OPENBLAS_NUM_THREADS")) openblas_set_num_threads(1);
  });
}
}  // namespace
}  // namespace detail

void set_blas_threads(int n) {
  detail::default_threads_once();
  openblas_set_num_threads(n < 1 ? 1 : n);
}

int blas_threads() {
  detail::default_threads_once();
  return openblas_get_num_threads();
}

namespace detail {

void gemm(bool trans_a, bool trans_b, Scalar alpha, const Array& a, const Array& b, Scalar beta,
          Array& c) {
  default_threads_once();
  const auto m = static_cast<int>(trans_a ? a.shape()[1] : a.shape()[0]);
  const auto k = static_cast<int>(trans_a ? a.shape()[0] : a.shape()[1]);
  const auto n = static_cast<int>(trans_b ? b.shape()[0] : b.shape()[1]);
  if (m == 0 || n == 0) return;
  const int lda = std::max<int>(1, static_cast<int>(a.shape()[1]));
  const int ldb = std::max<int>(1, static_cast<int>(b.shape()[1]));
  const int ldc = std::max(1, n);
#if defined(XGRAD_FLOAT)
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a.data(), lda, b.data(), ldb,
              beta, c.data(), ldc);
#else
  cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a.data(), lda, b.data(), ldb,
              beta, c.data(), ldc);
#endif
}

}  // namespace detail
}  // namespace xg
