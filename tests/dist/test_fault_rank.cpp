// Faults in a distributed job, one per mode (tests/dist/test_faults.sh runs
// each under mpirun and checks that the job ends, non-zero, with a clear
// message, within a bounded time):
//   ok         every rank exchanges gradients 50 times and exits 0 (the control)
//   throw R    rank R throws an xg::error in the middle; the others are waiting
//              in an allreduce and must not hang
//   kill R     rank R is killed by SIGKILL in the middle (no chance to clean up)
//   shapes     the last rank passes differently shaped arrays to allreduce
//   rows       the ranks' shards do not add up to the global batch
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>

#include "xgrad/dist.hpp"
#include "xgrad/ops.hpp"

using namespace xg;

int main(int argc, char** argv) {
  return dist::run(argc, argv, [&] {
    const std::string mode = argc > 1 ? argv[1] : "ok";
    const int victim = argc > 2 ? std::atoi(argv[2]) : dist::size() - 1;
    Tensor w(Array::from_shape({30, 784}), true), b(Array::from_shape({30}), true);
    const std::vector<Tensor> params{w, b};
    for (int step = 0; step < 50; ++step) {
      w.zero_grad();
      b.zero_grad();
      (xg::sum(w) + xg::sum(b)).backward();
      if (step == 20 && dist::rank() == victim) {
        if (mode == "throw") throw value_error("a deliberate failure at step 20");
        if (mode == "kill") std::raise(SIGKILL);
      }
      std::vector<Array> arrays{
          Array::from_shape({dist::rank() == victim && mode == "shapes" ? 3u : 4u})};
      dist::allreduce(arrays);
      const std::size_t global = 10, local = dist::shard(global).size() + (mode == "rows" ? 1 : 0);
      dist::average_gradients(params, local, global);
    }
    if (dist::rank() == 0) std::cout << "ok: 50 steps on " << dist::size() << " ranks" << std::endl;
    return 0;
  });
}
