// Faults in a distributed job, one per mode (tests/dist/test_faults.sh runs
// each under mpirun and checks that the job ends, non-zero, with a clear
// message, within a bounded time):
//   ok         every rank exchanges gradients 50 times and exits 0 (the control)
//   throw R    rank R throws an xg::error in the middle; the others are waiting
//              in an allreduce and must not hang
//   unwind R   the same without dist::run: the exception leaves a plain
//              dist::Session's scope, whose destructor must end the job
//   kill R     rank R is killed by SIGKILL in the middle (no chance to clean up)
//   shapes     the last rank passes differently shaped arrays to allreduce
//   late       the same at step 20 only (the shared path then packs before
//              the agreement message finds the difference)
//   rows       the ranks' shards do not add up to the global batch
//   shm        the last rank turns node-shared memory off, the others not
// With XGRAD_DIST_SHM=0 in the environment the same faults go through the
// message path (test_faults.sh runs both).
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>
#include <xtensor/xbuilder.hpp>

#include "xgrad/dist.hpp"
#include "xgrad/ops.hpp"

using namespace xg;

namespace {

int steps(const std::string& mode, int victim) {
  Tensor w(Array(xt::zeros<Scalar>({30, 784})), true), b(Array(xt::zeros<Scalar>({30})), true);
  const std::vector<Tensor> params{w, b};
  if (mode == "shm" && dist::rank() == victim) dist::set_shared_memory(false);
  for (int step = 0; step < 50; ++step) {
    w.zero_grad();
    b.zero_grad();
    (xg::sum(w) + xg::sum(b)).backward();
    if (step == 20 && dist::rank() == victim) {
      if (mode == "throw" || mode == "unwind") throw value_error("a deliberate failure at step 20");
      if (mode == "kill") std::raise(SIGKILL);
    }
    const bool odd = dist::rank() == victim && (mode == "shapes" || (mode == "late" && step == 20));
    const std::size_t n = odd ? 3 : 4;
    std::vector<Array> arrays{Array(xt::zeros<Scalar>({n}))};
    dist::allreduce(arrays);
    const std::size_t global = 10, local = dist::shard(global).size() + (mode == "rows" ? 1 : 0);
    dist::average_gradients(params, local, global);
  }
  if (dist::rank() == 0) std::cout << "ok: 50 steps on " << dist::size() << " ranks" << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "ok";
  const auto victim = [&] { return argc > 2 ? std::atoi(argv[2]) : dist::size() - 1; };
  if (mode == "unwind") {
    try {
      dist::Session session(argc, argv);
      return steps(mode, victim());
    } catch (const std::exception& e) {
      // Not reached on a multi-rank job: the Session's destructor aborts first.
      std::cerr << "caught after the Session ended: " << e.what() << std::endl;
      return 3;
    }
  }
  return dist::run(argc, argv, [&] { return steps(mode, victim()); });
}
