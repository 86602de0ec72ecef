// The gemm floor of an epoch, and the memory probes.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>

#include "bench.hpp"
#include "cblas.hpp"

namespace xg::bench {

namespace {

/// Row-major C (m × n) = op(A)·op(B) with beta = 0, the same call the library
/// makes for a fresh gradient buffer or a forward product.
void gemm(bool ta, bool tb, int m, int n, int k, const Scalar* a, int lda, const Scalar* b, int ldb,
          Scalar* c, int ldc) {
  cblas_gemm(ta, tb, m, n, k, Scalar(1), a, lda, b, ldb, Scalar(0), c, ldc);
}

/// Small non-zero values: gemm timing does not depend on them, but zeros or
/// denormals could take other paths in some kernels.
void fill(std::vector<Scalar>& v, std::size_t size) {
  v.resize(size);
  for (std::size_t i = 0; i < size; ++i) v[i] = Scalar(0.01) * Scalar(1 + (i * 7919) % 97);
}

}  // namespace

GemmFloor::GemmFloor(const Array& inputs, std::size_t hidden, std::size_t n_out, std::size_t batch)
    : inputs_(inputs),
      n_(inputs.shape()[0]),
      n_in_(inputs.shape()[1]),
      hidden_(hidden),
      n_out_(n_out),
      batch_(batch) {
  fill(w1_, hidden * n_in_);
  fill(w2_, n_out * hidden);
  fill(h_, batch * hidden);
  fill(out_, batch * n_out);
  fill(g2_, batch * n_out);
  fill(dw2_, n_out * hidden);
  fill(dh_, batch * hidden);
  fill(dw1_, hidden * n_in_);
}

double GemmFloor::epoch() {
  const int nin = static_cast<int>(n_in_), hid = static_cast<int>(hidden_),
            nout = static_cast<int>(n_out_);
  const auto t0 = std::chrono::steady_clock::now();
  for (std::size_t start = 0; start < n_; start += batch_) {
    const int m = static_cast<int>(std::min(batch_, n_ - start));
    const Scalar* x = inputs_.data() + start * n_in_;
    gemm(false, true, m, hid, nin, x, nin, w1_.data(), nin, h_.data(), hid);  // h = X·W1ᵀ
    gemm(false, true, m, nout, hid, h_.data(), hid, w2_.data(), hid, out_.data(), nout);  // h·W2ᵀ
    gemm(true, false, nout, hid, m, g2_.data(), nout, h_.data(), hid, dw2_.data(), hid);   // Gᵀh
    gemm(false, false, m, hid, nout, g2_.data(), nout, w2_.data(), hid, dh_.data(), hid);  // G·W2
    gemm(true, false, hid, nin, m, dh_.data(), hid, x, nin, dw1_.data(), nin);  // dW1 = G1ᵀX
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double epoch_gemm_flops(std::size_t n, std::size_t n_in, std::size_t hidden, std::size_t n_out) {
  // Per mini-batch of m rows: forward 2·m·h·n_in + 2·m·n_out·h, backward
  // dW2 2·n_out·h·m, dh 2·m·h·n_out, dW1 2·h·n_in·m; the sum is linear in m.
  const double h = static_cast<double>(hidden);
  return static_cast<double>(n) *
         (4.0 * h * static_cast<double>(n_in) + 6.0 * h * static_cast<double>(n_out));
}

double gemm_peak_gflops(std::size_t size, int repeats) {
  std::vector<Scalar> a, b, c;
  fill(a, size * size);
  fill(b, size * size);
  fill(c, size * size);
  const int s = static_cast<int>(size);
  // CPU time of the process (one BLAS thread): a share of a core taken by
  // another program does not count against the peak.
  auto cpu_now = [] {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  };
  double best = 0;
  for (int r = 0; r <= repeats; ++r) {  // r == 0 is the warm-up
    const double c0 = cpu_now();
    gemm(false, false, s, s, s, a.data(), s, b.data(), s, c.data(), s);
    const double secs = cpu_now() - c0;
    if (r > 0) best = std::max(best, 2.0 * std::pow(static_cast<double>(size), 3) / secs / 1e9);
  }
  return best;
}

std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

std::size_t peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<std::size_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace xg::bench
