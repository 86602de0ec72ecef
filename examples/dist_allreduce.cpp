// The cost of dist::allreduce on this machine, by message size: the numbers
// behind the scaling estimate in docs/distributed.md.
//
//   mpirun -np 2 build/bin/dist_allreduce [--seconds 0.2]
//
// For each size it repeats one allreduce of a gradient-sized array for about
// --seconds in batches (10 calls below 64 KiB, single calls above) and prints the median and the
// fastest batch's time per call (the slowest rank's; on a busy machine the fastest shows the cost
// without descheduling) and the median time per byte, through node-shared memory (when every rank
// is on one machine and XGRAD_DIST_SHM is not 0) and through MPI messages. Sizes include the
// gradients of 784-30-10 and 784-800-10.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <xgrad/dist.hpp>
#include <xtensor/xbuilder.hpp>

int main(int argc, char** argv) {
  using namespace xg;
  return dist::run(argc, argv, [&] {
    CLI::App app{"Time dist::allreduce by message size"};
    double budget = 0.2;
    app.add_option("--seconds", budget, "time spent per size");
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      return dist::rank() == 0 ? app.exit(e) : (e.get_exit_code() ? 2 : 0);
    }
    const bool talk = dist::rank() == 0;
    if (talk)
      fmt::print(
          "{} rank(s), {}-byte Scalars, buckets of {} bytes; shared memory {}\n"
          "µs per call (median and fastest of batches of 10 calls, or of single calls from 64 KiB, "
          "the slowest rank's)\n"
          "{:>10} {:>10} | {:>10} {:>10} {:>8} | {:>10} {:>10} {:>8}\n",
          dist::size(), sizeof(Scalar), dist::bucket_bytes(),
          dist::shared_memory() ? "available" : "not available (XGRAD_DIST_SHM=0 or several nodes)",
          "elements", "bytes", "shm median", "fastest", "ns/byte", "msg median", "fastest",
          "ns/byte");
    // (median, fastest) seconds per allreduce of the arrays over batches of
    // calls, each batch timed by its slowest rank: 10 calls of small arrays,
    // single calls of large ones (a short batch is more often left alone by
    // the scheduler of a busy machine).
    auto time_calls = [&](std::vector<Array>& arrays) {
      const int calls = arrays[0].size() * sizeof(Scalar) >= 65536 ? 1 : 10;
      dist::allreduce(arrays);  // warm-up: connections, buffers, shared window
      std::vector<double> per_call;
      double spent = 0;
      // Rank 0 decides when to stop, so that every rank makes the same calls.
      for (bool more = true; more;) {
        const auto t0 = std::chrono::steady_clock::now();
        for (int k = 0; k < calls; ++k) dist::allreduce(arrays);
        const double batch =
            dist::max(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        per_call.push_back(batch / calls);
        spent += batch;
        more = dist::max(talk && (spent < budget || per_call.size() < 20) ? 1.0 : 0.0) > 0;
      }
      std::sort(per_call.begin(), per_call.end());
      return std::make_pair(per_call[per_call.size() / 2], per_call.front());
    };
    const bool shared = dist::shared_memory();
    for (std::size_t n : {std::size_t{1}, std::size_t{128}, std::size_t{4096}, std::size_t{23860},
                          std::size_t{131072}, std::size_t{636010}, std::size_t{2097152}}) {
      std::vector<Array> arrays{Array(xt::ones<Scalar>({n}))};
      std::pair<double, double> on{0, 0};
      if (shared) on = time_calls(arrays);
      dist::set_shared_memory(false);
      const auto off = time_calls(arrays);
      dist::set_shared_memory(shared);
      const double bytes = static_cast<double>(n * sizeof(Scalar));
      if (talk)
        fmt::print("{:>10} {:>10} | {:>10.1f} {:>10.1f} {:>8.3f} | {:>10.1f} {:>10.1f} {:>8.3f}\n",
                   n, n * sizeof(Scalar), on.first * 1e6, on.second * 1e6, on.first * 1e9 / bytes,
                   off.first * 1e6, off.second * 1e6, off.first * 1e9 / bytes);
    }
    return 0;
  });
}
