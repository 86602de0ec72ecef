// xgrad-gather-prefetch: what prefetching the next mini-batch's rows saves,
// measured outside the library (docs/performance.md, "Prefetching the next
// mini-batch"; Batches does it since, in src/data/dataset.cpp).
//
// A stand-in of a batch-10 training epoch of 784-30-10 without the framework:
// 50,000 shuffled rows of 784 random bytes, each mini-batch's 10 rows decoded
// (u8 → double, ÷ 255, as Dataset::copy_input_row does) into a 10 × 784
// buffer, then the gemm floor's five cblas_dgemm. The `prefetch` epochs also
// issue __builtin_prefetch for every 64-byte line of the next mini-batch's
// rows right after decoding the current one, so that those lines arrive
// while the gemms run. Plain and prefetch epochs alternate (--pairs, default
// 10, after one warm-up pair); prints the median CPU seconds of each.
#include <cblas.h>
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdint>
#include <ctime>
#include <fstream>
#include <numeric>
#include <random>
#include <string>
#include <vector>

extern "C" void openblas_set_num_threads(int);

namespace {

double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string one;
  return (f >> one) ? one : "unknown";
}

constexpr int kRows = 50000, kIn = 784, kHidden = 30, kOut = 10, kBatch = 10;

struct Epoch {
  std::vector<std::uint8_t> codes = std::vector<std::uint8_t>(std::size_t{kRows} * kIn);
  std::vector<int> order = std::vector<int>(kRows);
  std::vector<double> x = std::vector<double>(kBatch * kIn),
                      w1 = std::vector<double>(kHidden * kIn, 0.01),
                      w2 = std::vector<double>(kOut * kHidden, 0.01),
                      h = std::vector<double>(kBatch * kHidden),
                      out = std::vector<double>(kBatch * kOut),
                      g2 = std::vector<double>(kBatch * kOut, 0.01),
                      dw2 = std::vector<double>(kOut * kHidden),
                      dh = std::vector<double>(kBatch * kHidden, 0.01),
                      dw1 = std::vector<double>(kHidden * kIn);
  std::mt19937 rng{1};

  Epoch() {
    for (auto& c : codes) c = static_cast<std::uint8_t>(rng() & 255);
    std::iota(order.begin(), order.end(), 0);
  }

  const std::uint8_t* row(int i) const { return codes.data() + std::size_t(order[i]) * kIn; }

  /// One shuffled epoch; its CPU seconds.
  double run(bool prefetch) {
    std::shuffle(order.begin(), order.end(), rng);
    const double c0 = cpu_now();
    for (int s = 0; s < kRows; s += kBatch) {
      for (int r = 0; r < kBatch; ++r) {
        const std::uint8_t* src = row(s + r);
        double* dst = x.data() + r * kIn;
        for (int j = 0; j < kIn; ++j) dst[j] = double(src[j]) / 255.0;
      }
      if (prefetch && s + kBatch < kRows)
        for (int r = 0; r < kBatch; ++r)
          for (int j = 0; j < kIn; j += 64) __builtin_prefetch(row(s + kBatch + r) + j);
      const double* xp = x.data();
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, kBatch, kHidden, kIn, 1, xp, kIn,
                  w1.data(), kIn, 0, h.data(), kHidden);
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, kBatch, kOut, kHidden, 1, h.data(),
                  kHidden, w2.data(), kHidden, 0, out.data(), kOut);
      cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, kOut, kHidden, kBatch, 1, g2.data(),
                  kOut, h.data(), kHidden, 0, dw2.data(), kHidden);
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, kBatch, kHidden, kOut, 1, g2.data(),
                  kOut, w2.data(), kHidden, 0, dh.data(), kHidden);
      cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, kHidden, kIn, kBatch, 1, dh.data(),
                  kHidden, xp, kIn, 0, dw1.data(), kIn);
    }
    return cpu_now() - c0;
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "xgrad-gather-prefetch: a batch-10 epoch's row gather and gemms, with and "
      "without prefetching the next mini-batch's rows (docs/performance.md)"};
  int pairs = 10;
  app.add_option("--pairs", pairs, "alternated plain/prefetch epoch pairs")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  openblas_set_num_threads(1);
  fmt::print("load_average_at_start: {}\n", load_average());
  Epoch epoch;
  epoch.run(false);  // warm-up pair
  epoch.run(true);
  std::vector<double> plain, prefetched;
  for (int p = 0; p < pairs; ++p) {
    plain.push_back(epoch.run(false));
    prefetched.push_back(epoch.run(true));
  }
  fmt::print("pairs: {}\nplain_cpu_seconds: {:.4f}\nprefetch_cpu_seconds: {:.4f}\n", pairs,
             median(plain), median(prefetched));
  fmt::print("load_average_at_end: {}\n", load_average());
  return 0;
}
