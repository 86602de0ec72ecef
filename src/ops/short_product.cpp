// y ← y + x·wᵀ for short inner sizes (short_product.hpp says why).
#include "ops/short_product.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "ops/blas.hpp"
#include "ops/simd_lanes.hpp"
#include "ops/weight_gradient.hpp"
#include "xgrad/error.hpp"
#include "xgrad/gemm.hpp"
#include "xgrad/random.hpp"
#include "xgrad/threads.hpp"

namespace xg::detail {

// The same requirement as the weight-gradient kernel's: hardware fused
// multiply-add, so that every path rounds alike.
bool has_short_product_kernel() { return has_weight_gradient_kernel(); }

bool short_product_fits(std::size_t m, std::size_t n, std::size_t k) {
  return has_short_product_kernel() && m > 0 && n > 0 && n <= kShortColumnsMax && k > 0 &&
         k <= kShortInnerMax && gemm_kernels() == GemmKernels::openblas &&
         blas_matches_short_product();
}

#if defined(XGRAD_HARDWARE_FMA)
namespace {

using simd::Batch;
using simd::fused;
using simd::kLanes;
using simd::load_lanes;
using simd::store_lanes;

// Rows of the result per block, one vector of accumulators each: AVX-512's
// 32 registers hold twelve (the book's ten rows in one block), AVX2's
// sixteen hold six.
constexpr int kRows = sizeof(Batch) >= 64 ? 12 : 6;
// Threads split the rows only when each piece keeps this many multiply-adds
// (as detail::gemm cuts its products).
constexpr double kMinPieceMacs = 2.0 * 1024 * 1024;
constexpr std::size_t kPackedColumns = (kShortColumnsMax + kLanes - 1) / kLanes * kLanes;

struct Operands {
  const Scalar* x;   // (m, k)
  const Scalar* wt;  // (k, ldw): w transposed, each row padded to whole vectors
  Scalar* y;         // (m, n)
  std::size_t n, k, ldw;
};

// wᵀ into a per-thread buffer, once per call: each inner index q then gives
// one vector of columns to multiply every row's x[i][q] with. Lanes past the
// last column hold zeros or an earlier call's weights: they only feed lanes
// that are never stored. (Zeroing them was a memset call per row.)
const Scalar* pack_transposed(const Array& w, std::size_t n, std::size_t k, std::size_t ldw) {
  thread_local std::vector<Scalar> packed(kShortInnerMax * kPackedColumns);
  const Scalar* src = w.data();
  for (std::size_t q = 0; q < k; ++q) {
    Scalar* row = packed.data() + q * ldw;
    for (std::size_t j = 0; j < n; ++j) row[j] = src[j * k + q];
  }
  return packed.data();
}

// Rows i0 … i0+R−1 by the vector of columns from j0, of which the first cols
// are kept: acc = fma(x[i][q], w[j][q], acc) for q = 0, 1, … from 0, then
// y + acc rounded once, as BLAS's y + 1·acc (beta = 1).
template <int R>
XGRAD_BLOCK_INLINE void block(const Operands& o, std::size_t i0, std::size_t j0, std::size_t cols) {
  Batch acc[R];
  XGRAD_UNROLL
  for (int r = 0; r < R; ++r) acc[r] = Batch(Scalar(0));
  const Scalar* x = o.x + i0 * o.k;
  for (std::size_t q = 0; q < o.k; ++q) {
    const Batch wq = Batch::load_unaligned(o.wt + q * o.ldw + j0);
    XGRAD_UNROLL
    for (int r = 0; r < R; ++r) acc[r] = fused<1>(Batch(x[r * o.k + q]), wq, acc[r]);
  }
  // Every row of y is read before any is written: rows n apart share vectors,
  // and a load behind a masked store to the same vector waits for the store
  // to retire (a third of the kernel's time when interleaved).
  Scalar* y = o.y + i0 * o.n + j0;
  if (cols == kLanes) {
    XGRAD_UNROLL
    for (int r = 0; r < R; ++r) acc[r] += Batch::load_unaligned(y + r * o.n);
    XGRAD_UNROLL
    for (int r = 0; r < R; ++r) acc[r].store_unaligned(y + r * o.n);
  } else {
    XGRAD_UNROLL
    for (int r = 0; r < R; ++r) acc[r] += load_lanes(y + r * o.n, cols);
    XGRAD_UNROLL
    for (int r = 0; r < R; ++r) store_lanes(y + r * o.n, cols, acc[r]);
  }
}

void rows(const Operands& o, std::size_t begin, std::size_t end) {
  const std::size_t full_end = begin + (end - begin) / kRows * kRows;
  for (std::size_t j0 = 0; j0 < o.n; j0 += kLanes) {
    const std::size_t cols = std::min(kLanes, o.n - j0);
    for (std::size_t i0 = begin; i0 < full_end; i0 += kRows) block<kRows>(o, i0, j0, cols);
    simd::with_rows<kRows - 1>(
        end - full_end, [&](auto rows) { block<decltype(rows)::value>(o, full_end, j0, cols); });
  }
}

}  // namespace

void add_short_product(const Array& x, const Array& w, Array& y) {
  const std::size_t m = x.shape()[0], k = x.shape()[1], n = w.shape()[0];
  if (k == 0 || k > kShortInnerMax || n == 0 || n > kShortColumnsMax)
    throw value_error("add_short_product: inner size " + std::to_string(k) + " and " +
                      std::to_string(n) + " columns: the kernel takes 1 to " +
                      std::to_string(kShortInnerMax) + " and 1 to " +
                      std::to_string(kShortColumnsMax));
  if (w.shape()[1] != k || y.shape()[0] != m || y.shape()[1] != n)
    throw shape_error("add_short_product: y " + shape_str(y.shape()) + " + x " +
                      shape_str(x.shape()) + " · w " + shape_str(w.shape()) + "ᵀ: shapes differ");
  if (m == 0) return;
  const std::size_t ldw = (n + kLanes - 1) / kLanes * kLanes;
  const Operands o{x.data(), pack_transposed(w, n, k, ldw), y.data(), n, k, ldw};
  const std::size_t blocks = (m + kRows - 1) / kRows;
  const double block_macs = double(kRows) * double(n) * double(k);
  const auto grain = static_cast<std::size_t>(std::max(1.0, kMinPieceMacs / block_macs));
  // Workers only read the packed wᵀ of this thread.
  parallel_for(blocks, grain, [&](std::size_t b0, std::size_t b1) {
    rows(o, b0 * kRows, std::min(m, b1 * kRows));
  });
}

bool blas_matches_short_product() {
  // Sizes around the block height, the vector widths and the limits; random
  // values, so a different summation order shows in some last bit.
  static const bool matches = [] {
    Rng rng(20261205);
    for (std::size_t m : {1, 2, 3, 5, 10, 13, 100})
      for (std::size_t n : {1, 3, 8, 10, 16, 17, 30, 33, 64})
        for (std::size_t k : {1, 2, 7, 8, 16, 30, 31}) {
          const Array x = rng.normal_array({m, k}), w = rng.normal_array({n, k});
          Array by_blas = rng.normal_array({m, n});
          Array by_kernel = by_blas;
          openblas_gemm(false, true, Scalar(1), x, w, Scalar(1), by_blas);
          add_short_product(x, w, by_kernel);
          if (std::memcmp(by_blas.data(), by_kernel.data(), by_blas.size() * sizeof(Scalar)) != 0)
            return false;
        }
    return true;
  }();
  return matches;
}

#else  // no hardware fused multiply-add: short_product_fits is always false

void add_short_product(const Array&, const Array&, Array&) {
  throw value_error("add_short_product: this build has no kernel (no hardware FMA)");
}

bool blas_matches_short_product() { return false; }

#endif

}  // namespace xg::detail
