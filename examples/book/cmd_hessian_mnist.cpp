// xgrad-book hessian, part (b): the book's 784-30-10 sigmoid network on
// MNIST with the cross-entropy cost and L2 regularisation (λ = 5.0 scaled to
// the training-set size as λ·n/50,000), trained by Hessian-free steps, by
// plain SGD and by momentum, each for the same wall-clock training time.
// Every slice of that time (monitors excluded) records the training cost
// (with its L2 term) and the test accuracy; writes hessian.csv and the cost
// and accuracy figures against seconds and against epochs. docs/hessian.md.
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "common.hpp"
#include "hessian.hpp"
#include "xgrad/cost.hpp"
#include "xgrad/data/dataset.hpp"
#include "xgrad/data/mnist.hpp"
#include "xgrad/error.hpp"
#include "xgrad/nn.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/optim.hpp"
#include "xgrad/optim/hessian_free.hpp"
#include "xgrad/plot/svg.hpp"
#include "xgrad/train/fit.hpp"

namespace book_cli {

namespace {

using namespace xg;
using Clock = std::chrono::steady_clock;

/// One measurement, after `seconds` of training.
struct Point {
  double seconds = 0, epochs = 0;
  std::size_t steps = 0;
  double cost = 0;
  std::size_t correct = 0;
};

/// How one method is set up, and what it recorded.
struct Method {
  std::string name, settings;
  std::size_t batch = 10;
  std::vector<Point> points;
  std::size_t hvps = 0;  // Hessian-vector products (HF only)
};

// The book's chapter-3 settings for the first-order runs (network2.py:
// η = 0.5, mini-batches of 10, λ = 5.0); momentum keeps η·1/(1 − μ) = 0.5
// with μ = 0.9, η = 0.05, so both take steps of the same size on average.
constexpr double kEta = 0.5, kMomentumEta = 0.05, kMomentum = 0.9, kLambda = 5.0;
// Besides every time slice, the end of each of the first kEpochMarks epochs
// is measured, to compare the methods per epoch as well as per second.
constexpr std::size_t kEpochMarks = 3;
// Hessian-free's settings are flags (--hf-batch, --hf-cg, --hf-damping;
// defaults in hessian.hpp): one large mini-batch for the gradient and the
// curvature products alike (Martens uses large batches: a Newton step on 10
// images fits those 10 and nothing else).

void run_method(Method& m, const data::Dataset& training, const data::Dataset& test,
                const HessianOptions& o) {
  Rng init(derive_seed(o.seed, 0));
  auto model = nn::mlp({784, 30, 10}, "sigmoid", init);
  const double lambda = kLambda * static_cast<double>(training.size()) / 50000.0;
  const optim::Regularization reg{lambda, 0.0, training.size(), model->weights()};
  auto cost = make_cost("cross-entropy");

  Array xb, yb;  // the mini-batch the HF closure reads
  std::unique_ptr<optim::Optimizer> opt;
  optim::HessianFree* hf = nullptr;
  const bool second_order = m.name == "hessian-free";
  if (second_order) {
    optim::HessianFreeOptions ho;
    ho.cg_iterations = o.hf_cg;
    ho.damping = o.hf_damping;
    const std::vector<Tensor> weights = model->weights();
    const Cost& cst = *cost;
    auto closure = [&model, &cst, &xb, &yb, weights, lambda, n = training.size()] {
      Tensor c = cost_on_model(cst, *model, Tensor(xb), Tensor(yb));
      return lambda > 0 ? c + l2_penalty(weights, lambda, n) : c;
    };
    auto h = std::make_unique<optim::HessianFree>(model->parameters(), closure, ho);
    hf = h.get();
    opt = std::move(h);
  } else if (m.name == "momentum") {
    opt = std::make_unique<optim::Momentum>(model->parameters(), kMomentumEta, kMomentum, reg);
  } else {
    opt = std::make_unique<optim::SGD>(model->parameters(), kEta, reg);
  }

  const std::size_t batch = std::min(m.batch, training.size());
  Rng order(derive_seed(o.seed, 1));
  data::Batches batches(training, batch, &order);
  const double slice = o.seconds / static_cast<double>(o.slices);
  double trained = 0, next_mark = slice;
  std::size_t steps = 0, samples = 0, epochs_done = 0;
  auto measure = [&] {
    const train::Evaluation tr = train::evaluate(*model, *cost, training, &reg);
    const train::Evaluation te = train::evaluate(*model, *cost, test);
    m.points.push_back({trained,
                        static_cast<double>(samples) / static_cast<double>(training.size()), steps,
                        tr.cost, te.correct});
  };
  measure();  // the starting point, at 0 s
  model->train();
  while (trained < o.seconds) {
    const auto t0 = Clock::now();
    if (!batches.next()) {  // end of an epoch: the next call reshuffles
      ++epochs_done;
      if (epochs_done <= kEpochMarks) {  // the per-epoch comparison
        measure();
        model->train();
      }
      continue;
    }
    const data::Batch& b = batches.batch();
    if (second_order) {
      xb = b.inputs;
      yb = b.targets;
      opt->step();
      m.hvps += hf->last_cg_iterations() + 1;  // CG's products and the predicted decrease's
    } else {
      opt->zero_grad();
      cost_on_model(*cost, *model, Tensor(b.inputs), Tensor(b.targets)).backward();
      opt->step();
    }
    trained += std::chrono::duration<double>(Clock::now() - t0).count();
    ++steps;
    samples += b.size();
    if (trained >= next_mark || trained >= o.seconds) {
      measure();
      model->train();
      while (next_mark <= trained) next_mark += slice;
    }
  }
}

plot::Chart chart(const std::vector<Method>& ms, const std::string& title, bool by_epoch,
                  bool accuracy, std::size_t test_size) {
  plot::Chart c;
  c.title = title;
  c.x_label = by_epoch ? "epochs (passes over the training images)" : "training seconds";
  c.y_label = accuracy ? "test accuracy (%)" : "training cost (cross-entropy + L2)";
  for (const Method& m : ms) {
    plot::Series s;
    s.label = m.name;
    for (const Point& p : m.points) {
      // The untrained start (cost ≈ 6, accuracy ≈ 10 %) would squash the
      // curves into a sliver of the axes: it stays in hessian.csv only.
      if (p.steps == 0) continue;
      s.x.push_back(by_epoch ? p.epochs : p.seconds);
      s.y.push_back(accuracy ? 100.0 * static_cast<double>(p.correct) / double(test_size) : p.cost);
    }
    c.series.push_back(std::move(s));
  }
  return c;
}

}  // namespace

std::string hessian_mnist(const HessianOptions& o) {
  const data::Mnist mnist = data::load_mnist(o.data, 50000, 10000, data::InputStorage::bytes);
  const data::Dataset training = mnist.training.take(o.train_size);
  const data::Dataset& test = mnist.test;

  std::vector<Method> ms(3);
  ms[0] = {"hessian-free",
           fmt::format("batch {}, ≤ {} CG iterations, damping {:g} (adapted)", o.hf_batch, o.hf_cg,
                       o.hf_damping),
           o.hf_batch};
  ms[1] = {"sgd", fmt::format("η = {}, batch 10", kEta), 10};
  ms[2] = {"momentum", fmt::format("η = {}, μ = {}, batch 10", kMomentumEta, kMomentum), 10};
  std::cout << fmt::format(
      "MNIST 784-30-10 sigmoid, cross-entropy, λ = {:g} over {} training images; "
      "{:g} s of training per method, measured in {} slices\n",
      kLambda * double(training.size()) / 50000.0, training.size(), o.seconds, o.slices);
  for (Method& m : ms) {
    std::cout << m.name << " (" << m.settings << ") ..." << std::flush;
    run_method(m, training, test, o);
    std::cout << " " << m.points.back().steps << " steps" << std::endl;
  }

  std::filesystem::create_directories(o.out);
  {
    std::ofstream csv(o.out + "/hessian.csv");
    csv << "method,seconds,epochs,steps,training_cost,test_correct,test_total\n";
    for (const Method& m : ms)
      for (const Point& p : m.points)
        csv << fmt::format("{},{:.3f},{:.4f},{},{:.6g},{},{}\n", m.name, p.seconds, p.epochs,
                           p.steps, p.cost, p.correct, test.size());
    if (!csv) throw io_error(o.out + "/hessian.csv: could not write");
  }
  plot::write_svg(o.out + "/hessian-cost.svg",
                  chart(ms, "Training cost at equal wall-clock time", false, false, test.size()));
  plot::write_svg(o.out + "/hessian-accuracy.svg",
                  chart(ms, "Test accuracy at equal wall-clock time", false, true, test.size()));
  plot::write_svg(o.out + "/hessian-accuracy-epochs.svg",
                  chart(ms, "Test accuracy per epoch", true, true, test.size()));

  std::cout << "\n| method       | seconds | epochs |  steps | ms per step | final cost | "
               "test accuracy |\n"
            << "|--------------|---------|--------|--------|-------------|------------|"
               "---------------|\n";
  for (const Method& m : ms) {
    const Point& p = m.points.back();
    std::cout << fmt::format(
        "| {:<12} | {:7.1f} | {:6.2f} | {:6} | {:11.3f} | {:10.4f} | {:12.2f}% |\n", m.name,
        p.seconds, p.epochs, p.steps, p.steps ? 1000.0 * p.seconds / double(p.steps) : 0.0, p.cost,
        100.0 * double(p.correct) / double(test.size()));
  }
  std::cout << "\nAfter whole epochs:\n"
            << "| method       | epoch | seconds |  steps |    cost | test accuracy |\n"
            << "|--------------|-------|---------|--------|---------|---------------|\n";
  for (std::size_t e = 1; e <= kEpochMarks; ++e)
    for (const Method& m : ms)
      for (const Point& p : m.points)
        if (p.epochs == static_cast<double>(e))
          std::cout << fmt::format("| {:<12} | {:5} | {:7.2f} | {:6} | {:7.4f} | {:12.2f}% |\n",
                                   m.name, e, p.seconds, p.steps, p.cost,
                                   100.0 * double(p.correct) / double(test.size()));
  std::cout << fmt::format("hessian-free: {} Hessian-vector products in {} steps\n", ms[0].hvps,
                           ms[0].points.back().steps);
  std::cout << "wrote " << o.out << "/hessian.csv and three SVG figures" << std::endl;
  const Point& hf = ms[0].points.back();
  return accuracy_line("test", hf.correct, test.size());
}

}  // namespace book_cli
