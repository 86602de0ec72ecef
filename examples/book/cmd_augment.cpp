// xgrad-book augment: real MNIST digits beside their shifted, rotated, affine
// and elastic versions, as an SVG grid (the picture of
// docs/data-augmentation.md).
#include <fmt/core.h>

#include <iostream>
#include <memory>

#include "augment.hpp"
#include "augmentations.hpp"
#include "flags.hpp"
#include "xgrad/data/mnist.hpp"
#include "xgrad/data/transforms.hpp"
#include "xgrad/error.hpp"
#include "xgrad/plot/image_grid.hpp"

namespace book_cli {

CLI::App* add_augment_command(CLI::App& app, AugmentOptions& o) {
  auto* cmd = app.add_subcommand(
      "augment", "Draw MNIST digits beside their rotated, affine and elastic versions");
  cmd->add_option("--grid", o.grid, "SVG file to write")->required();
  cmd->add_option("--data", o.data, "Directory holding the four MNIST IDX files");
  add_integer(*cmd, "--seed", o.seed, "Seed of the distortions", ranges::seed);
  add_integer(*cmd, "--digits", o.digits, "Rows: the first training image of labels 0, 1, ...",
              {1, 10});
  return cmd;
}

int cmd_augment(const AugmentOptions& o) {
  using namespace xg::data;
  const Mnist mnist = load_mnist(o.data, 50000, 10000, InputStorage::bytes);
  const Dataset& train = mnist.training;
  const ImageSize size{28, 28};

  struct Column {
    std::string label;
    std::unique_ptr<Transform> t;  // null: the original
  };
  std::vector<Column> columns;
  columns.push_back({"original", nullptr});
  // Always moved, so that the column shows a shift (training keeps some originals).
  columns.push_back({"one-pixel shift", std::make_unique<PixelShift>(size, false)});
  columns.push_back({"rotated ±15°", make_augmentation("rotate")});
  columns.push_back({"affine", make_augmentation("affine")});
  columns.push_back({"elastic σ=4 α=34", make_augmentation("elastic")});

  xg::plot::ImageGrid grid;
  grid.title = "MNIST training digits and their distortions (seed " + std::to_string(o.seed) + ")";
  for (const auto& c : columns) grid.column_labels.push_back(c.label);
  xg::Rng rng(o.seed);
  std::vector<xg::Scalar> in(size.pixels()), out(size.pixels());
  for (std::size_t digit = 0; digit < o.digits; ++digit) {
    std::size_t i = 0;
    while (i < train.size() && train.labels[i] != digit) ++i;
    if (i == train.size())
      throw xg::value_error("augment: no training image of digit " + std::to_string(digit));
    train.copy_input_row(i, in.data());
    for (const auto& c : columns) {
      if (c.t)
        c.t->apply_image(in.data(), out.data(), rng);
      else
        out = in;
      std::vector<double> cell(out.begin(), out.end());
      // Bilinear weights are convex, so values stay in [0, 1] up to rounding.
      for (double& v : cell) v = std::min(1.0, std::max(0.0, v));
      grid.images.push_back(std::move(cell));
    }
  }
  xg::plot::write_image_grid(o.grid, grid);
  std::cout << fmt::format("wrote {} ({} digits × {} columns)\n", o.grid, o.digits, columns.size());
  return 0;
}

}  // namespace book_cli
