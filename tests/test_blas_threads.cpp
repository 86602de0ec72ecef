// The BLAS thread setting: its getter, its floor of one thread, and the same
// product with two threads, to rounding: OpenBLAS's threaded kernels do not
// sum every element in the same order as the single-threaded ones (on this
// machine a few hundred of 75,000 elements differ in their last bits), so a
// run's numbers depend on the thread count (docs/distributed.md).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <thread>

#include "precision.hpp"
#include "xgrad/ops.hpp"

using namespace xg;

TEST_CASE("set_blas_threads / blas_threads set and read OpenBLAS's thread count", "[blas]") {
  set_blas_threads(1);
  CHECK(blas_threads() == 1);
  set_blas_threads(0);  // below 1 means 1
  CHECK(blas_threads() == 1);

  Rng rng(5);
  const Tensor a = Tensor::randn({300, 200}, rng), b = Tensor::randn({250, 200}, rng);
  const Array one = matmul(a, b, false, true).value();
  set_blas_threads(2);
  if (std::thread::hardware_concurrency() >= 2) CHECK(blas_threads() == 2);
  const Array two = matmul(a, b, false, true).value();
  set_blas_threads(1);  // the library's default, for the tests that follow
  CHECK(blas_threads() == 1);
  REQUIRE(one.shape() == two.shape());
  double worst = 0, scale = 0;
  for (std::size_t i = 0; i < one.size(); ++i) {
    worst = std::max(worst, std::abs(double(one.data()[i]) - double(two.data()[i])));
    scale = std::max(scale, std::abs(double(one.data()[i])));
  }
  CHECK(scale > 1.0);
  CHECK(worst <= xg_test::tol(1e-12) * scale);
}
