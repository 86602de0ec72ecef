// train::fit is data-parallel under mpirun and gives the single-process
// answer. Run by ctest alone and under `mpirun -np 2` / `-np 3`. Every rank
// trains the same network twice from the same seed: once with fit's
// data-parallel path (each rank back-propagates its shard of every global
// mini-batch) and once alone (FitOptions::data_parallel = false), and checks
// that the weights agree to 1e-12 relative (double builds) and that the
// histories (accuracy counts, early stopping, the schedule) are the same.
// Configurations: SGD + L2, momentum with a batch the ranks do not divide,
// batch 1 (empty shards), an elastic distortion of every image, the schedule.
// Then checkpoints: a run checkpointed with N ranks resumes alone and
// continues the same trajectory, and the reverse. Last, dropout: the ranks
// stay in step and draw their masks from streams of their own.
// A failed check throws: dist::run prints it with the rank and ends the job.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "synthetic.hpp"
#include "xgrad/cost.hpp"
#include "xgrad/data/transforms.hpp"
#include "xgrad/dist.hpp"
#include "xgrad/nn.hpp"
#include "xgrad/optim.hpp"
#include "xgrad/train/checkpointer.hpp"
#include "xgrad/train/fit.hpp"

namespace {

using namespace xg;

using xg_test::Config;
using xg_test::number;
using xg_test::tolerance;

void require(bool ok, const std::string& what) {
  if (!ok) throw error("check failed: " + what);
}

struct Run {
  std::shared_ptr<nn::Sequential> model;
  std::unique_ptr<optim::Optimizer> optimizer;
  std::unique_ptr<Cost> cost;
  std::unique_ptr<data::Transform> transform;
  train::FitOptions options;
};

// With `parallel`, every rank but 0 starts from other weights: fit's
// broadcast must make them rank 0's.
Run setup(const Config& c, const data::Dataset& training, const data::Dataset& test,
          bool parallel) {
  Run r;
  Rng init(11);
  r.model = nn::mlp({xg_test::features, 20, xg_test::classes}, "sigmoid", init);
  if (parallel && dist::rank() != 0)
    for (Tensor p : r.model->parameters()) p.mutable_value() += 0.5;
  r.optimizer = xg_test::optimizer_for(c, *r.model, training.size());
  r.cost = make_cost(c.cost);
  train::FitOptions& o = r.options;
  o.data_parallel = parallel;
  o.epochs = c.epochs;
  o.batch_size = c.batch;
  o.seed = 5;
  o.evaluation = &test;
  o.monitor_training_cost = true;
  o.monitor_evaluation_cost = true;
  o.schedule = c.schedule;
  o.schedule_patience = 1;
  if (c.elastic) {
    r.transform = std::make_unique<data::Elastic>(data::ImageSize{28, 28}, 4.0, 34.0);
    o.transform = r.transform.get();
    o.augment_seed = 9;
  }
  return r;
}

void check(const Config& c) {
  const data::Dataset training = xg_test::synthetic(c.samples, 1), test = xg_test::synthetic(97, 2);
  Run parallel = setup(c, training, test, true);
  const train::History hp =
      train::fit(*parallel.model, *parallel.cost, *parallel.optimizer, training, parallel.options);
  Run alone = setup(c, training, test, false);
  const train::History ha =
      train::fit(*alone.model, *alone.cost, *alone.optimizer, training, alone.options);

  const double diff = xg_test::max_relative_difference(*parallel.model, *alone.model);
  require(dist::in_sync(parallel.model->parameters()), c.name + ": ranks hold the same weights");
  require(diff <= tolerance,
          c.name + ": weights differ from one process by " + number(diff) + " (relative)");
  require(hp.epochs.size() == ha.epochs.size() && hp.stop_reason == ha.stop_reason,
          c.name + ": the same epochs and stop reason");
  for (std::size_t e = 0; e < hp.epochs.size(); ++e) {
    const auto &p = hp.epochs[e], &a = ha.epochs[e];
    require(p.evaluation_correct == a.evaluation_correct && p.learning_rate == a.learning_rate,
            c.name + ": the same accuracy counts and η in epoch " + std::to_string(e + 1));
    require(std::fabs(*p.training_cost - *a.training_cost) <= 1e-9 * std::fabs(*a.training_cost),
            c.name + ": the training cost summed over the ranks");
  }
  if (dist::rank() == 0)
    std::cout << "ok: " << c.name << " (" << dist::size() << " ranks, max rel diff " << diff
              << ", test accuracy " << *hp.epochs.back().evaluation_correct << "/97)" << std::endl;
}

// A directory every rank of this job names alike: the ranks of one mpirun
// share their parent process.
std::string shared_dir(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("xgrad-fit-parallel-" + std::to_string(::getppid()) + "-" + name))
      .string();
}

// Trains 2 epochs with `first_parallel`, checkpointing, then 2 more resumed
// with `second_parallel`, and compares with 4 uninterrupted epochs alone.
void check_resume(bool first_parallel, bool second_parallel) {
  Config c{"momentum, batch 7, elastic", "momentum", 0.5, 0.5, 1.0, "cross-entropy", 7};
  c.elastic = true;
  c.epochs = 4;
  const data::Dataset training = xg_test::synthetic(120, 3), test = xg_test::synthetic(50, 4);
  const std::string dir =
      shared_dir(std::to_string(first_parallel) + std::to_string(second_parallel));
  if (dist::rank() == 0) std::filesystem::remove_all(dir);
  dist::sum(0.0);  // a barrier: no rank writes before the old directory is gone

  Run whole = setup(c, training, test, false);
  train::fit(*whole.model, *whole.cost, *whole.optimizer, training, whole.options);

  {
    Run first = setup(c, training, test, first_parallel);
    first.options.epochs = 2;
    train::Checkpointer ck(*first.model, *first.optimizer, dir);
    ck.attach(first.options);
    train::fit(*first.model, *first.cost, *first.optimizer, training, first.options);
  }
  dist::sum(0.0);  // rank 0 has written the checkpoint

  Run second = setup(c, training, test, second_parallel);
  train::Checkpointer ck(*second.model, *second.optimizer);
  require(ck.resume(dir, second.options).epoch == 2, "resume after epoch 2");
  second.options.epochs = 2;
  train::fit(*second.model, *second.cost, *second.optimizer, training, second.options);
  const double diff = xg_test::max_relative_difference(*second.model, *whole.model);
  const std::string what = std::string(first_parallel ? "data-parallel" : "alone") +
                           " checkpoint, resumed " + (second_parallel ? "data-parallel" : "alone");
  require(diff <= tolerance, what + ": differs from the uninterrupted run by " + number(diff));
  dist::sum(0.0);
  if (dist::rank() == 0) {
    std::filesystem::remove_all(dir);
    std::cout << "ok: " << what << " (max rel diff " << diff << ")" << std::endl;
  }
}

// Dropout cannot equal one process (the masks depend on which rows a process
// draws them for); what must hold: every rank ends with the same weights, and
// the ranks' mask streams differ (built from one seed they would not, and
// every shard would be masked alike).
void check_dropout() {
  const data::Dataset training = xg_test::synthetic(100, 5);
  Rng init(11);
  auto base = nn::mlp({xg_test::features, 20, xg_test::classes}, "sigmoid", init);
  auto model = std::make_shared<nn::Sequential>();
  model->add((*base)[0]).add((*base)[1]);
  auto dropout = std::make_shared<nn::Dropout>(0.5, std::uint64_t{7});
  model->add(dropout).add((*base)[2]).add((*base)[3]);
  optim::SGD sgd(model->parameters(), 1.0);
  auto cost = make_cost("quadratic");
  train::FitOptions o;
  o.epochs = 2;
  o.batch_size = 10;
  o.monitor_evaluation_accuracy = false;
  train::fit(*model, *cost, sgd, training, o);
  require(dist::in_sync(model->parameters()), "dropout: ranks hold the same weights");
  const double next = Rng(dropout->rng()).uniform();  // a copy: the stream's next draw
  const bool all_alike = dist::max(next) == -dist::max(-next);
  require(dist::size() == 1 || !all_alike, "dropout: every rank drew the same masks");
  if (dist::rank() == 0)
    std::cout << "ok: dropout (" << dist::size() << " ranks in step, "
              << (dist::size() > 1 ? "distinct mask streams" : "one stream") << ")" << std::endl;
}

// Fused SGD steps inside backward, before the gradients could be averaged:
// data-parallel fit must refuse it up front and leave the weights alone.
void check_fused_refused() {
  const data::Dataset training = xg_test::synthetic(40, 5);
  Rng init(11);
  auto model = nn::mlp({xg_test::features, 20, xg_test::classes}, "sigmoid", init);
  const Array before = model->parameters()[0].value();
  optim::SGD sgd(model->parameters(), 1.0);
  sgd.set_fused(true);
  auto cost = make_cost("quadratic");
  train::FitOptions o;
  o.epochs = 1;
  o.batch_size = 10;
  o.monitor_evaluation_accuracy = false;
  bool refused = false;
  try {
    train::fit(*model, *cost, sgd, training, o);
  } catch (const value_error& e) {
    refused = std::string(e.what()).find("fused") != std::string::npos;
  }
  require(dist::size() == 1 || refused, "data-parallel fit refuses fused SGD, naming it");
  require(dist::size() == 1 || model->parameters()[0].value() == before,
          "the refused fit changed no weight");
  if (dist::rank() == 0) std::cout << "ok: fused SGD refused by data-parallel fit" << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  return dist::run(argc, argv, [&] {
    std::vector<Config> configs;
    configs.push_back({"sgd + L2, batch 10", "sgd", 3.0, 0.0, 5.0});
    configs.push_back(
        {"momentum + L2, cross-entropy, batch 7", "momentum", 0.5, 0.5, 5.0, "cross-entropy", 7});
    Config one{"sgd, batch 1 (empty shards)"};
    one.batch = 1;
    one.samples = 40;
    one.epochs = 2;
    configs.push_back(one);
    Config elastic{"sgd, elastic distortions, batch 10"};
    elastic.elastic = true;
    configs.push_back(elastic);
    Config schedule{"sgd, the schedule halving η", "sgd", 3.0};
    schedule.schedule = true;
    schedule.epochs = 5;
    configs.push_back(schedule);
    for (const Config& c : configs) check(c);
    check_resume(true, false);
    check_resume(false, true);
    check_dropout();
    check_fused_refused();
    return 0;
  });
}
