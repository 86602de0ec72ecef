#pragma once
// The transport under xg::dist: one implementation over Open MPI
// (src/dist/mpi/, built with XGRAD_MPI) and one for a single process
// (src/dist/local/, built without it). CMake compiles exactly one of them;
// everything above (packing, shards, checks) is shared and transport-blind.
#include <cstddef>
#include <cstdint>
#include <string>

#include "xgrad/scalar.hpp"

namespace xg::dist::backend {

/// Whether this is the MPI transport.
bool is_mpi();
/// Starts the transport if the process was launched by mpirun (or MPI is
/// already running); returns true when the transport is active afterwards.
/// Sets `owner` when this call initialised MPI (and so must finalize it).
bool start(int* argc, char*** argv, bool& owner);
/// Ends the transport; finalizes MPI when `owner`.
void stop(bool owner);
/// Whether start() activated the transport and stop() has not run.
bool active();
int rank();
int size();

/// In-place element-wise sums over all ranks; every rank receives the same bits.
void sum_scalars(Scalar* data, std::size_t n);
void allreduce_sum(double* data, std::size_t n);
void allreduce_sum(std::uint64_t* data, std::size_t n);
/// In-place element-wise minimum / maximum.
void allreduce_min(std::uint64_t* data, std::size_t n);
void allreduce_max(double* data, std::size_t n);
/// Copies root's data into every rank's.
void broadcast(Scalar* data, std::size_t n, int root);
/// Gathers `bytes` bytes from every rank into all (size() × bytes, by rank).
void allgather(const void* mine, std::size_t bytes, void* all);

// Node-shared memory (MPI-3 shared windows): every rank owns one segment that
// every other rank of its node reads and writes directly, so collectives on
// one machine move data by loads and stores instead of messages
// (src/dist/shared.cpp). Only offered when the whole job is on one node.
/// Whether every rank of the job shares this process's node (false without MPI).
bool shared_possible();
/// Makes every rank's segment hold at least n Scalars. Collective: every rank
/// calls it with the same n (growing frees and reallocates the window).
void shared_reserve(std::size_t n);
/// Rank q's segment (after shared_reserve); valid until the next growth.
Scalar* shared_segment(int q);
/// A barrier over the ranks that also orders memory: writes to any segment
/// before it are seen by every rank after it.
void shared_fence();
/// The memory half of shared_fence (MPI_Win_sync), for use around another
/// synchronising call; nothing before the first window.
void shared_sync();

/// Ends every process of the job with `code`.
[[noreturn]] void abort(int code);

}  // namespace xg::dist::backend
