// xgrad-bench: the training speed of the book's network through xgrad's
// public API, set against the gemm floor of the same epoch, plus evaluation
// throughput, autograd overhead per node and memory. Every figure is measured
// in this run and printed as a `name: value` line; the last line is
// `ratio_to_floor` for 784-30-10 with mini-batches of 10.
// What the figures mean and the targets: docs/performance.md.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench.hpp"
#include "handwritten.hpp"
#include "training.hpp"
#include "transforms.hpp"
#include "xgrad/cost.hpp"
#include "xgrad/data/mnist.hpp"
#include "xgrad/data/transforms.hpp"
#include "xgrad/gemm.hpp"
#include "xgrad/nn.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/optim.hpp"
#include "xgrad/threads.hpp"
#include "xgrad/train/fit.hpp"

extern "C" char* openblas_get_config();

namespace {

using Clock = std::chrono::steady_clock;
using namespace xg;
using bench::Network;
using bench::training_only;

constexpr double kMiB = 1024.0 * 1024.0;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

/// CPU seconds this process has used: less sensitive than wall time to other
/// programs sharing the cores (BLAS runs on this one thread).
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

/// The 1-minute load average: how busy the machine was while measuring.
std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string one;
  return (f >> one) ? one : "unknown";
}

template <class T>
void line(const std::string& name, const T& value) {
  fmt::print("{}: {}\n", name, value);
  std::fflush(stdout);  // progress is visible while the next figure is measured
}
void line(const std::string& name, double value, int digits) {
  fmt::print("{}: {:.{}f}\n", name, value, digits);
  std::fflush(stdout);
}

struct Config {
  std::size_t hidden;
  std::size_t batch;
  std::string tag() const { return fmt::format("784-{}-10_b{}", hidden, batch); }
};

struct ConfigResult {
  double epoch_seconds = 0, floor_seconds = 0, fused_seconds = 0;  // wall clock, medians
  double epoch_cpu = 0, floor_cpu = 0, fused_cpu = 0;              // CPU time, medians
  double handwritten_cpu = 0;                                      // CPU time, median
};

/// Warm-up epoch, then `epochs` rounds of one training epoch with plain SGD,
/// one with fused SGD (the same start and data order), one of the
/// hand-written network (the same again) and one floor epoch: interleaving
/// makes the ratios robust to other load on the machine.
ConfigResult measure_config(const Config& cfg, const data::Mnist& mnist, const Array& floor_inputs,
                            std::size_t epochs, Network& net, Network& fused,
                            bench::HandwrittenMlp& hand) {
  Rng shuffle(1234), fused_shuffle(1234), hand_shuffle(1234);
  data::Batches hand_batches(mnist.training, cfg.batch, &hand_shuffle);
  train::FitOptions o = training_only(cfg.batch, shuffle);
  train::FitOptions fo = training_only(cfg.batch, fused_shuffle);
  bench::GemmFloor floor(floor_inputs, cfg.hidden, 10, cfg.batch);

  // One epoch of `n` (options `opt`): wall seconds of the epoch, CPU seconds of the call.
  auto train_epoch = [&](Network& n, train::FitOptions& opt, std::vector<double>& wall,
                         std::vector<double>& cpu) {
    const double c0 = cpu_seconds();
    train::History h = train::fit(*n.model, *n.cost, *n.sgd, mnist.training, opt);
    cpu.push_back(cpu_seconds() - c0);  // includes fit's small per-call setup
    wall.push_back(h.epochs.at(0).seconds);
  };
  std::vector<double> warm_wall, warm_cpu;  // warm-ups, not reported
  train_epoch(net, o, warm_wall, warm_cpu);
  train_epoch(fused, fo, warm_wall, warm_cpu);
  hand.epoch(hand_batches);
  floor.epoch();
  std::vector<double> train_s, floor_s, train_cpu, floor_cpu, fused_s, fused_cpu, hand_cpu;
  for (std::size_t e = 0; e < epochs; ++e) {
    o.first_epoch = fo.first_epoch = e + 1;
    train_epoch(net, o, train_s, train_cpu);
    train_epoch(fused, fo, fused_s, fused_cpu);
    double c0 = cpu_seconds();
    hand.epoch(hand_batches);
    hand_cpu.push_back(cpu_seconds() - c0);
    c0 = cpu_seconds();
    floor_s.push_back(floor.epoch());
    floor_cpu.push_back(cpu_seconds() - c0);
  }
  return {bench::median(train_s),   bench::median(floor_s),   bench::median(fused_s),
          bench::median(train_cpu), bench::median(floor_cpu), bench::median(fused_cpu),
          bench::median(hand_cpu)};
}

/// Forward+backward through a chain of 2n tiny elementwise nodes (1×8) and a
/// sum: total time over the number of nodes, graph teardown included, nothing
/// subtracted. `bytes_per_node` is the resident-memory growth per node while
/// the first chain's graph is alive (an estimate: the allocator reuses memory).
struct AutogradResult {
  std::size_t nodes = 0;
  double us_per_node = 0, cpu_us_per_node = 0, bytes_per_node = 0;
};

AutogradResult autograd_overhead(std::size_t n, std::size_t repeats) {
  AutogradResult res;
  res.nodes = 2 * n + 1;
  const double nodes = static_cast<double>(res.nodes);
  std::vector<double> wall, cpu;
  for (std::size_t r = 0; r < repeats; ++r) {
    Tensor x = Tensor::ones({1, 8}, true);
    const auto t0 = Clock::now();
    const double c0 = cpu_seconds();
    {
      const std::size_t before = r == 0 ? bench::resident_bytes() : 0;
      Tensor y = x;
      for (std::size_t i = 0; i < n; ++i) y = y * Scalar(1.0001) + Scalar(0.0);
      if (r == 0)
        res.bytes_per_node =
            (static_cast<double>(bench::resident_bytes()) - static_cast<double>(before)) / nodes;
      sum(y).backward();
    }
    cpu.push_back((cpu_seconds() - c0) * 1e6 / nodes);
    wall.push_back(seconds_since(t0) * 1e6 / nodes);
    const double expected = std::pow(1.0001, static_cast<double>(n));
    const double got = x.grad().data()[0];
    if (!(std::abs(got - expected) <= 0.05 * expected))
      fmt::print(stderr, "xgrad-bench: warning: autograd chain gradient {} differs from {}\n", got,
                 expected);
  }
  res.us_per_node = bench::median(wall);
  res.cpu_us_per_node = bench::median(cpu);
  return res;
}

bool has_idx(const std::filesystem::path& dir, const char* name) {
  return std::filesystem::exists(dir / name) ||
         std::filesystem::exists(dir / (std::string(name) + ".gz"));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "xgrad-bench: seconds per training epoch of the book's MNIST network against the gemm "
      "floor, evaluation throughput, autograd overhead and memory (docs/performance.md)"};
  std::string data_dir = "data/mnist";
  std::size_t epochs = 3;
  bool quick = false;
  app.add_option("--data", data_dir, "directory holding the four MNIST IDX files")
      ->capture_default_str();
  app.add_option("--epochs", epochs, "timed epochs per configuration (median reported)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_flag("--quick", quick, "one timed epoch per configuration, shorter probes (smoke test)");
  bool scalar_inputs = false;
  app.add_flag("--scalar-inputs", scalar_inputs,
               "keep MNIST's pixels as Scalars (InputStorage::scalars) instead of bytes");
  std::size_t profile_epochs = 0;
  app.add_option("--profile", profile_epochs,
                 "only train 784-30-10 (batches of --profile-batch) for this many epochs, for "
                 "a profiler (perf record, valgrind --tool=callgrind); no other measurement");
  std::size_t profile_batch = 10;
  app.add_option("--profile-batch", profile_batch, "mini-batch size of --profile")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  bool profile_handwritten = false;
  app.add_flag("--profile-handwritten", profile_handwritten,
               "with --profile: train the hand-written network (bench/handwritten.cpp) instead "
               "of xgrad's, from the same start and data order, to profile the two side by side");
  bool serve = false;
  app.add_flag("--serve", serve,
               "lock-step mode for bench/peers.py: after the header and loading, train one epoch "
               "per 'epoch' command on stdin (protocol in bench/lockstep.hpp); nothing else");
  bool serve_fused = false;
  app.add_flag("--fused", serve_fused,
               "with --serve or --profile: train with fused SGD steps (optim::SGD::set_fused)");
  std::string gemm = "openblas";
  app.add_option("--gemm", gemm,
                 "the library's gemm kernels (xg::set_gemm_kernels): openblas or libxsmm; the "
                 "floor and the hand-written network always run OpenBLAS")
      ->capture_default_str()
      ->check(CLI::IsMember({"openblas", "libxsmm"}));
  CLI11_PARSE(app, argc, argv);
  if (quick) epochs = 1;
  try {
    set_gemm_kernels(gemm_kernels_from_string(gemm));
  } catch (const xg::error& e) {
    fmt::print(stderr, "xgrad-bench: {}\n", e.what());
    return 2;
  }

  const std::filesystem::path dir(data_dir);
  for (const char* f : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                        "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}) {
    if (!has_idx(dir, f)) {
      fmt::print(stderr,
                 "xgrad-bench: MNIST not found: {} has no {} (nor {}.gz).\n"
                 "Run scripts/fetch-mnist first, or pass --data DIR.\n",
                 data_dir, f, f);
      return 2;
    }
  }

  const auto t_start = Clock::now();
  // One thread, set before anything is measured: the floor and xgrad both use it.
  set_num_threads(1);
  line("scalar", sizeof(Scalar) == sizeof(float) ? "float" : "double");
  line("blas_threads", 1);
  line("blas", openblas_get_config());
  line("has_libxsmm", has_libxsmm() ? "yes" : "no");
  line("gemm_kernels", to_string(gemm_kernels()));
  // Environment overrides of OpenBLAS's kernel choice change the floor a lot.
  for (const char* var : {"OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS"}) {
    const char* value = std::getenv(var);
    line(fmt::format("env_{}", var), value ? value : "unset");
  }
  line("hardware_threads", std::thread::hardware_concurrency());
  line("timed_epochs_per_config", epochs);
  line("load_average_at_start", load_average());

  data::Mnist mnist;
  try {
    const auto t0 = Clock::now();
    mnist =
        data::load_mnist(data_dir, 50000, 10000,
                         scalar_inputs ? data::InputStorage::scalars : data::InputStorage::bytes);
    line("load_seconds", seconds_since(t0), 2);
  } catch (const io_error& e) {
    fmt::print(stderr, "xgrad-bench: {}\nRun scripts/fetch-mnist first, or pass --data DIR.\n",
               e.what());
    return 2;
  }
  line("input_storage", scalar_inputs ? "scalars" : "bytes");
  double data_bytes = 0;
  for (const data::Dataset* d : {&mnist.training, &mnist.validation, &mnist.test}) {
    const std::size_t scalars = (d->stores_bytes() ? 0 : d->inputs.size()) + d->targets.size();
    // capacity: the training set keeps the whole file's pixel buffer.
    data_bytes += static_cast<double>(scalars * sizeof(Scalar) + d->byte_inputs.codes.capacity() +
                                      d->labels.size() * sizeof(std::size_t));
  }
  line("data_mb", data_bytes / kMiB, 1);
  line("peak_rss_after_load_mb", bench::peak_rss_bytes() / kMiB, 1);
  line("rss_after_load_mb", bench::resident_bytes() / kMiB, 1);

  if (serve) return bench::serve(mnist, serve_fused);

  if (profile_epochs > 0) {
    Rng init(42), shuffle(1234);
    Network net(30, init, serve_fused);
    train::FitOptions o = training_only(profile_batch, shuffle);
    o.epochs = profile_epochs;
    if (profile_handwritten) {
      bench::HandwrittenMlp hand(*net.model, net.sgd->learning_rate(), profile_batch);
      data::Batches batches(mnist.training, profile_batch, &shuffle);
      for (std::size_t e = 1; e <= profile_epochs; ++e) {
        const auto t0 = Clock::now();
        hand.epoch(batches);
        line(fmt::format("profile_epoch_{}_seconds", e), seconds_since(t0), 4);
      }
      return 0;
    }
    for (const auto& r : train::fit(*net.model, *net.cost, *net.sgd, mnist.training, o).epochs)
      line(fmt::format("profile_epoch_{}_seconds", r.epoch), r.seconds, 4);
    return 0;
  }

  // ---------------------------------------------------------- memory
  // Resident size after each epoch of a fresh 784-30-10 (batch 10): plain,
  // then with a fresh elastic distortion of every image each epoch (on the
  // fly: no expanded copy, so it must stay as flat).
  const std::size_t rss_epochs = quick ? 3 : 10;
  auto rss_series = [&](data::Transform* transform) {
    Rng init(7), shuffle(8);
    Network net(30, init);
    train::FitOptions o = training_only(10, shuffle);
    o.epochs = rss_epochs;
    o.transform = transform;
    o.augment_seed = 9;
    std::vector<double> rss;
    o.on_epoch_end = [&rss](const train::EpochRecord&, const train::FitState&) {
      rss.push_back(static_cast<double>(bench::resident_bytes()));
      return true;
    };
    train::fit(*net.model, *net.cost, *net.sgd, mnist.training, o);
    return rss;
  };
  auto growth_mb_per_epoch = [](const std::vector<double>& rss) {
    return (rss.back() - rss.front()) / kMiB / static_cast<double>(rss.size() - 1);
  };
  {
    const std::vector<double> rss = rss_series(nullptr);
    line("rss_epochs", rss.size());
    line("rss_first_epoch_mb", rss.front() / kMiB, 1);
    line("rss_last_epoch_mb", rss.back() / kMiB, 1);
    line("rss_growth_mb_per_epoch", growth_mb_per_epoch(rss), 4);
  }
  {
    data::Elastic elastic(data::ImageSize{28, 28}, 4.0, 34.0);
    line("rss_growth_mb_per_epoch_elastic", growth_mb_per_epoch(rss_series(&elastic)), 4);
  }
  const double peak = bench::peak_rss_bytes() / kMiB;
  line("peak_rss_mb", peak, 1);  // loading + training (before the floor's copy below)
  line("peak_rss_over_data_mb", peak - data_bytes / kMiB, 1);
  // The physical limit the epochs are set against (peak_fraction_* below).
  // Measured after the memory figures: OpenBLAS keeps the buffers a large
  // gemm makes it touch, which would count in peak_rss_mb.
  const double peak_gflops = bench::gemm_peak_gflops(quick ? 1024 : 1536, quick ? 2 : 4);
  line("peak_gflops", peak_gflops, 2);

  // The floor reads its mini-batches in place from the training images in
  // Scalars, as a framework-free program holding them that way would.
  const Array floor_inputs = mnist.training.input_rows(0, mnist.training.size());

  // ---------------------------------------------------------- training vs floor
  const std::vector<Config> configs = {{30, 10}, {100, 10}, {30, 100}};
  double headline_ratio = 0;
  for (const Config& cfg : configs) {
    Rng init(42), fused_init(42);
    Network net(cfg.hidden, init), fused(cfg.hidden, fused_init, /*fused=*/true);
    bench::HandwrittenMlp hand(*net.model, net.sgd->learning_rate(), cfg.batch);
    const ConfigResult r = measure_config(cfg, mnist, floor_inputs, epochs, net, fused, hand);
    const double ratio = r.epoch_seconds / r.floor_seconds;
    line("epoch_seconds_" + cfg.tag(), r.epoch_seconds, 4);
    line("floor_seconds_" + cfg.tag(), r.floor_seconds, 4);
    line("ratio_" + cfg.tag(), ratio, 3);
    line("epoch_cpu_seconds_" + cfg.tag(), r.epoch_cpu, 4);
    line("floor_cpu_seconds_" + cfg.tag(), r.floor_cpu, 4);
    line("cpu_ratio_" + cfg.tag(), r.epoch_cpu / r.floor_cpu, 3);
    const double gflop = bench::epoch_gemm_flops(mnist.training.size(), 784, cfg.hidden, 10) / 1e9;
    line("gflop_per_epoch_" + cfg.tag(), gflop, 4);
    line("gflops_" + cfg.tag(), gflop / r.epoch_seconds, 2);
    line("floor_gflops_" + cfg.tag(), gflop / r.floor_seconds, 2);
    // Against the peak in CPU time, as the peak itself is measured.
    line("cpu_gflops_" + cfg.tag(), gflop / r.epoch_cpu, 2);
    line("peak_fraction_" + cfg.tag(), gflop / r.epoch_cpu / peak_gflops, 3);
    line("floor_peak_fraction_" + cfg.tag(), gflop / r.floor_cpu / peak_gflops, 3);
    // The same network with fused SGD (optim::SGD::set_fused: the weight
    // update inside the weight-gradient gemm).
    line("fused_epoch_seconds_" + cfg.tag(), r.fused_seconds, 4);
    line("fused_ratio_" + cfg.tag(), r.fused_seconds / r.floor_seconds, 3);
    line("fused_epoch_cpu_seconds_" + cfg.tag(), r.fused_cpu, 4);
    line("fused_cpu_ratio_" + cfg.tag(), r.fused_cpu / r.floor_cpu, 3);
    line("fused_peak_fraction_" + cfg.tag(), gflop / r.fused_cpu / peak_gflops, 3);
    // The same network with no framework (bench/handwritten.cpp): the least a
    // program with this data path reaches, and xgrad's engine cost above it.
    line("handwritten_epoch_cpu_seconds_" + cfg.tag(), r.handwritten_cpu, 4);
    line("handwritten_cpu_ratio_" + cfg.tag(), r.handwritten_cpu / r.floor_cpu, 3);
    line("fused_over_handwritten_" + cfg.tag(), r.fused_cpu / r.handwritten_cpu, 3);
    if (&cfg == &configs.front()) {
      headline_ratio = ratio;
      // The trained model must be right as well as fast.
      auto accuracy = [&](Network& n) {
        return static_cast<double>(
                   data::count_correct(train::predict(*n.model, mnist.test), mnist.test.labels)) /
               static_cast<double>(mnist.test.size());
      };
      line("test_accuracy_" + cfg.tag(), accuracy(net), 4);
      line("fused_test_accuracy_" + cfg.tag(), accuracy(fused), 4);
      line("handwritten_test_accuracy_" + cfg.tag(),
           static_cast<double>(hand.correct(mnist.test)) / static_cast<double>(mnist.test.size()),
           4);
      // Evaluation throughput: predict() over the 10,000 test images.
      std::vector<double> s;
      for (int i = 0; i < (quick ? 3 : 11); ++i) {
        const auto t0 = Clock::now();
        train::predict(*net.model, mnist.test);
        s.push_back(seconds_since(t0));
      }
      line("eval_images_per_second_784-30-10",
           static_cast<double>(mnist.test.size()) / bench::median(s), 0);
    }
  }

  // ---------------------------------------------------------- autograd overhead
  // Two chain lengths: 2,001 nodes (a graph that stays in the CPU caches, like
  // a training step's) repeated, and 200,001 nodes (a graph of ~130 MB, so the
  // figure is mostly memory traffic).
  AutogradResult cached{0, 0, 0, 0};
  {
    std::vector<double> per_node;
    for (int r = 0; r < (quick ? 20 : 200); ++r)
      per_node.push_back(autograd_overhead(1000, 1).us_per_node);
    cached = autograd_overhead(1000, 1);
    cached.us_per_node = bench::median(per_node);
  }
  line("autograd_chain_nodes", cached.nodes);
  line("autograd_us_per_node", cached.us_per_node, 3);
  const AutogradResult ag = autograd_overhead(quick ? 20000 : 100000, quick ? 2 : 5);
  line("autograd_long_chain_nodes", ag.nodes);
  line("autograd_long_chain_us_per_node", ag.us_per_node, 3);
  line("autograd_long_chain_cpu_us_per_node", ag.cpu_us_per_node, 3);
  line("autograd_bytes_per_node", ag.bytes_per_node, 0);
  // Measured last, so that peak_rss_mb above is the peak of loading and training.
  line("peak_rss_with_autograd_chain_mb", bench::peak_rss_bytes() / kMiB, 1);
  bench::transforms_bench(mnist.training, quick);  // affine/elastic_us_per_image

  line("load_average_at_end", load_average());
  line("total_seconds", seconds_since(t_start), 1);
  line("ratio_to_floor", headline_ratio, 3);
  return 0;
}
