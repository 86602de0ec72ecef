#pragma once
// The kernel libraries xgrad-small-gemm sets against OpenBLAS, each behind a
// row-major "C = op(A)·op(B), beta = 0" call like the library's own gemm, in
// its own translation unit (BLIS's header declares CBLAS too, and would clash
// with OpenBLAS's cblas.h). docs/performance.md has the measurements.
#include <memory>
#include <string>

namespace xg::bench {

/// A libxsmm f64 kernel for one shape, JIT-compiled once. libxsmm is
/// column-major: the row-major product op(A)·op(B) is its Bᵀ·Aᵀ, so a
/// row-major transposed B would be its transposed A, which its JIT does not
/// generate — callers keep such operands pre-transposed (`tb` must be false).
/// A transposed A (row-major) is its TRANS_B; when even that is not
/// generated, the kernel copies A transposed into a scratch buffer per call
/// (`copies_a()`), and that copy is part of the timing.
class XsmmGemm {
 public:
  /// `single`: an f32 kernel (call it with floats), else f64.
  XsmmGemm(bool ta, int m, int n, int k, int lda, int ldb, int ldc, bool single = false);
  ~XsmmGemm();
  XsmmGemm(const XsmmGemm&) = delete;
  XsmmGemm& operator=(const XsmmGemm&) = delete;
  void operator()(const double* a, const double* b, double* c) const;
  void operator()(const float* a, const float* b, float* c) const;
  bool copies_a() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};
/// libxsmm's version and the instruction set its JIT targets here.
std::string xsmm_description();

/// Row-major C = op(A)·op(B) in f32 with BLIS's native API (bli_sgemm,
/// general strides, so any transposition without copies).
void blis_sgemm(bool ta, bool tb, int m, int n, int k, const float* a, int lda, const float* b,
                int ldb, float* c, int ldc);
/// BLIS's version and the sub-configuration (kernel set) it chose for this CPU.
std::string blis_description();

}  // namespace xg::bench
