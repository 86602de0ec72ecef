// xgrad-small-gemm: would a small-matrix kernel library beat OpenBLAS on the
// book's exact gemm shapes? For each network of xgrad-bench it runs the five
// products of a training epoch (the gemm floor: X·W1ᵀ, h·W2ᵀ, dW2 = Gᵀh,
// dh = G·W2, dW1 = G1ᵀX per mini-batch, the mini-batches read in place from
// a 50,000 × 784 input matrix) with OpenBLAS and with
//   - libxsmm (f64 JIT kernels), weights held pre-transposed for the forward
//     products (its JIT has no transposed A, see small_gemm.hpp): the epoch
//     computes dW1ᵀ = Xᵀ·G1 for a W1ᵀ-major layer, and copies W2 (10 × h)
//     to W2ᵀ once per mini-batch, which is counted (and, as a second
//     figure, W1 to W1ᵀ too: the cost of keeping the library's layout);
//   - libxsmm as the library runs it (xg::set_gemm_kernels(libxsmm), f64
//     and f32): the weights in xgrad's own layout, the two forward products
//     X·W1ᵀ and h·W2ᵀ through OpenBLAS, the three others through libxsmm;
//   - serial BLIS (f32, bli_sgemm) in the floor's own forms,
// epochs interleaved round by round so load from other programs hits all
// alike; and checks each library's products against OpenBLAS's.
// Prints `name: value` lines, seconds being CPU seconds of the process (one
// thread throughout); see docs/performance.md.
#include "small_gemm.hpp"

#include <cblas.h>
#include <dlfcn.h>
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <string>
#include <vector>

extern "C" char* openblas_get_config();
extern "C" void openblas_set_num_threads(int);

namespace {

/// CPU seconds of the process (everything runs on this one thread): steadier
/// than wall time while other programs share the cores.
double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

template <class T>
void line(const std::string& name, const T& value) {
  fmt::print("{}: {}\n", name, value);
  std::fflush(stdout);
}

std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string one;
  return (f >> one) ? one : "unknown";
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/// The shared object a symbol comes from: BLIS exports CBLAS too, so this
/// proves that the OpenBLAS side of the comparison is OpenBLAS.
std::string library_of(void* symbol) {
  Dl_info info{};
  return dladdr(symbol, &info) && info.dli_fname ? info.dli_fname : "unknown";
}

template <class T>
void fill(std::vector<T>& v, std::size_t size, unsigned seed) {
  v.resize(size);
  for (std::size_t i = 0; i < size; ++i) v[i] = T(0.01) * T(1 + (i * 7919 + seed) % 97);
}

template <class T>
void openblas(bool ta, bool tb, int m, int n, int k, const T* a, int lda, const T* b, int ldb, T* c,
              int ldc) {
  const auto opa = ta ? CblasTrans : CblasNoTrans, opb = tb ? CblasTrans : CblasNoTrans;
  if constexpr (sizeof(T) == sizeof(float))
    cblas_sgemm(CblasRowMajor, opa, opb, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
  else
    cblas_dgemm(CblasRowMajor, opa, opb, m, n, k, 1.0, a, lda, b, ldb, 0.0, c, ldc);
}

/// One network's buffers: inputs (n × 784), weights, activations, gradients.
template <class T>
struct Problem {
  int n, n_in = 784, hidden, n_out = 10, batch;
  std::vector<T> x, w1, w1t, w2, w2t, h, out, g2, dw2, dh, dw1, dw1t;
  Problem(int n_, int hidden_, int batch_) : n(n_), hidden(hidden_), batch(batch_) {
    fill(x, static_cast<std::size_t>(n) * n_in, 1);
    fill(w1, static_cast<std::size_t>(hidden) * n_in, 2);
    w1t.resize(w1.size());
    for (int i = 0; i < hidden; ++i)
      for (int j = 0; j < n_in; ++j) w1t[j * hidden + i] = w1[i * n_in + j];
    fill(w2, static_cast<std::size_t>(n_out) * hidden, 3);
    w2t.resize(w2.size());
    fill(h, static_cast<std::size_t>(batch) * hidden, 4);
    fill(out, static_cast<std::size_t>(batch) * n_out, 5);
    fill(g2, static_cast<std::size_t>(batch) * n_out, 6);
    fill(dw2, w2.size(), 7);
    fill(dh, h.size(), 8);
    fill(dw1, w1.size(), 9);
    fill(dw1t, w1.size(), 10);
  }
  const T* batch_x(int start) const { return x.data() + static_cast<std::size_t>(start) * n_in; }
};

/// The floor's epoch through a row-major gemm `f` (OpenBLAS or BLIS).
template <class T, class F>
double floor_epoch(Problem<T>& p, F f) {
  const double t0 = cpu_now();
  for (int start = 0; start < p.n; start += p.batch) {
    const int m = std::min(p.batch, p.n - start), nin = p.n_in, hid = p.hidden, nout = p.n_out;
    const T* x = p.batch_x(start);
    f(false, true, m, hid, nin, x, nin, p.w1.data(), nin, p.h.data(), hid);
    f(false, true, m, nout, hid, p.h.data(), hid, p.w2.data(), hid, p.out.data(), nout);
    f(true, false, nout, hid, m, p.g2.data(), nout, p.h.data(), hid, p.dw2.data(), hid);
    f(false, false, m, hid, nout, p.g2.data(), nout, p.w2.data(), hid, p.dh.data(), hid);
    f(true, false, hid, nin, m, p.dh.data(), hid, x, nin, p.dw1.data(), nin);
  }
  return cpu_now() - t0;
}

#ifdef XGRAD_HAVE_LIBXSMM
/// The five products as libxsmm kernels for mini-batches of m rows.
struct XsmmKernels {
  xg::bench::XsmmGemm fwd1, fwd2, dw2, dh, dw1t;
  XsmmKernels(int m, int nin, int hid, int nout)
      : fwd1(false, m, hid, nin, nin, hid, hid),     // h = X·W1ᵀ, W1ᵀ stored (784 × h)
        fwd2(false, m, nout, hid, hid, nout, nout),  // h·W2ᵀ, W2ᵀ copied per batch
        dw2(true, nout, hid, m, nout, hid, hid),     // dW2 = Gᵀ·h
        dh(false, m, hid, nout, nout, hid, hid),     // dh = G·W2
        dw1t(true, nin, hid, m, nin, hid, hid) {}    // dW1ᵀ = Xᵀ·G1
};

/// `copy_w1`: also transpose W1 (h × 784) into W1ᵀ every mini-batch, the
/// price of keeping the weights in the library's own layout.
double xsmm_epoch(Problem<double>& p, const XsmmKernels& full, const XsmmKernels* last,
                  bool copy_w1 = false) {
  const double t0 = cpu_now();
  for (int start = 0; start < p.n; start += p.batch) {
    const int m = std::min(p.batch, p.n - start);
    const XsmmKernels& k = m == p.batch ? full : *last;
    const double* x = p.batch_x(start);
    for (int i = 0; i < p.n_out; ++i)  // the forward wants W2ᵀ; SGD updates W2
      for (int j = 0; j < p.hidden; ++j) p.w2t[j * p.n_out + i] = p.w2[i * p.hidden + j];
    if (copy_w1)
      for (int i = 0; i < p.hidden; ++i)
        for (int j = 0; j < p.n_in; ++j) p.w1t[j * p.hidden + i] = p.w1[i * p.n_in + j];
    k.fwd1(x, p.w1t.data(), p.h.data());
    k.fwd2(p.h.data(), p.w2t.data(), p.out.data());
    k.dw2(p.g2.data(), p.h.data(), p.dw2.data());
    k.dh(p.g2.data(), p.w2.data(), p.dh.data());
    k.dw1t(x, p.dh.data(), p.dw1t.data());
  }
  return cpu_now() - t0;
}
#endif

/// Largest |a − b| / max(1, |b|) over a product: a library's result against OpenBLAS's.
template <class T>
double max_rel_diff(const std::vector<T>& a, const std::vector<T>& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst,
                     std::abs(double(a[i]) - double(b[i])) / std::max(1.0, std::abs(double(b[i]))));
  return worst;
}

/// One mini-batch's five products with OpenBLAS and with `other` (a
/// function running them into a Problem); the largest relative difference
/// over the five outputs. `gives_dw1t`: `other` writes dW1ᵀ (the libxsmm
/// layout), compared transposed.
template <class T, class Other>
double check(int hidden, int batch, bool gives_dw1t, Other other) {
  Problem<T> p(batch, hidden, batch);  // one mini-batch
  floor_epoch(p, openblas<T>);
  const std::vector<T> h = p.h, out = p.out, dw2 = p.dw2, dh = p.dh, dw1 = p.dw1;
  other(p);
  if (gives_dw1t)
    for (int i = 0; i < hidden; ++i)
      for (int j = 0; j < p.n_in; ++j) p.dw1[i * p.n_in + j] = p.dw1t[j * hidden + i];
  return std::max({max_rel_diff(p.h, h), max_rel_diff(p.out, out), max_rel_diff(p.dw2, dw2),
                   max_rel_diff(p.dh, dh), max_rel_diff(p.dw1, dw1)});
}

struct Config {
  int hidden, batch;
  std::string tag() const { return fmt::format("784-{}-10_b{}", hidden, batch); }
};

/// `rounds` epochs of OpenBLAS and of a library, alternated: the median of
/// each (`<lib>_openblas_seconds_*`, `<lib>_seconds_*`) and the speed-up
/// (OpenBLAS seconds / library seconds).
template <class T, class Lib>
void compare(const Config& cfg, int n, int rounds, const std::string& lib_name, Lib lib_epoch) {
  Problem<T> p(n, cfg.hidden, cfg.batch);
  floor_epoch(p, openblas<T>);  // warm-up, both
  lib_epoch(p);
  std::vector<double> ob, lib;
  for (int r = 0; r < rounds; ++r) {
    ob.push_back(floor_epoch(p, openblas<T>));
    lib.push_back(lib_epoch(p));
  }
  line(fmt::format("{}_openblas_seconds_{}", lib_name, cfg.tag()),
       fmt::format("{:.4f}", median(ob)));
  line(fmt::format("{}_seconds_{}", lib_name, cfg.tag()), fmt::format("{:.4f}", median(lib)));
  line(fmt::format("{}_speedup_{}", lib_name, cfg.tag()),
       fmt::format("{:.3f}", median(ob) / median(lib)));
}

#ifdef XGRAD_HAVE_LIBXSMM
/// The three products libxsmm takes in the library (see the top of this file).
struct LibraryRuleKernels {
  xg::bench::XsmmGemm dw2, dh, dw1;
  LibraryRuleKernels(int m, int nin, int hid, int nout, bool single)
      : dw2(true, nout, hid, m, nout, hid, hid, single),  // dW2 = Gᵀ·h
        dh(false, m, hid, nout, nout, hid, hid, single),  // dh = G·W2
        dw1(true, hid, nin, m, hid, nin, nin, single) {}  // dW1 = G1ᵀ·X
};

template <class T>
double library_rule_epoch(Problem<T>& p, const LibraryRuleKernels& full,
                          const LibraryRuleKernels* last) {
  const double t0 = cpu_now();
  for (int start = 0; start < p.n; start += p.batch) {
    const int m = std::min(p.batch, p.n - start), nin = p.n_in, hid = p.hidden, nout = p.n_out;
    const LibraryRuleKernels& k = m == p.batch ? full : *last;
    const T* x = p.batch_x(start);
    openblas<T>(false, true, m, hid, nin, x, nin, p.w1.data(), nin, p.h.data(), hid);
    openblas<T>(false, true, m, nout, hid, p.h.data(), hid, p.w2.data(), hid, p.out.data(), nout);
    k.dw2(p.g2.data(), p.h.data(), p.dw2.data());
    k.dh(p.g2.data(), p.w2.data(), p.dh.data());
    k.dw1(p.dh.data(), x, p.dw1.data());
  }
  return cpu_now() - t0;
}

template <class T>
void compare_library_rule(const Config& cfg, int n, int rounds, const std::string& name) {
  const bool single = sizeof(T) == sizeof(float);
  const LibraryRuleKernels full(cfg.batch, 784, cfg.hidden, 10, single);
  std::unique_ptr<LibraryRuleKernels> last;
  if (n % cfg.batch)
    last = std::make_unique<LibraryRuleKernels>(n % cfg.batch, 784, cfg.hidden, 10, single);
  line(name + "_max_rel_diff_" + cfg.tag(),
       fmt::format("{:.3g}", check<T>(cfg.hidden, cfg.batch, false, [&](Problem<T>& p) {
                     library_rule_epoch(p, full, last.get());
                   })));
  compare<T>(cfg, n, rounds, name,
             [&](Problem<T>& p) { return library_rule_epoch(p, full, last.get()); });
}
#endif

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "xgrad-small-gemm: libxsmm (f64) and BLIS (f32) against OpenBLAS on the gemm "
      "shapes of the book's network (docs/performance.md)"};
  int rounds = 5;
  bool quick = false;
  app.add_option("--rounds", rounds, "epochs of each library per network (median reported)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_flag("--quick", quick, "one round, 10,000 inputs (smoke test)");
  CLI11_PARSE(app, argc, argv);
  if (quick) rounds = 1;
  const int n = quick ? 10000 : 50000;

  openblas_set_num_threads(1);
  line("blas", openblas_get_config());
  line("cblas_dgemm_from", library_of(reinterpret_cast<void*>(&cblas_dgemm)));
  line("cblas_sgemm_from", library_of(reinterpret_cast<void*>(&cblas_sgemm)));
  for (void* f : {reinterpret_cast<void*>(&cblas_dgemm), reinterpret_cast<void*>(&cblas_sgemm)}) {
    if (library_of(f).find("openblas") == std::string::npos) {
      fmt::print(stderr,
                 "xgrad-small-gemm: cblas_?gemm does not come from OpenBLAS (link order)\n");
      return 1;
    }
  }
  for (const char* var : {"OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"}) {
    const char* value = std::getenv(var);
    line(fmt::format("env_{}", var), value ? value : "unset");
  }
  line("inputs", n);
  line("rounds", rounds);
  line("load_average_at_start", load_average());
  const std::vector<Config> configs = {{30, 10}, {100, 10}, {30, 100}};

#ifdef XGRAD_HAVE_LIBXSMM
  line("libxsmm", xg::bench::xsmm_description());
  for (const Config& cfg : configs) {
    const XsmmKernels full(cfg.batch, 784, cfg.hidden, 10);
    const int rest = n % cfg.batch;
    std::unique_ptr<XsmmKernels> last;
    if (rest) last = std::make_unique<XsmmKernels>(rest, 784, cfg.hidden, 10);
    if (&cfg == &configs.front())
      line("libxsmm_transposed_a_copied",
           full.dw2.copies_a() || full.dw1t.copies_a() ? "yes" : "no");
    line("libxsmm_max_rel_diff_" + cfg.tag(),
         fmt::format("{:.3g}", check<double>(cfg.hidden, cfg.batch, true, [&](Problem<double>& p) {
                       xsmm_epoch(p, full, last.get());
                     })));
    compare<double>(cfg, n, rounds, "libxsmm_f64",
                    [&](Problem<double>& p) { return xsmm_epoch(p, full, last.get()); });
    compare<double>(cfg, n, rounds, "libxsmm_f64_w1_copied",
                    [&](Problem<double>& p) { return xsmm_epoch(p, full, last.get(), true); });
    compare_library_rule<double>(cfg, n, rounds, "library_rule_f64");
    compare_library_rule<float>(cfg, n, rounds, "library_rule_f32");
  }
#else
  line("libxsmm", "not built (no libxsmm-dev when configured)");
#endif

#ifdef XGRAD_HAVE_BLIS
  line("blis", xg::bench::blis_description());
  for (const Config& cfg : configs) {
    line("blis_max_rel_diff_" + cfg.tag(),
         fmt::format("{:.3g}", check<float>(cfg.hidden, cfg.batch, false, [](Problem<float>& p) {
                       floor_epoch(p, xg::bench::blis_sgemm);
                     })));
    compare<float>(cfg, n, rounds, "blis_f32",
                   [](Problem<float>& p) { return floor_epoch(p, xg::bench::blis_sgemm); });
  }
#else
  line("blis", "not built (no libblis-serial-dev when configured)");
#endif
  line("load_average_at_end", load_average());
  return 0;
}
