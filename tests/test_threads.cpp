// xgrad's own threads: parallel_for's contract (every index once, inline when
// nested or busy, exceptions carried back) and the promise that the thread
// count never changes a number — large products, the optimizers' steps and
// whole training steps are compared bit for bit against one thread. Products
// keep every bit only where OpenBLAS's kernels sum an element of a cut product
// as they sum it in the whole one: its Haswell dgemm kernels do (every shape
// below); its Haswell sgemm kernels do not (thousands of 80,000 elements
// differ when a product is cut in two), nor do its AVX-512 dgemm kernels
// (SkylakeX, Cooperlake: 35 of 1001x97x333's 333,333 elements, next to the
// cut). There, and in the float build, products are compared to rounding.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "precision.hpp"
#include "xgrad/cost.hpp"
#include "xgrad/nn.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/optim.hpp"
#include "xgrad/threads.hpp"

using namespace xg;

namespace {

// Sets a thread count for one scope and puts back the library's default of 1.
struct Threads {
  explicit Threads(int n) { set_num_threads(n); }
  ~Threads() { set_num_threads(1); }
};

bool same_bits(const Array& a, const Array& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(Scalar)) == 0;
}

std::size_t differing(const Array& a, const Array& b) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    n += std::memcmp(a.data() + i, b.data() + i, sizeof(Scalar)) != 0;
  return n;
}

extern "C" char* openblas_get_corename();

// Whether the linked OpenBLAS gives a cut double product the whole one's bits
// (see the top of this file): its kernels for Haswell-class cores, which this
// machine's setting (OPENBLAS_CORETYPE=Haswell) and CI pick. (check_same
// compares float to rounding whatever this says.)
bool blas_cuts_keep_bits() { return std::string(openblas_get_corename()) == "Haswell"; }

// Bit for bit where `bits` (the double build, unless a caller knows the BLAS
// sums cut products differently); otherwise within `float_tol` (float) or
// 1e-12 (double) of the largest magnitude.
void check_same(const Array& one, const Array& many, double float_tol, bool bits = true) {
  INFO(differing(one, many) << " of " << one.size() << " elements differ");
  if (!xg_test::single_precision && bits) {
    CHECK(same_bits(one, many));
    return;
  }
  const double tol = xg_test::single_precision ? float_tol : 1e-12;
  REQUIRE(one.shape() == many.shape());
  double worst = 0, scale = 1;
  for (std::size_t i = 0; i < one.size(); ++i) {
    worst = std::max(worst, std::abs(double(one.data()[i]) - double(many.data()[i])));
    scale = std::max(scale, std::abs(double(one.data()[i])));
  }
  CHECK(worst <= tol * scale);
}

}  // namespace

TEST_CASE("set_num_threads / num_threads, and the older set_blas_threads names", "[threads]") {
  set_num_threads(3);
  CHECK(num_threads() == 3);
  set_num_threads(0);  // below 1 means 1
  CHECK(num_threads() == 1);
  set_blas_threads(2);
  CHECK(num_threads() == 2);
  CHECK(blas_threads() == 2);
  set_blas_threads(1);
  CHECK(num_threads() == 1);
}

TEST_CASE("parallel_for runs every index exactly once, in pieces of at least the grain",
          "[threads]") {
  for (int threads : {1, 2, 3, 5}) {
    Threads t(threads);
    for (std::size_t n : {0u, 1u, 7u, 64u, 1000u, 100003u}) {
      for (std::size_t grain : {1u, 10u, 5000u}) {
        std::vector<std::atomic<int>> hits(n);
        std::mutex mu;
        std::vector<std::pair<std::size_t, std::size_t>> pieces;
        parallel_for(n, grain, [&](std::size_t b, std::size_t e) {
          for (std::size_t i = b; i < e; ++i) hits[i]++;
          std::lock_guard<std::mutex> lock(mu);
          pieces.emplace_back(b, e);
        });
        INFO("threads " << threads << ", n " << n << ", grain " << grain);
        CHECK(std::all_of(hits.begin(), hits.end(),
                          [](const std::atomic<int>& h) { return h == 1; }));
        CHECK(pieces.size() <= static_cast<std::size_t>(threads));
        if (n == 0) CHECK(pieces.empty());
        if (pieces.size() > 1)
          for (auto [b, e] : pieces) CHECK(e - b >= grain);
        if (threads > 1 && n >= 2 * grain && n > 0) CHECK(pieces.size() >= 2);
      }
    }
  }
}

TEST_CASE("parallel_for carries an exception back and stays usable", "[threads]") {
  Threads t(2);
  // The second piece runs on a worker: its exception must reach the caller.
  CHECK_THROWS_WITH(parallel_for(100, 10,
                                 [](std::size_t b, std::size_t) {
                                   if (b > 0) throw std::runtime_error("piece failed");
                                 }),
                    "piece failed");
  CHECK_THROWS_WITH(
      parallel_for(100, 10, [](std::size_t, std::size_t) { throw std::runtime_error("both"); }),
      "both");
  std::atomic<std::size_t> sum{0};
  parallel_for(1000, 10, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) sum += i;
  });
  CHECK(sum == 999u * 1000u / 2);
}

TEST_CASE("parallel_for nested in a piece, or from two threads at once, runs inline", "[threads]") {
  Threads t(2);
  std::vector<int> out(400, 0);
  parallel_for(4, 1, [&](std::size_t b, std::size_t e) {
    for (std::size_t r = b; r < e; ++r)
      parallel_for(100, 10, [&](std::size_t c0, std::size_t c1) {
        for (std::size_t c = c0; c < c1; ++c) out[r * 100 + c] += 1;
      });
  });
  CHECK(std::all_of(out.begin(), out.end(), [](int v) { return v == 1; }));

  std::vector<long> a(200000, 0), b(200000, 0);
  auto fill = [](std::vector<long>& v) {
    for (int round = 0; round < 50; ++round)
      parallel_for(v.size(), 1000, [&](std::size_t i0, std::size_t i1) {
        for (std::size_t i = i0; i < i1; ++i) v[i] += static_cast<long>(i);
      });
  };
  std::thread other([&] { fill(b); });
  fill(a);
  other.join();
  for (std::size_t i = 0; i < a.size(); i += 997) {
    CHECK(a[i] == 50 * static_cast<long>(i));
    CHECK(b[i] == 50 * static_cast<long>(i));
  }
}

TEST_CASE("large matrix products have the same bits on 1, 2 and 3 threads", "[threads][blas]") {
  INFO("OpenBLAS core " << openblas_get_corename());
  const bool bits = blas_cuts_keep_bits();
  Rng rng(11);
  struct Case {
    std::size_t m, k, n;
  };
  // 784-800-10's two large products at batch 100 and 10, and shapes whose
  // blocks do not fall on the 16-row alignment.
  for (Case c : {Case{100, 784, 800}, Case{800, 100, 784}, Case{10, 784, 800}, Case{97, 333, 1001},
                 Case{1001, 97, 333}, Case{250, 200, 300}}) {
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        const Tensor a = Tensor::randn(ta ? Shape{c.k, c.m} : Shape{c.m, c.k}, rng);
        const Tensor b = Tensor::randn(tb ? Shape{c.n, c.k} : Shape{c.k, c.n}, rng);
        const Array one = matmul(a, b, ta, tb).value();
        for (int threads : {2, 3}) {
          Threads t(threads);
          const Array many = matmul(a, b, ta, tb).value();
          INFO(c.m << "x" << c.k << "x" << c.n << " trans " << ta << tb << ", " << threads
                   << " threads");
          check_same(one, many, 1e-5, bits);
        }
      }
  }
}

TEST_CASE("every optimizer's step has the same bits on 1 and 2 threads", "[threads][optim]") {
  for (const std::string& rule : optim::optimizer_names()) {
    for (auto [l2, l1] : {std::pair{0.0, 0.0}, std::pair{5.0, 0.0}, std::pair{5.0, 1.0}}) {
      auto run = [&, l2 = l2, l1 = l1](int threads) {
        Threads t(threads);
        Rng rng(3);
        // 800·783 elements: the last piece ends off the 64-element alignment.
        Tensor w = Tensor::randn({800, 783}, rng, 0.0, 1.0, true);
        Tensor bias = Tensor::randn({800}, rng, 0.0, 1.0, true);
        const double mu = rule == "momentum" || rule == "nesterov" ? 0.9 : 0.0;
        auto opt = optim::make_optimizer(rule, {w, bias}, 0.05, mu, {l2, l1, 50000, {w}});
        for (int step = 0; step < 3; ++step) {
          opt->zero_grad();
          sum(w * w * Scalar(0.5) + w * Scalar(0.1)).backward();
          sum(bias * bias).backward();
          opt->step();
        }
        return std::pair{w.value(), bias.value()};
      };
      const auto one = run(1), two = run(2);
      INFO(rule << ", l2 " << l2 << ", l1 " << l1 << ": " << differing(one.first, two.first)
                << " weights differ");
      CHECK(same_bits(one.first, two.first));
      CHECK(same_bits(one.second, two.second));
    }
  }
}

TEST_CASE("training steps of a wide network have the same bits on 1 and 2 threads",
          "[threads][fit]") {
  auto train = [](int threads) {
    Threads t(threads);
    Rng rng(7);
    auto model = nn::mlp({256, 600, 10}, "sigmoid", rng);
    const Tensor x = Tensor::rand({100, 256}, rng);
    Array y = Array::from_shape({100, 10});
    y.fill(0);
    for (std::size_t i = 0; i < 100; ++i) y(i, i % 10) = 1;
    const auto cost = make_cost("cross-entropy");
    optim::SGD sgd(model->parameters(), 0.5, {5.0, 0.0, 1000, model->weights()});
    for (int step = 0; step < 4; ++step) {
      sgd.zero_grad();
      (*cost)((*model)(x), Tensor(y)).backward();
      sgd.step();
    }
    std::vector<Array> values;
    for (const Tensor& p : model->parameters()) values.push_back(p.value());
    return values;
  };
  const auto one = train(1), two = train(2);
  REQUIRE(one.size() == two.size());
  for (std::size_t i = 0; i < one.size(); ++i) {
    INFO("parameter " << i);
    check_same(one[i], two[i], 1e-4);
  }
}
