#pragma once
// Checkpoints: everything needed to resume training exactly where it stopped.
// A checkpoint is a DIRECTORY:
//   checkpoint.json    format "xgrad-checkpoint" version 2: epoch, learning
//                      rate, shuffling-engine state, last sample order,
//                      the training loop's progress, named states, history, settings,
//                      the optimizer's name and state table, and every
//                      module's extra state (Module::extra_state: Dropout's
//                      mask engine)
//   model/             a model directory (see model.hpp; load_model reads it)
//   optimizer/<k>.npy  Optimizer::state()[k], by position
// Saved atomically like a model; loading checks everything before it changes
// the model or the optimizer. Format: docs/model-format.md.
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "xgrad/nn/module.hpp"
#include "xgrad/nn/sequential.hpp"
#include "xgrad/optim/optimizer.hpp"

namespace xg::io {

inline constexpr const char* kCheckpointFormat = "xgrad-checkpoint";
inline constexpr int kCheckpointVersion = 2;  // reads 1 too (docs/model-format.md)
inline constexpr const char* kCheckpointManifest = "checkpoint.json";

/// The training-loop state stored next to the model and optimizer.
struct Checkpoint {
  /// Epochs completed (FitOptions::first_epoch when resuming).
  std::size_t epoch = 0;
  /// Rng::state() of the shuffling engine; "" if not recorded.
  std::string rng_state;
  /// The sample order of the last epoch; may be empty.
  std::vector<std::size_t> order;
  /// η at the time of the save (normally opt.learning_rate()); load_checkpoint
  /// also sets it on the optimizer, so a schedule's halvings survive.
  double learning_rate = 0.0;
  /// The training loop's progress (early stopping's and the schedule's
  /// counts) as a JSON object's text, stored under "progress"; "" = none.
  /// Its fields are the training floor's business (train::Checkpointer).
  std::string progress_json;
  /// More named resumable state as text, stored under "states" (what
  /// train::Checkpointer's state providers return).
  std::map<std::string, std::string> states;
  /// The history so far as CSV text; optional.
  std::string history_csv;
  /// Free-form JSON text (any JSON value; "" = none). Stored as JSON, so
  /// load_checkpoint returns it re-serialised compactly (same value, whitespace
  /// may differ).
  std::string settings_json;
};

/// Saves model parameters (and architecture), optimizer state, every module's
/// extra state (Dropout's mask engine) and `meta` into the directory `dir`, atomically (an
/// existing `dir` must be empty or hold a checkpoint.json). value_error for a
/// negative or non-finite learning rate, a malformed rng_state or
/// settings_json, or a model save_model() refuses; io_error for file-system
/// failures. The previous checkpoint at `dir` survives every failure.
void save_checkpoint(const std::string& dir, const nn::Sequential& model,
                     const optim::Optimizer& opt, const Checkpoint& meta);

/// As check_save_target (model.hpp) for a checkpoint directory (marker
/// checkpoint.json).
void check_checkpoint_target(const std::string& dir);

/// Restores a checkpoint into an existing model and optimizer of the same
/// shape and kind: parameters (as load_parameters), optimizer state
/// (load_state) and learning rate, and every module's extra state; returns the
/// rest. Restore the shuffling engine with Rng::restore(result.rng_state).
/// Everything is read and checked first (format, optimizer name, state count
/// and shapes, parameter names and shapes, finite values, engine states); on
/// any problem io_error naming the file, and nothing has changed.
Checkpoint load_checkpoint(const std::string& dir, nn::Module& model, optim::Optimizer& opt);

/// Reads and checks checkpoint.json's own fields only (format, version,
/// epoch, learning rate, engine state, order, progress, states, settings),
/// without touching a model or optimizer: for checks a caller makes before
/// load_checkpoint commits. io_error as load_checkpoint.
Checkpoint peek_checkpoint(const std::string& dir);

}  // namespace xg::io
