#pragma once
// Every number on xgrad-book's command line is read here, by one strict
// parser, and checked against its flag's range before anything runs.
//
// Why one place: CLI11's own conversion wraps "-1" to 2^64 − 1 for unsigned
// targets, saturates "99999999999999999999999", and a comma list with an
// empty item ("784,,10") silently lost the item. Each flag used to be its own
// special case; now every numeric option is declared through add_integer /
// add_real / add_integer_list below, which accept exactly the decimal
// spellings of in-range values and refuse everything else with a message
// naming the flag, the text given and the range expected.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "common.hpp"

namespace book_cli {

/// Inclusive bounds of an integer flag.
struct IntRange {
  std::uint64_t min = 0;
  std::uint64_t max = UINT64_MAX;
};

/// Bounds of a real flag; a bound may be open or closed. Non-finite values
/// (nan, inf) are always refused.
struct RealRange {
  double min = 0.0;
  bool min_inclusive = true;
  double max = 0.0;
  bool max_inclusive = false;
  bool has_max = false;
};

/// A whole string of decimal digits (no sign, no spaces, no suffix) whose
/// value lies in `range`; otherwise xg::value_error naming `flag`.
std::uint64_t parse_integer(const std::string& flag, const std::string& text, IntRange range);
/// A whole string that is a finite decimal number in `range`; otherwise
/// xg::value_error naming `flag`.
double parse_real(const std::string& flag, const std::string& text, RealRange range);
/// Comma-separated integers, each as parse_integer; no empty item.
std::vector<std::uint64_t> parse_integer_list(const std::string& flag, const std::string& text,
                                              IntRange range);

/// Refuses layer sizes whose weights would not fit in this machine's memory
/// (xg::resource_error with the bytes needed), and fewer than two sizes.
void check_layer_sizes(const std::string& flag, const std::vector<std::size_t>& sizes);

/// Options whose text is parsed by the functions above; a refusal is a
/// CLI::ValidationError (exit code 105, like every other bad flag).
CLI::Option* add_integer(CLI::App& app, const std::string& name, std::uint64_t& target,
                         const std::string& description, IntRange range);
CLI::Option* add_integer(CLI::App& app, const std::string& name, int& target,
                         const std::string& description, IntRange range);
CLI::Option* add_real(CLI::App& app, const std::string& name, double& target,
                      const std::string& description, RealRange range);
/// "784,30,10" or "784 30 10"; `check` runs on the whole list.
CLI::Option* add_integer_list(CLI::App& app, const std::string& name,
                              std::vector<std::size_t>& target, const std::string& description,
                              IntRange range,
                              void (*check)(const std::string&, const std::vector<std::size_t>&));

/// The ranges of xgrad-book's flags (also used by the fuzz target and tests).
namespace ranges {
inline constexpr IntRange seed{0, UINT64_MAX};
inline constexpr IntRange epochs{1, 1000000};
inline constexpr IntRange batch{1, 1000000000};
inline constexpr IntRange train_size{1, 1000000000};
inline constexpr IntRange early_stop{0, 1000000};
inline constexpr IntRange layer_size{1, UINT64_MAX};  // memory is checked separately
inline constexpr IntRange check_batch{1, 10000};      // at most the MNIST test set
inline constexpr IntRange seeds{1, 1000};
inline constexpr IntRange threads{1, 1024};
inline constexpr IntRange experiment{0, 2147483647};            // which ones exist: xg::book
inline constexpr RealRange eta{0.0, false, 0.0, false, false};  // η > 0
inline constexpr RealRange non_negative{0.0, true, 0.0, false, false};  // λ, L1 ≥ 0
inline constexpr RealRange probability{0.0, true, 1.0, false, true};    // [0, 1)
inline constexpr RealRange decay{0.0, false, 1.0, true, true};          // (0, 1]
}  // namespace ranges

/// The whole command line of xgrad-book: its subcommands, every flag and the
/// variables they fill. Not copyable (the options point into it).
struct CommandLine {
  CLI::App app{"xgrad-book: the book's network on MNIST, checked against BP1-BP4"};
  CLI::App* list = nullptr;
  CLI::App* run = nullptr;
  CLI::App* train = nullptr;
  CLI::App* eval = nullptr;
  CLI::App* check = nullptr;
  CLI::App* reproduce = nullptr;

  int experiment_id = 1;
  Settings run_settings;
  Settings train_settings;

  std::string model_dir, eval_data = "data/mnist", eval_set = "test";

  std::string check_data = "data/mnist";
  std::uint64_t check_seed = 0;
  std::size_t check_batch = 10;

  std::string repro_data = "data/mnist", repro_out = "docs/book-results.md";
  std::size_t repro_seeds = 3, repro_epochs = 0;  // 0: each experiment's own epochs
  std::vector<int> repro_only;
  std::string repro_curves;  // "" = no per-experiment curves

  CommandLine();
  CommandLine(const CommandLine&) = delete;
  CommandLine& operator=(const CommandLine&) = delete;
};

}  // namespace book_cli
