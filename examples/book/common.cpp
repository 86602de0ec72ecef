#include "common.hpp"

#include <fmt/core.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "augmentations.hpp"
#include "xgrad/cost.hpp"
#include "xgrad/dist.hpp"
#include "xgrad/gemm.hpp"
#include "xgrad/io/checkpoint.hpp"
#include "xgrad/io/model.hpp"
#include "xgrad/nn/activation.hpp"
#include "xgrad/nn/dropout.hpp"
#include "xgrad/nn/linear.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/optim.hpp"
#include "xgrad/threads.hpp"
#include "xgrad/train/checkpointer.hpp"
#include "xgrad/train/health.hpp"
#include "xgrad/train/progress.hpp"
#include "xgrad/train/report.hpp"

namespace book_cli {

Settings from_experiment(const xg::book::Experiment& e) {
  Settings s;
  s.sizes = e.sizes;
  s.activation = e.activation;
  s.cost = e.cost;
  s.init = e.init;
  s.eta = e.eta;
  s.lambda = e.lambda;
  s.epochs = static_cast<std::size_t>(e.epochs);
  s.batch = e.batch;
  s.train_size = e.train_size;
  s.eval = e.eval_set;
  s.output = e.output;
  s.momentum = e.momentum;
  s.eta_decay = e.eta_decay;
  s.augment = e.augment;
  // The paper's 784-800-10 runs use both cores of the machine they are timed
  // on (--threads overrides it); the thread count does not change the numbers.
  if (e.threads > 1) s.threads = static_cast<std::size_t>(e.threads);
  return s;
}

// add_common_flags and add_model_flags: flags.cpp, with the number parser.

std::shared_ptr<xg::nn::Sequential> build_model(const Settings& s, xg::Rng& init_rng) {
  const std::string output =
      !s.output.empty() ? s.output : (s.cost == "log-likelihood" ? "softmax" : "sigmoid");
  if (s.dropout <= 0.0)
    return xg::nn::mlp(s.sizes, s.activation, init_rng, xg::nn::parse_init(s.init), output);
  // With dropout: Linear, act, Dropout for each hidden layer.
  auto base = xg::nn::mlp(s.sizes, s.activation, init_rng, xg::nn::parse_init(s.init), output);
  auto model = std::make_shared<xg::nn::Sequential>();
  xg::Rng dropout_rng(derive_seed(s.seed, 2));
  const std::size_t n = base->size();
  for (std::size_t i = 0; i < n; ++i) {
    model->add((*base)[i]);
    const bool hidden_activation = i % 2 == 1 && i + 1 < n;
    if (hidden_activation) model->add(std::make_shared<xg::nn::Dropout>(s.dropout, dropout_rng));
  }
  return model;
}

namespace {

std::atomic<bool> g_interrupted{false};

// First Ctrl-C: finish the epoch (and its checkpoint), then stop cleanly.
// A second one: the default action, immediate exit.
extern "C" void on_sigint(int) {
  g_interrupted = true;
  const char msg[] = "\ninterrupt: finishing the current epoch (Ctrl-C again to abort)\n";
  (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
  std::signal(SIGINT, SIG_DFL);
}

std::string settings_json(const Settings& s) {
  nlohmann::json j;
  j["sizes"] = s.sizes;
  j["activation"] = s.activation;
  j["output"] = s.output;
  j["cost"] = s.cost;
  j["init"] = s.init;
  j["optimizer"] = s.optimizer;
  j["eta"] = s.eta;
  j["lambda"] = s.lambda;
  j["l1"] = s.l1;
  j["momentum"] = s.momentum;
  j["dropout"] = s.dropout;
  j["epochs"] = s.epochs;
  j["batch"] = s.batch;
  j["train_size"] = s.train_size;
  j["eval"] = s.eval;
  j["seed"] = s.seed;
  // Written only when used, so that checkpoints of plain runs made before
  // these settings existed still compare equal.
  if (s.eta_decay != 1.0) j["eta_decay"] = s.eta_decay;
  if (!s.augment.empty()) j["augment"] = s.augment;
  return j.dump();
}

}  // namespace

bool interrupted() { return g_interrupted; }

std::string accuracy_line(const std::string& set, std::size_t correct, std::size_t total) {
  return fmt::format(
      "accuracy: {} {}/{} {:.2f}%", set, correct, total,
      total ? 100.0 * static_cast<double>(correct) / static_cast<double>(total) : 0.0);
}

const xg::data::Dataset& pick_set(const xg::data::Mnist& m, const std::string& name) {
  if (name == "training") return m.training;
  if (name == "validation") return m.validation;
  if (name == "test") return m.test;
  throw xg::value_error("unknown data set '" + name + "': expected training, validation or test");
}

// Every output path is checked before the first epoch, so a bad or clashing
// path is refused up front instead of after hours of training.
void check_output_paths(const Settings& s) {
  if (!s.save.empty()) xg::io::check_save_target(s.save);
  if (!s.checkpoint.empty()) xg::io::check_checkpoint_target(s.checkpoint);
  if (!s.out.empty()) xg::train::check_history_target(s.out);
  auto same = [](const std::string& a, const std::string& b) {
    if (a.empty() || b.empty()) return false;
    std::error_code ec;
    const auto ca = std::filesystem::weakly_canonical(a, ec),
               cb = std::filesystem::weakly_canonical(b, ec);
    return ca == cb;
  };
  const std::pair<const char*, const std::string*> paths[] = {
      {"--save", &s.save}, {"--checkpoint", &s.checkpoint}, {"--out", &s.out}};
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = i + 1; j < 3; ++j)
      if (same(*paths[i].second, *paths[j].second))
        throw xg::value_error(std::string(paths[i].first) + " and " + paths[j].first +
                              " name the same directory '" + *paths[i].second +
                              "'; give each its own");
}

Outcome train_and_report(const Settings& s, std::ostream& out_all, bool quiet) {
  // Under mpirun every rank trains (fit is data-parallel) and rank 0 alone
  // prints and writes files; the others' output goes nowhere.
  const bool writer = xg::dist::rank() == 0;
  std::ostream nowhere(nullptr);
  std::ostream& out = writer ? out_all : nowhere;
  // The run's thread count holds for this run only: reproduce runs the
  // one-core experiments after the two-core ones.
  struct ThreadsForThisRun {
    int before = xg::num_threads();
    explicit ThreadsForThisRun(std::size_t n) {
      if (n) xg::set_num_threads(static_cast<int>(n));
    }
    ~ThreadsForThisRun() { xg::set_num_threads(before); }
  } threads_for_this_run(s.threads);
  struct GemmForThisRun {
    xg::GemmKernels before = xg::gemm_kernels();
    explicit GemmForThisRun(const std::string& name) {
      xg::set_gemm_kernels(xg::gemm_kernels_from_string(name));
    }
    ~GemmForThisRun() { xg::set_gemm_kernels(before); }
  } gemm_for_this_run(s.gemm);
  // Pixels stay bytes until a mini-batch is made: same values, 1/8 of the memory.
  const xg::data::Mnist mnist =
      xg::data::load_mnist(s.data, s.train_size, 10000, xg::data::InputStorage::bytes);
  const xg::data::Dataset& eval_set = pick_set(mnist, s.eval);

  xg::Rng init_rng(derive_seed(s.seed, 0));
  auto model = build_model(s, init_rng);
  auto cost = xg::make_cost(s.cost);
  xg::optim::Regularization reg{s.lambda, s.l1, mnist.training.size(), model->weights()};
  const std::string rule = s.momentum > 0 && s.optimizer == "sgd" ? "momentum" : s.optimizer;
  auto optimizer = xg::optim::make_optimizer(rule, model->parameters(), s.eta, s.momentum, reg);
  if (s.fused_sgd) {
    auto* sgd = dynamic_cast<xg::optim::SGD*>(optimizer.get());
    if (!sgd)
      throw xg::value_error(
          "--fused-sgd: only plain SGD takes its steps inside backward; this "
          "run uses " +
          optimizer->name());
    sgd->set_fused(true);
  }

  if (!quiet)
    out << fmt::format(
        "model: {}\ncost: {}  optimizer: {}  eta: {}  lambda: {}  batch: {}  "
        "training images: {}  evaluation: {} ({})\n",
        model->describe(), s.cost, optimizer->name(), s.eta, s.lambda, s.batch,
        mnist.training.size(), s.eval, eval_set.size());

  xg::train::FitOptions opt;
  opt.epochs = s.epochs;
  opt.batch_size = s.batch;
  opt.seed = derive_seed(s.seed, 1);
  opt.evaluation = &eval_set;
  opt.early_stop = s.early_stop;
  opt.schedule = s.schedule;
  opt.learning_rate_decay = s.eta_decay;
  std::unique_ptr<xg::data::Transform> transform;
  if (!s.augment.empty()) {
    transform = make_augmentation(s.augment);
    opt.transform = transform.get();
    opt.augment_seed = derive_seed(s.seed, 3);
    if (!quiet) out << "augmentation: " << describe_augmentation(s.augment) << "\n";
  }
  const bool monitor_all = s.monitor_all || !s.out.empty();
  opt.monitor_training_cost = monitor_all;
  opt.monitor_training_accuracy = monitor_all;
  opt.monitor_evaluation_cost = monitor_all;
  xg::train::Progress progress(out, !quiet && xg::train::stdout_is_terminal(), s.eval, s.batch);
  // Warns on stderr when the cost rises by orders of magnitude or accuracy
  // falls to chance without ever producing a NaN (an absurd learning rate).
  xg::train::HealthMonitor health(eval_set.classes(), std::cerr, quiet ? nullptr : &progress);
  opt.monitor = &health;

  // Saving and resuming the run: weights, optimizer state, η, the shuffling
  // engine and order, early stopping's and the schedule's counts.
  const std::string settings = settings_json(s);
  check_output_paths(s);
  xg::train::Checkpointer checkpointer(*model, *optimizer, s.checkpoint);
  checkpointer.set_settings(settings);
  if (!s.resume.empty()) {
    const xg::train::Resumed ck = checkpointer.resume(s.resume, opt);
    // The epoch target may grow on resume; everything else must match.
    auto comparable = [&](const std::string& text) {
      nlohmann::json j = nlohmann::json::parse(text);
      if (!j.is_object())
        throw xg::io_error(s.resume + "/checkpoint.json: \"settings\" must be an object");
      j.erase("epochs");
      return j;
    };
    if (!ck.settings_json.empty() && comparable(ck.settings_json) != comparable(settings))
      throw xg::value_error("resume: the checkpoint in " + s.resume +
                            " was made with other settings: " + ck.settings_json);
    if (ck.epoch >= s.epochs)
      throw xg::value_error("resume: the checkpoint in " + s.resume + " has already done " +
                            std::to_string(ck.epoch) + " of " + std::to_string(s.epochs) +
                            " epochs");
    opt.epochs = s.epochs - ck.epoch;
    if (!quiet) out << "resuming after epoch " << ck.epoch << " from " << s.resume << "\n";
  }
  opt.on_epoch_end = [](const xg::train::EpochRecord&, const xg::train::FitState&) {
    return !g_interrupted.load();
  };
  checkpointer.attach(opt);
  struct SigintScope {
    void (*previous)(int);
    SigintScope() : previous(std::signal(SIGINT, on_sigint)) {}
    ~SigintScope() { std::signal(SIGINT, previous); }
  } sigint_scope;

  xg::AnomalyGuard anomaly(s.detect_anomaly);
  Outcome o;
  o.history = xg::train::fit(*model, *cost, *optimizer, mnist.training, opt);
  o.eval_name = s.eval;
  o.total = eval_set.size();
  const auto& last = o.history.epochs.back();
  o.correct = last.evaluation_correct.value_or(0);

  if (!writer) return o;
  if (!s.out.empty()) {
    xg::train::write_history(s.out, o.history, s.eval);
    if (!quiet) out << "wrote " << s.out << "/history.csv, cost.svg, accuracy.svg\n";
  }
  if (!s.save.empty()) {
    nlohmann::json meta = nlohmann::json::parse(settings);
    meta["epochs_done"] = last.epoch;
    meta["accuracy"] = {{"set", s.eval}, {"correct", o.correct}, {"total", o.total}};
    try {
      xg::io::save_model(s.save, *model, s.cost, meta.dump());
    } catch (const xg::error& e) {
      const std::exception_ptr original = std::current_exception();
      // The path was checked before training; if the save still fails (a
      // full disk), the trained model is kept elsewhere rather than lost.
      const std::string rescue =
          (std::filesystem::temp_directory_path() / ("xgrad-rescue-" + std::to_string(::getpid())))
              .string();
      try {
        xg::io::save_model(rescue, *model, s.cost, meta.dump());
      } catch (const xg::error&) {
        std::rethrow_exception(original);  // nowhere to keep the model either
      }
      throw xg::io_error(std::string(e.what()) + "; the trained model was saved to " + rescue +
                         " instead");
    }
    if (!quiet) out << "saved the model to " << s.save << "\n";
  }
  if (!quiet) {
    if (o.history.stop_reason == "interrupted")
      out << "interrupted after epoch " << last.epoch
          << (s.checkpoint.empty() ? std::string() : "; resume with --resume " + s.checkpoint)
          << "\n";
    else if (o.history.stop_reason != "completed")
      out << "stopped: " << o.history.stop_reason << "\n";
    out << accuracy_line(o.eval_name, o.correct, o.total) << std::endl;
  }
  return o;
}

}  // namespace book_cli
