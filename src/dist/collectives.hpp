#pragma once
// Helpers shared by src/dist/*.cpp (not installed).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "xgrad/dist.hpp"

namespace xg::dist::detail {

/// FNV-1a of the count, ranks and dimensions of the arrays.
std::uint64_t shapes_hash(const std::vector<const Array*>& arrays);
/// "3 arrays: (30, 784) (30,) (10, 30)" for messages.
std::string shapes_text(const std::vector<const Array*>& arrays);
/// A value every rank must hold: (what it is, (this rank's value as text, as a
/// number exactly representable in a double)).
using Agreed = std::pair<std::string, std::pair<std::string, double>>;
/// An Agreed for a count or an index.
template <class N>
Agreed agreed(const std::string& name, N n) {
  return {name, {std::to_string(n), static_cast<double>(n)}};
}
/// Throws dist_error on every rank unless every value is the same on every
/// rank, naming the first that is not and this rank's value (one small
/// message; nothing when not distributed).
void agree(const char* what, const std::vector<Agreed>& values);
/// agree() on the arrays' shapes plus `extra` values.
void agree_on_shapes(const char* what, const std::vector<const Array*>& arrays,
                     std::vector<Agreed> extra);
/// The reused packing buffer, at least n Scalars.
Scalar* window_buffer(std::size_t n);
/// bucket_bytes() in Scalars (at least 1).
std::size_t window_elements();

/// Writes elements [lo, lo + n) of this rank's window at `to`.
using Pack = std::function<void(Scalar* to, std::size_t lo, std::size_t n)>;
/// Receives elements [lo, lo + n) of a window's result at `from`.
using Unpack = std::function<void(const Scalar* from, std::size_t lo, std::size_t n)>;
/// Whether the collectives go through node-shared memory (shared.cpp): the
/// setting is on, the job is distributed and every rank is on this node.
bool use_shared();
/// A collective's agreement check (agree_on_shapes), run exactly once: by
/// the first window, which on the shared-memory path lets it double as the
/// barrier after packing, or by run() after the windows when there were none.
class Agreement {
 public:
  explicit Agreement(std::function<void()> check) : check_(std::move(check)) {}
  void run() {
    if (done_) return;
    done_ = true;
    check_();
  }
  bool done() const { return done_; }

 private:
  std::function<void()> check_;
  bool done_ = false;
};
/// Sums one window of n Scalars over the ranks (running `agreement` first
/// or, on the shared path, after packing, if it has not run yet): pack() gives this rank's
/// contribution and unpack() receives the sum (the same bits on every rank),
/// each in one or more ranges in no particular order, together covering
/// [0, n) once. pack() of a range runs before unpack() of the same range.
void sum_window(std::size_t n, const Pack& pack, const Unpack& unpack, Agreement& agreement);
/// Copies root's window to every rank: pack() runs on root only, unpack()
/// on every other rank (ranges as in sum_window).
void broadcast_window(std::size_t n, int root, const Pack& pack, const Unpack& unpack,
                      Agreement& agreement);
/// Calls fn(part, at) for the parts of `pieces` (laid end to end from 0)
/// that overlap [lo, lo + n): part is the piece narrowed to the overlap and
/// `at` its offset from lo.
void for_each_part(const std::vector<Piece>& pieces, std::size_t lo, std::size_t n,
                   const std::function<void(const Piece&, std::size_t)>& fn);

}  // namespace xg::dist::detail
