// xgrad-bench --serve: one training epoch (and one gemm-floor epoch) at a
// time on command, so that bench/peers.py can alternate xgrad's epochs with
// PyTorch's and libtorch's in the same run (protocol: lockstep.hpp).
#include <fmt/core.h>

#include <chrono>
#include <ctime>
#include <optional>
#include <string>

#include "bench.hpp"
#include "lockstep.hpp"
#include "training.hpp"

namespace xg::bench {

namespace {

double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

/// One configuration: its network, shuffle engine and floor, as in
/// xgrad-bench's own measurement (same seeds).
struct Session {
  Rng init{42}, shuffle{1234};
  Network net;
  GemmFloor floor;
  train::FitOptions options;
  std::size_t epoch = 0;

  Session(const data::Mnist& mnist, const Array& floor_inputs, std::size_t hidden,
          std::size_t batch, bool fused)
      : net(hidden, init, fused),
        floor(floor_inputs, hidden, 10, batch),
        options(training_only(batch, shuffle)) {
    run(mnist);  // warm-up
  }

  /// One training epoch then one floor epoch: {wall, cpu, floor wall, floor cpu}.
  std::string run(const data::Mnist& mnist) {
    options.first_epoch = ++epoch;
    double c0 = cpu_now();
    const train::History h = train::fit(*net.model, *net.cost, *net.sgd, mnist.training, options);
    const double cpu = cpu_now() - c0;
    c0 = cpu_now();
    const double floor_wall = floor.epoch();
    const double floor_cpu = cpu_now() - c0;
    return fmt::format("{:.5f} {:.5f} {:.5f} {:.5f}", h.epochs.at(0).seconds, cpu, floor_wall,
                       floor_cpu);
  }
};

}  // namespace

int serve(const data::Mnist& mnist, bool fused) {
  const Array floor_inputs = mnist.training.input_rows(0, mnist.training.size());
  std::optional<Session> session;
  return lockstep(
      "xgrad-bench",
      [&](long long hidden, long long batch) {
        session.reset();  // frees the previous network before building the next
        session.emplace(mnist, floor_inputs, static_cast<std::size_t>(hidden),
                        static_cast<std::size_t>(batch), fused);
      },
      [&] { return session->run(mnist); });
}

}  // namespace xg::bench
