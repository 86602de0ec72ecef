// Fuzzes xgrad-book's command line (examples/book/flags.cpp: the strict
// number parser and every subcommand's flags), parsing only — nothing is
// trained or read. The input is an argument vector, arguments separated by
// NUL bytes ("train\0--eta\0-0.5"). Every parse must end in one of two ways:
//   - a CLI11 ParseError (a refused flag, --help, an unknown option...), or
//   - success, with every number of the parsed subcommand within its range.
// Anything else — another exception, a value out of range, a sanitizer
// report — is a finding (issue 17: "-1" wrapping to 2^64 − 1 must not return).
//
// The command line is compiled in from the example's source: it belongs to
// xgrad-book, not to the library the other targets link.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "../examples/book/augmentations.cpp"
#include "../examples/book/flags.cpp"
#include "xgrad/error.hpp"

namespace {

[[noreturn]] void finding(const std::string& what) {
  std::fprintf(stderr, "fuzz_flags: %s\n", what.c_str());
  std::abort();
}

void require(bool ok, const char* what) {
  if (!ok) finding(std::string("accepted a value out of range: ") + what);
}

void check_in_range(const book_cli::Settings& s) {
  require(s.epochs >= 1 && s.epochs <= book_cli::ranges::epochs.max, "epochs");
  require(s.batch >= 1 && s.batch <= book_cli::ranges::batch.max, "batch");
  require(s.train_size >= 1 && s.train_size <= book_cli::ranges::train_size.max, "train-size");
  require(s.early_stop <= book_cli::ranges::early_stop.max, "early-stop");
  require(std::isfinite(s.eta) && s.eta > 0, "eta");
  require(std::isfinite(s.lambda) && s.lambda >= 0, "lambda");
  require(std::isfinite(s.l1) && s.l1 >= 0, "l1");
  require(s.momentum >= 0 && s.momentum < 1, "momentum");
  require(s.dropout >= 0 && s.dropout < 1, "dropout");
  require(s.sizes.size() >= 2, "sizes: fewer than two");
  for (std::size_t n : s.sizes) require(n >= 1, "sizes: a zero");
  // The layers fit in memory: what --sizes promised (no std::bad_alloc later).
  try {
    book_cli::check_layer_sizes("--sizes", s.sizes);
  } catch (const xg::error&) {
    finding("accepted layer sizes that do not fit in memory");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> args{"xgrad-book"};
  std::string current;
  for (std::size_t i = 0; i < size && args.size() < 64; ++i) {
    if (data[i] == 0) {
      args.push_back(current);
      current.clear();
    } else {
      current += static_cast<char>(data[i]);
    }
  }
  if (!current.empty() || size == 0 || data[size - 1] != 0) args.push_back(current);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());

  book_cli::CommandLine cli;
  try {
    cli.app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError&) {
    return 0;  // refused (or --help): CLI11 reports it, exit code 105 and friends
  }
  // Any other exception escapes: libFuzzer reports it as a crash.
  if (cli.train->parsed()) check_in_range(cli.train_settings);
  if (cli.run->parsed()) {
    require(cli.experiment_id >= 0, "run N");
    check_in_range(cli.run_settings);
  }
  if (cli.check->parsed())
    require(cli.check_batch >= 1 && cli.check_batch <= book_cli::ranges::check_batch.max,
            "check --batch");
  if (cli.reproduce->parsed()) {
    require(cli.repro_seeds >= 1 && cli.repro_seeds <= book_cli::ranges::seeds.max, "--seeds");
    require(cli.repro_epochs <= book_cli::ranges::epochs.max, "reproduce --epochs");
    for (int id : cli.repro_only) require(id >= 0, "--only");
  }
  return 0;
}
