// One window of a collective, moved either by MPI messages or, when every
// rank is on one machine, through node-shared memory (MPI-3 shared windows,
// backend::shared_*). The shared allreduce is a reduce-scatter and an
// allgather by loads and stores:
//   1. every rank packs its window into its own segment;        fence
//   2. rank r sums slice r of all segments, in rank order 0..P−1, into
//      slice r of its own segment;                              fence
//   3. every rank unpacks slice q from rank q's segment, q = 0..P−1; fence
// Each slice is summed once, by one rank, in a fixed order, so every rank
// gets the same bits and they do not depend on timing. The last fence keeps a
// rank's next pack from overwriting a slice another rank is still reading.
// Each byte is copied three times (pack, sum, unpack) against Open MPI's
// message path through its shared-memory transport, which here copies
// through small fragments without single-copy (docs/distributed.md).
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

// to[k] = Σ_q segments[q][k] for k in [lo, hi), q in rank order. `to` is
// this rank's segment, also one of the summands: a block is summed into a
// local buffer and then stored.
void sum_slice(Scalar* to, std::size_t lo, std::size_t hi, int ranks) {
  constexpr std::size_t block = 512;
  alignas(64) Scalar acc[block];
  const Scalar* first = backend::shared_segment(0);
  for (std::size_t k = lo; k < hi; k += block) {
    const std::size_t m = std::min(block, hi - k);
    const Scalar* a = first + k;
    for (std::size_t j = 0; j < m; ++j) acc[j] = a[j];
    for (int q = 1; q < ranks; ++q) {
      const Scalar* b = backend::shared_segment(q) + k;
      for (std::size_t j = 0; j < m; ++j) acc[j] += b[j];
    }
    std::memcpy(to + k, acc, m * sizeof(Scalar));
  }
}
}  // namespace

void set_shared_memory(bool on) { setting = on ? 1 : 0; }

bool shared_memory() { return detail::use_shared(); }

namespace detail {

bool use_shared() { return setting_on() && is_distributed() && backend::shared_possible(); }

void sum_window(std::size_t n, const Pack& pack, const Unpack& unpack) {
  if (!use_shared()) {
    Scalar* buf = window_buffer(n);
    pack(buf);
    backend::sum_scalars(buf, n);
    unpack(buf, 0, n);
    return;
  }
  const int ranks = backend::size(), me = backend::rank();
  backend::shared_reserve(n);
  Scalar* mine = backend::shared_segment(me);
  pack(mine);
  backend::shared_fence();
  sum_slice(mine, slice_begin(n, me, ranks), slice_begin(n, me + 1, ranks), ranks);
  backend::shared_fence();
  for (int q = 0; q < ranks; ++q) {
    const std::size_t lo = slice_begin(n, q, ranks), hi = slice_begin(n, q + 1, ranks);
    if (hi > lo) unpack(backend::shared_segment(q) + lo, lo, hi - lo);
  }
  backend::shared_fence();
}

void broadcast_window(std::size_t n, int root, const Pack& pack, const Unpack& unpack) {
  const bool is_root = backend::rank() == root;
  if (!use_shared()) {
    Scalar* buf = window_buffer(n);
    if (is_root) pack(buf);
    backend::broadcast(buf, n, root);
    if (!is_root) unpack(buf, 0, n);
    return;
  }
  backend::shared_reserve(n);
  if (is_root) pack(backend::shared_segment(root));
  backend::shared_fence();
  if (!is_root) unpack(backend::shared_segment(root), 0, n);
  backend::shared_fence();
}

void for_each_part(const std::vector<Piece>& pieces, std::size_t lo, std::size_t n,
                   const Scalar* src, const std::function<void(const Piece&, const Scalar*)>& fn) {
  const std::size_t hi = lo + n;
  std::size_t at = 0;
  for (const Piece& p : pieces) {
    const std::size_t p_lo = at, p_hi = at + p.count;
    at = p_hi;
    if (p_hi <= lo) continue;
    if (p_lo >= hi) break;
    const std::size_t a = std::max(lo, p_lo), b = std::min(hi, p_hi);
    fn(Piece{p.index, p.first + (a - p_lo), b - a}, src + (a - lo));
  }
}

}  // namespace detail

}  // namespace xg::dist
