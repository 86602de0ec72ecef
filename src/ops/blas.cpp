#include "ops/blas.hpp"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <mutex>

#include "ops/libxsmm_gemm.hpp"
#include "xgrad/error.hpp"
#include "xgrad/gemm.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/threads.hpp"

extern "C" void openblas_set_num_threads(int num_threads);

namespace xg {

namespace detail {
namespace {
// OpenBLAS's own threads are set to one once, before the first gemm, unless
// the user fixed them in the environment: xgrad's threads (set_num_threads)
// cut the large products instead, and the book's small ones run fastest on
// one thread.
void default_threads_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (!std::getenv("OPENBLAS_NUM_THREADS")) openblas_set_num_threads(1);
  });
}

// Blocks of the result are cut at multiples of this many rows or columns, so
// every block but the last keeps OpenBLAS's micro-kernel tiles whole.
constexpr std::size_t kBlockAlign = 16;
// A product is cut only when each block still has this many multiply-adds:
// smaller ones gain less than the hand-over costs, and a block under
// 100·100·100 could take OpenBLAS's unpacked small-matrix kernels, whose sums
// differ in the last bits from the packed kernels the whole product uses.
constexpr double kMinBlockMacs = 2.0 * 1024 * 1024;

void cblas_gemm(bool trans_a, bool trans_b, int m, int n, int k, Scalar alpha, const Scalar* a,
                int lda, const Scalar* b, int ldb, Scalar beta, Scalar* c, int ldc) {
#if defined(XGRAD_FLOAT)
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#else
  cblas_dgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
              trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#endif
}
}  // namespace
}  // namespace detail

void set_blas_threads(int n) { set_num_threads(n); }

int blas_threads() { return num_threads(); }

namespace {
std::atomic<GemmKernels> chosen_kernels{GemmKernels::openblas};
}

bool has_libxsmm() {
#if defined(XGRAD_HAVE_LIBXSMM)
  return true;
#else
  return false;
#endif
}

void set_gemm_kernels(GemmKernels kernels) {
  if (kernels == GemmKernels::libxsmm && !has_libxsmm())
    throw value_error(
        "set_gemm_kernels(libxsmm): this xgrad was built without libxsmm (install Debian's "
        "libxsmm-dev and configure again; scripts/setup installs it)");
  chosen_kernels.store(kernels, std::memory_order_relaxed);
}

GemmKernels gemm_kernels() { return chosen_kernels.load(std::memory_order_relaxed); }

std::string to_string(GemmKernels kernels) {
  return kernels == GemmKernels::libxsmm ? "libxsmm" : "openblas";
}

GemmKernels gemm_kernels_from_string(const std::string& name) {
  if (name == "openblas") return GemmKernels::openblas;
  if (name == "libxsmm") return GemmKernels::libxsmm;
  throw value_error("gemm_kernels_from_string: unknown gemm kernels '" + name +
                    "' (known: openblas, libxsmm)");
}

namespace detail {

namespace {
// A row-major product's sizes and leading dimensions, from its operands.
struct Sizes {
  int m, n, k, lda, ldb, ldc;
};
Sizes sizes_of(bool trans_a, bool trans_b, const Array& a, const Array& b) {
  Sizes s{};
  s.m = static_cast<int>(trans_a ? a.shape()[1] : a.shape()[0]);
  s.k = static_cast<int>(trans_a ? a.shape()[0] : a.shape()[1]);
  s.n = static_cast<int>(trans_b ? b.shape()[0] : b.shape()[1]);
  s.lda = std::max<int>(1, static_cast<int>(a.shape()[1]));
  s.ldb = std::max<int>(1, static_cast<int>(b.shape()[1]));
  s.ldc = std::max(1, s.n);
  return s;
}
}  // namespace

void openblas_gemm(bool trans_a, bool trans_b, Scalar alpha, const Array& a, const Array& b,
                   Scalar beta, Array& c) {
  default_threads_once();
  const Sizes s = sizes_of(trans_a, trans_b, a, b);
  if (s.m == 0 || s.n == 0) return;
  cblas_gemm(trans_a, trans_b, s.m, s.n, s.k, alpha, a.data(), s.lda, b.data(), s.ldb, beta,
             c.data(), s.ldc);
}

// With several threads, C is cut into blocks of whole rows (when it has more
// rows than columns) or whole columns, one product per block on one
// OpenBLAS thread each. With OpenBLAS's Haswell dgemm kernels every element
// of C is then the same sum, in the same order, as in the undivided product,
// so the bits do not depend on the thread count (tests/test_threads.cpp
// checks it; OpenBLAS's own threads do not promise that). Its AVX-512 dgemm
// kernels and its Haswell sgemm kernels (the float build) order some sums by
// the block's position or shape: there the cut changes last bits, as OpenBLAS's
// threads do (docs/distributed.md).
void gemm(bool trans_a, bool trans_b, Scalar alpha, const Array& a, const Array& b, Scalar beta,
          Array& c) {
  default_threads_once();
  // (Named copies, not a structured binding: the lambda below captures them.)
  const Sizes s = sizes_of(trans_a, trans_b, a, b);
  const int m = s.m, n = s.n, k = s.k, lda = s.lda, ldb = s.ldb, ldc = s.ldc;
  if (m == 0 || n == 0) return;
  const double macs = double(m) * double(n) * double(k);
  if (num_threads() < 2 || macs < 2 * kMinBlockMacs) {
    if (gemm_kernels() == GemmKernels::libxsmm &&
        libxsmm_gemm(trans_a, trans_b, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta, c.data(),
                     ldc))
      return;
    cblas_gemm(trans_a, trans_b, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
    return;
  }
  const bool by_rows = m >= n;
  const std::size_t extent = static_cast<std::size_t>(by_rows ? m : n);
  const std::size_t units = (extent + kBlockAlign - 1) / kBlockAlign;
  const double macs_per_unit = macs / double(extent) * double(kBlockAlign);
  // One unit more than the minimum: a piece's last unit may be a partial one.
  const auto grain = static_cast<std::size_t>(std::ceil(kMinBlockMacs / macs_per_unit)) + 1;
  parallel_for(units, grain, [&](std::size_t begin, std::size_t end) {
    const std::size_t from = begin * kBlockAlign, to = std::min(extent, end * kBlockAlign);
    const int len = static_cast<int>(to - from);
    if (by_rows) {  // rows [from, to) of C: rows of op(A)
      const Scalar* a_block = a.data() + (trans_a ? from : from * std::size_t(lda));
      cblas_gemm(trans_a, trans_b, len, n, k, alpha, a_block, lda, b.data(), ldb, beta,
                 c.data() + from * std::size_t(ldc), ldc);
    } else {  // columns [from, to) of C: columns of op(B)
      const Scalar* b_block = b.data() + (trans_b ? from * std::size_t(ldb) : from);
      cblas_gemm(trans_a, trans_b, m, len, k, alpha, a.data(), lda, b_block, ldb, beta,
                 c.data() + from, ldc);
    }
  });
}

}  // namespace detail
}  // namespace xg
