#pragma once
// The lock-step protocol of the benchmark programs, so that bench/peers.py
// can alternate their epochs in one run: xgrad-bench --serve and
// xgrad-libtorch-mlp --serve use this loop; bench/pytorch_mlp.py speaks the
// same protocol. Header-only and free of xgrad, for the libtorch program.
//
// Commands on stdin, one per line; replies on stdout, one line each:
//   (start)                    `ready` once the program has loaded its data
//   `config <hidden> <batch>`  a new 784-hidden-10 network (seed 42) and a
//                              warm-up epoch; replies `ready`
//   `epoch`                    one timed epoch; replies `epoch <numbers>`
//                              (wall and CPU seconds, then program-specific)
//   `quit` or end of input     the loop returns 0
// Anything else is answered with `error <message>` and returns 1.
#include <iostream>
#include <sstream>
#include <string>

namespace xg::bench {

/// Runs the protocol: `configure(hidden, batch)` builds a network and runs
/// its warm-up epoch; `epoch()` runs one epoch and returns the numbers of the
/// reply. `program` names the sender in error replies.
template <class Configure, class Epoch>
int lockstep(const std::string& program, Configure configure, Epoch epoch) {
  auto reply = [](const std::string& text) { std::cout << text << std::endl; };  // flushes
  reply("ready");
  bool configured = false;
  std::string text;
  while (std::getline(std::cin, text)) {
    std::istringstream in(text);
    std::string command;
    in >> command;
    if (command == "quit") return 0;
    long long hidden = 0, batch = 0;
    if (command == "config" && in >> hidden >> batch && hidden > 0 && batch > 0) {
      configure(hidden, batch);
      configured = true;
      reply("ready");
    } else if (command == "epoch" && configured) {
      reply("epoch " + epoch());
    } else {
      reply("error " + program + " --serve: cannot do '" + text +
            "' (expected 'config <hidden> <batch>', then 'epoch' or 'quit')");
      return 1;
    }
  }
  return 0;
}

}  // namespace xg::bench
