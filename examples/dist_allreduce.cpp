// The cost of dist::allreduce on this machine, by message size: the numbers
// behind the scaling estimate in docs/distributed.md.
//
//   mpirun -np 2 build/bin/dist_allreduce [--seconds 0.2]
//
// For each size it repeats one allreduce of a gradient-sized array for about
// --seconds and prints the mean time per call (the slowest rank's) and the
// time per byte, through node-shared memory (when every rank is on one
// machine and XGRAD_DIST_SHM is not 0) and through MPI messages. Sizes
// include the gradients of 784-30-10 and 784-800-10.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
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
          "{:>10} {:>10} | {:>12} {:>8} | {:>12} {:>8}\n",
          dist::size(), sizeof(Scalar), dist::bucket_bytes(),
          dist::shared_memory() ? "available" : "not available (XGRAD_DIST_SHM=0 or several nodes)",
          "elements", "bytes", "shm us/call", "ns/byte", "msg us/call", "ns/byte");
    // Mean seconds per allreduce of n elements (the slowest rank's).
    auto time_calls = [&](std::vector<Array>& arrays) {
      dist::allreduce(arrays);  // warm-up: connections, buffers, shared window
      // Rank 0 decides when to stop, so that every rank makes the same calls.
      std::size_t calls = 0;
      const auto t0 = std::chrono::steady_clock::now();
      double elapsed = 0;
      for (bool more = true; more;) {
        for (int k = 0; k < 10; ++k) dist::allreduce(arrays);
        calls += 10;
        elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        more = dist::max(talk && elapsed < budget ? 1.0 : 0.0) > 0;
      }
      return dist::max(elapsed) / static_cast<double>(calls);
    };
    const bool shared = dist::shared_memory();
    for (std::size_t n : {std::size_t{1}, std::size_t{128}, std::size_t{4096}, std::size_t{23860},
                          std::size_t{131072}, std::size_t{636010}, std::size_t{2097152}}) {
      std::vector<Array> arrays{Array(xt::ones<Scalar>({n}))};
      double on = 0;
      if (shared) on = time_calls(arrays);
      dist::set_shared_memory(false);
      const double off = time_calls(arrays);
      dist::set_shared_memory(shared);
      const double bytes = static_cast<double>(n * sizeof(Scalar));
      if (talk)
        fmt::print("{:>10} {:>10} | {:>12.2f} {:>8.3f} | {:>12.2f} {:>8.3f}\n", n,
                   n * sizeof(Scalar), on * 1e6, on * 1e9 / bytes, off * 1e6, off * 1e9 / bytes);
    }
    return 0;
  });
}
