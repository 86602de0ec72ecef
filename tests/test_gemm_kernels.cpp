// The gemm kernels a user can choose (include/xgrad/gemm.hpp): libxsmm takes
// the small products it can generate and gives OpenBLAS's results to
// rounding; OpenBLAS keeps the rest; training with either follows the same
// path; a build without libxsmm refuses it by name.
#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "compare.hpp"
#include "ops/blas.hpp"
#include "ops/libxsmm_gemm.hpp"
#include "precision.hpp"
#include "xgrad/cost.hpp"
#include "xgrad/error.hpp"
#include "xgrad/gemm.hpp"
#include "xgrad/nn.hpp"
#include "xgrad/optim.hpp"
#include "xgrad/random.hpp"

using namespace xg;
using xg_test::relative_gap;

namespace {

/// Sets the kernels for one scope and puts OpenBLAS back after it, even when
/// a check throws: the other test cases expect OpenBLAS's bits.
struct KernelsFor {
  explicit KernelsFor(GemmKernels k) { set_gemm_kernels(k); }
  ~KernelsFor() { set_gemm_kernels(GemmKernels::openblas); }
};

Array random_array(std::size_t rows, std::size_t cols, std::uint64_t seed) {
  Rng rng(seed);
  return Tensor::randn({rows, cols}, rng).value();
}

/// C = alpha·op(A)·op(B) + beta·C0 with the chosen kernels.
Array product(GemmKernels kernels, bool ta, bool tb, std::size_t m, std::size_t n, std::size_t k,
              Scalar alpha, Scalar beta) {
  const Array a = ta ? random_array(k, m, 1) : random_array(m, k, 1);
  const Array b = tb ? random_array(n, k, 2) : random_array(k, n, 2);
  Array c = random_array(m, n, 3);
  KernelsFor use(kernels);
  detail::gemm(ta, tb, alpha, a, b, beta, c);
  return c;
}

}  // namespace

TEST_CASE("gemm kernels: OpenBLAS is the default, names round-trip, unknown names are refused",
          "[gemm]") {
  CHECK(gemm_kernels() == GemmKernels::openblas);
  CHECK(gemm_kernels_from_string("openblas") == GemmKernels::openblas);
  CHECK(gemm_kernels_from_string("libxsmm") == GemmKernels::libxsmm);
  CHECK(to_string(GemmKernels::libxsmm) == "libxsmm");
  CHECK(to_string(GemmKernels::openblas) == "openblas");
  try {
    gemm_kernels_from_string("mkl");
    FAIL("an unknown name was taken");
  } catch (const value_error& e) {
    CHECK(std::string(e.what()).find("'mkl' (known: openblas, libxsmm)") != std::string::npos);
  }
}

TEST_CASE("gemm kernels: libxsmm is refused by name where it was not built", "[gemm]") {
  if (has_libxsmm()) {
    KernelsFor use(GemmKernels::libxsmm);
    CHECK(gemm_kernels() == GemmKernels::libxsmm);
    return;
  }
  CHECK_THROWS_AS(set_gemm_kernels(GemmKernels::libxsmm), value_error);
  CHECK(gemm_kernels() == GemmKernels::openblas);
  // Without libxsmm nothing is ever taken from OpenBLAS.
  std::vector<Scalar> a(4, 1), b(4, 1), c(4, 0);
  CHECK_FALSE(
      detail::libxsmm_gemm(false, false, 2, 2, 2, 1, a.data(), 2, b.data(), 2, 0, c.data(), 2));
}

TEST_CASE("gemm kernels: libxsmm takes what it can generate and leaves the rest", "[gemm]") {
  if (!has_libxsmm()) return;  // the case above checks the refusal
  std::vector<Scalar> a(784 * 100, Scalar(0.5)), b(784 * 100, Scalar(0.25)),
      c(784 * 100, Scalar(0));
  // dW1 = G1ᵀ·X of the book's 784-30-10 network at batch 10: taken.
  CHECK(detail::libxsmm_gemm(true, false, 30, 784, 10, 1, a.data(), 30, b.data(), 784, 0, c.data(),
                             784));
  CHECK(c[0] == Approx(10 * 0.5 * 0.25));
  // The same with the fused step's alpha and beta = 1: taken.
  CHECK(detail::libxsmm_gemm(true, false, 30, 784, 10, Scalar(-0.5), a.data(), 30, b.data(), 784, 1,
                             c.data(), 784));
  CHECK(c[0] == Approx(10 * 0.5 * 0.25 * 0.5));
  // X·Wᵀ (op(B) = Bᵀ), another beta, a large product: left to OpenBLAS.
  CHECK_FALSE(detail::libxsmm_gemm(false, true, 10, 30, 784, 1, a.data(), 784, b.data(), 784, 0,
                                   c.data(), 30));
  CHECK_FALSE(detail::libxsmm_gemm(false, false, 10, 30, 10, 1, a.data(), 10, b.data(), 30,
                                   Scalar(0.5), c.data(), 30));
  CHECK_FALSE(detail::libxsmm_gemm(false, false, 100, 784, 100, 1, a.data(), 100, b.data(), 784, 0,
                                   c.data(), 784));
}

TEST_CASE("gemm kernels: every product agrees with OpenBLAS's to rounding", "[gemm]") {
  if (!has_libxsmm()) return;
  struct Case {
    std::size_t m, n, k;
  };
  for (const Case& s : {Case{10, 30, 784}, Case{30, 784, 10}, Case{10, 10, 30}, Case{7, 3, 5},
                        Case{100, 30, 10}, Case{1, 1, 1}, Case{200, 300, 100}}) {
    for (const bool ta : {false, true})
      for (const bool tb : {false, true})
        for (const Scalar alpha : {Scalar(1), Scalar(-0.25)})
          for (const Scalar beta : {Scalar(0), Scalar(1)}) {
            INFO("m " << s.m << " n " << s.n << " k " << s.k << " ta " << ta << " tb " << tb
                      << " alpha " << alpha << " beta " << beta);
            const Array ours = product(GemmKernels::libxsmm, ta, tb, s.m, s.n, s.k, alpha, beta);
            const Array ref = product(GemmKernels::openblas, ta, tb, s.m, s.n, s.k, alpha, beta);
            CHECK(relative_gap(ref, ours) < xg_test::tol(1e-13, 1e-5));
          }
  }
}

TEST_CASE("gemm kernels: training with libxsmm follows OpenBLAS's run, plain and fused", "[gemm]") {
  if (!has_libxsmm()) return;
  auto train = [](GemmKernels kernels, bool fused) {
    KernelsFor use(kernels);
    Rng rng(5);
    auto model = nn::mlp({784, 30, 10}, "sigmoid", rng);
    const auto cost = make_cost("cross-entropy");
    optim::SGD sgd(model->parameters(), 0.5);
    sgd.set_fused(fused);
    for (int step = 0; step < 20; ++step) {
      Rng data(100 + step);
      const Tensor x = Tensor::rand({10, 784}, data);
      Array y = Array::from_shape({10, 10});
      y.fill(0);
      for (std::size_t i = 0; i < 10; ++i) y(i, (i * 3 + step) % 10) = 1;
      sgd.zero_grad();
      (*cost)((*model)(x), Tensor(y)).backward();
      sgd.step();
    }
    return xg_test::parameter_values(*model);
  };
  for (const bool fused : {false, true}) {
    INFO("fused " << fused);
    const auto ours = train(GemmKernels::libxsmm, fused);
    const auto ref = train(GemmKernels::openblas, fused);
    REQUIRE(ours.size() == ref.size());
    for (std::size_t i = 0; i < ours.size(); ++i)
      CHECK(relative_gap(ref[i], ours[i]) < xg_test::tol(1e-12, 1e-4));
  }
  CHECK(gemm_kernels() == GemmKernels::openblas);
}
