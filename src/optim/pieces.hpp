#pragma once
// The optimizers' updates over set_num_threads' threads. Every update is
// elementwise, so a large parameter is cut into pieces that run at once;
// pieces start on multiples of 64 elements, so each element takes the same
// vectorised or scalar path as in one undivided pass and the bits do not
// depend on the thread count (tests/test_threads.cpp).
#include <algorithm>
#include <array>
#include <cstddef>
#include <xtensor/xadapt.hpp>

#include "xgrad/scalar.hpp"
#include "xgrad/threads.hpp"

namespace xg::optim::detail {

constexpr std::size_t kPieceAlign = 64;
// Below twice this a parameter is updated in one pass: 784-30-10's largest,
// 23,520 weights, never pays a hand-over; 784-800-10's 627,200 do.
constexpr std::size_t kElementsPerPiece = 32768;

/// fn(from, to) over [0, n), in pieces on the pool when n is large.
template <class Fn>
void for_each_piece(std::size_t n, Fn&& fn) {
  const std::size_t units = (n + kPieceAlign - 1) / kPieceAlign;
  parallel_for(units, kElementsPerPiece / kPieceAlign, [&](std::size_t begin, std::size_t end) {
    fn(begin * kPieceAlign, std::min(n, end * kPieceAlign));
  });
}

/// Elements [from, to) of a contiguous Array (const or not) as a 1-D xtensor
/// expression.
template <class A>
auto flat(A& a, std::size_t from, std::size_t to) {
  return xt::adapt(a.data() + from, to - from, xt::no_ownership(),
                   std::array<std::size_t, 1>{to - from});
}

}  // namespace xg::optim::detail
