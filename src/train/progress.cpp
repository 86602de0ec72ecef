#include "xgrad/train/progress.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ostream>
#include <sstream>

namespace xg::train {

namespace {
std::string percent(std::size_t correct, std::size_t total) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%zu/%zu (%.2f%%)", correct, total,
                total ? 100.0 * static_cast<double>(correct) / static_cast<double>(total) : 0.0);
  return buf;
}
}  // namespace

bool stdout_is_terminal() {
  // Under mpirun, Open MPI hands each rank a pseudo-terminal whatever mpirun's
  // own output is (often a file or a pipe), so isatty() says nothing about
  // what the user sees: redrawn bars would end up as \r-frames in their log.
  for (const char* launcher_var : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(launcher_var)) return false;
  return ::isatty(STDOUT_FILENO) == 1;
}

Progress::Progress(std::ostream& out, bool live, std::string eval_name, std::size_t batch_size)
    : out_(out), live_(live), eval_name_(std::move(eval_name)), batch_size_(batch_size) {}

void Progress::on_epoch_begin(std::size_t epoch, std::size_t epochs, std::size_t batches) {
  epoch_ = epoch;
  epochs_ = epochs;
  batches_ = batches;
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

void Progress::on_batch(std::size_t done, double cost) {
  if (!live_) return;
  const auto now = std::chrono::steady_clock::now();
  // Redraw at most ten times a second: the terminal is slower than training.
  if (done != batches_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done * batch_size_) / elapsed : 0.0;
  const double eta = done ? elapsed * static_cast<double>(batches_ - done) / done : 0.0;
  const int width = 30;
  const int filled = batches_ ? static_cast<int>(width * done / batches_) : width;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "\repoch %zu/%zu [%s%s] %zu/%zu  %.0f samples/s  ETA %.1fs  cost %.4f", epoch_,
                epochs_, std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(),
                done, batches_, rate, eta, cost);
  out_ << buf << std::flush;
}

std::string Progress::epoch_line(const EpochRecord& r) const {
  std::ostringstream line;
  line << "epoch " << r.epoch << "/" << epochs_;
  if (r.evaluation_correct)
    line << "  " << eval_name_ << " accuracy " << percent(*r.evaluation_correct, r.evaluation_size);
  if (r.evaluation_cost) line << "  " << eval_name_ << " cost " << *r.evaluation_cost;
  if (r.training_correct)
    line << "  training accuracy " << percent(*r.training_correct, r.training_size);
  if (r.training_cost) line << "  training cost " << *r.training_cost;
  char tail[96];
  std::snprintf(tail, sizeof tail, "  eta %g  %.2fs (%.0f samples/s)", r.learning_rate, r.seconds,
                r.seconds > 0 ? static_cast<double>(r.training_size) / r.seconds : 0.0);
  line << tail;
  return line.str();
}

void Progress::on_epoch_end(const EpochRecord& r) {
  if (live_) out_ << "\r\033[K";
  out_ << epoch_line(r) << std::endl;
}

}  // namespace xg::train
