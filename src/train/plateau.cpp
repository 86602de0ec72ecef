#include "train/plateau.hpp"

namespace xg::train::detail {

PlateauPolicy::PlateauPolicy(const FitOptions& options, FitProgress& progress,
                             const optim::Optimizer& opt)
    : o_(options), progress_(progress) {
  if (progress_.initial_learning_rate <= 0) progress_.initial_learning_rate = opt.learning_rate();
}

std::string PlateauPolicy::after_epoch(std::size_t epoch, std::optional<std::size_t> correct,
                                       optim::Optimizer& opt) {
  bool improved = false;
  if (correct && (!progress_.best_correct || *correct > *progress_.best_correct)) {
    progress_.best_correct = correct;
    progress_.best_epoch = epoch;
    improved = true;
  }
  progress_.epochs_since_best = improved ? 0 : progress_.epochs_since_best + 1;
  progress_.epochs_since_schedule = improved ? 0 : progress_.epochs_since_schedule + 1;

  if (o_.early_stop > 0 && progress_.epochs_since_best >= o_.early_stop)
    return "early stop: no improvement in " + std::to_string(o_.early_stop) + " epochs";
  if (o_.schedule && progress_.epochs_since_schedule >= o_.schedule_patience) {
    opt.set_learning_rate(opt.learning_rate() / 2.0);
    progress_.epochs_since_schedule = 0;
    if (opt.learning_rate() <= progress_.initial_learning_rate * o_.schedule_floor * (1.0 + 1e-12))
      return "schedule: learning rate fell to " + std::to_string(o_.schedule_floor) +
             " of its start";
  }
  return "";
}

}  // namespace xg::train::detail
