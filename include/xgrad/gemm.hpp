#pragma once
// Which kernels run xgrad's small matrix products. OpenBLAS runs every
// product by default. libxsmm (Debian libxsmm-dev, found when xgrad was
// configured) compiles a kernel for each small shape at its first use and
// can run most of the book's products faster than OpenBLAS's kernels; it
// rounds differently, so a run's numbers change in the last bits (like
// another BLAS). docs/performance.md has the measurements and the rules.
#include <string>

namespace xg {

enum class GemmKernels { openblas, libxsmm };

/// True when this xgrad was built with libxsmm.
bool has_libxsmm();
/// Chooses the kernels of the products that follow, for every thread.
/// libxsmm takes a product when it is small (at most 4·2²⁰ multiply-adds),
/// op(B) is B itself (its generated kernels transpose only one operand),
/// beta is 0 or 1 and the product runs whole on one thread; OpenBLAS runs
/// the rest (X·Wᵀ in `linear`'s forward, large and multi-thread products).
/// Throws value_error for libxsmm when has_libxsmm() is false.
void set_gemm_kernels(GemmKernels kernels);
/// The kernels chosen by set_gemm_kernels (openblas unless changed).
GemmKernels gemm_kernels();
/// "openblas" or "libxsmm".
std::string to_string(GemmKernels kernels);
/// The inverse of to_string; throws value_error naming the known names.
GemmKernels gemm_kernels_from_string(const std::string& name);

}  // namespace xg
