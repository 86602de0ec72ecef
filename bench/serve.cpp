// xgrad-bench --serve: one training epoch (and one gemm-floor epoch) at a
// time on command, so that bench/peers.py can alternate xgrad's epochs with
// PyTorch's and libtorch's in the same run (see training.hpp for the protocol).
#include <fmt/core.h>

#include <chrono>
#include <ctime>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>

#include "bench.hpp"
#include "training.hpp"

namespace xg::bench {

namespace {

double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

void reply(const std::string& text) {
  fmt::print("{}\n", text);
  std::fflush(stdout);  // the driver waits for this line
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
          std::size_t batch)
      : net(hidden, init),
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
    return fmt::format("epoch {:.5f} {:.5f} {:.5f} {:.5f}", h.epochs.at(0).seconds, cpu, floor_wall,
                       floor_cpu);
  }
};

}  // namespace

int serve(const data::Mnist& mnist) {
  const Array floor_inputs = mnist.training.input_rows(0, mnist.training.size());
  std::optional<Session> session;
  reply("ready");
  std::string text;
  while (std::getline(std::cin, text)) {
    std::istringstream in(text);
    std::string command;
    in >> command;
    if (command == "quit") return 0;
    std::size_t hidden = 0, batch = 0;
    if (command == "config" && in >> hidden >> batch && hidden > 0 && batch > 0) {
      session.reset();  // frees the previous network before building the next
      session.emplace(mnist, floor_inputs, hidden, batch);
      reply("ready");
    } else if (command == "epoch" && session) {
      reply(session->run(mnist));
    } else {
      reply(
          fmt::format("error xgrad-bench --serve: cannot do '{}' (expected 'config <hidden> "
                      "<batch>', then 'epoch' or 'quit')",
                      text));
      return 1;
    }
  }
  return 0;
}

}  // namespace xg::bench
