#pragma once
// Data-parallel training over Open MPI: a thin layer of collectives on the
// gradients, parameters and monitor numbers of a training loop. Every rank
// holds the whole model; the global mini-batch is split into contiguous
// shards (shard()); each rank back-propagates its shard; one allreduce of the
// gradients (average_gradients()) gives every rank the gradient of the full
// batch's mean cost, and every rank takes the identical optimizer step.
//
// The same API works without MPI (built with -DXGRAD_MPI=OFF) and outside
// mpirun: then there is one rank, every collective is a no-op, and a caller
// needs no #ifdef. Running, guarantees and faults: docs/distributed.md.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "xgrad/error.hpp"
#include "xgrad/tensor.hpp"

// The collectives are called from one thread per process (the one that
// trains); they share one packing buffer and, on one machine, one shared
// window.
namespace xg::dist {

/// A failure of the distributed layer: ranks that disagree (build, shapes,
/// tensor counts), a collective that failed, MPI used before init.
class dist_error : public error {
 public:
  using error::error;
};

/// Whether this xgrad was built with Open MPI (CMake option XGRAD_MPI).
bool built_with_mpi();

/// What every rank must agree on before they exchange raw Scalars.
struct Fingerprint {
  std::uint32_t scalar_bytes = 0;  ///< sizeof(Scalar): 8 (double) or 4 (float)
  std::uint32_t version_major = 0;
  std::uint32_t version_minor = 0;
  std::uint32_t version_patch = 0;
};
/// This build's fingerprint.
Fingerprint local_fingerprint();
/// Throws dist_error naming the first rank whose fingerprint differs from
/// rank 0's (and both builds) unless all entries are equal. `all[r]` is rank r's.
void check_fingerprints(const std::vector<Fingerprint>& all);

/// Starts the distributed layer for the lifetime of the object (RAII), once
/// per process. Under mpirun it initialises MPI (unless the program already
/// did), checks that every rank runs the same build (Scalar size, xgrad
/// version; dist_error on every rank otherwise) and sets MPI errors to come
/// back as dist_error instead of killing the job silently. Outside mpirun, or
/// without MPI, it does nothing and the process is rank 0 of 1.
///
/// If the Session is destroyed while an exception is propagating (a rank
/// threw), it calls abort_job() instead of finalizing: the other ranks may be
/// waiting in a collective this rank will never join, and only an abort
/// frees them. Use run() to have the exception's message printed too.
class Session {
 public:
  Session();
  Session(int& argc, char**& argv);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

 private:
  void start(int* argc, char*** argv);
  int uncaught_at_start_ = 0;
  bool owner_ = false;
};

/// This process's rank, 0 .. size()−1 (0 without a Session).
int rank();
/// Number of ranks (1 without a Session, outside mpirun, or without MPI).
int size();
/// Whether more than one rank takes part (size() > 1).
bool is_distributed();

/// Prints "xgrad: rank R of N failed: <why>" to stderr and ends the whole job
/// (MPI_Abort, exit code 1 on every rank; std::exit(1) when not distributed).
[[noreturn]] void abort_job(const std::string& why);

/// Runs `body` inside a Session; an exception escaping it on any rank is
/// printed with the rank's number and ends the whole job (abort_job), so no
/// rank hangs waiting for it. Returns body's result (an exit code), or 1
/// after printing the error when the Session cannot start (mismatched builds)
/// or when body throws in a single process.
int run(int& argc, char**& argv, const std::function<int()>& body);

enum class Op { sum, mean };

/// In-place allreduce of arrays, identical in shape and order on every rank
/// (dist_error naming the first difference otherwise). The arrays are packed
/// into buckets of at most bucket_bytes() (one contiguous buffer, one
/// MPI_Allreduce per bucket), so many small tensors cost a few messages;
/// when every rank is on one machine the buckets go through node-shared
/// memory instead (set_shared_memory).
/// `mean` divides the sum by size(). Every rank receives the same bits.
void allreduce(std::vector<Array>& arrays, Op op = Op::sum);
/// The same on the gradients of `params`. A parameter without a gradient on
/// this rank counts as zero; if no rank has one, it stays without one (the
/// optimizer then skips it, as in a single process).
void allreduce_gradients(const std::vector<Tensor>& params, Op op = Op::sum);
/// Copies rank `root`'s values of `params` into every rank's (at start, so that
/// all ranks begin from the same weights whatever their initialisation).
void broadcast(const std::vector<Tensor>& params, int root = 0);
/// The same for plain arrays (optimizer state, for example).
void broadcast(std::vector<Array>& arrays, int root = 0);

/// Monitor numbers (costs, counts) summed over the ranks. Every rank gets the result.
double sum(double local);
std::uint64_t sum(std::uint64_t local);
/// Element-wise sum of a vector of monitors (one message for all).
std::vector<double> sum(const std::vector<double>& local);
/// Largest value over the ranks.
double max(double local);

/// Largest message of allreduce/broadcast in bytes (default 8 MiB; at least one Scalar).
std::size_t bucket_bytes();
void set_bucket_bytes(std::size_t bytes);

/// Whether allreduce, average_gradients and broadcast may move data through
/// node-shared memory (MPI-3 shared windows) instead of MPI messages when
/// every rank of the job is on one machine (default on; the environment
/// variable XGRAD_DIST_SHM=0 turns it off at the first collective). Every
/// rank must use the same setting (dist_error at the next collective
/// otherwise). Results are the same bits on every rank either way; the sums
/// may differ from the message path's by rounding (another summation order).
void set_shared_memory(bool on);
/// Whether the collectives use shared memory now: the setting is on, the job
/// is distributed and all its ranks share one node.
bool shared_memory();

/// Rows [begin, end) of a global mini-batch.
struct Shard {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::size_t size() const { return end - begin; }
};
/// Rank `rank`'s contiguous slice of a global mini-batch of `global_rows`
/// rows, in the single-process order: the first global_rows % ranks ranks get
/// one row more. With fewer rows than ranks the last ranks get an empty
/// shard (they still call average_gradients, with local_rows = 0).
/// value_error if ranks < 1 or rank is outside [0, ranks).
Shard shard(std::size_t global_rows, int rank, int ranks);
/// This process's shard: shard(global_rows, rank(), size()).
Shard shard(std::size_t global_rows);

/// Turns each rank's gradients of its shard's MEAN cost (xgrad's costs are
/// batch means) into the gradient of the global batch's mean cost on every
/// rank: scales them by local_rows / global_rows and sums over the ranks
/// (weighted by shard size, so unequal shards give the full-batch mean).
/// A rank with local_rows = 0 contributes zero (its gradients are ignored).
/// dist_error on every rank if the local_rows do not add up to global_rows.
/// Terms of the cost that do not depend on the batch (an l2_penalty added to
/// it) come out once, since the weights add up to 1.
void average_gradients(const std::vector<Tensor>& params, std::size_t local_rows,
                       std::size_t global_rows);
/// average_gradients that also returns the sum over the ranks of `value`,
/// carried in the same message (train::fit's row-weighted batch cost): one
/// collective per step instead of two, so a rank waits for the others once.
/// The sum is taken in Scalar precision. Not distributed: returns `value`.
double average_gradients_and_sum(const std::vector<Tensor>& params, std::size_t local_rows,
                                 std::size_t global_rows, double value);

/// Whether every rank holds bit-identical values of `params` (a checksum
/// compared over the ranks; true when not distributed).
bool in_sync(const std::vector<Tensor>& params);

/// A seed for rank-local random streams (dropout masks): `seed` for rank 0,
/// a well-mixed different value for every other rank. With dropout, an
/// N-rank run draws different masks from a single-process one: it trains as
/// well, but not to the same numbers (docs/distributed.md).
std::uint64_t rank_seed(std::uint64_t seed, int rank);
std::uint64_t rank_seed(std::uint64_t seed);

namespace detail {
/// Calls fn(offset, pieces) for consecutive windows of at most `capacity`
/// elements over the concatenation of `sizes`; each piece is (array index,
/// first element, count). Packing, reducing and unpacking walk these windows.
struct Piece {
  std::size_t index;
  std::size_t first;
  std::size_t count;
};
void for_each_window(const std::vector<std::size_t>& sizes, std::size_t capacity,
                     const std::function<void(const std::vector<Piece>&, std::size_t)>& fn);
}  // namespace detail

}  // namespace xg::dist
