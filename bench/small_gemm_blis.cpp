// The BLIS side of xgrad-small-gemm (see small_gemm.hpp).
#include <blis.h>

#include <string>

#include "small_gemm.hpp"

namespace xg::bench {

void blis_sgemm(bool ta, bool tb, int m, int n, int k, const float* a, int lda, const float* b,
                int ldb, float* c, int ldc) {
  float alpha = 1.0f, beta = 0.0f;
  // Row-major storage: row stride = leading dimension, column stride 1.
  bli_sgemm(ta ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, tb ? BLIS_TRANSPOSE : BLIS_NO_TRANSPOSE, m, n,
            k, &alpha, const_cast<float*>(a), lda, 1, const_cast<float*>(b), ldb, 1, &beta, c, ldc,
            1);
}

std::string blis_description() {
  return std::string("BLIS ") + bli_info_get_version_str() + ", sub-configuration " +
         bli_arch_string(bli_arch_query_id()) + ", " +
         (bli_info_get_enable_threading() ? "threading enabled" : "serial");
}

}  // namespace xg::bench
