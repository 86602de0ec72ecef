// One window of a collective, moved either by MPI messages or, when every
// rank is on one machine, through node-shared memory (MPI-3 shared windows,
// backend::shared_*). The shared allreduce is a reduce-scatter and an
// allgather by loads and stores; rank r owns slice r of the window:
//   1. every rank packs its window, except its own slice, into its segment;
//                                                                   fence
//   2. rank r sums slice r over the ranks in rank order 0..P−1 (its own
//      contribution packed block by block into a small local buffer, the
//      others' read from their segments), stores the sum in its segment's
//      slice r and unpacks it straight from the local buffer;      fence
//   3. every rank unpacks slice q from rank q's segment, q ≠ r.
// Each slice is summed once, by one rank, in a fixed order, so every rank
// gets the same bits and they do not depend on timing. Each segment holds two
// buffers used by turns: a rank's next collective writes into the other one,
// so it cannot overwrite a slice another rank is still reading (that rank has
// not passed the next collective's first fence yet), and no third fence is
// needed. A collective's first window packs before the agreement message
// (agree_on_shapes), which then serves as the first fence. Per rank and window of b
// bytes this packs (P−1)·b/P, sums b/P (reading the others' parts of it,
// storing the sum twice: segment and result) and copies (P−1)·b/P back,
// against Open MPI's message path, which here goes through its shared-memory
// transport in small fragments without single-copy (docs/distributed.md).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#include "dist/backend.hpp"
#include "dist/collectives.hpp"
#include "xgrad/dist.hpp"

namespace xg::dist {

namespace {
int setting = -1;  // −1: not chosen yet, read XGRAD_DIST_SHM at first use

bool setting_on() {
  if (setting < 0) {
    const char* env = std::getenv("XGRAD_DIST_SHM");
    setting = env && std::string(env) == "0" ? 0 : 1;
  }
  return setting == 1;
}

// Slice r of a window of n: [lo(r), lo(r + 1)), boundaries on whole cache
// lines (8 doubles) so that vector loads stay aligned.
std::size_t slice_begin(std::size_t n, int r, int ranks) {
  if (r >= ranks) return n;
  const std::size_t at = n / static_cast<std::size_t>(ranks) * static_cast<std::size_t>(r);
  return std::min(n, at / 8 * 8);
}

// Window elements per buffer in the segments (each holds two), the same on
// every rank since every rank reserves for the same windows; and which
// buffer the next collective uses.
std::size_t buffer_elements = 0;
int turn = 0;

// Rank q's buffer for this collective, after reserving n elements.
Scalar* buffer_of(int q, int which) {
  return backend::shared_segment(q) + static_cast<std::size_t>(which) * buffer_elements;
}
// The buffer the next window uses (committed to `turn` once every rank has
// passed the window's first fence: a rank that throws at the agreement
// keeps its turn in step with ranks that never got there).
int next_turn(std::size_t n) {
  if (n > buffer_elements) {
    // Growing reallocates the window (collective); the fence first lets every
    // rank finish reading the old one.
    if (buffer_elements) backend::shared_fence();
    constexpr std::size_t page = 4096 / sizeof(Scalar);
    buffer_elements = (n + page - 1) / page * page;
  }
  // A no-op unless growing, or in a new Session (whose window starts empty).
  backend::shared_reserve(2 * buffer_elements);
  return turn ^ 1;
}

// The fence after packing. In a collective's first window it is the
// agreement message itself (an MPI_Allreduce every rank must enter, so it
// orders like a barrier), between MPI_Win_sync calls: one synchronisation
// less per collective. Packing before agreeing is harmless: a rank writes
// only its own segment's idle buffer, and a disagreement throws on every
// rank before anyone reads it.
void fence_or_agree(detail::Agreement& agreement) {
  if (agreement.done()) {
    backend::shared_fence();
    return;
  }
  backend::shared_sync();
  agreement.run();
  backend::shared_sync();
}

// The sum of slice [lo, hi) in rank order into this rank's buffer `to` and
// out through unpack(); this rank's contribution is packed block by block
// into a local buffer instead of going through its segment.
void sum_slice(std::size_t lo, std::size_t hi, int which, const detail::Pack& pack,
               const detail::Unpack& unpack) {
  const int ranks = backend::size(), me = backend::rank();
  constexpr std::size_t block = 512;
  alignas(64) Scalar own[block];
  alignas(64) Scalar acc[block];
  for (std::size_t k = lo; k < hi; k += block) {
    const std::size_t m = std::min(block, hi - k);
    pack(own, k, m);
    for (int q = 0; q < ranks; ++q) {
      const Scalar* b = q == me ? own : buffer_of(q, which) + k;
      if (q == 0)
        for (std::size_t j = 0; j < m; ++j) acc[j] = b[j];
      else
        for (std::size_t j = 0; j < m; ++j) acc[j] += b[j];
    }
    std::memcpy(buffer_of(me, which) + k, acc, m * sizeof(Scalar));
    unpack(acc, k, m);
  }
}
}  // namespace

void set_shared_memory(bool on) { setting = on ? 1 : 0; }

bool shared_memory() { return detail::use_shared(); }

namespace detail {

bool use_shared() { return setting_on() && is_distributed() && backend::shared_possible(); }

void sum_window(std::size_t n, const Pack& pack, const Unpack& unpack, Agreement& agreement) {
  if (!use_shared()) {
    agreement.run();
    Scalar* buf = window_buffer(n);
    pack(buf, 0, n);
    backend::sum_scalars(buf, n);
    unpack(buf, 0, n);
    return;
  }
  // Growing the window is collective: only after every rank agreed on n.
  if (n > buffer_elements) agreement.run();
  const int ranks = backend::size(), me = backend::rank();
  const int which = next_turn(n);
  const std::size_t lo = slice_begin(n, me, ranks), hi = slice_begin(n, me + 1, ranks);
  Scalar* mine = buffer_of(me, which);
  if (lo > 0) pack(mine, 0, lo);
  if (n > hi) pack(mine + hi, hi, n - hi);
  fence_or_agree(agreement);
  turn = which;
  sum_slice(lo, hi, which, pack, unpack);
  backend::shared_fence();
  for (int q = 0; q < ranks; ++q) {
    const std::size_t q_lo = slice_begin(n, q, ranks), q_hi = slice_begin(n, q + 1, ranks);
    if (q != me && q_hi > q_lo) unpack(buffer_of(q, which) + q_lo, q_lo, q_hi - q_lo);
  }
}

void broadcast_window(std::size_t n, int root, const Pack& pack, const Unpack& unpack,
                      Agreement& agreement) {
  const bool is_root = backend::rank() == root;
  if (!use_shared()) {
    agreement.run();
    Scalar* buf = window_buffer(n);
    if (is_root) pack(buf, 0, n);
    backend::broadcast(buf, n, root);
    if (!is_root) unpack(buf, 0, n);
    return;
  }
  if (n > buffer_elements) agreement.run();
  const int which = next_turn(n);
  if (is_root) pack(buffer_of(root, which), 0, n);
  fence_or_agree(agreement);
  turn = which;
  if (!is_root) unpack(buffer_of(root, which), 0, n);
}

void for_each_part(const std::vector<Piece>& pieces, std::size_t lo, std::size_t n,
                   const std::function<void(const Piece&, std::size_t)>& fn) {
  if (n == 0) return;
  const std::size_t hi = lo + n;
  std::size_t at = 0;
  for (const Piece& p : pieces) {
    const std::size_t p_lo = at, p_hi = at + p.count;
    at = p_hi;
    if (p_hi <= lo || p.count == 0) continue;
    if (p_lo >= hi) break;
    const std::size_t a = std::max(lo, p_lo), b = std::min(hi, p_hi);
    fn(Piece{p.index, p.first + (a - p_lo), b - a}, a - lo);
  }
}

}  // namespace detail

}  // namespace xg::dist
