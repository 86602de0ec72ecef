#pragma once
// Warnings for a training run that has gone bad without producing a NaN.
//
// Why: fit() stops at a NaN or Inf cost, but an absurd learning rate often
// never produces one. The sigmoids saturate, the cost climbs by orders of
// magnitude (or, with the quadratic cost, stays bounded) and the network ends
// at chance accuracy: a run that exits 0 having learnt nothing. HealthCheck
// watches the mini-batch costs and each epoch's accuracy and says so.
//
//   xg::train::HealthMonitor health(10, std::cerr, &progress);  // 10 classes
//   opt.monitor = &health;   // forwards everything to `progress`
//   auto history = xg::train::fit(model, cost, sgd, training, opt);
//   if (!health.warnings().empty()) ...
#include <cstddef>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "xgrad/train/fit.hpp"

namespace xg::train {

class HealthCheck {
 public:
  struct Options {
    /// Warn when an epoch's mean mini-batch cost is at least this many times
    /// the first mini-batch's cost (the untrained network's).
    double cost_rise = 100.0;
    /// Warn when an epoch's accuracy is at most chance + margin·(1 − chance),
    /// chance = 1/classes: 14.5% for 10 classes, 52.5% for 2.
    double chance_margin = 0.05;
  };

  /// `classes` ≥ 2: the number of outputs of a classifier.
  explicit HealthCheck(std::size_t classes);
  HealthCheck(std::size_t classes, Options options);

  /// Each mini-batch's cost, in order (Monitor::on_batch's).
  void on_batch(double cost);
  /// After each epoch: the warnings it raised (each kind at most once per
  /// run, so a run that stays bad is not a wall of text).
  std::vector<std::string> on_epoch_end(const EpochRecord& r);

  /// Every warning raised so far.
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  std::size_t classes_;
  Options options_;
  std::optional<double> first_cost_;
  double epoch_sum_ = 0.0;
  std::size_t epoch_batches_ = 0;
  bool warned_cost_ = false, warned_chance_ = false;
  std::vector<std::string> warnings_;
};

/// A Monitor that feeds a HealthCheck, prints its warnings to `warn`
/// ("warning: ..." lines) and forwards every call to `next` (may be null).
class HealthMonitor : public Monitor {
 public:
  HealthMonitor(std::size_t classes, std::ostream& warn, Monitor* next = nullptr,
                HealthCheck::Options options = {});

  void on_epoch_begin(std::size_t epoch, std::size_t epochs, std::size_t batches) override;
  void on_batch(std::size_t done, double cost) override;
  void on_epoch_end(const EpochRecord& record) override;

  const std::vector<std::string>& warnings() const { return check_.warnings(); }

 private:
  HealthCheck check_;
  std::ostream& warn_;
  Monitor* next_;
};

}  // namespace xg::train
