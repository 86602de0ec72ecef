// xgrad-book hessian: the book's Hessian technique (chapter 3, eqs. 103–106)
// on small problems, where it can be formed: Newton (full H, damped) and
// Hessian-free (CG on Hessian-vector products) against SGD and momentum.
// Counts steps to the goal and the cost of a step: part (a). Part (b), MNIST
// at equal wall-clock time, is cmd_hessian_mnist.cpp. docs/hessian.md.
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <string>

#include "flags.hpp"
#include "hessian.hpp"
#include "xgrad/cost.hpp"
#include "xgrad/nn.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/optim.hpp"
#include "xgrad/optim/hessian_free.hpp"
#include "xgrad/optim/newton.hpp"

namespace book_cli {

CLI::App* add_hessian_command(CLI::App& app, HessianOptions& o) {
  auto* cmd = app.add_subcommand(
      "hessian", "The book's Hessian technique: Newton and Hessian-free vs SGD and momentum");
  cmd->add_option("--part", o.part,
                  "a: Rosenbrock and XOR; b: 784-30-10 on MNIST at equal time; all: both")
      ->check(CLI::IsMember({"a", "b", "all"}));
  cmd->add_option("--data", o.data, "Directory holding the four MNIST IDX files");
  cmd->add_option("--out", o.out, "Directory for hessian.csv and the SVG figures (part b)");
  add_real(*cmd, "--seconds", o.seconds, "Training time of each method in part (b)", ranges::eta);
  add_integer(*cmd, "--slices", o.slices, "Measurements per method (equal slices of --seconds)",
              {1, 10000});
  add_integer(*cmd, "--train-size", o.train_size, "Training images (first N of the 50,000)",
              {1, 50000});
  add_integer(*cmd, "--hf-batch", o.hf_batch, "Hessian-free mini-batch size", {1, 50000});
  add_integer(*cmd, "--hf-cg", o.hf_cg, "Hessian-free: at most this many CG iterations a step",
              {1, 100000});
  add_real(*cmd, "--hf-damping", o.hf_damping, "Hessian-free: initial damping λ (adapted)",
           ranges::eta);
  add_integer(*cmd, "--seed", o.seed, "One seed for initialisation and mini-batch order",
              ranges::seed);
  return cmd;
}

namespace {

using namespace xg;
using Clock = std::chrono::steady_clock;

struct Run {
  std::string method;
  std::size_t steps = 0;
  bool reached = false;
  double final_cost = 0;
  double us_per_step = 0;
};

/// Steps `opt` until done(cost) or max_steps; `first_order` runs backward first.
Run drive(const std::string& method, optim::Optimizer& opt, const std::function<Tensor()>& cost,
          const std::function<bool(double)>& done, std::size_t max_steps, bool first_order) {
  Run r;
  r.method = method;
  const auto t0 = Clock::now();
  double c = cost().item();
  while (r.steps < max_steps && !(r.reached = done(c))) {
    if (first_order) {
      opt.zero_grad();
      cost().backward();
    }
    opt.step();
    ++r.steps;
    NoGradGuard no_grad;
    c = cost().item();
  }
  r.reached = done(c);
  r.final_cost = c;
  r.us_per_step = r.steps ? std::chrono::duration<double, std::micro>(Clock::now() - t0).count() /
                                static_cast<double>(r.steps)
                          : 0.0;
  return r;
}

void table(const std::string& title, const std::vector<Run>& runs) {
  std::cout << "\n" << title << "\n";
  std::printf("| %-14s | %8s | %-7s | %12s | %12s |\n", "method", "steps", "reached", "final cost",
              "µs per step");
  std::printf("|----------------|----------|---------|--------------|--------------|\n");
  for (const Run& r : runs)
    std::printf("| %-14s | %8zu | %-7s | %12.4g | %12.1f |\n", r.method.c_str(), r.steps,
                r.reached ? "yes" : "no", r.final_cost, r.us_per_step);
}

}  // namespace

void hessian_small_problems(bool print_accuracy) {
  // (a) Rosenbrock's function, minimum 0 at (1, 1), from the classic start.
  auto rosen_at = [](const Tensor& p) {
    Tensor x = narrow(p, 0, 0, 1), y = narrow(p, 0, 1, 1);
    Tensor a = Scalar(1) - x, b = y - x * x;
    return sum(a * a + Scalar(100) * b * b);
  };
  auto near_min = [](double c) { return c < 1e-10; };
  std::vector<Run> rosen;
  {
    Tensor w(Array{-1.2, 1.0}, true);
    optim::Newton opt({w}, [&] { return rosen_at(w); });
    rosen.push_back(drive(
        "newton", opt, [&] { return rosen_at(w); }, near_min, 1000, false));
  }
  {
    Tensor w(Array{-1.2, 1.0}, true);
    optim::HessianFree opt({w}, [&] { return rosen_at(w); });
    rosen.push_back(drive(
        "hessian-free", opt, [&] { return rosen_at(w); }, near_min, 1000, false));
  }
  {
    Tensor w(Array{-1.2, 1.0}, true);
    optim::SGD opt({w}, 1e-3);
    rosen.push_back(drive(
        "sgd", opt, [&] { return rosen_at(w); }, near_min, 100000, true));
  }
  {
    Tensor w(Array{-1.2, 1.0}, true);
    optim::Momentum opt({w}, 1e-4, 0.9);
    rosen.push_back(drive(
        "momentum", opt, [&] { return rosen_at(w); }, near_min, 100000, true));
  }
  table("Rosenbrock (x, y) from (-1.2, 1): steps to a cost below 1e-10", rosen);

  // (b) XOR with a 2-4-1 sigmoid network, cross-entropy on the logits.
  const Array X = {{0.0, 0.0}, {0.0, 1.0}, {1.0, 0.0}, {1.0, 1.0}};
  Array Y = xt::zeros<Scalar>({4, 1});
  Y(1, 0) = Y(2, 0) = 1;  // XOR
  auto goal = [](double c) { return c < 1e-2; };
  std::vector<Run> xor_runs;
  std::shared_ptr<nn::Sequential> newton_net;
  for (const std::string method : {"newton", "hessian-free", "sgd", "momentum"}) {
    Rng rng(7);
    auto net = nn::mlp({2, 4, 1}, "sigmoid", rng);
    auto cost = [&] {
      return sigmoid_cross_entropy(net->forward_logits(Tensor(X), "sigmoid"), Tensor(Y));
    };
    std::unique_ptr<optim::Optimizer> opt;
    if (method == "newton") opt = std::make_unique<optim::Newton>(net->parameters(), cost);
    if (method == "hessian-free")
      opt = std::make_unique<optim::HessianFree>(net->parameters(), cost);
    if (method == "sgd") opt = std::make_unique<optim::SGD>(net->parameters(), 3.0);
    if (method == "momentum") opt = std::make_unique<optim::Momentum>(net->parameters(), 1.0, 0.9);
    const bool first = method == "sgd" || method == "momentum";
    xor_runs.push_back(drive(method, *opt, cost, goal, first ? 100000 : 1000, first));
    if (method == "newton") newton_net = net;
  }
  table("XOR, 2-4-1 sigmoid network, cross-entropy: steps to a cost below 0.01", xor_runs);

  // The Newton-trained network on the four points.
  NoGradGuard no_grad;
  const Array out = (*newton_net)(Tensor(X)).value();
  std::size_t correct = 0;
  for (std::size_t i = 0; i < 4; ++i) correct += (out(i, 0) > 0.5) == (Y(i, 0) > 0.5);
  if (print_accuracy) std::cout << "\n" << accuracy_line("xor", correct, 4) << std::endl;
}

int cmd_hessian(const HessianOptions& o) {
  if (o.part == "a" || o.part == "all") hessian_small_problems(o.part == "a");
  if (o.part == "b" || o.part == "all") {
    if (o.part == "all") std::cout << std::endl;
    const std::string line = hessian_mnist(o);
    std::cout << "\n" << line << std::endl;
  }
  return 0;
}

}  // namespace book_cli
