#pragma once
// Shared pieces of xgrad-bench: the gemm floor, memory probes and small
// statistics. Kept out of main.cpp so each file has one job.
#include <cstddef>
#include <vector>

#include "xgrad/scalar.hpp"

namespace xg::bench {

/// The matrix products of one training epoch of an n_in–hidden–n_out network
/// and nothing else: per mini-batch the two forward gemms X·W1ᵀ and h·W2ᵀ and
/// the three backward ones dW2 = Gᵀh, dh = G·W2, dW1 = G1ᵀX (no dX for the
/// first layer, as in training). Straight to cblas_?gemm into buffers
/// allocated once, with the mini-batches read in place from the training
/// inputs, so it is what a framework-free program could not go below.
class GemmFloor {
 public:
  /// `inputs` is the training set (n × n_in, row-major); it must outlive this.
  GemmFloor(const Array& inputs, std::size_t hidden, std::size_t n_out, std::size_t batch);
  /// Runs one epoch of gemms over every mini-batch; returns its wall-clock seconds.
  double epoch();

 private:
  const Array& inputs_;
  std::size_t n_, n_in_, hidden_, n_out_, batch_;
  std::vector<Scalar> w1_, w2_, h_, out_, g2_, dw2_, dh_, dw1_;
};

/// Floating-point operations of one epoch's matrix products (the five gemms
/// of GemmFloor, 2·m·n·k each): per sample 4·hidden·n_in + 6·hidden·n_out, so
/// n·(4·hidden·n_in + 6·hidden·n_out) per epoch of n samples, whatever the
/// batch size. Bias additions, activations and the update are not counted.
double epoch_gemm_flops(std::size_t n, std::size_t n_in, std::size_t hidden, std::size_t n_out);

/// This core's peak in GFLOP/s as BLAS reaches it: a size × size × size
/// ?gemm on one thread, in CPU seconds, best of `repeats` after a warm-up
/// (the best, because other programs on the machine can only slow a run down).
double gemm_peak_gflops(std::size_t size, int repeats);

/// Resident set size now, in bytes (/proc/self/statm); 0 if unreadable.
std::size_t resident_bytes();
/// Peak resident set size of the process so far, in bytes (getrusage ru_maxrss).
std::size_t peak_rss_bytes();

/// Median of a non-empty sample (mean of the middle two for an even count).
double median(std::vector<double> v);

}  // namespace xg::bench
