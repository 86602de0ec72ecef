#pragma once
// What the xgrad-book subcommands share: the training settings and their
// flags, building the book's model from them, running and reporting.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "xgrad/book/experiments.hpp"
#include "xgrad/data/mnist.hpp"
#include "xgrad/nn/sequential.hpp"
#include "xgrad/train/fit.hpp"

namespace book_cli {

/// Every knob of a training run; an experiment of the book is one preset.
struct Settings {
  std::vector<std::size_t> sizes{784, 30, 10};
  std::string activation = "sigmoid";
  std::string output;  // "" = sigmoid, or softmax for the log-likelihood cost
  std::string cost = "cross-entropy";
  std::string init = "default";
  std::string optimizer = "sgd";
  bool fused_sgd = false;  // SGD's steps inside backward (optim::SGD::set_fused)
  double eta = 0.5;
  double lambda = 0.0;
  double l1 = 0.0;
  double momentum = 0.0;
  double dropout = 0.0;
  std::size_t epochs = 30;
  std::size_t batch = 10;
  std::size_t train_size = 50000;
  std::string eval = "test";  // "test" | "validation"
  std::size_t early_stop = 0;
  bool schedule = false;
  double eta_decay = 1.0;  // η multiplied by this after every epoch
  std::string augment;     // "" or a name of augmentations.hpp
  std::uint64_t seed = 0;
  std::string data = "data/mnist";
  std::string out;   // history.csv + plots
  std::string save;  // trained model directory
  bool monitor_all = false;
  bool detect_anomaly = false;
  std::string checkpoint;         // directory, saved after each epoch
  std::string resume;             // directory to resume from
  std::size_t threads = 0;        // BLAS threads; 0 = leave xgrad's default (1)
  std::string gemm = "openblas";  // the library's gemm kernels (xg::set_gemm_kernels)
};

/// The settings of experiment N of the book.
Settings from_experiment(const xg::book::Experiment& e);

/// Flags shared by `run` and `train` (data, output, seed...).
void add_common_flags(CLI::App& app, Settings& s);
/// Flags for every model/optimizer knob (`train`).
void add_model_flags(CLI::App& app, Settings& s);

/// Independent seeds for init (stream 0), shuffling (1), dropout (2) and
/// augmentation (3) derived from one --seed (xg::derive_seed, random.hpp).
using xg::derive_seed;

/// The book's network for these settings (Linear + activation per layer,
/// dropout after hidden activations when asked).
std::shared_ptr<xg::nn::Sequential> build_model(const Settings& s, xg::Rng& init_rng);

struct Outcome {
  xg::train::History history;
  std::string eval_name;
  std::size_t correct = 0, total = 0;
};

/// Loads the data, trains, prints per-epoch lines, writes --out/--save, and
/// returns the final evaluation. `quiet` prints nothing (reproduce).
Outcome train_and_report(const Settings& s, std::ostream& out, bool quiet = false);

/// Whether Ctrl-C stopped the last training run (the program then exits 130).
bool interrupted();

/// "accuracy: test 9542/10000 95.42%"
std::string accuracy_line(const std::string& set, std::size_t correct, std::size_t total);

/// Which loaded data set a name refers to ("training", "validation", "test").
const xg::data::Dataset& pick_set(const xg::data::Mnist& m, const std::string& name);

int cmd_list();
int cmd_check(const std::string& data_dir, std::uint64_t seed, std::size_t batch);
int cmd_eval(const std::string& model_dir, const std::string& data_dir, const std::string& set);
int cmd_reproduce(const std::string& data_dir, std::size_t seeds, const std::string& out_file,
                  const std::vector<int>& only, std::size_t epochs_override,
                  const std::string& curves_dir);

}  // namespace book_cli
