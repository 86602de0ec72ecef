// libtorch side of xgrad-bench: the same 784-hidden-10 network trained the
// same way as bench/pytorch_mlp.py and xgrad-bench, through libtorch's C++
// frontend — the alternative a C++ user of xgrad would weigh.
//
// Sigmoid hidden and output layers, N(0, 1) weights and biases (torch's seed
// 42), quadratic cost ½‖a − y‖² averaged over the mini-batch, plain SGD with
// η = 3, one thread (intra- and inter-op), double or float, on the first
// 50,000 MNIST training images. Each epoch draws a new permutation and walks
// it in mini-batches, as the other two programs do.
//
//   xgrad-libtorch-mlp [--data data/mnist] [--hidden 30] [--batch 10]
//                      [--dtype float64|float32] [--epochs 3] [--quick] [--serve]
//
// Prints `name: value` lines (`libtorch_epoch_seconds`, the median of the timed
// epochs after a warm-up). --serve is the lock-step mode bench/peers.py drives
// (protocol: bench/lockstep.hpp); it replies `epoch <wall seconds> <cpu seconds>`.
// Built only when CMake finds libtorch (Debian's libtorch-dev) and only on
// request: target xgrad-libtorch-mlp.
#include <torch/torch.h>
#include <zlib.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "lockstep.hpp"

namespace {

/// An IDX file of unsigned bytes (plain or .gz: zlib reads both) and its dimensions.
struct Idx {
  std::vector<std::int64_t> dims;
  std::vector<std::uint8_t> bytes;
};

Idx read_idx(const std::string& dir, const std::string& name) {
  std::string path = dir + "/" + name;
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) {
    path += ".gz";
    f = gzopen(path.c_str(), "rb");
  }
  if (!f)
    throw std::runtime_error("MNIST not found: " + dir + " has no " + name +
                             " (nor .gz); run scripts/fetch-mnist");
  std::vector<std::uint8_t> raw;
  std::uint8_t chunk[1 << 16];
  int got = 0;
  while ((got = gzread(f, chunk, sizeof chunk)) > 0) raw.insert(raw.end(), chunk, chunk + got);
  gzclose(f);
  if (raw.size() < 4 || raw[0] != 0 || raw[1] != 0 || raw[2] != 0x08)
    throw std::runtime_error(path + ": not an IDX file of unsigned bytes");
  Idx idx;
  const std::size_t rank = raw[3];
  std::size_t count = 1;
  for (std::size_t i = 0; i < rank; ++i) {
    const std::uint8_t* d = raw.data() + 4 + 4 * i;
    idx.dims.push_back((std::int64_t{d[0]} << 24) | (d[1] << 16) | (d[2] << 8) | d[3]);
    count *= static_cast<std::size_t>(idx.dims.back());
  }
  const std::size_t offset = 4 + 4 * rank;
  if (raw.size() != offset + count) throw std::runtime_error(path + ": truncated IDX file");
  idx.bytes.assign(raw.begin() + static_cast<std::ptrdiff_t>(offset), raw.end());
  return idx;
}

double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

struct Timing {
  double wall = 0, cpu = 0;
};

/// The network, its optimizer and the data it trains on.
class Trainer {
 public:
  Trainer(const torch::Tensor& x, const torch::Tensor& y, std::int64_t hidden, std::int64_t batch,
          torch::Dtype dtype)
      : x_(x), y_(y), batch_(batch) {
    torch::manual_seed(42);
    model_ = torch::nn::Sequential(torch::nn::Linear(784, hidden), torch::nn::Sigmoid(),
                                   torch::nn::Linear(hidden, 10), torch::nn::Sigmoid());
    model_->to(dtype);
    {
      torch::NoGradGuard no_grad;
      for (auto& p : model_->parameters()) p.normal_(0.0, 1.0);  // the book's chapter 1, biases too
    }
    sgd_ = std::make_unique<torch::optim::SGD>(model_->parameters(), torch::optim::SGDOptions(3.0));
  }

  /// One shuffled pass of SGD.
  Timing epoch() {
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = cpu_now();
    const std::int64_t n = x_.size(0);
    const torch::Tensor order = torch::randperm(n, torch::kLong);
    const torch::Tensor xs = x_.index_select(0, order), ys = y_.index_select(0, order);
    for (std::int64_t start = 0; start < n; start += batch_) {
      const std::int64_t m = std::min(batch_, n - start);
      const torch::Tensor xb = xs.narrow(0, start, m), yb = ys.narrow(0, start, m);
      sgd_->zero_grad();
      const torch::Tensor a = model_->forward(xb);
      const torch::Tensor loss = 0.5 * (a - yb).pow(2).sum() / static_cast<double>(m);
      loss.backward();
      sgd_->step();
    }
    return {std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
            cpu_now() - c0};
  }

  double accuracy(const torch::Tensor& x, const torch::Tensor& labels) {
    torch::NoGradGuard no_grad;
    const torch::Tensor predicted = model_->forward(x).argmax(1);
    return predicted.eq(labels).to(torch::kDouble).mean().item<double>();
  }

 private:
  torch::Tensor x_, y_;
  std::int64_t batch_;
  torch::nn::Sequential model_{nullptr};
  std::unique_ptr<torch::optim::SGD> sgd_;
};

/// Pixels as dtype in [0, 1] (bytes / 255, computed in double as the others do).
torch::Tensor pixels(const Idx& images, std::int64_t n, torch::Dtype dtype) {
  const std::int64_t cols = images.dims.at(1) * images.dims.at(2);
  torch::Tensor bytes = torch::from_blob(const_cast<std::uint8_t*>(images.bytes.data()),
                                         {images.dims.at(0), cols}, torch::kUInt8);
  return bytes.narrow(0, 0, n).to(torch::kDouble).div(255.0).to(dtype).contiguous();
}

torch::Tensor labels_of(const Idx& labels, std::int64_t n) {
  return torch::from_blob(const_cast<std::uint8_t*>(labels.bytes.data()), {labels.dims.at(0)},
                          torch::kUInt8)
      .narrow(0, 0, n)
      .to(torch::kLong);
}

int serve(const torch::Tensor& x, const torch::Tensor& y, torch::Dtype dtype) {
  std::unique_ptr<Trainer> trainer;
  return xg::bench::lockstep(
      "xgrad-libtorch-mlp",
      [&](long long hidden, long long batch) {
        trainer.reset();  // frees the previous model first
        trainer = std::make_unique<Trainer>(x, y, hidden, batch, dtype);
        trainer->epoch();  // warm-up
      },
      [&] {
        const Timing t = trainer->epoch();
        char numbers[48];
        std::snprintf(numbers, sizeof numbers, "%.5f %.5f", t.wall, t.cpu);
        return std::string(numbers);
      });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"libtorch (C++ frontend) training the book's network, the peer of xgrad-bench"};
  std::string data_dir = "data/mnist", dtype_name = "float64";
  std::int64_t hidden = 30, batch = 10;
  std::size_t epochs = 3;
  bool quick = false, serve_mode = false;
  app.add_option("--data", data_dir, "directory holding the four MNIST IDX files")
      ->capture_default_str();
  app.add_option("--hidden", hidden, "hidden neurons")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--batch", batch, "mini-batch size")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--dtype", dtype_name, "float64 or float32")
      ->capture_default_str()
      ->check(CLI::IsMember({"float64", "float32"}));
  app.add_option("--epochs", epochs, "timed epochs (median reported)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_flag("--quick", quick, "one timed epoch (smoke test)");
  app.add_flag("--serve", serve_mode, "lock-step mode for bench/peers.py");
  CLI11_PARSE(app, argc, argv);
  if (quick) epochs = 1;
  const torch::Dtype dtype = dtype_name == "float64" ? torch::kFloat64 : torch::kFloat32;

  torch::set_num_threads(1);
  torch::set_num_interop_threads(1);
  std::cout << "libtorch_version: " << TORCH_VERSION << "\n"
            << "libtorch_threads: " << torch::get_num_threads() << "\n"
            << "libtorch_scalar: " << (dtype == torch::kFloat64 ? "double" : "float") << std::endl;

  torch::Tensor x, y, x_test, labels_test;
  try {
    const Idx images = read_idx(data_dir, "train-images-idx3-ubyte");
    const Idx labels = read_idx(data_dir, "train-labels-idx1-ubyte");
    const Idx test_images = read_idx(data_dir, "t10k-images-idx3-ubyte");
    const Idx test_labels = read_idx(data_dir, "t10k-labels-idx1-ubyte");
    const std::int64_t n = 50000;  // the book's training split: the first 50,000 images
    x = pixels(images, n, dtype);
    y = torch::one_hot(labels_of(labels, n), 10).to(dtype);
    x_test = pixels(test_images, test_images.dims.at(0), dtype);
    labels_test = labels_of(test_labels, test_labels.dims.at(0));
  } catch (const std::exception& e) {
    std::cerr << "xgrad-libtorch-mlp: " << e.what() << "\n";
    return 2;
  }
  if (serve_mode) return serve(x, y, dtype);

  Trainer trainer(x, y, hidden, batch, dtype);
  std::cout << "libtorch_network: 784-" << hidden << "-10_b" << batch << std::endl;
  trainer.epoch();  // warm-up
  std::vector<double> wall, cpu;
  for (std::size_t e = 0; e < epochs; ++e) {
    const Timing t = trainer.epoch();
    wall.push_back(t.wall);
    cpu.push_back(t.cpu);
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const std::size_t k = v.size();
    return k % 2 ? v[k / 2] : 0.5 * (v[k / 2 - 1] + v[k / 2]);
  };
  std::printf("libtorch_test_accuracy: %.4f\n", trainer.accuracy(x_test, labels_test));
  std::printf("libtorch_timed_epochs: %zu\n", epochs);
  std::printf("libtorch_epoch_cpu_seconds: %.4f\n", median(cpu));
  std::printf("libtorch_epoch_seconds: %.4f\n", median(wall));
  return 0;
}
