#include "xgrad/train/health.hpp"

#include <cmath>
#include <ostream>
#include <sstream>

#include "xgrad/error.hpp"

namespace xg::train {

HealthCheck::HealthCheck(std::size_t classes) : HealthCheck(classes, Options{}) {}

HealthCheck::HealthCheck(std::size_t classes, Options options)
    : classes_(classes), options_(options) {
  if (classes < 2)
    throw value_error("HealthCheck: a classifier has at least 2 classes, got " +
                      std::to_string(classes));
  if (!(options.cost_rise > 1.0) || !std::isfinite(options.cost_rise))
    throw value_error("HealthCheck: cost_rise must be a finite factor > 1");
  if (!(options.chance_margin >= 0.0 && options.chance_margin < 1.0))
    throw value_error("HealthCheck: chance_margin must be in [0, 1)");
}

void HealthCheck::on_batch(double cost) {
  if (!std::isfinite(cost)) return;  // fit() itself stops at those
  if (!first_cost_) first_cost_ = cost;
  epoch_sum_ += cost;
  ++epoch_batches_;
}

std::vector<std::string> HealthCheck::on_epoch_end(const EpochRecord& r) {
  std::vector<std::string> raised;
  const double mean = epoch_batches_ ? epoch_sum_ / static_cast<double>(epoch_batches_) : 0.0;
  if (!warned_cost_ && epoch_batches_ && first_cost_ && *first_cost_ > 0.0 &&
      mean >= options_.cost_rise * *first_cost_) {
    std::ostringstream m;
    m << "epoch " << r.epoch << ": the mean mini-batch cost " << mean << " is "
      << std::round(mean / *first_cost_) << " times the first mini-batch's " << *first_cost_
      << "; training is moving away from a minimum (learning rate " << r.learning_rate
      << " too large?)";
    raised.push_back(m.str());
    warned_cost_ = true;
  }
  epoch_sum_ = 0.0;
  epoch_batches_ = 0;

  // The evaluation accuracy when it was measured, else the training one.
  const bool eval = r.evaluation_correct && r.evaluation_size;
  const bool train = r.training_correct && r.training_size;
  if (!warned_chance_ && (eval || train)) {
    const std::size_t correct = eval ? *r.evaluation_correct : *r.training_correct;
    const std::size_t size = eval ? r.evaluation_size : r.training_size;
    const double chance = 1.0 / static_cast<double>(classes_);
    const double accuracy = static_cast<double>(correct) / static_cast<double>(size);
    if (accuracy <= chance + options_.chance_margin * (1.0 - chance)) {
      std::ostringstream eta;  // in full, as in the cost warning and the epoch lines
      eta << r.learning_rate;
      std::ostringstream m;
      m.precision(3);
      m << "epoch " << r.epoch << ": " << (eval ? "evaluation" : "training") << " accuracy "
        << 100.0 * accuracy << "% (" << correct << "/" << size << ") is at chance level for "
        << classes_ << " classes (" << 100.0 * chance
        << "%): the network has learnt nothing (learning rate " << eta.str()
        << " too large, or saturated units?)";
      raised.push_back(m.str());
      warned_chance_ = true;
    }
  }
  warnings_.insert(warnings_.end(), raised.begin(), raised.end());
  return raised;
}

HealthMonitor::HealthMonitor(std::size_t classes, std::ostream& warn, Monitor* next,
                             HealthCheck::Options options)
    : check_(classes, options), warn_(warn), next_(next) {}

void HealthMonitor::on_epoch_begin(std::size_t epoch, std::size_t epochs, std::size_t batches) {
  if (next_) next_->on_epoch_begin(epoch, epochs, batches);
}

void HealthMonitor::on_batch(std::size_t done, double cost) {
  check_.on_batch(cost);
  if (next_) next_->on_batch(done, cost);
}

void HealthMonitor::on_epoch_end(const EpochRecord& record) {
  if (next_) next_->on_epoch_end(record);
  for (const auto& w : check_.on_epoch_end(record)) warn_ << "warning: " << w << '\n';
}

}  // namespace xg::train
