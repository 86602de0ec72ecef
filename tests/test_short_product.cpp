// xgrad's kernel for y ← y + x·wᵀ with a short inner size
// (src/ops/short_product.hpp): every result is y + one chain of fused
// multiply-adds in the inner order, and linear's forward takes it only where
// the linked BLAS gives those bits, so its results do not depend on the path.
#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "compare.hpp"
#include "ops/blas.hpp"
#include "ops/short_product.hpp"
#include "xgrad/error.hpp"
#include "xgrad/gemm.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/threads.hpp"

using namespace xg;
using xg_test::same_bits;

namespace {

// The definition the kernel promises, written the plain way.
Array reference(const Array& x, const Array& w, const Array& y) {
  const std::size_t m = x.shape()[0], k = x.shape()[1], n = w.shape()[0];
  Array out = y;
  for (std::size_t i = 0; i < m; ++i)
    for (std::size_t j = 0; j < n; ++j) {
      Scalar acc = 0;
      for (std::size_t q = 0; q < k; ++q) acc = std::fma(x(i, q), w(j, q), acc);
      out(i, j) = y(i, j) + acc;
    }
  return out;
}

struct Case {
  std::size_t m, n, k;
};

}  // namespace

TEST_CASE("add_short_product: each result is y plus one fused multiply-add chain",
          "[ops][short_product]") {
  if (!detail::has_short_product_kernel()) {
    CHECK_FALSE(detail::short_product_fits(10, 10, 30));
    return;
  }
  Rng rng(3);
  // Rows around the block heights (6, 12), columns around one and two vectors
  // of every width (2, 4, 8, 16 lanes) up to the limit, inner sizes 1 to 31.
  std::vector<Case> cases;
  for (std::size_t m : {1, 5, 6, 7, 10, 12, 13, 25, 100})
    for (std::size_t n : {1, 3, 8, 10, 16, 17, 33, 64})
      for (std::size_t k : {1, 2, 8, 30, 31}) cases.push_back({m, n, k});
  for (const Case& c : cases) {
    INFO("m " << c.m << " n " << c.n << " k " << c.k);
    const Array x = rng.uniform_array({c.m, c.k}, -1, 1), w = rng.uniform_array({c.n, c.k}, -1, 1);
    const Array y = rng.uniform_array({c.m, c.n}, -1, 1);
    Array out = y;
    detail::add_short_product(x, w, out);
    REQUIRE(same_bits(reference(x, w, y), out));
  }
}

TEST_CASE("add_short_product: threads cut the rows without changing a bit",
          "[ops][short_product][threads]") {
  if (!detail::has_short_product_kernel()) return;
  Rng rng(4);
  // 5,000·64·31 multiply-adds: enough for pieces on two threads.
  const Array x = rng.uniform_array({5000, 31}, -1, 1), w = rng.uniform_array({64, 31}, -1, 1);
  const Array y = rng.uniform_array({5000, 64}, -1, 1);
  Array one = y, two = y;
  const int before = num_threads();
  set_num_threads(1);
  detail::add_short_product(x, w, one);
  set_num_threads(2);
  detail::add_short_product(x, w, two);
  set_num_threads(before);
  CHECK(same_bits(one, two));
  CHECK(same_bits(reference(x, w, y), two));
}

TEST_CASE("add_short_product: sizes outside the kernel's are refused", "[ops][short_product]") {
  if (!detail::has_short_product_kernel()) return;
  Array y = Array::from_shape({2, 3});
  CHECK_THROWS_AS(
      detail::add_short_product(Array::from_shape({2, 32}), Array::from_shape({3, 32}), y),
      value_error);
  Array wide = Array::from_shape({2, 65});
  CHECK_THROWS_AS(
      detail::add_short_product(Array::from_shape({2, 4}), Array::from_shape({65, 4}), wide),
      value_error);
  Array mismatched = Array::from_shape({2, 4});  // x·wᵀ is 2 × 3
  CHECK_THROWS_AS(
      detail::add_short_product(Array::from_shape({2, 5}), Array::from_shape({3, 5}), mismatched),
      shape_error);
}

TEST_CASE("short_product_fits: sizes, the products' kernels and the BLAS's bits",
          "[ops][short_product]") {
  const bool taken = detail::has_short_product_kernel() && detail::blas_matches_short_product();
  CHECK(detail::short_product_fits(10, 10, 30) == taken);
  CHECK(detail::short_product_fits(1, 64, 31) == taken);
  CHECK_FALSE(detail::short_product_fits(10, 10, 32));  // OpenBLAS's small kernels
  CHECK_FALSE(detail::short_product_fits(10, 65, 30));
  CHECK_FALSE(detail::short_product_fits(0, 10, 30));
  CHECK_FALSE(detail::short_product_fits(10, 10, 0));
  if (has_libxsmm()) {
    set_gemm_kernels(GemmKernels::libxsmm);
    CHECK_FALSE(detail::short_product_fits(10, 10, 30));
    set_gemm_kernels(GemmKernels::openblas);
  }
}

TEST_CASE("linear: a short inner size gives OpenBLAS's bits, by the kernel or by BLAS",
          "[ops][short_product]") {
  Rng rng(6);
  // The book's output layers at batch 10 and 100, and the kernel's limits.
  const std::vector<Case> cases = {{10, 10, 30}, {100, 10, 30}, {7, 64, 31}, {13, 1, 1}};
  for (const Case& c : cases) {
    INFO("m " << c.m << " n " << c.n << " k " << c.k);
    const Tensor x(rng.uniform_array({c.m, c.k}, -1, 1));
    const Tensor w(rng.uniform_array({c.n, c.k}, -1, 1), true);
    const Tensor b(rng.uniform_array({c.n}, -1, 1), true);
    Array expected = Array::from_shape({c.m, c.n});
    for (std::size_t i = 0; i < c.m; ++i)
      for (std::size_t j = 0; j < c.n; ++j) expected(i, j) = b.value()(j);
    detail::openblas_gemm(false, true, Scalar(1), x.value(), w.value(), Scalar(1), expected);
    CHECK(same_bits(expected, linear(x, w, b).value()));
  }
}
