// The Open MPI transport. xgrad talks to MPI through its own duplicate of
// MPI_COMM_WORLD, so a program's own MPI messages never match xgrad's, and with
// MPI_ERRORS_RETURN on it, so a failed call becomes a dist_error naming the
// call and the rank instead of a silent job kill.
#include <mpi.h>

#include <climits>
#include <cstdlib>
#include <string>
#include <type_traits>
#include <vector>

#include "dist/backend.hpp"
#include "xgrad/dist.hpp"

namespace xg::dist::backend {

namespace {

MPI_Comm comm = MPI_COMM_NULL;
int my_rank = 0;
int my_size = 1;

// The ranks of this node (MPI_COMM_TYPE_SHARED, ordered as in `comm`) and the
// shared window over them: one segment per rank, `capacity` Scalars each.
MPI_Comm node = MPI_COMM_NULL;
bool whole_job_on_node = false;
MPI_Win window = MPI_WIN_NULL;
std::size_t capacity = 0;
std::vector<Scalar*> segments;

// mpirun (Open MPI's ORTE/PRRTE), Slurm's srun and MPICH's hydra announce
// themselves through these; without any, the process runs alone and MPI is
// not started (singleton MPI_Init would spawn a daemon for nothing).
bool launched_by_mpirun() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
    if (std::getenv(v)) return true;
  return false;
}

void check(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw dist_error("dist: " + std::string(call) + " failed on rank " + std::to_string(my_rank) +
                   " of " + std::to_string(my_size) + ": " + std::string(text, len));
}

MPI_Datatype scalar_type() { return std::is_same<Scalar, float>::value ? MPI_FLOAT : MPI_DOUBLE; }

// MPI counts are ints: long arrays go in INT_MAX-element steps.
template <class T, class F>
void chunked(T* data, std::size_t n, F call) {
  constexpr std::size_t step = INT_MAX;
  for (std::size_t off = 0; off < n; off += step) {
    const std::size_t count = n - off < step ? n - off : step;
    call(data + off, static_cast<int>(count));
  }
}

}  // namespace

bool is_mpi() { return true; }

bool start(int* argc, char*** argv, bool& owner) {
  owner = false;
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    if (!launched_by_mpirun()) return false;
    check(MPI_Init(argc, argv), "MPI_Init");
    owner = true;
  }
  check(MPI_Comm_dup(MPI_COMM_WORLD, &comm), "MPI_Comm_dup");
  check(MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  check(MPI_Comm_rank(comm, &my_rank), "MPI_Comm_rank");
  check(MPI_Comm_size(comm, &my_size), "MPI_Comm_size");
  // key = rank keeps the world order, so node rank q is world rank q when the
  // whole job is on this node (the only case the shared path is used in).
  check(MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, my_rank, MPI_INFO_NULL, &node),
        "MPI_Comm_split_type");
  check(MPI_Comm_set_errhandler(node, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  int node_size = 0, node_rank = 0;
  check(MPI_Comm_size(node, &node_size), "MPI_Comm_size");
  check(MPI_Comm_rank(node, &node_rank), "MPI_Comm_rank");
  // Every rank must reach the same answer: some ranks sharing a node while
  // others do not still means "not the whole job" everywhere.
  int all = node_size == my_size && node_rank == my_rank ? 1 : 0;
  check(MPI_Allreduce(MPI_IN_PLACE, &all, 1, MPI_INT, MPI_MIN, comm), "MPI_Allreduce");
  whole_job_on_node = all == 1;
  return true;
}

namespace {
void free_window() {
  if (window == MPI_WIN_NULL) return;
  MPI_Win_unlock_all(window);
  MPI_Win_free(&window);
  window = MPI_WIN_NULL;
  capacity = 0;
  segments.clear();
}
}  // namespace

void stop(bool owner) {
  free_window();
  if (node != MPI_COMM_NULL) MPI_Comm_free(&node);
  node = MPI_COMM_NULL;
  whole_job_on_node = false;
  if (comm != MPI_COMM_NULL) MPI_Comm_free(&comm);
  comm = MPI_COMM_NULL;
  my_rank = 0;
  my_size = 1;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (owner && !finalized) MPI_Finalize();
}

bool active() { return comm != MPI_COMM_NULL; }
int rank() { return my_rank; }
int size() { return my_size; }

void sum_scalars(Scalar* data, std::size_t n) {
  chunked(data, n, [](Scalar* p, int c) {
    check(MPI_Allreduce(MPI_IN_PLACE, p, c, scalar_type(), MPI_SUM, comm), "MPI_Allreduce");
  });
}
void allreduce_sum(double* data, std::size_t n) {
  chunked(data, n, [](double* p, int c) {
    check(MPI_Allreduce(MPI_IN_PLACE, p, c, MPI_DOUBLE, MPI_SUM, comm), "MPI_Allreduce");
  });
}
void allreduce_sum(std::uint64_t* data, std::size_t n) {
  chunked(data, n, [](std::uint64_t* p, int c) {
    check(MPI_Allreduce(MPI_IN_PLACE, p, c, MPI_UINT64_T, MPI_SUM, comm), "MPI_Allreduce");
  });
}
void allreduce_min(std::uint64_t* data, std::size_t n) {
  chunked(data, n, [](std::uint64_t* p, int c) {
    check(MPI_Allreduce(MPI_IN_PLACE, p, c, MPI_UINT64_T, MPI_MIN, comm), "MPI_Allreduce");
  });
}
void allreduce_max(double* data, std::size_t n) {
  chunked(data, n, [](double* p, int c) {
    check(MPI_Allreduce(MPI_IN_PLACE, p, c, MPI_DOUBLE, MPI_MAX, comm), "MPI_Allreduce");
  });
}
void broadcast(Scalar* data, std::size_t n, int root) {
  chunked(data, n, [root](Scalar* p, int c) {
    check(MPI_Bcast(p, c, scalar_type(), root, comm), "MPI_Bcast");
  });
}
void allgather(const void* mine, std::size_t bytes, void* all) {
  if (bytes > INT_MAX) throw dist_error("dist: allgather of more than INT_MAX bytes");
  const int b = static_cast<int>(bytes);
  check(MPI_Allgather(mine, b, MPI_BYTE, all, b, MPI_BYTE, comm), "MPI_Allgather");
}

bool shared_possible() { return active() && whole_job_on_node; }

void shared_reserve(std::size_t n) {
  if (n <= capacity) return;
  if (!shared_possible()) throw dist_error("dist: shared memory used without a one-node job");
  free_window();
  // Whole pages per segment: no two ranks write into one cache line, and the
  // segments stay aligned for vector loads.
  constexpr std::size_t page = 4096 / sizeof(Scalar);
  const std::size_t elements = (n + page - 1) / page * page;
  MPI_Info info;
  MPI_Info_create(&info);
  MPI_Info_set(info, "alloc_shared_noncontig", "true");
  void* base = nullptr;
  const int rc = MPI_Win_allocate_shared(static_cast<MPI_Aint>(elements * sizeof(Scalar)),
                                         sizeof(Scalar), info, node, &base, &window);
  MPI_Info_free(&info);
  check(rc, "MPI_Win_allocate_shared");
  check(MPI_Win_set_errhandler(window, MPI_ERRORS_RETURN), "MPI_Win_set_errhandler");
  segments.assign(static_cast<std::size_t>(my_size), nullptr);
  for (int q = 0; q < my_size; ++q) {
    MPI_Aint bytes = 0;
    int unit = 0;
    void* at = nullptr;
    check(MPI_Win_shared_query(window, q, &bytes, &unit, &at), "MPI_Win_shared_query");
    segments[static_cast<std::size_t>(q)] = static_cast<Scalar*>(at);
  }
  // One passive-target epoch for the window's life: loads and stores are
  // then ordered by MPI_Win_sync + barrier (the unified-model idiom).
  check(MPI_Win_lock_all(MPI_MODE_NOCHECK, window), "MPI_Win_lock_all");
  capacity = elements;
}

Scalar* shared_segment(int q) { return segments.at(static_cast<std::size_t>(q)); }

void shared_sync() {
  if (window != MPI_WIN_NULL) check(MPI_Win_sync(window), "MPI_Win_sync");
}

void shared_fence() {
  const bool mapped = window != MPI_WIN_NULL;  // none yet in a new Session
  if (mapped) check(MPI_Win_sync(window), "MPI_Win_sync");
  check(MPI_Barrier(node), "MPI_Barrier");
  if (mapped) check(MPI_Win_sync(window), "MPI_Win_sync");
}

[[noreturn]] void abort(int code) {
  MPI_Abort(active() ? comm : MPI_COMM_WORLD, code);
  std::_Exit(code);  // MPI_Abort does not return; this is for the compiler
}

}  // namespace xg::dist::backend
