#pragma once
// What fit's early stopping and learning-rate schedule have seen so far. A
// checkpoint stores it (train/checkpointer.hpp) so that a resumed run stops, and
// halves η, exactly where the uninterrupted run would have.
#include <cstddef>
#include <optional>

namespace xg::train {

struct FitProgress {
  /// Epochs since the best evaluation accuracy (early stopping's count).
  std::size_t epochs_since_best = 0;
  /// Epochs without improvement since the last halving (the schedule's count).
  std::size_t epochs_since_schedule = 0;
  /// Best evaluation accuracy so far (a count), and the epoch it came in.
  std::optional<std::size_t> best_correct;
  std::size_t best_epoch = 0;
  /// η₀, the rate the schedule's floor is relative to; 0 means "the
  /// optimizer's rate when fit starts" (a fresh run).
  double initial_learning_rate = 0.0;
};

}  // namespace xg::train
