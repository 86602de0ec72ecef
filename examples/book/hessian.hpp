#pragma once
// The xgrad-book subcommand of issue 12: `hessian`, the book's Hessian
// technique. Part (a) small problems (Rosenbrock, XOR) where Newton can form
// H; part (b) 784-30-10 on MNIST, Hessian-free against SGD and momentum at
// equal wall-clock time. Kept apart from common.hpp so that it registers with
// a few lines in main.cpp. docs/hessian.md.
#include <CLI/CLI.hpp>
#include <cstddef>
#include <cstdint>
#include <string>

namespace book_cli {

struct HessianOptions {
  std::string part = "all";  // "a", "b" or "all"
  std::string data = "data/mnist";
  std::string out = "hessian";  // directory for hessian.csv and the SVG figures
  double seconds = 40.0;        // training time per method in part (b)
  std::size_t slices = 10;      // measurements per method (equal slices of seconds)
  std::size_t train_size = 50000;
  std::size_t hf_batch = 500;  // HF mini-batch: gradient and curvature products
  std::size_t hf_cg = 5;       // at most this many CG iterations per HF step
  double hf_damping = 1.0;     // HF's initial λ (adapted)
  std::uint64_t seed = 0;
};
/// Adds `hessian` to the program; run it with cmd_hessian when parsed.
CLI::App* add_hessian_command(CLI::App& app, HessianOptions& o);
int cmd_hessian(const HessianOptions& o);

/// Part (a): Rosenbrock and XOR; prints two tables and "accuracy: xor ...".
void hessian_small_problems(bool print_accuracy);
/// Part (b): MNIST; prints the table and returns the HF run's accuracy line.
std::string hessian_mnist(const HessianOptions& o);

}  // namespace book_cli
