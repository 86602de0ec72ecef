#pragma once
// xgrad's own kernel for a linear layer's weight gradient Gᵀ·X, and for the
// plain SGD step that consumes it, w ← w − η·Gᵀ·X, in one pass.
//
// Why a kernel of our own next to BLAS: the weight gradient's inner size is
// the mini-batch (10 in the book), so each of its m·n results is a short sum.
// BLAS writes those sums to a gradient buffer, and SGD::step then streams
// the weights and that buffer again, a pass that waits on memory (a sixth of
// a batch-10 step with OpenBLAS's own kernels). This kernel keeps each
// block's sums in registers and applies the step to the weights right there:
// the same bits as storing the gradient and stepping (every result is one
// chain of fused multiply-adds in the batch's order, then one fused
// multiply-add with η), without the buffer. docs/performance.md measures it.
#include <cmath>
#include <cstddef>

#include "xgrad/scalar.hpp"

// Hardware fused multiply-add: the kernel's vector and scalar paths, and
// SGD's update, then all round once per multiply-add.
#if defined(__FMA__) || defined(__aarch64__)
#define XGRAD_HARDWARE_FMA 1
#endif

namespace xg::detail {

/// Whether this build has the kernel: it needs hardware fused multiply-add,
/// so that its vector and scalar paths round alike (XGRAD_NATIVE on x86-64
/// with FMA, or AArch64).
bool has_weight_gradient_kernel();

/// Whether the kernel takes Gᵀ·X for G of shape (k, m) and X of shape (k, n):
/// the kernel exists, the inner size k (the batch) is at most 256, and the
/// product is not empty. Larger batches go to BLAS, whose packed kernels win
/// there.
bool weight_gradient_fits(std::size_t m, std::size_t n, std::size_t k);

/// out = Gᵀ·X. G is (k, m), X is (k, n), out must already be (m, n); all
/// contiguous row-major. Requires weight_gradient_fits(m, n, k).
void weight_gradient(const Array& G, const Array& X, Array& out);

/// w ← w − eta·(Gᵀ·X), each result's sum exactly as weight_gradient forms it
/// and then w − eta·sum rounded once: the bits of weight_gradient followed by
/// SGD::step. Same requirements, with w in out's place.
void weight_gradient_step(const Array& G, const Array& X, Scalar eta, Array& w);

/// SGD's w − η·g: rounded once (one fused multiply-add) where the build has
/// hardware FMA, as weight_gradient_step and the bias's step inside backward
/// round it, so a step taken there has step()'s bits; as written otherwise.
inline Scalar sgd_update(Scalar w, Scalar eta, Scalar g) {
#if defined(XGRAD_HARDWARE_FMA)
  return std::fma(-eta, g, w);
#else
  return w - eta * g;
#endif
}

}  // namespace xg::detail
