// The cost of dist::allreduce on this machine, by message size: the numbers
// behind the scaling estimate in docs/distributed.md.
//
//   mpirun -np 2 build/bin/dist_allreduce [--seconds 0.2]
//
// For each size it repeats one allreduce of a gradient-sized array for about
// --seconds and prints the mean time per call (the slowest rank's) and the
// time per byte. Sizes include the gradients of 784-30-10 and 784-800-10.
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
      fmt::print("{} rank(s), {}-byte Scalars, buckets of {} bytes\n{:>12} {:>12} {:>14} {:>10}\n",
                 dist::size(), sizeof(Scalar), dist::bucket_bytes(), "elements", "bytes",
                 "us per call", "ns/byte");
    for (std::size_t n : {std::size_t{1}, std::size_t{128}, std::size_t{4096}, std::size_t{23860},
                          std::size_t{131072}, std::size_t{636010}, std::size_t{2097152}}) {
      std::vector<Array> arrays{Array(xt::ones<Scalar>({n}))};
      dist::allreduce(arrays);  // warm-up: connections, buffers
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
      const double per_call = dist::max(elapsed) / static_cast<double>(calls);
      const double bytes = static_cast<double>(n * sizeof(Scalar));
      if (talk)
        fmt::print("{:>12} {:>12} {:>14.2f} {:>10.3f}\n", n, n * sizeof(Scalar), per_call * 1e6,
                   per_call * 1e9 / bytes);
    }
    return 0;
  });
}
