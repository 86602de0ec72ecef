#pragma once
// xgrad's own kernel for y ← y + x·wᵀ when the inner size is short: a linear
// layer's forward product on a small hidden layer (the book's 784-30-10
// output layer: 10 × 10 results, sums of 30).
//
// Why: OpenBLAS's small-matrix kernels refuse this layout below an inner size
// of 32, and its packed path then spends more time packing and dispatching
// than multiplying: 300 ns for the book's 3,000 multiply-adds in float
// (docs/performance.md). This kernel transposes w into a buffer once per call
// and keeps each block's sums in registers.
//
// Its bits are y + (one chain of fused multiply-adds in the inner order from
// 0), the addition rounded once. Some BLAS kernels sum these products in
// another order (OpenBLAS's Haswell sgemm kernels do), and switching kernels
// would then change every trained network's last bits. So linear takes the
// kernel only where the linked BLAS gives the same bits: checked once per
// process on a grid of shapes (blas_matches_short_product).
#include <cstddef>

#include "xgrad/scalar.hpp"

namespace xg::detail {

/// The longest inner size the kernel takes: OpenBLAS's small-matrix kernels
/// take over above it.
constexpr std::size_t kShortInnerMax = 31;
/// The most columns (outputs of the layer) it takes.
constexpr std::size_t kShortColumnsMax = 64;

/// Whether this build has the kernel (hardware fused multiply-add).
bool has_short_product_kernel();

/// Whether linear's forward takes the kernel for x (m, k) and w (n, k): the
/// build has it, 1 ≤ k ≤ kShortInnerMax, 1 ≤ n ≤ kShortColumnsMax, m ≥ 1,
/// the products run on OpenBLAS (set_gemm_kernels), and the linked BLAS
/// gives the kernel's bits (blas_matches_short_product).
bool short_product_fits(std::size_t m, std::size_t n, std::size_t k);

/// y ← y + x·wᵀ for x (m, k), w (n, k), y (m, n), all contiguous row-major:
/// each result is y + acc, acc = fma(x[i][q], w[j][q], acc) for q = 0, 1, …
/// from acc = 0, rounded once at the addition. Requires the kernel and the
/// sizes of short_product_fits (not the BLAS check).
void add_short_product(const Array& x, const Array& w, Array& y);

/// Whether OpenBLAS's y + 1·x·wᵀ (beta = 1) has add_short_product's bits on
/// a grid of shapes with k ≤ kShortInnerMax, n ≤ kShortColumnsMax. Probed
/// once per process (a few hundred tiny products), then remembered.
bool blas_matches_short_product();

}  // namespace xg::detail
