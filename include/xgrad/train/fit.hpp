#pragma once
// The book's network2 SGD as a reusable training loop: epochs of shuffled
// mini-batches, the four monitors, regularisation taken from the optimizer,
// early stopping, the halving learning-rate schedule, and a per-epoch history.
//
//   xg::Rng rng(seed);
//   auto model = xg::nn::mlp({784, 30, 10}, "sigmoid", rng, xg::nn::Init::large);
//   auto cost = xg::make_cost("quadratic");
//   xg::optim::SGD sgd(model->parameters(), 3.0);
//   xg::train::FitOptions opt;  opt.epochs = 30;  opt.batch_size = 10;
//   opt.evaluation = &mnist.test;
//   auto history = xg::train::fit(*model, *cost, sgd, mnist.training, opt);
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "xgrad/cost.hpp"
#include "xgrad/data/dataset.hpp"
#include "xgrad/data/transforms.hpp"
#include "xgrad/nn/module.hpp"
#include "xgrad/optim/optimizer.hpp"
#include "xgrad/random.hpp"
#include "xgrad/train/fit_progress.hpp"

namespace xg::train {

/// One epoch's figures. Monitors that were off stay empty. Costs include the
/// regularisation term, as the book's total_cost does; accuracies are counts.
struct EpochRecord {
  std::size_t epoch = 0;  // 1-based
  double learning_rate = 0.0;
  double seconds = 0.0;  // training time of the epoch, monitors excluded
  std::optional<double> training_cost;
  std::optional<std::size_t> training_correct;
  std::size_t training_size = 0;
  std::optional<double> evaluation_cost;
  std::optional<std::size_t> evaluation_correct;
  std::size_t evaluation_size = 0;
};

struct History {
  std::vector<EpochRecord> epochs;
  /// "completed", "early stop: no improvement in N epochs",
  /// "schedule: learning rate fell to 1/128 of its start", "interrupted".
  std::string stop_reason;
  /// Epoch (1-based) with the best evaluation accuracy, 0 if not monitored.
  std::size_t best_epoch = 0;
  std::size_t best_correct = 0;
};

/// Receives progress; the default does nothing. See train/progress.hpp for a
/// terminal implementation.
class Monitor {
 public:
  virtual ~Monitor() = default;
  virtual void on_epoch_begin(std::size_t /*epoch*/, std::size_t /*epochs*/,
                              std::size_t /*batches*/) {}
  virtual void on_batch(std::size_t /*done*/, double /*cost*/) {}
  virtual void on_epoch_end(const EpochRecord& /*record*/) {}
};

/// What a checkpoint needs to resume exactly after an epoch: the shuffling
/// engine and the sample order the next epoch reshuffles.
struct FitState {
  const Rng& rng;
  const std::vector<std::size_t>& order;
  /// Early stopping's and the schedule's counts after this epoch.
  const FitProgress& progress;
};

struct FitOptions {
  std::size_t epochs = 30;
  /// Samples per mini-batch: from 1 to the training-set size (value_error
  /// otherwise); the last batch of an epoch holds the remainder.
  std::size_t batch_size = 10;
  /// Drives the shuffling. Init and dropout take their own engines/seeds;
  /// xgrad-book derives all three from one --seed.
  std::uint64_t seed = 0;
  /// Distorts every training mini-batch on the fly (data/transforms.hpp):
  /// after the batch is copied, before the forward pass, so there is never an
  /// expanded copy of the set in memory. Not owned; its image size must match
  /// the training set's features (xg::shape_error otherwise). Monitors and the
  /// evaluation set see undistorted data.
  data::Transform* transform = nullptr;
  /// Seeds the distortions, apart from `seed`: with the same order, the image
  /// at position p of epoch e gets the draws of an engine seeded by
  /// derive_seed(derive_seed(augment_seed, e), p) — a fresh distortion every
  /// epoch, the same whatever the batch size, the split across MPI ranks or a
  /// resume in between. xgrad-book derives
  /// it from --seed.
  std::uint64_t augment_seed = 0;
  /// Evaluation set for the evaluation monitors, early stopping and the
  /// schedule (the book's validation or test data). Not owned.
  const data::Dataset* evaluation = nullptr;
  bool monitor_training_cost = false;
  bool monitor_training_accuracy = false;
  bool monitor_evaluation_cost = false;
  /// On by default, and measured only when `evaluation` is set: without an
  /// evaluation set there is nothing to measure, and EpochRecord's
  /// evaluation_correct stays empty (the other evaluation monitors, early
  /// stopping and the schedule refuse to run without one).
  bool monitor_evaluation_accuracy = true;
  /// Stop after this many epochs without a better evaluation accuracy (0: never).
  std::size_t early_stop = 0;
  /// Halve η after `schedule_patience` epochs without improvement; stop once
  /// η ≤ η₀ · schedule_floor.
  bool schedule = false;
  std::size_t schedule_patience = 10;
  double schedule_floor = 1.0 / 128.0;
  /// Multiplies η by this after every epoch (1: constant η), a fixed decay
  /// that, unlike the schedule, looks at no evaluation data. In (0, 1].
  double learning_rate_decay = 1.0;
  /// Rows per forward pass when monitoring (memory vs speed; no effect on results).
  std::size_t eval_batch_size = 1000;
  /// Called on rank 0 only when training data-parallel.
  Monitor* monitor = nullptr;
  /// Under mpirun with more than one rank (xg::dist, docs/distributed.md):
  /// every rank draws the same global mini-batches as one process would, takes
  /// its contiguous shard of each (dist::shard; the transform distorts it as
  /// one process would), back-propagates it, one allreduce averages the
  /// gradients (weighted by shard size), and every rank takes the identical
  /// step. Parameters are broadcast from rank 0 first; monitors are summed over
  /// the ranks, so every rank gets the same History. `monitor` runs on rank 0
  /// only; `on_epoch_end` runs on every rank, and training stops when any rank
  /// returns false. Dropout layers of ranks > 0 are moved to streams of their
  /// own (dist::rank_seed), so the shards are masked independently.
  /// false: each rank trains alone on the whole set.
  bool data_parallel = true;
  /// Called after each epoch's record is complete; return false to stop
  /// (the stop reason is then "interrupted"). train::Checkpointer::attach
  /// hooks its saves in here (keeping a callback already set).
  std::function<bool(const EpochRecord&, const FitState&)> on_epoch_end;
  /// Epochs already done by a run this one resumes (the first epoch run is
  /// first_epoch + 1). To resume exactly, also pass the checkpoint's engine
  /// as `rng` and its order as `resume_order`.
  std::size_t first_epoch = 0;
  /// Shuffling engine to use instead of one seeded from `seed` (for resuming).
  Rng* rng = nullptr;
  /// Sample order of the last epoch done (FitState::order of a checkpoint).
  const std::vector<std::size_t>* resume_order = nullptr;
  /// Early-stopping and schedule counts of the epochs already done
  /// (FitState::progress of a checkpoint), for resuming.
  const FitProgress* resume_progress = nullptr;
};

/// Trains `model` in place and returns the per-epoch history. The model is
/// left in eval mode. When a mini-batch cost becomes NaN or infinite the
/// parameters are restored to their values at the start of that epoch and an
/// xg::numeric_error says where training diverged.
History fit(nn::Module& model, const Cost& cost, optim::Optimizer& optimizer,
            const data::Dataset& training, const FitOptions& options);

/// Cost (mean over the set, plus the optimizer's regularisation terms when
/// given) and number of correct argmax predictions, in eval mode without
/// recording a graph.
struct Evaluation {
  double cost = 0.0;
  std::size_t correct = 0;
  std::size_t size = 0;
  double accuracy() const { return size ? static_cast<double>(correct) / size : 0.0; }
};
Evaluation evaluate(nn::Module& model, const Cost& cost, const data::Dataset& set,
                    const optim::Regularization* reg = nullptr, std::size_t batch_size = 1000);

/// The model's outputs for every row of `inputs`, in eval mode without a graph.
Array predict(nn::Module& model, const Array& inputs, std::size_t batch_size = 1000);
/// The same over a data set's inputs, whichever way they are stored (its
/// targets may be missing).
Array predict(nn::Module& model, const data::Dataset& set, std::size_t batch_size = 1000);

}  // namespace xg::train
