// xgrad-book: the network of Nielsen's "Neural Networks and Deep Learning",
// chapters 1–3, trained on real MNIST as a composed xgrad model.
#include <CLI/CLI.hpp>
#include <iostream>

#include "common.hpp"
#include "xgrad/error.hpp"

namespace book_cli {
int cmd_hessian();  // examples/book/cmd_hessian.cpp
}

int main(int argc, char** argv) {
  using namespace book_cli;
  CLI::App app{"xgrad-book: the book's network on MNIST, checked against BP1-BP4"};
  app.require_subcommand(1);

  app.add_subcommand("list", "The ten reference experiments and the book's results");

  int experiment_id = 1;
  Settings run_settings;
  auto* run = app.add_subcommand("run", "Run experiment N exactly as the book did");
  run->add_option("N", experiment_id, "Experiment number (see list)")->required();
  add_common_flags(*run, run_settings);

  Settings train_settings;
  auto* train = app.add_subcommand("train", "Train with every knob as a flag");
  add_model_flags(*train, train_settings);
  add_common_flags(*train, train_settings);

  std::string model_dir, eval_data = "data/mnist", eval_set = "test";
  auto* eval = app.add_subcommand("eval", "Evaluate a saved model");
  eval->add_option("--model", model_dir, "Model directory written by --save")->required();
  eval->add_option("--data", eval_data, "Directory holding the four MNIST IDX files");
  eval->add_option("--set", eval_set, "training | validation | test")
      ->check(CLI::IsMember({"training", "validation", "test"}));

  std::string check_data = "data/mnist";
  std::uint64_t check_seed = 0;
  std::size_t check_batch = 10;
  auto* check = app.add_subcommand("check", "Autograd vs the closed-form BP1-BP4");
  check->add_option("--data", check_data, "MNIST directory (a synthetic batch if absent)");
  check->add_option("--seed", check_seed, "Seed for the weights and the batch");
  check->add_option("--batch", check_batch, "Batch size")->check(CLI::PositiveNumber);

  std::string repro_data = "data/mnist", repro_out = "docs/book-results.md";
  std::size_t repro_seeds = 3, repro_epochs = 0;
  std::vector<int> repro_only;
  auto* repro = app.add_subcommand("reproduce", "Run all ten experiments over several seeds");
  repro->add_option("--seeds", repro_seeds, "Seeds per experiment")->check(CLI::PositiveNumber);
  repro->add_option("--data", repro_data, "Directory holding the four MNIST IDX files");
  repro->add_option("--out", repro_out, "Markdown report to write");
  repro->add_option("--only", repro_only, "Only these experiments")->delimiter(',');
  repro->add_option("--epochs", repro_epochs, "Override every experiment's epochs (smoke test)");

  auto* hessian = app.add_subcommand(
      "hessian", "The book's Hessian technique: Newton and Hessian-free vs SGD and momentum");

  CLI11_PARSE(app, argc, argv);
  try {
    if (app.got_subcommand("list")) return cmd_list();
    if (run->parsed()) {
      const auto& e = xg::book::experiment(experiment_id);
      Settings s = from_experiment(e);
      // Flags given on the command line override the experiment's values.
      if (run->count("--epochs")) s.epochs = run_settings.epochs;
      s.seed = run_settings.seed;
      s.data = run_settings.data;
      s.out = run_settings.out;
      s.save = run_settings.save;
      s.monitor_all = run_settings.monitor_all || e.id == 5 || e.id == 6 || e.id == 7;
      s.detect_anomaly = run_settings.detect_anomaly;
      s.checkpoint = run_settings.checkpoint;
      s.resume = run_settings.resume;
      std::cout << "experiment " << e.id << ": " << e.note << "\n";
      train_and_report(s, std::cout);
      return interrupted() ? 130 : 0;
    }
    if (train->parsed()) {
      train_and_report(train_settings, std::cout);
      return interrupted() ? 130 : 0;
    }
    if (eval->parsed()) return cmd_eval(model_dir, eval_data, eval_set);
    if (check->parsed()) return cmd_check(check_data, check_seed, check_batch);
    if (hessian->parsed()) return cmd_hessian();
    if (repro->parsed())
      return cmd_reproduce(repro_data, repro_seeds, repro_out, repro_only, repro_epochs);
  } catch (const xg::error& e) {
    std::cerr << "xgrad-book: " << e.what() << std::endl;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "xgrad-book: unexpected error: " << e.what() << std::endl;
    return 3;
  }
  return 0;
}
