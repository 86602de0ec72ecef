// The libxsmm side of xgrad-small-gemm (see small_gemm.hpp).
#include <libxsmm.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "small_gemm.hpp"

namespace xg::bench {

struct XsmmGemm::Impl {
  libxsmm_dmmfunction kernel = nullptr;
  libxsmm_smmfunction single_kernel = nullptr;  // f32 (no transposed-A copy: ta needs TRANS_B)
  int m, n, k, lda;
  bool copy_a = false;              // the transposed-A fallback (see the header)
  mutable std::vector<double> a_t;  // op(A) = Aᵀ, m × k, when copy_a
};

XsmmGemm::XsmmGemm(bool ta, int m, int n, int k, int lda, int ldb, int ldc, bool single)
    : impl_(std::make_unique<Impl>()) {
  impl_->m = m;
  impl_->n = n;
  impl_->k = k;
  impl_->lda = lda;
  if (single) {
    const float alpha = 1.0f, beta = 0.0f;
    const int prefetch = LIBXSMM_PREFETCH_NONE;
    const int flags = ta ? LIBXSMM_GEMM_FLAG_TRANS_B : LIBXSMM_GEMM_FLAG_NONE;
    const libxsmm_blasint first_ld = ldb, second_ld = lda, c_ld = ldc;
    impl_->single_kernel = libxsmm_smmdispatch(n, m, k, &first_ld, &second_ld, &c_ld, &alpha, &beta,
                                               &flags, &prefetch);
    if (!impl_->single_kernel)
      throw std::runtime_error("libxsmm generated no f32 kernel for " + std::to_string(m) + "x" +
                               std::to_string(n) + "x" + std::to_string(k));
    return;
  }
  const double alpha = 1.0, beta = 0.0;
  const int prefetch = LIBXSMM_PREFETCH_NONE;
  // Column-major C' (n × m) = B' (n × k) · op(A') (k × m): the operands swap.
  const libxsmm_blasint cm = n, cn = m, ck = k, first_ld = ldb, c_ld = ldc;
  if (ta) {
    const int flags = LIBXSMM_GEMM_FLAG_TRANS_B;
    const libxsmm_blasint second_ld = lda;
    impl_->kernel = libxsmm_dmmdispatch(cm, cn, ck, &first_ld, &second_ld, &c_ld, &alpha, &beta,
                                        &flags, &prefetch);
    impl_->copy_a = impl_->kernel == nullptr;
  }
  if (!ta || impl_->copy_a) {
    const int flags = LIBXSMM_GEMM_FLAG_NONE;
    const libxsmm_blasint second_ld = ta ? k : lda;  // the copy is dense m × k
    impl_->kernel = libxsmm_dmmdispatch(cm, cn, ck, &first_ld, &second_ld, &c_ld, &alpha, &beta,
                                        &flags, &prefetch);
    if (impl_->copy_a) impl_->a_t.resize(static_cast<std::size_t>(m) * k);
  }
  if (!impl_->kernel)
    throw std::runtime_error("libxsmm generated no kernel for " + std::to_string(m) + "x" +
                             std::to_string(n) + "x" + std::to_string(k));
}

XsmmGemm::~XsmmGemm() = default;

bool XsmmGemm::copies_a() const { return impl_->copy_a; }

void XsmmGemm::operator()(const double* a, const double* b, double* c) const {
  if (impl_->copy_a) {  // A is k × m (row-major, leading dimension lda): copy Aᵀ
    const int m = impl_->m, k = impl_->k, lda = impl_->lda;
    double* t = impl_->a_t.data();
    for (int p = 0; p < k; ++p)
      for (int i = 0; i < m; ++i) t[static_cast<std::size_t>(i) * k + p] = a[p * lda + i];
    a = t;
  }
  impl_->kernel(b, a, c);
}

void XsmmGemm::operator()(const float* a, const float* b, float* c) const {
  impl_->single_kernel(b, a, c);
}

std::string xsmm_description() {
  return std::string("libxsmm ") + LIBXSMM_VERSION + ", JIT target " + libxsmm_get_target_arch();
}

}  // namespace xg::bench
