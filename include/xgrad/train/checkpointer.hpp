#pragma once
// Saving and resuming a training run, on top of io's checkpoint directories:
// the model, the optimizer (state and η), the shuffling engine and the last
// sample order, fit's progress (early stopping and the schedule), every
// module's extra state (Dropout's engine), and any further state registered
// by name; a data transform (FitOptions::transform) and its seed are saved
// too, and resume() refuses a run that would distort differently.
//
//   xg::train::Checkpointer ck(*model, *optimizer, "runs/ck");   // "" = never save
//   xg::train::FitOptions opt;  opt.seed = 7;  ...
//   if (resuming) ck.resume("runs/ck", opt);   // or after attach; either order
//   ck.attach(opt);                             // saves after every epoch
//   xg::train::fit(*model, *cost, *optimizer, data, opt);
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "xgrad/nn/sequential.hpp"
#include "xgrad/optim/optimizer.hpp"
#include "xgrad/random.hpp"
#include "xgrad/train/fit.hpp"
#include "xgrad/train/fit_progress.hpp"

namespace xg::train {

/// More resumable state, saved and restored as text under a name. A
/// provider either restores its state (`restore`) or, for a setting the
/// resuming run must already share with the saved one, only checks it
/// (`verify`): never both.
struct StateProvider {
  /// The state now, as text. A verifying provider may return "" to save
  /// nothing (a setting that is off).
  std::function<std::string()> save;
  /// Restores save()'s text; throws xg::error for a text it cannot use (then
  /// it must not have changed anything).
  std::function<void(const std::string&)> restore;
  /// Compares the saved text ("" if the checkpoint has none) with this run's
  /// and throws xg::error to refuse the checkpoint; resume() calls it before
  /// it changes anything and passes the refusal on as an xg::value_error
  /// that starts with the checkpoint's manifest path.
  std::function<void(const std::string&)> verify;
};

/// What resume() found.
struct Resumed {
  std::size_t epoch = 0;      // epochs the checkpoint had done
  std::string settings_json;  // as given to set_settings() by the saving run ("" if none)
};

class Checkpointer {
 public:
  /// `dir`: where attach()'s callback saves after each epoch ("" = nowhere).
  /// Holds references: model and optimizer must outlive it.
  Checkpointer(nn::Sequential& model, optim::Optimizer& optimizer, std::string dir = "");
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  /// Free-form JSON text saved with every checkpoint (the run's settings),
  /// returned by resume(). value_error if it is not valid JSON.
  void set_settings(const std::string& settings_json);
  /// Registers more state under `name`: value_error if the name is empty,
  /// taken or "augment" (FitOptions::transform's state, which attach and
  /// resume register), or the provider lacks save or has not exactly one of
  /// restore and verify. Every checkpoint saves it; resume() restores it
  /// (refusing a checkpoint that lacks it) or has it verified.
  void add_state(const std::string& name, StateProvider provider);

  /// Restores the checkpoint in `dir` into the model, the optimizer and the
  /// registered states, once the verifying ones accept it (among them
  /// "augment": options.transform and augment_seed must be the saved run's),
  /// and sets `options` to continue the run exactly: first_epoch, rng (this
  /// Checkpointer's engine), resume_order and resume_progress (pointing into
  /// this object, which must outlive fit).
  /// options.epochs is left alone: it counts the epochs still to run.
  /// io_error naming the file and the field for any problem with the files;
  /// the model and optimizer are unchanged when reading fails.
  Resumed resume(const std::string& dir, FitOptions& options);

  /// Makes fit use this Checkpointer's shuffling engine (seeded from
  /// options.seed unless resumed) and save a checkpoint after every epoch
  /// into the directory given to the constructor, before any on_epoch_end
  /// already set (which still decides whether to go on).
  /// Registers options.transform and augment_seed as the "augment" state.
  void attach(FitOptions& options);

  /// Saves a checkpoint into `dir` now, as after epoch `record.epoch` with
  /// fit's `state` and every registered state (what attach's callback does).
  void save(const std::string& dir, const EpochRecord& record, const FitState& state) const;

 private:
  /// add_state, and for `own` (the Checkpointer's own "augment" state) the
  /// reserved name allowed and a provider of the same name replaced.
  void register_state(const std::string& name, StateProvider provider, bool own);

  nn::Sequential& model_;
  optim::Optimizer& optimizer_;
  std::string dir_;
  std::string settings_;
  std::map<std::string, StateProvider> providers_;
  Rng rng_;
  bool resumed_ = false;
  std::vector<std::size_t> order_;
  FitProgress progress_;
};

}  // namespace xg::train
