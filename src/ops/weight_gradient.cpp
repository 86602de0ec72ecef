// Gᵀ·X for a linear layer's weight gradient, stored or applied as an SGD
// step (weight_gradient.hpp says why this is not BLAS's).
#include "ops/weight_gradient.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/simd_lanes.hpp"
#include "xgrad/error.hpp"
#include "xgrad/threads.hpp"

namespace xg::detail {

namespace {
constexpr std::size_t kMaxInner = 256;
}

bool has_weight_gradient_kernel() {
#if defined(XGRAD_HARDWARE_FMA)
  return true;
#else
  return false;
#endif
}

bool weight_gradient_fits(std::size_t m, std::size_t n, std::size_t k) {
  return has_weight_gradient_kernel() && m > 0 && n > 0 && k > 0 && k <= kMaxInner;
}

#if defined(XGRAD_HARDWARE_FMA)
namespace {

enum class Write { store, step };

using simd::Batch;
using simd::fused;
using simd::kLanes;
using simd::load_lanes;
using simd::store_lanes;

// A block is kRows rows of the result by kVectors vectors of columns. With
// AVX-512's 32 registers, eight rows (sixteen accumulators); with sixteen
// registers (AVX2), six: twelve accumulators, two loaded vectors and a
// broadcast. Either way enough independent chains hide the multiply-add
// latency (docs/performance.md compares 6, 8 and 10 rows).
constexpr int kRows = sizeof(Batch) >= 64 ? 8 : 6;
constexpr int kVectors = 2;
// Threads split the column panels only when each piece keeps this many
// multiply-adds (as detail::gemm cuts its products).
constexpr double kMinPieceMacs = 2.0 * 1024 * 1024;

struct Operands {
  const Scalar* g;  // (k, m)
  const Scalar* x;  // (k, n)
  Scalar* out;      // (m, n)
  std::size_t m, n, k;
  Scalar eta;
};

// Where a block reads X's columns and writes its results: in place, or for
// the last columns (fewer than a vector) from a zero-padded copy of X.
struct Columns {
  const Scalar* x;  // row 0's first column; rows ldx apart
  std::size_t ldx;
  Scalar* out;  // the block's first row's first column; rows n apart
};

// Every result r, j is acc = fma(G[k][r], X[k][j], acc) for k = 0, 1, … from
// acc = 0, then stored, or written as w − eta·acc rounded once. One or two
// vectors of columns, each in its own array of accumulators: GCC keeps two
// arrays of kRows in registers, but one array of 2·kRows on the stack. With
// Tail, one vector of which only the first cols lanes are written.
template <Write W, int R, int V, bool Tail = false>
XGRAD_BLOCK_INLINE void block(const Operands& o, std::size_t i0, const Columns& c,
                              std::size_t cols = kLanes) {
  static_assert(V == 1 || V == 2, "one or two vectors of columns");
  static_assert(!Tail || V == 1, "a tail is one vector");
  Batch acc0[R], acc1[R];
  XGRAD_UNROLL
  for (int r = 0; r < R; ++r) acc0[r] = acc1[r] = Batch(Scalar(0));
  for (std::size_t k = 0; k < o.k; ++k) {
    const Scalar* xk = c.x + k * c.ldx;
    const Batch x0 = Batch::load_unaligned(xk);
    const Batch x1 = V == 2 ? Batch::load_unaligned(xk + kLanes) : x0;
    const Scalar* gk = o.g + k * o.m + i0;
    XGRAD_UNROLL
    for (int r = 0; r < R; ++r) {
      const Batch a(gk[r]);
      acc0[r] = fused<1>(a, x0, acc0[r]);
      if constexpr (V == 2) acc1[r] = fused<1>(a, x1, acc1[r]);
    }
  }
  const Batch eta(o.eta);
  auto write = [&](Scalar* p, const Batch& acc) {
    if constexpr (Tail) {
      if constexpr (W == Write::store)
        store_lanes(p, cols, acc);
      else
        store_lanes(p, cols, fused<-1>(eta, acc, load_lanes(p, cols)));
    } else if constexpr (W == Write::store) {
      acc.store_unaligned(p);
    } else {
      fused<-1>(eta, acc, Batch::load_unaligned(p)).store_unaligned(p);
    }
  };
  XGRAD_UNROLL
  for (int r = 0; r < R; ++r) {
    Scalar* p = c.out + r * o.n;
    write(p, acc0[r]);
    if constexpr (V == 2) write(p + kLanes, acc1[r]);
  }
}

// The last columns, fewer than a vector: X's columns copied once per call,
// padded with zeros to a whole vector, and only the kept lanes of each result
// read and written. Each kept lane is the same chain as in place; a scalar
// loop here took 9× BLAS's time on the book's 10 × 30 output layer.
struct PaddedTail {
  std::size_t j0 = 0, cols = 0;  // cols = 0: n is a whole number of vectors
  const Scalar* x = nullptr;     // (k, kLanes)
};

PaddedTail pad_tail(const Operands& o) {
  PaddedTail t;
  t.cols = o.n % kLanes;
  if (t.cols == 0) return t;
  t.j0 = o.n - t.cols;
  thread_local std::vector<Scalar> padded(kMaxInner * kLanes);
  for (std::size_t k = 0; k < o.k; ++k)
    load_lanes(o.x + k * o.n + t.j0, t.cols).store_unaligned(padded.data() + k * kLanes);
  t.x = padded.data();
  return t;
}

template <Write W, int R>
XGRAD_BLOCK_INLINE void tail(const Operands& o, std::size_t i0, const PaddedTail& t) {
  block<W, R, 1, true>(o, i0, {t.x, kLanes, o.out + i0 * o.n + t.j0}, t.cols);
}

// Rows i0 … i0+R−1 by columns j0 … j0+cols−1 (cols ≤ one block's width).
template <Write W, int R>
void panel_rows(const Operands& o, std::size_t i0, std::size_t j0, std::size_t cols,
                const PaddedTail& t) {
  auto at = [&](std::size_t j) { return Columns{o.x + j, o.n, o.out + i0 * o.n + j}; };
  if (cols == kVectors * kLanes) return block<W, R, kVectors>(o, i0, at(j0));
  const std::size_t end = j0 + cols;
  for (; j0 + kLanes <= end; j0 += kLanes) block<W, R, 1>(o, i0, at(j0));
  if (j0 < end) tail<W, R>(o, i0, t);
}

// Column panels one block wide, outermost: a panel's rows of X stay in the
// first-level cache while every row of the result passes over them.
template <Write W>
void run(const Operands& o) {
  constexpr std::size_t wide = kVectors * kLanes;
  const std::size_t panels = (o.n + wide - 1) / wide;
  const double panel_macs = double(o.m) * double(wide) * double(o.k);
  const auto grain = static_cast<std::size_t>(std::max(1.0, kMinPieceMacs / panel_macs));
  const std::size_t full_rows = o.m - o.m % kRows;
  const PaddedTail t = pad_tail(o);
  parallel_for(panels, grain, [&](std::size_t begin, std::size_t end) {
    for (std::size_t p = begin; p < end; ++p) {
      const std::size_t j0 = p * wide, cols = std::min(wide, o.n - j0);
      for (std::size_t i0 = 0; i0 < full_rows; i0 += kRows)
        panel_rows<W, kRows>(o, i0, j0, cols, t);
      simd::with_rows<kRows - 1>(o.m - full_rows, [&](auto rows) {
        panel_rows<W, decltype(rows)::value>(o, full_rows, j0, cols, t);
      });
    }
  });
}

Operands operands(const Array& G, const Array& X, Scalar eta, Array& out) {
  return {G.data(), X.data(), out.data(), G.shape()[1], X.shape()[1], G.shape()[0], eta};
}

}  // namespace

void weight_gradient(const Array& G, const Array& X, Array& out) {
  run<Write::store>(operands(G, X, Scalar(0), out));
}

void weight_gradient_step(const Array& G, const Array& X, Scalar eta, Array& w) {
  run<Write::step>(operands(G, X, eta, w));
}

#else  // no hardware fused multiply-add: weight_gradient_fits is always false

void weight_gradient(const Array&, const Array&, Array&) {
  throw value_error("weight_gradient: this build has no kernel (no hardware FMA)");
}

void weight_gradient_step(const Array&, const Array&, Scalar, Array&) {
  throw value_error("weight_gradient_step: this build has no kernel (no hardware FMA)");
}

#endif

}  // namespace xg::detail
