// xgrad-book's command line: the strict number parser and every subcommand's
// flags (see flags.hpp for why they live together).
#include "flags.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

#include "augmentations.hpp"
#include "xgrad/error.hpp"
#include "xgrad/limits.hpp"

namespace book_cli {

namespace {

std::string quoted(const std::string& text) {
  // Keep messages one line and bounded, whatever bytes were given.
  std::string q;
  for (char c : text.substr(0, 64)) q += (c >= 0x20 && c < 0x7f) ? c : '?';
  return "'" + q + (text.size() > 64 ? "...'" : "'");
}

std::string range_text(IntRange r) {
  if (r.max == UINT64_MAX) return "an integer >= " + std::to_string(r.min);
  return "an integer from " + std::to_string(r.min) + " to " + std::to_string(r.max);
}

std::string number_text(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

std::string range_text(RealRange r) {
  std::string lo = (r.min_inclusive ? ">= " : "> ") + number_text(r.min);
  if (!r.has_max) return "a finite number " + lo;
  return "a number " + lo + " and " + (r.max_inclusive ? "<= " : "< ") + number_text(r.max);
}

// CLI11 reports ParseErrors itself (exit 105); ours become one of those.
template <class F>
auto as_cli_error(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const xg::error& e) {
    throw CLI::ValidationError(e.what());
  }
}

std::vector<std::size_t> to_sizes(const std::vector<std::uint64_t>& v) {
  return std::vector<std::size_t>(v.begin(), v.end());
}

}  // namespace

std::uint64_t parse_integer(const std::string& flag, const std::string& text, IntRange range) {
  if (text.empty()) throw xg::value_error(flag + ": empty value, expected " + range_text(range));
  std::uint64_t v = 0;
  bool overflow = false;
  for (char c : text) {
    if (c < '0' || c > '9')
      throw xg::value_error(flag + ": " + quoted(text) + " is not " + range_text(range) +
                            (text[0] == '-' ? " (negative values are refused)" : ""));
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) overflow = true;
    if (!overflow) v = v * 10 + d;
  }
  if (overflow || v < range.min || v > range.max)
    throw xg::value_error(flag + ": " + quoted(text) + " is out of range: expected " +
                          range_text(range));
  return v;
}

double parse_real(const std::string& flag, const std::string& text, RealRange range) {
  // strtod alone would skip leading spaces and accept "nan", "inf" and hex;
  // only plain decimal spellings are numbers here.
  const bool plain =
      !text.empty() && text.find_first_not_of("0123456789.eE+-") == std::string::npos;
  char* end = nullptr;
  errno = 0;
  const double v = plain ? std::strtod(text.c_str(), &end) : 0.0;
  if (!plain || end != text.c_str() + text.size())
    throw xg::value_error(flag + ": " + quoted(text) + " is not a number; expected " +
                          range_text(range));
  if (errno == ERANGE || !std::isfinite(v))
    throw xg::value_error(flag + ": " + quoted(text) + " is beyond the range of a double");
  const bool low_ok = range.min_inclusive ? v >= range.min : v > range.min;
  const bool high_ok = !range.has_max || (range.max_inclusive ? v <= range.max : v < range.max);
  if (!low_ok || !high_ok)
    throw xg::value_error(flag + ": " + quoted(text) + " is out of range: expected " +
                          range_text(range));
  return v;
}

std::vector<std::uint64_t> parse_integer_list(const std::string& flag, const std::string& text,
                                              IntRange range) {
  std::vector<std::uint64_t> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? comma : comma - start);
    if (item.empty())
      throw xg::value_error(flag + ": " + quoted(text) + " has an empty item " +
                            std::to_string(out.size() + 1) +
                            "; expected comma-separated values, each " + range_text(range));
    out.push_back(parse_integer(flag, item, range));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

void check_layer_sizes(const std::string& flag, const std::vector<std::size_t>& sizes) {
  if (sizes.size() < 2)
    throw xg::value_error(flag + ": need at least 2 layer sizes (inputs and outputs), got " +
                          std::to_string(sizes.size()));
  for (std::size_t l = 0; l + 1 < sizes.size(); ++l) {
    const std::string what = flag + ": layer " + std::to_string(l + 1) + " (" +
                             std::to_string(sizes[l]) + " -> " + std::to_string(sizes[l + 1]) + ")";
    // Training keeps about four copies of the weights (value, gradient,
    // optimizer state, the epoch's restore point): ask for that much.
    const std::size_t weights = xg::checked_elements(what, {sizes[l + 1], sizes[l]});
    xg::check_allocation(what + " with its gradient and training state", weights,
                         4 * sizeof(xg::Scalar));
  }
}

CLI::Option* add_integer(CLI::App& app, const std::string& name, std::uint64_t& target,
                         const std::string& description, IntRange range) {
  auto* o = app.add_option_function<std::string>(
      name,
      [&target, name, range](const std::string& text) {
        target = as_cli_error([&] { return parse_integer(name, text, range); });
      },
      description);
  return o->type_name("UINT")->default_str(std::to_string(target));
}

CLI::Option* add_integer(CLI::App& app, const std::string& name, int& target,
                         const std::string& description, IntRange range) {
  range.max = std::min<std::uint64_t>(range.max, std::numeric_limits<int>::max());
  auto* o = app.add_option_function<std::string>(
      name,
      [&target, name, range](const std::string& text) {
        target = static_cast<int>(as_cli_error([&] { return parse_integer(name, text, range); }));
      },
      description);
  return o->type_name("UINT")->default_str(std::to_string(target));
}

CLI::Option* add_real(CLI::App& app, const std::string& name, double& target,
                      const std::string& description, RealRange range) {
  auto* o = app.add_option_function<std::string>(
      name,
      [&target, name, range](const std::string& text) {
        target = as_cli_error([&] { return parse_real(name, text, range); });
      },
      description);
  return o->type_name("FLOAT")->default_str(number_text(target));
}

CLI::Option* add_integer_list(CLI::App& app, const std::string& name,
                              std::vector<std::size_t>& target, const std::string& description,
                              IntRange range,
                              void (*check)(const std::string&, const std::vector<std::size_t>&)) {
  // No CLI11 delimiter: it would drop empty items before we could see them.
  auto* o = app.add_option_function<std::vector<std::string>>(
      name,
      [&target, name, range, check](const std::vector<std::string>& parts) {
        std::vector<std::size_t> all;
        as_cli_error([&] {
          for (const auto& part : parts) {
            const auto items = to_sizes(parse_integer_list(name, part, range));
            all.insert(all.end(), items.begin(), items.end());
          }
          if (check) check(name, all);
          return 0;
        });
        target = all;
      },
      description);
  return o->type_name("N,N,...");
}

void add_common_flags(CLI::App& app, Settings& s) {
  add_integer(app, "--seed", s.seed, "One seed for initialisation, shuffling and dropout",
              ranges::seed);
  add_integer(app, "--epochs", s.epochs, "Number of epochs", ranges::epochs);
  app.add_option("--data", s.data, "Directory holding the four MNIST IDX files");
  app.add_option("--out", s.out, "Write history.csv and SVG plots of cost and accuracy here");
  app.add_option("--save", s.save, "Save the trained model to this directory");
  app.add_flag("--monitor-all", s.monitor_all,
               "Monitor training and evaluation cost and accuracy each epoch");
  app.add_flag("--detect-anomaly", s.detect_anomaly,
               "Stop at the first op whose value or gradient is NaN/Inf and name it");
  app.add_option("--checkpoint", s.checkpoint,
                 "Save model, optimizer and RNG state here after each epoch");
  app.add_option("--resume", s.resume, "Continue a run from a --checkpoint directory");
  add_integer(app, "--threads", s.threads,
              "threads per process for the large matrix products and updates (default 1; "
              "experiments 11-13: 2); under mpirun, per rank",
              ranges::threads);
  app.add_option("--gemm", s.gemm,
                 "Kernels of the small matrix products: openblas (default) or libxsmm (faster "
                 "with old or forced OpenBLAS kernels and at batch 100; results differ in the last "
                 "bits; docs/performance.md)")
      ->check(CLI::IsMember({"openblas", "libxsmm"}));
}

void add_model_flags(CLI::App& app, Settings& s) {
  add_integer_list(app, "--sizes", s.sizes, "Layer sizes, input first", ranges::layer_size,
                   check_layer_sizes);
  app.add_option("--activation", s.activation, "Hidden activation (sigmoid, tanh, relu, ...)");
  app.add_option("--output", s.output,
                 "Output activation (default: sigmoid, softmax for log-likelihood)");
  app.add_option("--cost", s.cost, "quadratic | cross-entropy | log-likelihood | mae");
  app.add_option("--init", s.init, "large | default | xavier | he");
  app.add_option("--optimizer", s.optimizer, "sgd | momentum | nesterov | adam | rmsprop");
  app.add_flag("--fused-sgd", s.fused_sgd,
               "Plain SGD only: update linear layers inside backward (faster; rounds within an "
               "ulp of the unfused step, so results differ in the last bits)");
  add_real(app, "--eta", s.eta, "Learning rate η (> 0)", ranges::eta);
  add_real(app, "--lambda", s.lambda, "L2 regularisation λ (scaled by the training-set size)",
           ranges::non_negative);
  add_real(app, "--l1", s.l1, "L1 regularisation λ (scaled by the training-set size)",
           ranges::non_negative);
  add_real(app, "--momentum", s.momentum,
           "Momentum coefficient μ in [0, 1) (implies --optimizer momentum)", ranges::probability);
  add_real(app, "--dropout", s.dropout, "Drop probability in [0, 1) after each hidden layer",
           ranges::probability);
  add_integer(app, "--batch", s.batch, "Mini-batch size", ranges::batch);
  add_integer(app, "--train-size", s.train_size, "Training images (first N of the 50,000)",
              ranges::train_size);
  app.add_option("--eval", s.eval, "Evaluation set")->check(CLI::IsMember({"test", "validation"}));
  add_integer(app, "--early-stop", s.early_stop,
              "Stop after N epochs without improvement (0: never)", ranges::early_stop);
  app.add_flag("--schedule", s.schedule,
               "Halve η after 10 epochs without improvement; stop at η/128");
  add_real(app, "--eta-decay", s.eta_decay, "Multiply η by this after every epoch, in (0, 1]",
           ranges::decay);
  app.add_option("--augment", s.augment,
                 "Distort every training image on the fly, afresh each epoch: shift | rotate | "
                 "affine | elastic")
      ->check(CLI::IsMember(augmentation_names()));
}

CommandLine::CommandLine() {
  app.require_subcommand(1);

  list = app.add_subcommand("list", "The ten reference experiments and the book's results");

  run = app.add_subcommand("run", "Run experiment N exactly as the book did");
  add_integer(*run, "N", experiment_id, "Experiment number (see list)", ranges::experiment)
      ->required();
  add_common_flags(*run, run_settings);

  train = app.add_subcommand("train", "Train with every knob as a flag");
  add_model_flags(*train, train_settings);
  add_common_flags(*train, train_settings);

  eval = app.add_subcommand("eval", "Evaluate a saved model");
  eval->add_option("--model", model_dir, "Model directory written by --save")->required();
  eval->add_option("--data", eval_data, "Directory holding the four MNIST IDX files");
  eval->add_option("--set", eval_set, "training | validation | test")
      ->check(CLI::IsMember({"training", "validation", "test"}));

  check = app.add_subcommand("check", "Autograd vs the closed-form BP1-BP4");
  check->add_option("--data", check_data, "MNIST directory (a synthetic batch if absent)");
  add_integer(*check, "--seed", check_seed, "Seed for the weights and the batch", ranges::seed);
  add_integer(*check, "--batch", check_batch, "Batch size", ranges::check_batch);

  reproduce = app.add_subcommand(
      "reproduce", "Run the experiments (the book's ten and the paper's three) over several seeds");
  add_integer(*reproduce, "--seeds", repro_seeds, "Seeds per experiment", ranges::seeds);
  reproduce->add_option("--data", repro_data, "Directory holding the four MNIST IDX files");
  reproduce->add_option("--out", repro_out, "Markdown report to write");
  reproduce
      ->add_option_function<std::vector<std::string>>(
          "--only",
          [this](const std::vector<std::string>& parts) {
            std::vector<int> ids;
            as_cli_error([&] {
              for (const auto& part : parts)
                for (std::uint64_t id : parse_integer_list("--only", part, ranges::experiment))
                  ids.push_back(static_cast<int>(id));
              return 0;
            });
            repro_only = ids;
          },
          "Only these experiments (comma-separated numbers, see list)")
      ->type_name("N,N,...");
  add_integer(*reproduce, "--epochs", repro_epochs,
              "Override every experiment's epochs (smoke test)", ranges::epochs);
  reproduce->add_option("--curves", repro_curves,
                        "Also write each experiment's seed-0 history and plots to DIR/experiment-N "
                        "(monitors every cost and accuracy: slower)");
}

}  // namespace book_cli
