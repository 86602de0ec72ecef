// xgrad-book: the network of Nielsen's "Neural Networks and Deep Learning",
// chapters 1–3, trained on real MNIST as a composed xgrad model.
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "augment.hpp"
#include "common.hpp"
#include "flags.hpp"
#include "hessian.hpp"
#include "xgrad/dist.hpp"
#include "xgrad/error.hpp"
#include "xgrad/ops.hpp"

int main(int argc, char** argv) {
  using namespace book_cli;
  CommandLine cli;  // every subcommand and flag: flags.cpp
  auto& app = cli.app;
  auto *run = cli.run, *train = cli.train, *eval = cli.eval, *check = cli.check,
       *repro = cli.reproduce;
  const Settings &run_settings = cli.run_settings, &train_settings = cli.train_settings;

  AugmentOptions augment_options;
  auto* augment = add_augment_command(app, augment_options);
  MoreDataOptions more_data_options;
  auto* more_data = add_more_data_command(app, more_data_options);

  HessianOptions hessian_options;
  auto* hessian = add_hessian_command(app, hessian_options);

  CLI11_PARSE(app, argc, argv);
  // Under mpirun, `run` and `train` train data-parallel: every rank runs this
  // program, fit splits each mini-batch across the ranks, rank 0 prints and
  // writes (docs/distributed.md). Alone, the Session does nothing.
  std::unique_ptr<xg::dist::Session> session;
  try {
    if (run->parsed() || train->parsed()) session = std::make_unique<xg::dist::Session>(argc, argv);
    if (app.got_subcommand("list")) return cmd_list();
    if (run->parsed()) {
      const auto& e = xg::book::experiment(cli.experiment_id);
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
      if (run_settings.threads) s.threads = run_settings.threads;
      s.gemm = run_settings.gemm;
      if (xg::dist::rank() == 0) std::cout << "experiment " << e.id << ": " << e.note << "\n";
      train_and_report(s, std::cout);
      return interrupted() ? 130 : 0;
    }
    if (train->parsed()) {
      train_and_report(train_settings, std::cout);
      return interrupted() ? 130 : 0;
    }
    if (eval->parsed()) return cmd_eval(cli.model_dir, cli.eval_data, cli.eval_set);
    if (check->parsed()) return cmd_check(cli.check_data, cli.check_seed, cli.check_batch);
    if (hessian->parsed()) return cmd_hessian(hessian_options);
    if (repro->parsed())
      return cmd_reproduce(cli.repro_data, cli.repro_seeds, cli.repro_out, cli.repro_only,
                           cli.repro_epochs, cli.repro_curves);
    if (augment->parsed()) return cmd_augment(augment_options);
    if (more_data->parsed()) return cmd_more_data(more_data_options);
  } catch (const xg::error& e) {
    // One rank failing must end the job: the others may wait in a collective.
    if (xg::dist::is_distributed()) xg::dist::abort_job(e.what());
    std::cerr << "xgrad-book: " << e.what() << std::endl;
    return 2;
  } catch (const std::exception& e) {
    if (xg::dist::is_distributed())
      xg::dist::abort_job(std::string("unexpected error: ") + e.what());
    std::cerr << "xgrad-book: unexpected error: " << e.what() << std::endl;
    return 3;
  }
  return 0;
}
