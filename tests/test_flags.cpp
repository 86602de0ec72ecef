// xgrad-book's number parser and command line (examples/book/flags.cpp):
// every numeric flag accepts exactly the in-range decimal values and refuses
// the rest with a message naming the flag; random argument vectors never end
// in anything but a value in range or a CLI11 parse error (issue 17, kind 1).
//
// The command line is compiled into the tests directly: it is the example's
// source, not the library's, and needs nothing else of xgrad-book. It needs
// CLI11 (header-only), which a build without examples may lack.
#if __has_include(<CLI/CLI.hpp>)
#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "../examples/book/augmentations.cpp"
#include "../examples/book/flags.cpp"
#include "xgrad/limits.hpp"
#include "xgrad/random.hpp"

using book_cli::CommandLine;
using book_cli::IntRange;
using book_cli::parse_integer;
using book_cli::parse_integer_list;
using book_cli::parse_real;
namespace ranges = book_cli::ranges;

namespace {

// Parses argv (program name added) and returns "" or CLI11's error text.
std::string parse(CommandLine& cli, std::vector<std::string> args) {
  args.insert(args.begin(), "xgrad-book");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  try {
    cli.app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    return std::string(e.what()) + " ";
  }
  return "";
}

std::string parse_error(std::vector<std::string> args) {
  CommandLine cli;
  return parse(cli, std::move(args));
}

}  // namespace

TEST_CASE("parse_integer: decimal digits only, no wrap, no overflow, in range", "[flags]") {
  CHECK(parse_integer("--epochs", "30", ranges::epochs) == 30);
  CHECK(parse_integer("--seed", "18446744073709551615", ranges::seed) == UINT64_MAX);
  for (const char* bad : {"-1", "+1", " 1", "1 ", "2.5", "1e3", "0x10", "", "12a", "١"})
    CHECK_THROWS_AS(parse_integer("--seed", bad, ranges::seed), xg::value_error);
  CHECK_THROWS_WITH(parse_integer("--seed", "18446744073709551616", ranges::seed),
                    Catch::Contains("--seed") && Catch::Contains("out of range"));
  CHECK_THROWS_WITH(parse_integer("--epochs", "99999999999999999999999", ranges::epochs),
                    Catch::Contains("from 1 to 1000000"));
  CHECK_THROWS_WITH(parse_integer("--epochs", "0", ranges::epochs),
                    Catch::Contains("out of range"));
  CHECK_THROWS_WITH(parse_integer("--early-stop", "-1", ranges::early_stop),
                    Catch::Contains("negative values are refused"));
}

TEST_CASE("parse_real: whole finite decimal numbers within the flag's range", "[flags]") {
  CHECK(parse_real("--eta", "0.5", ranges::eta) == 0.5);
  CHECK(parse_real("--eta", "3e-2", ranges::eta) == 0.03);
  CHECK(parse_real("--lambda", "0", ranges::non_negative) == 0.0);
  CHECK(parse_real("--dropout", "0.999", ranges::probability) == 0.999);
  for (const char* bad : {"0.5x", "", " 0.5", "nan", "inf", "-inf", "0x1p-3", "1e400", "--1", "."})
    CHECK_THROWS_AS(parse_real("--eta", bad, ranges::eta), xg::value_error);
  CHECK_THROWS_WITH(parse_real("--eta", "0", ranges::eta), Catch::Contains("> 0"));
  CHECK_THROWS_WITH(parse_real("--eta", "-0.1", ranges::eta), Catch::Contains("out of range"));
  CHECK_THROWS_AS(parse_real("--lambda", "-1e-9", ranges::non_negative), xg::value_error);
  CHECK_THROWS_WITH(parse_real("--dropout", "1", ranges::probability), Catch::Contains("< 1"));
  CHECK_THROWS_AS(parse_real("--dropout", "-0.5", ranges::probability), xg::value_error);
}

TEST_CASE("parse_integer_list: no empty items, each item strict", "[flags]") {
  CHECK(parse_integer_list("--sizes", "784,30,10", ranges::layer_size) ==
        std::vector<std::uint64_t>{784, 30, 10});
  for (const char* bad : {"784,,10", ",784", "784,", "", "784,-3,10", "784, 30"})
    CHECK_THROWS_AS(parse_integer_list("--sizes", bad, ranges::layer_size), xg::value_error);
  CHECK_THROWS_WITH(parse_integer_list("--sizes", "784,,10", ranges::layer_size),
                    Catch::Contains("empty item 2"));
}

TEST_CASE("xgrad-book's flags refuse what issue 17 found, naming the flag", "[flags]") {
  const std::vector<std::pair<std::vector<std::string>, std::string>> refused = {
      {{"train", "--seed", "-1"}, "--seed"},
      {{"train", "--early-stop", "-1"}, "--early-stop"},
      {{"train", "--sizes", "784,-3,10"}, "--sizes"},
      {{"train", "--sizes", "784,,10"}, "empty item"},
      {{"train", "--sizes", "784,4000000000,10"}, "would need"},
      {{"train", "--epochs", "99999999999999999999999"}, "--epochs"},
      {{"train", "--eta", "0.5x"}, "--eta"},
      {{"train", "--batch", "2.5"}, "--batch"},
      {{"train", "--dropout", "-0.5"}, "--dropout"},
      {{"train", "--dropout", "1"}, "--dropout"},
      {{"train", "--momentum", "1"}, "--momentum"},
      {{"train", "--lambda", "nan"}, "--lambda"},
      {{"run", "-1"}, "N"},
      {{"run", "1", "--epochs", "0"}, "--epochs"},
      {{"check", "--batch", "0"}, "--batch"},
      {{"reproduce", "--only", "1,,3"}, "--only"},
      {{"reproduce", "--seeds", "0"}, "--seeds"},
      {{"reproduce", "--epochs", "-2"}, "--epochs"},
  };
  for (const auto& [args, pattern] : refused) {
    INFO(args[0] << " " << args[1] << " " << args.back());
    CHECK_THAT(parse_error(args), Catch::Contains(pattern));
  }
}

TEST_CASE("xgrad-book's flags store exactly what was written", "[flags]") {
  CommandLine cli;
  REQUIRE(parse(cli, {"train", "--sizes", "784,30", "10", "--eta", "0.25", "--seed",
                      "18446744073709551615", "--epochs", "7", "--dropout", "0.5", "--early-stop",
                      "0"}) == "");
  const auto& s = cli.train_settings;
  CHECK(s.sizes == std::vector<std::size_t>{784, 30, 10});
  CHECK(s.eta == 0.25);
  CHECK(s.seed == UINT64_MAX);
  CHECK(s.epochs == 7);
  CHECK(s.dropout == 0.5);
  CommandLine repro;
  REQUIRE(parse(repro, {"reproduce", "--only", "1,3", "--epochs", "2"}) == "");
  CHECK(repro.repro_only == std::vector<int>{1, 3});
  CHECK(repro.repro_epochs == 2);
}

TEST_CASE("random flag values: a value in range or a parse error, nothing else", "[flags]") {
  // Values built from the characters that broke the old parser (signs,
  // digits past 2^64, dots, commas, exponents, letters), on every numeric flag.
  const std::vector<std::string> flags = {"--seed",       "--epochs",  "--batch",  "--train-size",
                                          "--early-stop", "--eta",     "--lambda", "--l1",
                                          "--momentum",   "--dropout", "--sizes"};
  const std::string alphabet = "0123456789999-+.,eEx n";
  xg::Rng rng(17);
  std::size_t accepted = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    const std::string flag = flags[rng.below(flags.size())];
    std::string value;
    const std::size_t length = 1 + rng.below(trial % 3 == 0 ? 30 : 6);
    for (std::size_t i = 0; i < length; ++i) value += alphabet[rng.below(alphabet.size())];
    CommandLine cli;
    std::string err;
    REQUIRE_NOTHROW(err = parse(cli, {"train", flag, value}));
    if (!err.empty()) continue;
    ++accepted;
    INFO(flag << " " << value);
    const auto& s = cli.train_settings;
    CHECK((s.epochs >= 1 && s.epochs <= 1000000));
    CHECK(s.batch >= 1);
    CHECK(s.train_size >= 1);
    CHECK(s.early_stop <= 1000000);
    CHECK((std::isfinite(s.eta) && s.eta > 0));
    CHECK((std::isfinite(s.lambda) && s.lambda >= 0));
    CHECK((std::isfinite(s.l1) && s.l1 >= 0));
    CHECK((s.momentum >= 0 && s.momentum < 1));
    CHECK((s.dropout >= 0 && s.dropout < 1));
    CHECK(s.sizes.size() >= 2);
    for (std::size_t n : s.sizes) CHECK(n >= 1);
  }
  CHECK(accepted > 50);  // the generator does reach valid values too
}

#endif  // __has_include(<CLI/CLI.hpp>)
