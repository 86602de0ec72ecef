// xgrad-book more-data: the book's training-set-size sweep (chapter 3,
// "Artificially expanding the training data", its program more_data.py):
// 784-30-10, cross-entropy, η = 0.5, mini-batches of 10, the book's large
// N(0, 1) initialisation, λ = 5.0 at 50,000 images scaled down in proportion
// to the set size (λ = size / 10,000), and 30 epochs at 50,000 images scaled
// up in proportion (1,500,000 / size epochs: the same number of steps for
// every size). Accuracy on the validation set after the last epoch, as the
// book plots it. Then the same sweep again with every training image rotated
// afresh each epoch (--augment, default "rotate": the book's expansion by
// small rotations, drawn on the fly instead of stored). Writes more-data.csv
// and the linear and logarithmic figures, both sweeps on the same axes.
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>

#include "augment.hpp"
#include "augmentations.hpp"
#include "common.hpp"
#include "flags.hpp"
#include "xgrad/cost.hpp"
#include "xgrad/error.hpp"
#include "xgrad/io/text_file.hpp"
#include "xgrad/optim.hpp"
#include "xgrad/plot/svg.hpp"

namespace book_cli {

CLI::App* add_more_data_command(CLI::App& app, MoreDataOptions& o) {
  auto* cmd = app.add_subcommand(
      "more-data", "The book's accuracy against training-set size (100 ... 50,000 images)");
  cmd->add_option("--data", o.data, "Directory holding the four MNIST IDX files");
  cmd->add_option("--out", o.out, "Directory for more-data.csv and the two SVG figures");
  add_integer_list(*cmd, "--sizes", o.sizes, "Training-set sizes (first N of the 50,000)",
                   {1, 50000}, nullptr);
  add_real(*cmd, "--epochs-scale", o.epochs_scale,
           "Multiply the book's 1,500,000 / size epochs (at least 1 epoch; smoke tests)",
           ranges::eta);
  add_integer(*cmd, "--seed", o.seed, "One seed for initialisation and shuffling", ranges::seed);
  std::vector<std::string> choices = augmentation_names();
  choices.push_back("none");
  cmd->add_option("--augment", o.augment,
                  "The expanded sweep's transform (rotate, shift, affine, elastic), or none")
      ->check(CLI::IsMember(choices));
  return cmd;
}

namespace {

struct Point {
  std::string data;  // "plain" or the augmentation's name
  std::size_t size = 0, epochs = 0, correct = 0, total = 0;
  double lambda = 0, seconds = 0;
  double percent() const { return 100.0 * double(correct) / double(total); }
};

std::size_t epochs_for(std::size_t size, double scale) {
  const double book = 1500000.0 / double(size);
  return static_cast<std::size_t>(std::max(1.0, std::round(book * scale)));
}

Point run_size(const xg::data::Mnist& mnist, std::size_t size, const MoreDataOptions& o,
               const std::string& augment) {
  Settings s;  // 784-30-10 sigmoid, cross-entropy, η = 0.5, batch 10
  s.init = "large";
  s.seed = o.seed;
  const xg::data::Dataset training = mnist.training.take(size);
  Point p;
  p.data = augment.empty() ? "plain" : augment;
  p.size = size;
  p.epochs = epochs_for(size, o.epochs_scale);
  p.lambda = 5.0 * double(size) / 50000.0;

  xg::Rng init_rng(derive_seed(s.seed, 0));
  auto model = build_model(s, init_rng);
  auto cost = xg::make_cost(s.cost);
  xg::optim::Regularization reg{p.lambda, 0.0, training.size(), model->weights()};
  auto sgd = xg::optim::make_optimizer("sgd", model->parameters(), s.eta, 0.0, reg);
  xg::train::FitOptions fo;
  fo.epochs = p.epochs;
  fo.batch_size = std::min(s.batch, size);
  xg::Rng shuffle(derive_seed(s.seed, 1));
  fo.rng = &shuffle;
  fo.evaluation = nullptr;  // only the final accuracy, as more_data.py
  std::unique_ptr<xg::data::Transform> transform;
  if (!augment.empty()) {
    transform = make_augmentation(augment);
    fo.transform = transform.get();
    fo.augment_seed = derive_seed(s.seed, 3);
  }
  const auto t0 = std::chrono::steady_clock::now();
  xg::train::fit(*model, *cost, *sgd, training, fo);
  p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const xg::Array out = xg::train::predict(*model, mnist.validation);
  p.correct = xg::data::count_correct(out, mnist.validation.labels);
  p.total = mnist.validation.size();
  return p;
}

xg::plot::Chart chart(const std::vector<Point>& points, bool log_x) {
  xg::plot::Chart c;
  c.title = log_x ? "Accuracy against training-set size (logarithmic)"
                  : "Accuracy against training-set size";
  c.x_label = log_x ? "log10(training images)" : "training images";
  c.y_label = "validation accuracy (%)";
  for (const Point& p : points) {
    const std::string label =
        p.data == "plain" ? "784-30-10, plain data" : "784-30-10, " + p.data + " on the fly";
    if (c.series.empty() || c.series.back().label != label) {
      c.series.emplace_back();
      c.series.back().label = label;
    }
    c.series.back().x.push_back(log_x ? std::log10(double(p.size)) : double(p.size));
    c.series.back().y.push_back(p.percent());
  }
  return c;
}

}  // namespace

int cmd_more_data(const MoreDataOptions& o) {
  if (o.sizes.empty()) throw xg::value_error("more-data: --sizes is empty");
  std::vector<std::size_t> sizes = o.sizes;
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  const xg::data::Mnist mnist =
      xg::data::load_mnist(o.data, 50000, 10000, xg::data::InputStorage::bytes);
  std::filesystem::create_directories(o.out);

  std::cout << fmt::format("{:>8} {:>8} {:>8} {:>8} {:>16} {:>9}\n", "data", "images", "epochs",
                           "lambda", "validation", "seconds");
  std::vector<Point> points;
  std::vector<std::string> sweeps{""};
  if (o.augment != "none") sweeps.push_back(o.augment);
  for (const std::string& augment : sweeps)
    for (std::size_t size : sizes) {
      const Point p = run_size(mnist, size, o, augment);
      std::cout << fmt::format("{:>8} {:>8} {:>8} {:>8.4g} {:>9}/{} {:>9.1f}\n", p.data, p.size,
                               p.epochs, p.lambda, p.correct, p.total, p.seconds)
                << std::flush;
      points.push_back(p);
    }

  const std::string csv_path = o.out + "/more-data.csv";
  std::string csv =
      "data,training_images,epochs,lambda,validation_correct,validation_total,accuracy_percent,"
      "seconds\n";
  for (const Point& p : points)
    csv += fmt::format("{},{},{},{},{},{},{:.2f},{:.2f}\n", p.data, p.size, p.epochs, p.lambda,
                       p.correct, p.total, p.percent(), p.seconds);
  xg::io::write_text_file(csv_path, csv);
  xg::plot::write_svg(o.out + "/more-data-linear.svg", chart(points, false));
  xg::plot::write_svg(o.out + "/more-data-log.svg", chart(points, true));
  std::cout << "wrote " << csv_path << ", more-data-linear.svg, more-data-log.svg\n";
  // The last line: the plain sweep's largest set, as the book's figure ends.
  const Point& last = points[sizes.size() - 1];
  std::cout << accuracy_line("validation", last.correct, last.total) << std::endl;
  return 0;
}

}  // namespace book_cli
