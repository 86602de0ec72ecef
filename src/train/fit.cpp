#include "xgrad/train/fit.hpp"

#include <chrono>
#include <cmath>
#include <limits>
#include <sstream>
#include <xtensor/xview.hpp>

#include "train/plateau.hpp"
#include "xgrad/dist.hpp"
#include "xgrad/error.hpp"
#include "xgrad/nn/dropout.hpp"

namespace xg::train {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void validate(const nn::Module& model, const data::Dataset& training, const FitOptions& o) {
  (void)model;
  training.check();
  if (training.size() == 0) throw value_error("fit: the training set is empty");
  // A NaN in the data would otherwise surface as "training diverged" and
  // send the user after the learning rate.
  training.check_finite("fit: training set");
  if (o.epochs == 0) throw value_error("fit: epochs must be at least 1, got 0");
  if (o.batch_size == 0 || o.batch_size > training.size())
    throw value_error("fit: mini-batch size " + std::to_string(o.batch_size) +
                      " must be between 1 and the training-set size " +
                      std::to_string(training.size()));
  if (o.eval_batch_size == 0)  // else found only by the first monitor, after an epoch's work
    throw value_error("fit: eval_batch_size must be at least 1, got 0");
  const bool needs_eval = o.monitor_evaluation_cost || o.early_stop > 0 || o.schedule;
  if (needs_eval && o.evaluation == nullptr)
    throw value_error(
        "fit: evaluation monitors, early stopping and the schedule need an evaluation set "
        "(FitOptions::evaluation)");
  if (o.evaluation) {
    o.evaluation->check();
    o.evaluation->check_finite("fit: evaluation set");
    if (o.evaluation->features() != training.features() ||
        o.evaluation->classes() != training.classes())
      throw shape_error(
          "fit: evaluation set has " + std::to_string(o.evaluation->features()) + " features and " +
          std::to_string(o.evaluation->classes()) + " targets per sample, the training set " +
          std::to_string(training.features()) + " and " + std::to_string(training.classes()));
  }
  if (!(o.learning_rate_decay > 0.0 && o.learning_rate_decay <= 1.0))
    throw value_error("fit: learning_rate_decay must be in (0, 1], got " +
                      std::to_string(o.learning_rate_decay));
  if (o.transform && o.transform->image_size().pixels() != training.features())
    throw shape_error("fit: the " + o.transform->name() + " transform works on " +
                      std::to_string(o.transform->image_size().height) + "×" +
                      std::to_string(o.transform->image_size().width) + " images (" +
                      std::to_string(o.transform->image_size().pixels()) +
                      " values), and the training set's samples have " +
                      std::to_string(training.features()) + " features");
  if (o.monitor_training_accuracy && training.labels.empty())
    throw value_error("fit: training accuracy needs class labels, and the training set has none");
  if ((o.early_stop > 0 || o.schedule) && o.evaluation && o.evaluation->labels.empty())
    throw value_error(
        "fit: early stopping and the schedule follow the evaluation accuracy, and the "
        "evaluation set has no class labels");
  if (o.schedule &&
      (o.schedule_patience == 0 || !(o.schedule_floor > 0.0 && o.schedule_floor < 1.0)))
    throw value_error("fit: the schedule needs patience >= 1 and a floor in (0, 1)");
}

// Data-parallel: rank r > 0 moves every Dropout layer to a stream of its own
// (dist::rank_seed of a draw from the layer's stream, so a resumed run does
// the same), else all ranks, built from one seed, would mask their shards
// alike. Rank 0 keeps its stream: it is the one checkpoints save.
void reseed_dropout_for_rank(nn::Module& m) {
  if (auto* d = dynamic_cast<nn::Dropout*>(&m))
    d->reseed(dist::rank_seed(d->rng().below(std::numeric_limits<std::uint64_t>::max())));
  for (const auto& child : m.children()) reseed_dropout_for_rank(*child.second);
}

class TrainingModeRestorer {
 public:
  TrainingModeRestorer(nn::Module& m, bool mode) : m_(m), previous_(m.is_training()) {
    m.train(mode);
  }
  ~TrainingModeRestorer() { m_.train(previous_); }

 private:
  nn::Module& m_;
  bool previous_;
};

Array rows(const Array& a, std::size_t start, std::size_t stop) {
  return xt::view(a, xt::range(start, stop), xt::all());
}

// predict over n rows, taking rows [start, stop) from `rows_of` in batches.
template <class RowsOf>
Array predict_rows(nn::Module& model, std::size_t n, std::size_t batch_size, RowsOf&& rows_of) {
  if (batch_size == 0) throw value_error("predict: batch size must be at least 1");
  TrainingModeRestorer eval_mode(model, false);
  NoGradGuard no_grad;
  Array out;
  for (std::size_t start = 0; start < n; start += batch_size) {
    const std::size_t stop = std::min(n, start + batch_size);
    Tensor y = model(Tensor(rows_of(start, stop)));
    if (start == 0) out = Array::from_shape({n, y.value().shape()[1]});
    xt::view(out, xt::range(start, stop), xt::all()) = y.value();
  }
  return out;
}

}  // namespace

Array predict(nn::Module& model, const Array& inputs, std::size_t batch_size) {
  if (inputs.dimension() != 2)
    throw shape_error("predict: inputs of shape " + shape_str(inputs.shape()) +
                      " must be rank 2 (one sample per row)");
  return predict_rows(
      model, inputs.shape()[0], batch_size,
      [&](std::size_t start, std::size_t stop) { return rows(inputs, start, stop); });
}

Array predict(nn::Module& model, const data::Dataset& set, std::size_t batch_size) {
  set.check_inputs();  // targets are not needed
  return predict_rows(model, set.size(), batch_size, [&](std::size_t start, std::size_t stop) {
    return set.input_rows(start, stop);
  });
}

namespace {

// The summed cost and the correct count over rows [begin, end) of `set`.
struct RowSums {
  double cost = 0.0;
  std::size_t correct = 0;
};
RowSums sum_rows(nn::Module& model, const Cost& cost, const data::Dataset& set, std::size_t begin,
                 std::size_t end, std::size_t batch_size) {
  TrainingModeRestorer eval_mode(model, false);
  NoGradGuard no_grad;
  RowSums s;
  for (std::size_t start = begin; start < end; start += batch_size) {
    const std::size_t stop = std::min(end, start + batch_size);
    Tensor a = model(Tensor(set.input_rows(start, stop)));
    s.cost +=
        cost(a, Tensor(rows(set.targets, start, stop))).item() * static_cast<double>(stop - start);
    if (!set.labels.empty()) {
      std::vector<std::size_t> labels(set.labels.begin() + static_cast<std::ptrdiff_t>(start),
                                      set.labels.begin() + static_cast<std::ptrdiff_t>(stop));
      s.correct += data::count_correct(a.value(), labels);
    }
  }
  return s;
}

Evaluation finish(RowSums s, std::size_t size, const optim::Regularization* reg) {
  Evaluation e;
  e.size = size;
  e.correct = s.correct;
  e.cost =
      (size ? s.cost / static_cast<double>(size) : 0.0) + (reg ? reg->value(reg->weights) : 0.0);
  return e;
}

// evaluate() over ranks: each rank measures its dist::shard of the set and
// the sums are added up, so every rank gets the whole set's figures (the
// cost's last bits depend on the summation order; counts are exact).
Evaluation evaluate_parallel(nn::Module& model, const Cost& cost, const data::Dataset& set,
                             const optim::Regularization* reg, std::size_t batch_size) {
  const dist::Shard mine = dist::shard(set.size());
  RowSums s = sum_rows(model, cost, set, mine.begin, mine.end, batch_size);
  const std::vector<double> total =
      dist::sum(std::vector<double>{s.cost, static_cast<double>(s.correct)});
  return finish({total[0], static_cast<std::size_t>(total[1])}, set.size(), reg);
}

}  // namespace

Evaluation evaluate(nn::Module& model, const Cost& cost, const data::Dataset& set,
                    const optim::Regularization* reg, std::size_t batch_size) {
  set.check();
  if (batch_size == 0) throw value_error("evaluate: batch size must be at least 1");
  return finish(sum_rows(model, cost, set, 0, set.size(), batch_size), set.size(), reg);
}

History fit(nn::Module& model, const Cost& cost, optim::Optimizer& optimizer,
            const data::Dataset& training, const FitOptions& o) {
  validate(model, training, o);
  Rng own_rng(o.seed);
  Rng& rng = o.rng ? *o.rng : own_rng;
  data::Batches batches(training, o.batch_size, &rng);
  if (o.resume_order) batches.set_order(*o.resume_order);
  const std::vector<Tensor>& params = optimizer.params();
  // The reported cost's regularisation term covers exactly what the
  // optimizer regularises (listed weights that are not its parameters are in
  // neither).
  optim::Regularization covered = optimizer.regularization();
  covered.weights = optimizer.regularized_tensors();
  const optim::Regularization* reg = &covered;

  // Under mpirun every rank runs this loop over the same global batches and
  // takes its shard of each (FitOptions::data_parallel).
  const bool parallel = o.data_parallel && dist::is_distributed();
  // Nothing here reads a gradient between backward() and step(), so the
  // optimizer may take the steps it can take with step()'s bits inside
  // backward (SGD: linear's weights and biases: no gradient buffer written
  // and streamed again). Not data-parallel: the gradients are averaged first.
  struct ExactStepsInBackward {
    optim::Optimizer& optimizer;
    bool before;
    ~ExactStepsInBackward() { optimizer.set_exact_steps_in_backward(before); }
  } exact_steps{optimizer, optimizer.exact_steps_in_backward()};
  optimizer.set_exact_steps_in_backward(!parallel);
  if (parallel && optimizer.steps_in_backward())
    throw value_error(
        "fit: data-parallel training averages the gradients over the ranks after "
        "backward(), but this " +
        optimizer.name() +
        " takes its steps inside backward() (fused, SGD::set_fused(true)); turn "
        "fused steps off for data_parallel");
  if (parallel) dist::broadcast(params);  // all ranks start from rank 0's weights
  if (parallel && dist::rank() != 0) reseed_dropout_for_rank(model);
  Monitor* const monitor = !parallel || dist::rank() == 0 ? o.monitor : nullptr;
  auto measure = [&](const data::Dataset& set) {
    return parallel ? evaluate_parallel(model, cost, set, reg, o.eval_batch_size)
                    : evaluate(model, cost, set, reg, o.eval_batch_size);
  };

  History h;
  FitProgress progress = o.resume_progress ? *o.resume_progress : FitProgress{};
  detail::PlateauPolicy plateau(o, progress, optimizer);
  std::vector<Array> snapshot(params.size());

  for (std::size_t epoch = o.first_epoch + 1; epoch <= o.first_epoch + o.epochs; ++epoch) {
    for (std::size_t i = 0; i < params.size(); ++i) snapshot[i] = params[i].value();
    model.train();
    if (monitor)
      monitor->on_epoch_begin(epoch, o.first_epoch + o.epochs, batches.batches_per_epoch());
    const auto t0 = Clock::now();
    std::size_t done = 0;
    auto restore_epoch_start = [&] {
      for (std::size_t i = 0; i < params.size(); ++i) {
        Tensor p = params[i];  // a handle: writes reach the model's parameter
        p.mutable_value() = snapshot[i];
      }
    };
    try {
      // The batch is copied once, straight into these leaves' buffers. Reusing
      // them is safe: backward() released the previous step's graph.
      Tensor x{Array()}, y{Array()};
      const std::uint64_t epoch_seed = derive_seed(o.augment_seed, epoch);
      // This rank's rows of each global batch: all of them in one process.
      auto my_part = [&](std::size_t m) {
        const dist::Shard sh = parallel ? dist::shard(m) : dist::Shard{0, m};
        return std::make_pair(sh.begin, sh.size());
      };
      std::size_t global_rows = 0, first_row = 0;
      while (batches.next_part_into(x.mutable_value(), y.mutable_value(), my_part, global_rows,
                                    first_row)) {
        const std::size_t local_rows = x.value().shape()[0];
        if (o.transform && local_rows)  // positions in the epoch's order
          o.transform->apply_indexed(x.mutable_value(), epoch_seed,
                                     done * o.batch_size + first_row);
        optimizer.zero_grad();
        Tensor loss;
        double value = 0.0;
        if (local_rows) {
          loss = cost_on_model(cost, model, x, y);
          value = loss.item();
        }
        if (parallel) {
          // The global batch's mean cost (shard means weighted by their rows)
          // travels with the gradients: one message per step. Every rank gets
          // the same number, so all of them stop together; a rank whose own
          // cost is not finite skips its backward (its gradient is discarded).
          if (local_rows && std::isfinite(value)) loss.backward();
          value = dist::average_gradients_and_sum(
              params, local_rows, global_rows,
              value * static_cast<double>(local_rows) / static_cast<double>(global_rows));
        } else if (local_rows && std::isfinite(value)) {
          loss.backward();
        }
        if (!std::isfinite(value)) {
          std::ostringstream msg;
          msg << "fit: training diverged in epoch " << epoch << ", mini-batch " << done + 1
              << ": the " << cost.name() << " cost is " << value << " (learning rate "
              << optimizer.learning_rate()
              << "); the parameters were restored to their values at the start of the epoch. "
                 "Try a smaller learning rate.";
          throw numeric_error(msg.str());
        }
        optimizer.step();
        ++done;
        if (monitor) monitor->on_batch(done, value);
      }
    } catch (const numeric_error&) {
      // A diverged cost, or anomaly mode stopping at a NaN: either way the
      // model goes back to its state at the start of the epoch.
      restore_epoch_start();
      throw;
    }

    EpochRecord r;
    r.epoch = epoch;
    r.learning_rate = optimizer.learning_rate();
    r.seconds = seconds_since(t0);
    r.training_size = training.size();
    if (o.monitor_training_cost || o.monitor_training_accuracy) {
      Evaluation e = measure(training);
      if (o.monitor_training_cost) r.training_cost = e.cost;
      if (o.monitor_training_accuracy) r.training_correct = e.correct;
    }
    if (o.evaluation) {
      r.evaluation_size = o.evaluation->size();
      const bool want = o.monitor_evaluation_cost || o.monitor_evaluation_accuracy ||
                        o.early_stop > 0 || o.schedule;
      if (want) {
        Evaluation e = measure(*o.evaluation);
        if (o.monitor_evaluation_cost) r.evaluation_cost = e.cost;
        if (!o.evaluation->labels.empty()) r.evaluation_correct = e.correct;
      }
    }
    h.epochs.push_back(r);

    // Decided (and a halving applied) before on_epoch_end, so that a
    // checkpoint saved there holds the state the next epoch starts from.
    if (o.learning_rate_decay != 1.0)
      optimizer.set_learning_rate(optimizer.learning_rate() * o.learning_rate_decay);
    const std::string stop = plateau.after_epoch(epoch, r.evaluation_correct, optimizer);

    if (monitor) monitor->on_epoch_end(r);
    bool go_on = !o.on_epoch_end || o.on_epoch_end(r, FitState{rng, batches.order(), progress});
    if (parallel) go_on = dist::max(go_on ? 0.0 : 1.0) == 0.0;  // one rank stopping stops all
    if (!go_on) {
      h.stop_reason = "interrupted";
      break;
    }
    if (!stop.empty()) {
      h.stop_reason = stop;
      break;
    }
  }
  if (h.stop_reason.empty()) h.stop_reason = "completed";
  if (progress.best_correct) {
    h.best_correct = *progress.best_correct;
    h.best_epoch = progress.best_epoch;
  }
  model.eval();
  return h;
}

}  // namespace xg::train
