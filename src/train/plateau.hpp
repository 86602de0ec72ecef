#pragma once
// fit's reaction to a plateau of the evaluation accuracy (internal): early
// stopping after `early_stop` flat epochs, and the book's schedule, which
// halves η after `schedule_patience` flat epochs and stops once η has fallen
// to η₀ · schedule_floor. The counts live in FitProgress, so a checkpoint
// resumes them exactly.
#include <cstddef>
#include <optional>
#include <string>

#include "xgrad/optim/optimizer.hpp"
#include "xgrad/train/fit.hpp"
#include "xgrad/train/fit_progress.hpp"

namespace xg::train::detail {

class PlateauPolicy {
 public:
  /// Sets progress.initial_learning_rate (η₀) to the optimizer's rate on a fresh run.
  PlateauPolicy(const FitOptions& options, FitProgress& progress, const optim::Optimizer& opt);

  /// Records epoch `epoch`'s evaluation accuracy (empty if not measured),
  /// halves the optimizer's rate when the schedule says so, and returns why
  /// training should stop after this epoch ("" to go on).
  std::string after_epoch(std::size_t epoch, std::optional<std::size_t> correct,
                          optim::Optimizer& opt);

 private:
  const FitOptions& o_;
  FitProgress& progress_;
};

}  // namespace xg::train::detail
