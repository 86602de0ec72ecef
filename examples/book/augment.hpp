#pragma once
// The xgrad-book subcommands of issue 14 (expanding the training data):
// `augment` draws the distortions, `more-data` runs the book's
// training-set-size sweep. Kept apart from common.hpp so that they register
// with a few lines in main.cpp.
#include <CLI/CLI.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace book_cli {

struct AugmentOptions {
  std::string grid;  // SVG file to write
  std::string data = "data/mnist";
  std::uint64_t seed = 0;
  std::size_t digits = 10;  // rows: the first image of each label 0, 1, ...
};
/// Adds `augment` to the program; run it with cmd_augment when parsed.
CLI::App* add_augment_command(CLI::App& app, AugmentOptions& o);
int cmd_augment(const AugmentOptions& o);

struct MoreDataOptions {
  std::string data = "data/mnist";
  std::string out = "more-data";  // directory for the table and figures
  std::vector<std::size_t> sizes{100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000};
  double epochs_scale = 1.0;  // 1 = the book's 1,500,000 / size epochs
  std::uint64_t seed = 0;
  std::string augment = "rotate";  // the expanded sweep's transform, or "none"
};
/// Adds `more-data` to the program; run it with cmd_more_data when parsed.
CLI::App* add_more_data_command(CLI::App& app, MoreDataOptions& o);
int cmd_more_data(const MoreDataOptions& o);

}  // namespace book_cli
