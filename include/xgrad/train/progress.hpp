#pragma once
// Progress reporting for fit(): a live bar with throughput and ETA on a
// terminal, one plain line per epoch otherwise (CI logs stay clean).
#include <chrono>
#include <iosfwd>
#include <string>

#include "xgrad/train/fit.hpp"

namespace xg::train {

class Progress : public Monitor {
 public:
  /// `live` draws the bar (pass whether `out` is a terminal, see is_terminal());
  /// `eval_name` labels the evaluation set in the epoch lines ("test", "validation").
  Progress(std::ostream& out, bool live, std::string eval_name = "evaluation",
           std::size_t batch_size = 1);

  void on_epoch_begin(std::size_t epoch, std::size_t epochs, std::size_t batches) override;
  void on_batch(std::size_t done, double cost) override;
  void on_epoch_end(const EpochRecord& r) override;

  /// The line printed for an epoch, without the newline.
  std::string epoch_line(const EpochRecord& r) const;

 private:
  std::ostream& out_;
  bool live_;
  std::string eval_name_;
  std::size_t batch_size_;
  std::size_t epoch_ = 0, epochs_ = 0, batches_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

/// Whether standard output is an interactive terminal the user watches:
/// false under an MPI launcher (mpirun gives every rank a pseudo-terminal,
/// even when its own output goes to a file), so no progress bar is drawn there.
bool stdout_is_terminal();

}  // namespace xg::train
