// The pool behind set_num_threads and parallel_for: n − 1 persistent workers
// beside the calling thread. A job is published by bumping a generation
// counter; workers spin on it briefly (the pieces of one training step come
// a fraction of a millisecond apart) and then sleep on a condition variable,
// so an idle pool costs no CPU — which matters when several processes share
// the cores (docs/distributed.md).
#include "xgrad/threads.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

extern "C" void openblas_set_num_threads(int num_threads);

namespace xg {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

// About 20–50 µs of pause instructions: long enough to catch the next piece
// of the same step, short enough not to steal a core from another process.
constexpr int kWorkerSpins = 2000;
constexpr int kCallerSpins = 20000;

using Piece = std::function<void(std::size_t, std::size_t)>;

// True on a thread while it runs a piece (or the caller's own piece): a
// nested parallel_for then runs inline instead of waiting on itself.
thread_local bool inside_piece = false;

class Pool {
 public:
  ~Pool() { resize(0); }

  // Called with busy_ held, or from the destructor.
  void resize(std::size_t workers) {
    if (workers == workers_.size()) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      quit_.store(true, std::memory_order_relaxed);
      published_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
    workers_.clear();
    quit_.store(false, std::memory_order_relaxed);
    for (std::size_t i = 0; i < workers; ++i)
      workers_.emplace_back([this, i, seen = published_.load()] { work(i + 1, seen); });
  }

  std::size_t threads() const { return workers_.size() + 1; }
  std::mutex& busy() { return busy_; }

  // Runs fn over [0, n) in `pieces` even pieces, piece 0 on this thread.
  // busy_ is held, so the bounds buffer is reused without allocating.
  void run(const Piece& fn, std::size_t n, std::size_t pieces) {
    bounds_.resize(pieces + 1);
    for (std::size_t i = 0; i <= pieces; ++i) bounds_[i] = n * i / pieces;
    job_ = &fn;
    errors_.assign(workers_.size() + 1, nullptr);
    pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(mu_);
      published_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    run_piece(0);
    for (int spins = 0; pending_.load(std::memory_order_acquire) != 0; ++spins) {
      if (spins < kCallerSpins)
        cpu_relax();
      else
        std::this_thread::yield();
    }
    for (const std::exception_ptr& e : errors_)
      if (e) std::rethrow_exception(e);
  }

 private:
  void run_piece(std::size_t piece) {
    if (piece + 1 >= bounds_.size()) return;
    inside_piece = true;
    try {
      (*job_)(bounds_[piece], bounds_[piece + 1]);
    } catch (...) {
      errors_[piece] = std::current_exception();
    }
    inside_piece = false;
  }

  void work(std::size_t piece, std::uint64_t seen) {
    for (;;) {
      for (int spins = 0;
           spins < kWorkerSpins && published_.load(std::memory_order_acquire) == seen; ++spins)
        cpu_relax();
      if (published_.load(std::memory_order_acquire) == seen) {
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait(lock, [&] { return published_.load(std::memory_order_acquire) != seen; });
      }
      seen = published_.load(std::memory_order_acquire);
      if (quit_.load(std::memory_order_relaxed)) return;
      run_piece(piece);
      pending_.fetch_sub(1, std::memory_order_release);
    }
  }

  std::mutex busy_;  // one job at a time; whoever finds it taken runs inline
  std::mutex mu_;    // pairs with wake_ so that no wake-up is lost
  std::condition_variable wake_;
  std::atomic<std::uint64_t> published_{0};
  std::atomic<bool> quit_{false};
  std::atomic<int> pending_{0};
  const Piece* job_ = nullptr;
  std::vector<std::size_t> bounds_;
  std::vector<std::exception_ptr> errors_;
  std::vector<std::thread> workers_;
};

Pool& pool() {
  static Pool p;
  return p;
}

std::atomic<int> requested_threads{1};

}  // namespace

void set_num_threads(int n) {
  n = std::max(n, 1);
  Pool& p = pool();
  std::lock_guard<std::mutex> lock(p.busy());
  p.resize(static_cast<std::size_t>(n - 1));
  requested_threads.store(n);
  // xgrad cuts the products itself; OpenBLAS threads on top would compete
  // for the same cores.
  if (n > 1) openblas_set_num_threads(1);
}

int num_threads() { return requested_threads.load(std::memory_order_relaxed); }

namespace detail {

void parallel_pieces(std::size_t n, std::size_t grain, const Piece& fn) {
  grain = std::max<std::size_t>(grain, 1);
  const std::size_t threads = static_cast<std::size_t>(num_threads());
  const std::size_t pieces = std::min(threads, n / grain);
  if (pieces < 2 || inside_piece) {
    if (n > 0) fn(0, n);
    return;
  }
  Pool& p = pool();
  std::unique_lock<std::mutex> lock(p.busy(), std::try_to_lock);
  if (!lock || p.threads() < pieces) {
    fn(0, n);
    return;
  }
  p.run(fn, n, pieces);
}

}  // namespace detail
}  // namespace xg
