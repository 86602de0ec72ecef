// The single-process transport, built when xgrad has no MPI: one rank, and
// every collective leaves the data as it is (the sum over one rank).
#include <cstdlib>
#include <cstring>

#include "dist/backend.hpp"

namespace xg::dist::backend {

bool is_mpi() { return false; }
bool start(int*, char***, bool& owner) {
  owner = false;
  return false;
}
void stop(bool) {}
bool active() { return false; }
int rank() { return 0; }
int size() { return 1; }
void sum_scalars(Scalar*, std::size_t) {}
void allreduce_sum(double*, std::size_t) {}
void allreduce_sum(std::uint64_t*, std::size_t) {}
void allreduce_min(std::uint64_t*, std::size_t) {}
void allreduce_max(double*, std::size_t) {}
void broadcast(Scalar*, std::size_t, int) {}
void allgather(const void* mine, std::size_t bytes, void* all) {
  if (bytes) std::memcpy(all, mine, bytes);
}
bool shared_possible() { return false; }
void shared_reserve(std::size_t) {}
Scalar* shared_segment(int) { return nullptr; }
void shared_fence() {}
void shared_sync() {}
[[noreturn]] void abort(int code) { std::exit(code); }

}  // namespace xg::dist::backend
